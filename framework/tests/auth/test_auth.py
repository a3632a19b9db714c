"""macaron.auth, the API handlers and backend code use: the caller's claims and token, minting
tokens (own audience, another service's, on behalf of a user, service tokens), and the
``macaron token`` command against /auth/version over real HTTP."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
import yaml
from macaron import MacaronError, Service, Unauthorized
from macaron.auth import (
    current_token,
    current_user,
    generate_token,
    get_user_id,
    service_token,
    token_for,
    verify_token,
)
from macaron.testing import Api, assert_problem, capture_logs

from .._authkit import FIXTURES, System, system


@pytest.fixture(scope="module")
def s() -> Iterator[System]:
    with system() as running:
        yield running


def test_handlers_see_the_verified_claims_and_the_raw_token(s: System) -> None:
    token = generate_token("alice", scopes=["vault:read"], service=s.vault.service)
    body = Api(s.vault.url, token=token).get("/whoami").json()
    assert body == {
        "sub": "alice",
        "scopes": ["vault:read"],
        "token_digest": hashlib.sha256(token.encode()).hexdigest(),
    }
    claims = Api(s.issuer.url, token=generate_token("bob", tier="gold", service=s.issuer.service)).get("/whoami").json()
    assert claims["sub"] == "bob" and claims["tier"] == "gold" and claims["aud"] == "issuer"


def test_outside_a_request_there_is_no_user_and_minting_needs_a_service(s: System) -> None:
    assert current_user() is None and get_user_id() is None and current_token() is None
    assert token_for("vault") is None
    with pytest.raises(MacaronError, match="pass service="):
        generate_token("alice")
    token = generate_token("alice", ttl=60, service=s.vault.service)
    assert verify_token(token, service=s.vault.service)["sub"] == "alice"
    with pytest.raises(Unauthorized) as info:
        verify_token(token + "x", service=s.vault.service)
    assert info.value.code == "TOKEN_INVALID" and "WWW-Authenticate" in info.value.headers


def test_a_token_for_another_services_audience_works_there_and_only_there(s: System) -> None:
    for_relying = generate_token("alice", audience="relying", scopes=["relying:write"], service=s.issuer.service)
    assert Api(s.relying.url, token=for_relying).post("/write").status_code == 204
    assert_problem(Api(s.issuer.url, token=for_relying).get("/whoami"), 401, "TOKEN_INVALID")


def test_token_for_mints_on_behalf_of_the_caller_for_a_sibling(s: System) -> None:
    user_token = generate_token("alice", scopes=["profile"], service=s.issuer.service)
    seen = Api(s.issuer.url, token=user_token).get("/delegate").json()
    assert seen["sub"] == "alice" and seen["aud"] == "relying" and seen["act"] == {"sub": "issuer"}
    assert seen["scope"] == "profile"
    assert seen["exp"] <= jwt.decode(user_token, options={"verify_signature": False})["exp"]
    assert seen["exp"] - seen["iat"] <= 60, "an on-behalf token is short-lived"


def test_service_token_outside_a_request(s: System) -> None:
    with service_token(["vault:admin"], service=s.vault.service) as token:
        assert current_token() == token
        body = Api(s.vault.url, token=current_token()).get("/admin").json()
        assert body["sub"] == "service:vault" and body["scopes"] == ["vault:admin"]
        claims = verify_token(token)  # the block says which service
        assert claims["exp"] - claims["iat"] == 60
        with service_token(audience="relying", service=s.issuer.service) as inner:
            assert current_token() == inner
            assert Api(s.relying.url, token=inner).get("/whoami").json()["sub"] == "service:issuer"
            assert Api(s.relying.url, token=token_for("relying")).get("/whoami").status_code == 200
        assert current_token() == token
        assert generate_token("x", service=None)  # minted with the block's service
    assert current_token() is None


def test_service_token_renews_itself_near_expiry(s: System) -> None:
    with service_token(ttl=1, service=s.vault.service) as first:
        time.sleep(0.6)  # past half of the 1 s lifetime
        renewed = current_token()
    assert renewed != first and verify_token(renewed, service=s.vault.service)["sub"] == "service:vault"


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MACARON_")}
    return subprocess.run(
        [sys.executable, "-m", "macaron", "token", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**clean, **env},
        check=False,
    )


def test_macaron_token_command_against_auth_version(s: System) -> None:
    assert_problem(Api(s.vault.url).get("/auth/version"), 401, "AUTHORIZATION_HEADER_MISSING")
    env = {"VAULT_JWT_SECRET": s.material.secret}
    result = _cli(str(FIXTURES / "vault"), "--sub", "alice", "--ttl", "600", "--scope", "vault:admin", env=env)
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    assert result.stdout.count("\n") == 1 and s.material.secret not in result.stdout + result.stderr
    api = Api(s.vault.url, token=token)
    assert api.get("/auth/version").json() == {"name": "vault", "version": "2.0.0", "env": "dev", "apis": ["vault"]}
    assert api.get("/admin").json()["sub"] == "alice"
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 600
    missing = _cli(str(FIXTURES / "vault"), "--sub", "alice", env={})
    assert missing.returncode == 2 and "VAULT_JWT_SECRET" in missing.stderr and not missing.stdout
    bad = _cli(str(FIXTURES / "vault"), "--sub", "", env=env)
    assert bad.returncode == 2 and "sub" in bad.stderr


def test_env_fallback_secret_works_and_is_masked_in_logs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "fallback-secret-for-the-dev-system-0123456789"
    (tmp_path / "api.yaml").write_text(
        yaml.safe_dump({"swagger": "2.0", "info": {"title": "t", "version": "1"}, "paths": {}})
    )
    (tmp_path / "service.yaml").write_text("port: 1\n")
    monkeypatch.setenv("MACARON_JWT_SECRET", secret)
    service = Service.load(tmp_path, environ={})
    token = generate_token("alice", service=service)
    assert verify_token(token, service=service)["aud"] == service.name
    with capture_logs(service) as logs:
        service.log.warning("oops, a secret: %s", secret)
    assert secret not in logs.text and "***" in logs.text
    cli = _cli(str(tmp_path), "--sub", "alice", env={"MACARON_JWT_SECRET": secret})
    assert verify_token(cli.stdout.strip(), service=service)["sub"] == "alice"
