"""The auth built-ins over HTTP (/auth/version, /.well-known/jwks.json) and what the served
spec declares about security."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from macaron.testing import Api, assert_problem

from .._authkit import System, claims, hmac_token, system


@pytest.fixture(scope="module")
def s() -> Iterator[System]:
    with system() as running:
        yield running


def _vault(s: System, **changes: object) -> str:
    return hmac_token(claims("vault", **changes), s.material.secret)


def test_auth_version_and_jwks(s: System) -> None:
    assert_problem(Api(s.vault.url).get("/auth/version"), 401, "AUTHORIZATION_HEADER_MISSING")
    assert_problem(Api(s.vault.url, token=_vault(s, aud="x")).get("/auth/version"), 401, "TOKEN_INVALID")
    assert Api(s.vault.url, token=_vault(s)).get("/auth/version").json()["version"] == "2.0.0"
    assert Api(s.vault.url).get("/.well-known/jwks.json").status_code == 404
    jwks = Api(s.issuer.url).get("/.well-known/jwks.json").json()
    (key,) = jwks["keys"]
    assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["use"] == "sig"
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key), "private key members must never be served"


def test_served_spec_declares_security_errors_and_builtins(s: System) -> None:
    spec = Api(s.vault.url).get("/api.json").json()
    assert set(spec["paths"]["/whoami"]["get"]["responses"]) >= {"200", "401", "500"}
    assert "403" not in spec["paths"]["/whoami"]["get"]["responses"]
    assert "403" in spec["paths"]["/admin"]["get"]["responses"]
    assert "401" not in spec["paths"]["/open"]["get"]["responses"]
    auth_version = spec["paths"]["/auth/version"]["get"]
    assert auth_version["security"] == [{"bearer": []}] and "401" in auth_version["responses"]
    assert "/.well-known/jwks.json" not in spec["paths"]
    issuer_spec = Api(s.issuer.url).get("/api.json").json()
    assert "/.well-known/jwks.json" in issuer_spec["paths"]
    relying_spec = Api(s.relying.url).get("/api.json").json()
    assert "403" in relying_spec["paths"]["/write"]["post"]["responses"]


