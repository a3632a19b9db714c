"""The TokenAuthority: issuing and verifying tokens, and the claims it writes and refuses
(the HTTP forged-token suite is in test_security.py)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from macaron import ConfigError
from macaron.auth._tokens import TokenAuthority, TokenError, TokenExpired

from .._authkit import hmac_token, pem_private, pem_public, service_config

SECRET = "a-test-secret-that-is-long-enough-for-hs256-0123456789"


def test_issue_writes_the_registered_claims_and_verify_round_trips(tmp_path: Path) -> None:
    authority = TokenAuthority.from_config(service_config(tmp_path, {"issuer": "me"}), {"MACARON_JWT_SECRET": SECRET})
    token = authority.issue("alice", ttl=120, scopes=["read", "write"], tenant="t1")
    claims = authority.verify(token)
    assert claims["iss"] == "me" and claims["aud"] == "svc" and claims["sub"] == "alice"
    assert claims["exp"] - claims["iat"] == 120 and claims["nbf"] == claims["iat"]
    assert claims["scope"] == "read write" and claims["tenant"] == "t1" and len(claims["jti"]) == 32
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    both = authority.issue("alice", audience=["svc", "mail"])
    assert authority.verify(both)["aud"] == ["svc", "mail"]
    with pytest.raises(TokenError, match="audience"):
        authority.verify(authority.issue("alice", audience="mail"))
    with pytest.raises(TokenExpired):
        authority.verify(_expired())


def _expired() -> str:
    now = int(time.time())
    payload = {"iss": "me", "sub": "a", "aud": "svc", "iat": now - 100, "exp": now - 60}
    return jwt.encode(payload, SECRET, algorithm="HS256")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"sub": ""}, "sub"),
        ({"sub": "a", "ttl": 0}, "ttl"),
        ({"sub": "a", "scopes": ["two words"]}, "scope"),
        ({"sub": "a", "exp": 1}, "set by the framework"),
        ({"sub": "a", "iss": "evil"}, "set by the framework"),
    ],
)
def test_issue_refuses_bad_arguments(tmp_path: Path, kwargs: dict[str, Any], match: str) -> None:
    authority = TokenAuthority.from_config(service_config(tmp_path), {"MACARON_JWT_SECRET": SECRET})
    with pytest.raises(ValueError, match=match):
        authority.issue(**kwargs)


def test_rs256_issuer_signs_with_a_kid_and_a_verifier_with_only_the_public_key_accepts(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(65537, 2048)
    issuer_config = service_config(
        tmp_path, {"algorithm": "RS256", "private_key": "pk"}, {"pk": "PK"}, {"PK": pem_private(key)}, name="issuer"
    )
    issuer = TokenAuthority.from_config(issuer_config)
    assert issuer.keys.served_jwks is not None
    token = issuer.issue("alice", audience="verifier")
    assert jwt.get_unverified_header(token)["kid"] == issuer.keys.served_jwks["keys"][0]["kid"]
    (tmp_path / "issuer.pem").write_text(pem_public(key))
    verifier = TokenAuthority.from_config(
        service_config(tmp_path, {"algorithm": "RS256", "public_key": "../issuer.pem"}, name="verifier")
    )
    assert verifier.verify(token)["sub"] == "alice"
    assert verifier.keys.signing_key is None and "private_key" in str(verifier.keys.cannot_sign)
    with pytest.raises(ConfigError, match="cannot sign"):
        verifier.issue("alice")
    nothing = TokenAuthority.from_config(service_config(tmp_path, {"algorithm": "ES256"}, name="nothing"))
    assert "jwks_url" in str(nothing.keys.missing)


def test_unexpected_claim_types_are_refused(tmp_path: Path) -> None:
    authority = TokenAuthority.from_config(service_config(tmp_path), {"MACARON_JWT_SECRET": SECRET})
    good = jwt.decode(authority.issue("alice"), options={"verify_signature": False})
    for change in ({"scope": 7}, {"aud": 5}, {"iss": ["macaron"]}):
        token = hmac_token({**good, **change}, SECRET)
        with pytest.raises(TokenError):
            authority.verify(token)
