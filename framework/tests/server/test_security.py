"""The security guard over real HTTP: the forged-token suite (every case is refused and its handler
never runs), the valid paths, scopes, token sources, the served spec, start-up checks, and a log
audit proving no token, secret or key material is ever logged."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import jwt
import pytest
import requests
import yaml
from flask import Flask
from macaron import ConfigError, Service, SpecError, create_app
from macaron.auth import generate_token
from macaron.auth._keys import public_jwk
from macaron.testing import Api, assert_problem, serve_app

from .._authkit import (
    FIXTURES,
    Served,
    System,
    b64,
    capture_all_logs,
    claims,
    hmac_token,
    pem_private,
    pem_public,
    serve,
    signed_token,
    system,
    unsigned_token,
)


@pytest.fixture(scope="module")
def s() -> Iterator[System]:
    with system() as running:
        yield running


def _now() -> int:
    return int(time.time())


def _vault(s: System, **changes: object) -> str:
    return hmac_token(claims("vault", **changes), s.material.secret)


def _rs(s: System, aud: str = "relying", key: object = None, **header: object) -> str:
    return signed_token(claims(aud), key or s.material.rsa, **header)


def _tampered(s: System) -> str:
    header, _, sig = _vault(s).split(".")
    return f"{header}.{b64(json.dumps(claims('vault', sub='admin')))}.{sig}"


@dataclass(frozen=True)
class Forged:
    """One forged or broken token, the service it is sent to, and the problem it must get."""

    name: str
    target: str
    make: Callable[[System], str]
    reason: str
    code: str = "TOKEN_INVALID"


FORGED = [
    Forged("alg-none", "vault", lambda s: unsigned_token(claims("vault")), "tokens only"),
    Forged("alg-None-capitalised", "vault", lambda s: unsigned_token(claims("vault"), "None"), "tokens only"),
    Forged("alg-none-to-jwks-verifier", "relying", lambda s: unsigned_token(claims("relying")), "tokens only"),
    Forged(
        "alg-hs512-with-the-right-secret",
        "vault",
        lambda s: hmac_token(claims("vault"), s.material.secret, "HS512"),
        "tokens only",
    ),
    Forged(
        "hs256-signed-with-rs256-public-pem",
        "issuer",
        lambda s: hmac_token(claims("issuer"), pem_public(s.material.rsa)),
        "tokens only",
    ),
    Forged(
        "hs256-signed-with-rs256-public-pem-jwks",
        "relying",
        lambda s: hmac_token(claims("relying"), pem_public(s.material.rsa)),
        "tokens only",
    ),
    Forged(
        "hs256-signed-with-public-jwk-json",
        "relying",
        lambda s: hmac_token(claims("relying"), json.dumps(public_jwk(s.material.rsa.public_key(), "RS256"))),
        "tokens only",
    ),
    Forged("expired", "vault", lambda s: _vault(s, iat=_now() - 7200, exp=_now() - 3600), "expired", "TOKEN_EXPIRED"),
    Forged("expired-beyond-leeway", "vault", lambda s: _vault(s, exp=_now() - 60), "expired", "TOKEN_EXPIRED"),
    Forged(
        "expired-rs256-jwks",
        "relying",
        lambda s: signed_token(claims("relying", exp=_now() - 3600), s.material.rsa),
        "expired",
        "TOKEN_EXPIRED",
    ),
    Forged("nbf-in-the-future", "vault", lambda s: _vault(s, nbf=_now() + 3600), "not valid yet"),
    Forged("iat-in-the-future", "vault", lambda s: _vault(s, iat=_now() + 3600), "not valid yet"),
    Forged("wrong-iss", "vault", lambda s: _vault(s, iss="evil-issuer"), "issuer"),
    Forged("wrong-aud", "vault", lambda s: _vault(s, aud="someone-else"), "audience"),
    Forged(
        "other-services-audience-minted-by-vault",
        "vault",
        lambda s: generate_token("alice", audience="mail", service=s.vault.service),
        "audience",
    ),
    Forged(
        "issuer-token-for-issuer-sent-to-relying",
        "relying",
        lambda s: generate_token("alice", service=s.issuer.service),
        "audience",
    ),
    Forged("missing-exp", "vault", lambda s: _vault(s, exp=None), "'exp' claim"),
    Forged("missing-iat", "vault", lambda s: _vault(s, iat=None), "'iat' claim"),
    Forged("missing-iss", "vault", lambda s: _vault(s, iss=None), "'iss' claim"),
    Forged("missing-aud", "vault", lambda s: _vault(s, aud=None), "'aud' claim"),
    Forged("missing-sub", "vault", lambda s: _vault(s, sub=None), "'sub' claim"),
    Forged("empty-sub", "vault", lambda s: _vault(s, sub=""), "(sub) is empty"),
    Forged("numeric-sub", "vault", lambda s: _vault(s, sub=42), "(sub) must be a string"),
    Forged("exp-not-a-number", "vault", lambda s: _vault(s, exp="tomorrow"), "malformed"),
    Forged("bad-signature-tampered-payload", "vault", _tampered, "signature does not verify"),
    Forged(
        "signed-with-another-secret",
        "vault",
        lambda s: hmac_token(claims("vault"), "another-secret-of-sufficient-length-1234567890"),
        "signature does not verify",
    ),
    Forged("truncated-signature", "vault", lambda s: _vault(s)[:-6], "malformed"),
    Forged("truncated-no-signature-segment", "vault", lambda s: _vault(s).rsplit(".", 1)[0], "not a signed JWT"),
    Forged(
        "truncated-empty-signature", "vault", lambda s: _vault(s).rsplit(".", 1)[0] + ".", "signature does not verify"
    ),
    Forged("garbage-base64", "vault", lambda s: "!!!.@@@.###", "malformed"),
    Forged("garbage-segments", "vault", lambda s: "abc.def.ghi", "malformed"),
    Forged("header-not-json", "vault", lambda s: f"{b64('nope')}.{b64('{}')}.{b64('sig')}", "malformed"),
    Forged("payload-not-json-signed", "vault", lambda s: hmac_token("[1, 2", s.material.secret), "malformed"),
    Forged("payload-json-array-signed", "vault", lambda s: hmac_token("[1, 2]", s.material.secret), "malformed"),
    Forged("too-long", "vault", lambda s: _vault(s, pad="x" * 9000), "longer than"),
    Forged(
        "unknown-kid-jwks", "relying", lambda s: _rs(s, key=s.material.attacker_rsa, kid="nope"), "'kid' names no key"
    ),
    Forged(
        "attacker-key-with-the-issuers-real-kid",
        "relying",
        lambda s: _rs(s, key=s.material.attacker_rsa, kid=public_jwk(s.material.rsa.public_key(), "RS256")["kid"]),
        "signature does not verify",
    ),
    Forged(
        "attacker-key-embedded-as-jwk-header",
        "relying",
        lambda s: _rs(s, key=s.material.attacker_rsa, jwk=public_jwk(s.material.attacker_rsa.public_key(), "RS256")),
        "signature does not verify",
    ),
    Forged(
        "attacker-key-no-kid-to-own-key-verifier",
        "issuer",
        lambda s: _rs(s, "issuer", s.material.attacker_rsa),
        "signature does not verify",
    ),
    Forged(
        "es256-token-to-rs256-service",
        "relying",
        lambda s: signed_token(claims("relying"), s.material.ec, "ES256"),
        "tokens only",
    ),
]
VARIANTS = ["header", "cookie", "cookie-bearer"]


def send(served: Served, token: str, how: str, path: str = "/whoami") -> requests.Response:
    headers = {
        "header": {"Authorization": f"Bearer {token}"},
        "cookie": {"Cookie": f"token={token}"},
        "cookie-bearer": {"Cookie": f'token="Bearer {token}"'},
    }[how]
    return requests.get(served.url + path, headers=headers, timeout=10)


def check_refused(
    served: Served, token: str, how: str, status: int, code: str, path: str = "/whoami", reason: str = ""
) -> None:
    before = list(served.calls)
    response = send(served, token, how, path)
    body = assert_problem(response, status, code)
    assert reason in body["detail"], body["detail"]
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith(f'Bearer realm="{served.service.name}", error="')
    assert token not in response.text and token[-12:] not in body["detail"]
    assert served.calls == before, "the handler ran for a refused token"


@pytest.mark.parametrize("how", VARIANTS)
@pytest.mark.parametrize("case", FORGED, ids=[c.name for c in FORGED])
def test_forged_token_is_refused_and_the_handler_never_runs(s: System, case: Forged, how: str) -> None:
    served = getattr(s, case.target)
    check_refused(served, case.make(s), how, 401, case.code, reason=case.reason)
    assert 'error="invalid_token"' in send(served, case.make(s), how).headers["WWW-Authenticate"]


@pytest.mark.parametrize(
    "authorization",
    ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Token abc.def.ghi", "Bearer a.b.c extra", "abc.def.ghi", ""],
)
def test_any_other_authorization_header_is_a_401(s: System, authorization: str) -> None:
    before = list(s.vault.calls)
    response = requests.get(s.vault.url + "/whoami", headers={"Authorization": authorization}, timeout=10)
    assert_problem(response, 401, "TOKEN_INVALID")
    assert 'error="invalid_request"' in response.headers["WWW-Authenticate"]
    assert s.vault.calls == before


def test_header_wins_over_cookie_and_duplicates_are_refused(s: System) -> None:
    good = _vault(s)
    before = list(s.vault.calls)
    both = requests.get(
        s.vault.url + "/whoami", timeout=10, headers={"Authorization": "Bearer abc.def.ghi", "Cookie": f"token={good}"}
    )
    assert_problem(both, 401, "TOKEN_INVALID")
    twice = requests.get(s.vault.url + "/whoami", timeout=10, headers={"Cookie": f"token={good}; token={good}"})
    assert_problem(twice, 401, "TOKEN_INVALID")
    assert s.vault.calls == before


def test_no_token_is_a_401_with_a_challenge_and_auth_runs_before_validation(s: System) -> None:
    for served, path in ((s.vault, "/whoami"), (s.vault, "/boxes/not-a-number"), (s.relying, "/whoami")):
        before = list(served.calls)
        response = requests.get(served.url + path, timeout=10)
        assert_problem(response, 401, "AUTHORIZATION_HEADER_MISSING")
        assert response.headers["WWW-Authenticate"].startswith(f'Bearer realm="{served.service.name}", error=')
        assert served.calls == before
    bad_param = requests.get(s.vault.url + "/boxes/not-a-number", headers={"Authorization": f"Bearer {_vault(s)}"})
    assert_problem(bad_param, 400, "VALIDATION_ERROR")


def test_jku_header_is_never_followed(s: System) -> None:
    hits: list[str] = []
    attacker = Flask("attacker")

    @attacker.get("/jwks.json")
    def jwks() -> dict[str, object]:
        hits.append("jwks")
        return {"keys": [public_jwk(s.material.attacker_rsa.public_key(), "RS256")]}

    with serve_app(attacker) as evil:
        token = _rs(s, key=s.material.attacker_rsa, jku=f"{evil}/jwks.json", kid="evil")
        for how in VARIANTS:
            check_refused(s.relying, token, how, 401, "TOKEN_INVALID")
    assert hits == []


# ---- valid paths -------------------------------------------------------------------------------


def _cookie_token(response: requests.Response) -> str:
    value = response.request.headers["Cookie"].removeprefix("token=").strip('"')
    return value.removeprefix("Bearer ")


@pytest.mark.parametrize("how", VARIANTS)
def test_valid_hs256_token_from_header_or_cookie(s: System, how: str) -> None:
    response = send(s.vault, _vault(s), how)
    assert response.status_code == 200, response.text
    token = response.request.headers.get("Authorization", "").removeprefix("Bearer ") or _cookie_token(response)
    digest = hashlib.sha256(token.encode()).hexdigest()
    assert response.json() == {"sub": "alice", "scopes": [], "token_digest": digest}
    assert s.vault.calls[-1] == "whoami"


def test_bearer_scheme_is_case_insensitive_and_leeway_applies(s: System) -> None:
    lower = requests.get(s.vault.url + "/whoami", headers={"Authorization": f"bearer {_vault(s)}"}, timeout=10)
    assert lower.status_code == 200
    just_expired = _vault(s, iat=_now() - 100, exp=_now() - 1)  # leeway is 5 s in the vault fixture
    assert send(s.vault, just_expired, "header").status_code == 200


def test_rs256_via_jwks_fetched_from_the_served_issuer(s: System) -> None:
    token = generate_token("bob", audience="relying", scopes=["relying:write"], service=s.issuer.service)
    response = send(s.relying, token, "header")
    assert response.status_code == 200, response.text
    assert response.json()["sub"] == "bob" and response.json()["iss"] == "macaron-tests"
    assert requests.post(s.relying.url + "/write", headers={"Authorization": f"Bearer {token}"}).status_code == 204
    own = generate_token("carol", service=s.issuer.service)
    assert send(s.issuer, own, "cookie").json()["sub"] == "carol"


def test_es256_issuer_and_jwks_verifier(s: System) -> None:
    es = {"MACARON_AUTH__ALGORITHM": "ES256"}
    with serve(FIXTURES / "issuer", {**es, "ISSUER_PRIVATE_KEY": pem_private(s.material.ec)}) as issuer:
        jwks_url = {"MACARON_AUTH__JWKS_URL": f"{issuer.url}/.well-known/jwks.json"}
        with serve(FIXTURES / "relying", {**es, **jwks_url}) as relying:
            token = generate_token("dave", audience="relying", service=issuer.service)
            assert jwt.get_unverified_header(token)["alg"] == "ES256"
            assert send(relying, token, "header").json()["sub"] == "dave"
            assert Api(issuer.url).get("/.well-known/jwks.json").json()["keys"][0]["crv"] == "P-256"
            check_refused(relying, _rs(s), "header", 401, "TOKEN_INVALID", reason="ES256 tokens only")


def test_verifier_with_a_pem_public_key_and_no_jwks(s: System) -> None:
    environ = {"MACARON_AUTH__JWKS_URL": "", "MACARON_AUTH__PUBLIC_KEY": pem_public(s.material.rsa)}
    with serve(FIXTURES / "relying", environ) as relying:
        assert send(relying, _rs(s), "cookie").json()["sub"] == "alice"
        check_refused(relying, _rs(s, key=s.material.attacker_rsa), "header", 401, "TOKEN_INVALID")


def test_unreachable_jwks_is_a_503_not_a_401(s: System) -> None:
    with serve(FIXTURES / "relying", {"MACARON_AUTH__JWKS_URL": f"{s.vault.url}/.well-known/jwks.json"}) as relying:
        before = list(relying.calls)
        assert_problem(send(relying, _rs(s), "header"), 503, "AUTH_KEYS_UNAVAILABLE")
        assert relying.calls == before


def test_scopes(s: System) -> None:
    def call(path: str, scope: object) -> requests.Response:
        return send(s.vault, _vault(s, scope=scope), "header", path)

    assert call("/admin", "vault:admin").json()["scopes"] == ["vault:admin"]
    assert call("/admin", ["vault:admin", "other"]).status_code == 200
    assert call("/either", "vault:read vault:audit").status_code == 200
    before = list(s.vault.calls)
    for path, scope in (("/admin", "vault:read"), ("/admin", None), ("/either", "vault:read")):
        response = call(path, scope)
        body = assert_problem(response, 403, "INSUFFICIENT_SCOPE")
        assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
        assert "vault:admin" in body["detail"] and 'scope="vault:admin"' in response.headers["WWW-Authenticate"]
    assert s.vault.calls == before
    no_write = generate_token("bob", audience="relying", service=s.issuer.service)
    check = requests.post(s.relying.url + "/write", headers={"Authorization": f"Bearer {no_write}"}, timeout=10)
    assert_problem(check, 403, "INSUFFICIENT_SCOPE")


def test_open_optional_and_decorated_operations(s: System) -> None:
    api = Api(s.vault.url)
    assert api.get("/open").json()["sub"] is None
    assert api.get("/open", headers={"Authorization": "Bearer garbage"}).status_code == 200
    assert api.get("/maybe").json() == {"sub": None, "scopes": [], "token_digest": None}
    assert Api(s.vault.url, token=_vault(s)).get("/maybe").json()["sub"] == "alice"
    assert_problem(Api(s.vault.url, token=_vault(s, aud="x")).get("/maybe"), 401, "TOKEN_INVALID")
    assert_problem(api.get("/decorated"), 401, "AUTHORIZATION_HEADER_MISSING")
    assert Api(s.vault.url, token=_vault(s)).get("/decorated").json()["decorated"] is True


# ---- start-up checks ---------------------------------------------------------------------------


def _service_dir(tmp_path: Path, security: object, schemes: object, config: dict[str, object]) -> Path:
    api = {
        "swagger": "2.0",
        "info": {"title": "t", "version": "1"},
        "securityDefinitions": schemes,
        "paths": {
            "/x": {"get": {"operationId": "x", "security": security, "responses": {"200": {"description": "ok"}}}}
        },
    }
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "api.yaml").write_text(yaml.safe_dump(api))
    (tmp_path / "service.yaml").write_text(yaml.safe_dump({"port": 1, **config}))
    (tmp_path / "handlers.py").write_text("def x():\n    return None\n")
    return tmp_path


BEARER = {"bearer": {"type": "apiKey", "in": "header", "name": "Authorization"}}


def test_secured_operation_without_a_key_stops_start_up(tmp_path: Path) -> None:
    service = Service.load(_service_dir(tmp_path, [{"bearer": []}], BEARER, {}), environ={})
    with pytest.raises(SpecError, match="MACARON_JWT_SECRET"):
        create_app(service)


def test_schemes_macaron_cannot_enforce_stop_start_up(tmp_path: Path) -> None:
    query_key = {"key": {"type": "apiKey", "in": "query", "name": "api_key"}}
    service = Service.load(_service_dir(tmp_path / "a", [{"key": []}], query_key, {}), environ={})
    with pytest.raises(SpecError, match="'key' is neither a bearer JWT scheme nor HTTP Basic"):
        create_app(service)
    service = Service.load(_service_dir(tmp_path / "b", [{"nope": []}], BEARER, {}), environ={})
    with pytest.raises(SpecError, match="'nope' is not declared"):
        create_app(service)


def test_security_false_serves_a_fake_without_enforcement(tmp_path: Path) -> None:
    service = Service.load(_service_dir(tmp_path, [{"bearer": []}], BEARER, {}), environ={})
    with serve_app(create_app(service, security=False)) as url:
        assert Api(url).get("/x").status_code == 200
        assert_problem(Api(url).get("/auth/version"), 401, "AUTHORIZATION_HEADER_MISSING")
        assert_problem(Api(url, token="a.b.c").get("/auth/version"), 503, "AUTH_NOT_CONFIGURED")


def test_bad_auth_config_stops_start_up(tmp_path: Path) -> None:
    for i, (auth, match) in enumerate(
        [
            ({"leeway": 600}, "leeway"),
            ({"algorithm": "none"}, "not supported"),
            ({"leway": 5}, "unknown key"),
            ({"jwks_url": "http://127.0.0.1:9/jwks"}, "for RS256/ES256"),
        ]
    ):
        service = Service.load(_service_dir(tmp_path / f"svc{i}", [], BEARER, {"auth": auth}), environ={})
        with pytest.raises(ConfigError, match=match):
            create_app(service)


# ---- cookies and cross-site writes (CSRF) -------------------------------------------------------


def _cookie_service(tmp_path: Path) -> Service:
    api = {
        "swagger": "2.0",
        "info": {"title": "t", "version": "1"},
        "securityDefinitions": BEARER,
        "security": [{"bearer": []}],
        "paths": {
            "/notes": {
                "get": {"operationId": "read", "responses": {"200": {"description": "ok", "schema": {}}}},
                "post": {"operationId": "write", "responses": {"204": {"description": "written"}}},
            }
        },
    }
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "api.yaml").write_text(yaml.safe_dump(api))
    config = {"port": 1, "auth": {"cookie_origins": ["https://app.example.com"]}}
    (tmp_path / "service.yaml").write_text(yaml.safe_dump(config))
    (tmp_path / "handlers.py").write_text(
        "from pathlib import Path\n"
        "def read():\n    return {}\n"
        "def write():\n"
        "    with open(Path(__file__).with_name('writes.log'), 'a') as f:\n        f.write('w\\n')\n"
        "    return None, 204\n"
    )
    return Service.load(tmp_path, environ={"MACARON_JWT_SECRET": "s" * 40})


def test_a_cookie_authenticated_write_from_another_site_is_refused(tmp_path: Path) -> None:
    service = _cookie_service(tmp_path)
    token = generate_token("alice", service=service)
    with serve_app(create_app(service)) as url:
        host = url.removeprefix("http://")

        def write(**headers: str) -> requests.Response:
            return requests.post(url + "/notes", headers={"Cookie": f"token={token}", **headers}, timeout=10)

        for refused in (
            write(Origin="https://evil.example"),
            write(Origin="null"),
            write(**{"Sec-Fetch-Site": "cross-site"}),
            write(**{"Sec-Fetch-Site": "same-site"}),
        ):
            problem = assert_problem(refused, 403, "CSRF_REJECTED")
            assert token not in refused.text and "Authorization: Bearer" in problem["detail"]
        assert not (tmp_path / "writes.log").exists()  # the handler never ran
        allowed = [
            write(Origin=f"http://{host}"),
            write(Origin=f"https://{host}"),  # TLS ended by a proxy in front
            write(Origin="https://app.example.com"),  # auth.cookie_origins
            write(**{"Sec-Fetch-Site": "same-origin"}),
            write(),  # no browser headers: curl, a script — not a CSRF vector
        ]
        assert [r.status_code for r in allowed] == [204] * 5
        header = requests.post(url + "/notes", headers={"Authorization": f"Bearer {token}",
                                                        "Origin": "https://evil.example"}, timeout=10)
        assert header.status_code == 204  # a header token is never sent by a browser on its own
        read = requests.get(url + "/notes", headers={"Cookie": f"token={token}", "Origin": "https://evil.example",
                                                     "Sec-Fetch-Site": "cross-site"}, timeout=10)
        assert read.status_code == 200  # reads are not writes
    assert (tmp_path / "writes.log").read_text().count("w") == 6


def test_cookie_origins_must_be_origins(tmp_path: Path) -> None:
    for i, origins in enumerate([["app.example.com"], ["https://app.example.com/path"], "https://a.example"]):
        service = Service.load(_service_dir(tmp_path / f"o{i}", [], BEARER, {"auth": {"cookie_origins": origins}}),
                               environ={})
        with pytest.raises(ConfigError, match="cookie_origins"):
            create_app(service)


# ---- the log audit -----------------------------------------------------------------------------


def run_suite(s: System) -> list[str]:
    """Every forged case in every variant, then the valid paths; returns every token sent."""
    sent: list[str] = []
    for case in FORGED:
        for how in VARIANTS:
            token = case.make(s)
            sent.append(token)
            check_refused(getattr(s, case.target), token, how, 401, case.code, reason=case.reason)
    for how in VARIANTS:
        token = _vault(s, scope="vault:read")
        sent.append(token)
        assert send(s.vault, token, how).status_code == 200
        assert send(s.vault, token, how, "/admin").status_code == 403
    relying = generate_token("bob", audience="relying", service=s.issuer.service)
    sent.append(relying)
    assert send(s.relying, relying, "header").status_code == 200
    delegated = requests.get(s.issuer.url + "/delegate", headers={"Authorization": f"Bearer {_rs(s, 'issuer')}"})
    assert delegated.status_code == 200 and delegated.json()["act"] == {"sub": "issuer"}
    return sent


def test_log_audit_no_token_secret_or_key_material_is_logged(capfd: pytest.CaptureFixture[str]) -> None:
    with system() as fresh, capture_all_logs([x.service for x in fresh.all]) as lines:
        sent = run_suite(fresh)
    out, err = capfd.readouterr()
    text = "\n".join(lines) + out + err
    records = [json.loads(line) for line in lines if line.startswith("{")]
    assert any(r.get("status") == 401 for r in records) and any(r.get("user") == "alice" for r in records)
    assert any(r["message"].startswith("token rejected") for r in records)
    assert len(sent) > 100
    for token in sent:
        assert token not in text
        for segment in token.split(".")[1:]:
            if len(segment) >= 16:
                assert segment not in text, "a token's payload or signature reached the logs"
    for secret in fresh.material.never_logged():
        assert secret not in text, "a secret or key material reached the logs"
