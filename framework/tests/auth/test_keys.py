"""Key material: thumbprints, PEM loading and its refusals, JWKS parsing and fetching over HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from flask import Flask
from macaron import ConfigError
from macaron.auth._keys import (
    Jwks,
    KeysUnavailable,
    UnknownKey,
    load_private_key,
    load_public_key,
    parse_jwks,
    public_jwk,
)
from macaron.auth._keys import thumbprint as jwk_thumbprint
from macaron.testing import serve_app

from .._authkit import pem_private, pem_public

RSA = rsa.generate_private_key(65537, 2048)
OTHER_RSA = rsa.generate_private_key(65537, 2048)
EC = ec.generate_private_key(ec.SECP256R1())


def test_thumbprint_matches_rfc_7638_example() -> None:
    jwk = {
        "kty": "RSA",
        "e": "AQAB",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCi"
        "FV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0"
        "zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csF"
        "Cur-kEgU8awapJzKnqDKgw",
    }
    assert jwk_thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_public_jwk_has_no_private_members() -> None:
    for key, alg in ((RSA, "RS256"), (EC, "ES256")):
        jwk = public_jwk(key.public_key(), alg)
        assert jwk["alg"] == alg and jwk["use"] == "sig" and jwk["kid"] == jwk_thumbprint(jwk)
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(jwk)


def test_private_keys_are_checked_against_the_algorithm_without_echoing_them() -> None:
    assert load_private_key(pem_private(RSA), "RS256", "w").key_size == 2048
    assert load_private_key(pem_private(EC), "ES256", "w").curve.name == "secp256r1"
    garbage = "-----BEGIN PRIVATE KEY-----\nTUlJQ-not-really-a-key-ZZZZ\n-----END PRIVATE KEY-----"
    with pytest.raises(ConfigError) as info:
        load_private_key(garbage, "RS256", "service.yaml: auth.private_key")
    assert "not-really" not in str(info.value) and "auth.private_key" in str(info.value)
    with pytest.raises(ConfigError, match="needs an RSA key"):
        load_private_key(pem_private(EC), "RS256", "w")
    with pytest.raises(ConfigError, match="needs an EC P-256 key"):
        load_private_key(pem_private(RSA), "ES256", "w")
    with pytest.raises(ConfigError, match="P-256 curve"):
        load_private_key(pem_private(ec.generate_private_key(ec.SECP384R1())), "ES256", "w")
    with pytest.raises(ConfigError, match="at least 2048"):
        load_private_key(pem_private(rsa.generate_private_key(65537, 1024)), "RS256", "w")
    encrypted = RSA.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase"),
    ).decode()
    with pytest.raises(ConfigError, match="unencrypted"):
        load_private_key(encrypted, "RS256", "w")


def test_public_key_from_a_file_or_inline(tmp_path: Path) -> None:
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "issuer.pem").write_text(pem_public(RSA))
    from_file = load_public_key("keys/issuer.pem", tmp_path, "RS256", "w")
    assert public_jwk(from_file, "RS256") == public_jwk(RSA.public_key(), "RS256")
    assert load_public_key(pem_public(EC), tmp_path, "ES256", "w").curve.name == "secp256r1"
    with pytest.raises(ConfigError, match="cannot read"):
        load_public_key("keys/missing.pem", tmp_path, "RS256", "w")
    with pytest.raises(ConfigError, match="needs an RSA key"):
        load_public_key(pem_public(EC), tmp_path, "RS256", "w")


def test_parse_jwks_keeps_only_keys_usable_with_the_pinned_algorithm() -> None:
    good = public_jwk(RSA.public_key(), "RS256")
    weak = public_jwk(rsa.generate_private_key(65537, 1024).public_key(), "RS256")
    document = {
        "keys": [
            {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"},
            {**public_jwk(OTHER_RSA.public_key(), "RS256"), "use": "enc", "kid": "enc"},
            {**public_jwk(OTHER_RSA.public_key(), "RS256"), "alg": "RS512", "kid": "rs512"},
            {**public_jwk(EC.public_key(), "ES256"), "kid": "ec"},
            {**weak, "kid": "weak"},
            {"kty": "RSA", "kid": "broken", "n": "!!", "e": "AQAB"},
            "not a key",
            good,
        ]
    }
    assert list(parse_jwks(document, "RS256")) == [good["kid"]]
    assert list(parse_jwks(document, "ES256")) == ["ec"]
    assert parse_jwks({"keys": "nope"}, "RS256") == {} and parse_jwks([], "RS256") == {}
    no_kid = {k: v for k, v in good.items() if k != "kid"}
    assert list(parse_jwks({"keys": [no_kid]}, "RS256")) == [good["kid"]]


def test_jwks_fetched_over_http_cached_and_refetched_sparingly() -> None:
    hits: list[str] = []
    keys = [public_jwk(RSA.public_key(), "RS256")]
    issuer = Flask("issuer")

    @issuer.get("/jwks.json")
    def jwks() -> dict[str, object]:
        hits.append("hit")
        return {"keys": keys}

    @issuer.get("/broken.json")
    def broken() -> tuple[str, int]:
        hits.append("broken")
        return "down", 500

    kid = keys[0]["kid"]
    with serve_app(issuer) as url:
        lazy = Jwks(f"{url}/jwks.json", "RS256", min_refresh=3600)
        assert lazy.key(kid) is not None and lazy.key(None) is not None and len(hits) == 1
        with pytest.raises(UnknownKey):
            lazy.key("made-up")
        assert len(hits) == 1, "an unknown kid must not refetch before min_refresh"
        eager = Jwks(f"{url}/jwks.json", "RS256", min_refresh=0)
        eager.key(kid)
        keys.append(public_jwk(OTHER_RSA.public_key(), "RS256"))
        assert eager.key(keys[1]["kid"]) is not None and len(hits) == 3, "a rotated-in key is found by a refetch"
        with pytest.raises(UnknownKey, match="several"):
            eager.key(None)
        down = Jwks(f"{url}/broken.json", "RS256")
        for _ in range(3):
            with pytest.raises(KeysUnavailable):
                down.key(kid)
        assert hits.count("broken") == 1, "a failing JWKS is not hammered"
    with pytest.raises(ConfigError, match="http"):
        Jwks("file:///etc/passwd", "RS256")
