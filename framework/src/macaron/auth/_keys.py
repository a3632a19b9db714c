"""Key material for JWTs: the signing key, the verification keys and JWKS, for one pinned algorithm.

Supported algorithms: ``HS256`` (a shared secret of at least 32 bytes), ``RS256``
(RSA, at least 2048 bits) and ``ES256`` (EC P-256). A private key signs and also
verifies (through its public half); a public key (PEM) or a JWKS URL only verifies.
Keys of the wrong type for the pinned algorithm are refused at start-up, and keys
fetched from a JWKS are filtered the same way, so a JWKS can never hand out an HMAC
secret (the key-confusion attack). Each asymmetric key gets its RFC 7638 thumbprint
as ``kid``. Error messages never contain key material.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._core.errors import ConfigError, MacaronError

ALGORITHMS = {"HS256": "oct", "RS256": "RSA", "ES256": "EC"}
MIN_SECRET_BYTES = 32
MIN_RSA_BITS = 2048
_JWKS_MAX_BYTES = 1_048_576
_RETRY_AFTER_FAILURE = 5.0
_THUMBPRINT_MEMBERS = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y")}


class KeysUnavailable(MacaronError):
    """The verification keys cannot be obtained right now (the JWKS endpoint failed)."""


class UnknownKey(MacaronError):
    """The token names a key (``kid``) this service does not know."""


def thumbprint(jwk: dict[str, Any]) -> str:
    """The RFC 7638 SHA-256 thumbprint of a public JWK, base64url without padding."""
    members = {k: jwk[k] for k in _THUMBPRINT_MEMBERS[jwk["kty"]]}
    digest = hashlib.sha256(json.dumps(members, separators=(",", ":"), sort_keys=True).encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def public_jwk(public_key: Any, algorithm: str) -> dict[str, Any]:
    """The public JWK of ``public_key`` with ``kid`` (thumbprint), ``alg`` and ``use``."""
    from jwt.algorithms import get_default_algorithms

    raw = get_default_algorithms()[algorithm].to_jwk(public_key, as_dict=True)
    jwk = {k: raw[k] for k in _THUMBPRINT_MEMBERS[raw["kty"]]}
    return {**jwk, "kid": thumbprint(jwk), "alg": algorithm, "use": "sig"}


def _check_key_type(key: Any, algorithm: str, where: str) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    if algorithm == "RS256":
        if not isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
            raise ConfigError(f"{where}: RS256 needs an RSA key, got {type(key).__name__}")
        if key.key_size < MIN_RSA_BITS:
            raise ConfigError(f"{where}: the RSA key has {key.key_size} bits; RS256 needs at least {MIN_RSA_BITS}")
    elif algorithm == "ES256":
        if not isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
            raise ConfigError(f"{where}: ES256 needs an EC P-256 key, got {type(key).__name__}")
        if key.curve.name != "secp256r1":
            raise ConfigError(f"{where}: ES256 needs the P-256 curve, got {key.curve.name}")


def load_private_key(pem: str, algorithm: str, where: str) -> Any:
    """A private key object from PEM text (unencrypted), checked against ``algorithm``."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(pem.strip().encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{where}: not an unencrypted PEM private key ({type(exc).__name__})") from None
    except Exception as exc:  # UnsupportedAlgorithm and friends: never show the material
        raise ConfigError(f"{where}: cannot load the private key ({type(exc).__name__})") from None
    _check_key_type(key, algorithm, where)
    return key


def load_public_key(value: str, directory: Path, algorithm: str, where: str) -> Any:
    """A public key from inline PEM text or a PEM file path (relative to ``directory``)."""
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    text = value
    if "-----BEGIN" not in value:
        path = (directory / value).resolve()
        try:
            text = path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{where}: cannot read the public key file {path} ({type(exc).__name__})") from None
    try:
        key = load_pem_public_key(text.strip().encode())
    except Exception as exc:
        raise ConfigError(f"{where}: not a PEM public key ({type(exc).__name__})") from None
    _check_key_type(key, algorithm, where)
    return key


class Jwks:
    """A JWKS fetched over HTTP(S) and cached for ``ttl`` seconds.

    A ``kid`` not in the cache triggers one refetch, at most once per ``min_refresh``
    seconds, so a flood of made-up ``kid``s cannot turn into a flood of fetches.
    """

    def __init__(
        self, url: str, algorithm: str, *, ttl: float = 300.0, min_refresh: float = 30.0, timeout: float = 5.0
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"auth.jwks_url must be an http(s) URL, got {url!r}")
        self.url = url
        self.algorithm = algorithm
        self.ttl = ttl
        self.min_refresh = min_refresh
        self.timeout = timeout
        self._keys: dict[str, Any] = {}
        self._fetched_at: float | None = None
        self._failed_at: float | None = None
        self._lock = threading.Lock()

    def key(self, kid: str | None) -> Any:
        """The verification key for ``kid`` (or the only key when the token has none)."""
        with self._lock:
            now = time.monotonic()
            if self._fetched_at is None or now - self._fetched_at > self.ttl:
                self._refresh(now)
            elif kid is not None and kid not in self._keys and now - self._fetched_at > self.min_refresh:
                self._refresh(now)
            if kid is None:
                if len(self._keys) == 1:
                    return next(iter(self._keys.values()))
                raise UnknownKey("the token has no 'kid' and the key set holds several keys")
            try:
                return self._keys[kid]
            except KeyError:
                raise UnknownKey("the token's 'kid' names no key of the issuer") from None

    def _refresh(self, now: float) -> None:
        if self._failed_at is not None and now - self._failed_at < _RETRY_AFTER_FAILURE:
            if self._fetched_at is None:
                raise KeysUnavailable(f"the JWKS at {self.url} failed a moment ago; retrying shortly")
            return
        try:
            with urllib.request.urlopen(self.url, timeout=self.timeout) as resp:
                data = json.loads(resp.read(_JWKS_MAX_BYTES + 1)[:_JWKS_MAX_BYTES])
        except (OSError, ValueError) as exc:
            self._failed_at = now
            if self._fetched_at is None:
                raise KeysUnavailable(f"cannot fetch the JWKS from {self.url}: {type(exc).__name__}") from None
            return  # keep serving the keys we have
        self._failed_at = None
        self._keys = parse_jwks(data, self.algorithm)
        self._fetched_at = now


def parse_jwks(data: Any, algorithm: str) -> dict[str, Any]:
    """``{kid: key}`` for the keys of a JWKS document usable with ``algorithm`` (others skipped)."""
    from jwt import PyJWK

    out: dict[str, Any] = {}
    keys = data.get("keys") if isinstance(data, dict) else None
    for jwk in keys if isinstance(keys, list) else []:
        if not isinstance(jwk, dict) or jwk.get("kty") != ALGORITHMS[algorithm] or jwk.get("kty") == "oct":
            continue
        if jwk.get("use", "sig") != "sig" or jwk.get("alg", algorithm) != algorithm:
            continue
        if algorithm == "ES256" and jwk.get("crv") != "P-256":
            continue
        try:
            key = PyJWK(jwk, algorithm=algorithm).key
            _check_key_type(key, algorithm, "jwks")
            kid = jwk.get("kid") or thumbprint(jwk)
        except Exception:  # an unusable key is skipped, never fatal
            continue
        if isinstance(kid, str):
            out[kid] = key
    return out


@dataclass
class KeySet:
    """Every key one service uses for one algorithm; ``missing`` says why it cannot verify."""

    algorithm: str
    signing_key: Any = None
    signing_kid: str | None = None
    static: dict[str, Any] = field(default_factory=dict)
    jwks: Jwks | None = None
    served_jwks: dict[str, Any] | None = None
    missing: str | None = None
    cannot_sign: str | None = None

    def verification_key(self, kid: str | None) -> Any:
        """The key to check a token with ``kid``; raises :class:`UnknownKey` / :class:`KeysUnavailable`."""
        if self.algorithm == "HS256":
            return self.signing_key
        if kid is not None and not isinstance(kid, str):
            raise UnknownKey("the token's 'kid' is not a string")
        if kid is not None and kid in self.static:
            return self.static[kid]
        if self.jwks is not None:
            if kid is None and self.static and len(self.static) == 1:
                return next(iter(self.static.values()))
            return self.jwks.key(kid)
        if len(self.static) == 1 and (kid is None or self.signing_key is None):
            # a single configured public key: tokens from an issuer without (or with another) kid scheme
            return next(iter(self.static.values()))
        raise UnknownKey("the token's 'kid' names no key of this service")
