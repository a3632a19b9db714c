"""The auth: section of service.yaml: defaults, refusal of unsafe or mistyped config, and
where the HS256 secret comes from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from macaron import ConfigError
from macaron.auth._config import AuthSettings
from macaron.auth._tokens import TokenAuthority

from .._authkit import service_config

SECRET = "a-test-secret-that-is-long-enough-for-hs256-0123456789"


def test_defaults(tmp_path: Path) -> None:
    settings = AuthSettings.from_config(service_config(tmp_path))
    assert (settings.algorithm, settings.issuer, settings.audience) == ("HS256", "macaron", "svc")
    assert settings.leeway == 10 and settings.leeway <= 30
    assert (settings.ttl, settings.service_ttl, settings.cookie) == (3600, 60, "token")


@pytest.mark.parametrize(
    ("auth", "match"),
    [
        ({"leeway": 61}, "leeway"),
        ({"leeway": -1}, "leeway"),
        ({"algorithm": "HS512"}, "not supported"),
        ({"algorithm": "none"}, "not supported"),
        ({"ttl": 0}, "positive"),
        ({"ttl": "soon"}, "numbers"),
        ({"audiance": "x"}, "unknown key"),
        ({"private_key": "k"}, "for RS256/ES256"),
        ({"algorithm": "RS256", "secret": "jwt_secret"}, "for HS256"),
    ],
)
def test_unsafe_or_wrong_config_is_refused(tmp_path: Path, auth: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        AuthSettings.from_config(service_config(tmp_path, auth))


def test_hs256_secret_resolution(tmp_path: Path) -> None:
    declared = service_config(tmp_path, secrets={"jwt_secret": "MY_SECRET"}, environ={"MY_SECRET": SECRET}, name="a")
    assert TokenAuthority.from_config(declared, environ={}).keys.signing_key == SECRET.encode()
    named = service_config(tmp_path, {"secret": "signing"}, {"signing": "S2"}, {"S2": SECRET + "2"}, name="b")
    assert TokenAuthority.from_config(named, environ={}).keys.signing_key == (SECRET + "2").encode()
    fallback = service_config(tmp_path, name="c")
    assert TokenAuthority.from_config(fallback, environ={"MACARON_JWT_SECRET": SECRET}).keys.signing_key
    missing = TokenAuthority.from_config(fallback, environ={})
    assert "MACARON_JWT_SECRET" in str(missing.keys.missing)
    with pytest.raises(ConfigError, match="cannot sign"):
        missing.issue("alice")
    with pytest.raises(ConfigError, match="no secret 'nope'"):
        TokenAuthority.from_config(service_config(tmp_path, {"secret": "nope"}, name="d"), environ={})
    with pytest.raises(ConfigError, match="shorter than 32") as info:
        TokenAuthority.from_config(fallback, environ={"MACARON_JWT_SECRET": "short-secret"})
    assert "short-secret" not in str(info.value)
