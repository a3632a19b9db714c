"""The ``auth:`` section of service.yaml, and the keys it names.

Config keys (all optional) and their defaults::

    auth:
      algorithm: HS256        # pinned: HS256 | RS256 | ES256; the token's own 'alg' is never trusted
      issuer: macaron         # 'iss' written into tokens and required on every token
      audience: <service name> # 'aud' required: a token for another service is refused
      leeway: 10              # seconds of clock skew allowed on exp/nbf/iat (0..60)
      ttl: 3600               # default lifetime of generate_token(), seconds
      service_ttl: 60         # lifetime of service_token() tokens, seconds
      max_ttl: 86400          # longest lifetime (exp - iat) of a token this service accepts or issues
      cookie: token           # cookie read when there is no Authorization header
      cookie_origins: []      # other origins (https://app.example.com) whose pages may send writes
                              # authenticated by that cookie; the service's own origin always may
      secret: null            # HS256: a key under 'secrets:'; default: secrets.jwt_secret when declared,
                              #        else the environment variable MACARON_JWT_SECRET
      private_key: null       # RS256/ES256 issuer: a key under 'secrets:' holding the PEM private key
      public_key: null        # RS256/ES256 verifier: a PEM file (relative to the service) or inline PEM
      jwks_url: null          # RS256/ES256 verifier: the issuer's /.well-known/jwks.json
      jwks_ttl: 300           # seconds a fetched JWKS is cached

Unknown keys are an error (a typo must not silently weaken a check). Secrets and key
material never appear in error messages.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from .._core.config import Config
from .._core.errors import ConfigError
from ._keys import ALGORITHMS, MIN_SECRET_BYTES, Jwks, KeySet, load_private_key, load_public_key, public_jwk

DEFAULT_SECRET_ENV = "MACARON_JWT_SECRET"
DEFAULT_SECRET_KEY = "jwt_secret"
MAX_LEEWAY = 60
DEFAULT_MAX_TTL = 86_400  # a day: a token that lives longer is refused (an 'exp' in year 9999, say)
_KNOWN = frozenset(
    (
        "algorithm",
        "issuer",
        "audience",
        "leeway",
        "ttl",
        "service_ttl",
        "max_ttl",
        "cookie",
        "cookie_origins",
        "secret",
        "private_key",
        "public_key",
        "jwks_url",
        "jwks_ttl",
    )
)


@dataclass(frozen=True)
class AuthSettings:
    """The validated ``auth:`` section."""

    algorithm: str
    issuer: str
    audience: str | tuple[str, ...]
    leeway: float
    ttl: int
    service_ttl: int
    cookie: str
    cookie_origins: frozenset[str]
    secret: str | None
    private_key: str | None
    public_key: str | None
    jwks_url: str | None
    jwks_ttl: float
    max_ttl: int = DEFAULT_MAX_TTL

    @classmethod
    def from_config(cls, config: Config) -> AuthSettings:
        where = f"{config.directory / 'service.yaml'}: auth"
        raw = config.get("auth") or {}
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{where}: must be a mapping")
        unknown = sorted(set(raw) - _KNOWN)
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {unknown}; known: {sorted(_KNOWN)}")
        algorithm = str(raw.get("algorithm") or "HS256").upper()
        if algorithm not in ALGORITHMS:
            raise ConfigError(f"{where}.algorithm: {algorithm!r} is not supported; use one of {sorted(ALGORITHMS)}")
        audience = raw.get("audience") or config.name
        audience = tuple(str(a) for a in audience) if isinstance(audience, list) else str(audience)
        try:
            leeway = float(raw.get("leeway", 10))
            ttl, service_ttl = int(raw.get("ttl", 3600)), int(raw.get("service_ttl", 60))
            jwks_ttl = float(raw.get("jwks_ttl", 300))
            max_ttl = int(raw.get("max_ttl", DEFAULT_MAX_TTL))
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: leeway, ttl, service_ttl, max_ttl and jwks_ttl must be numbers") from None
        if not 0 <= leeway <= MAX_LEEWAY:
            raise ConfigError(
                f"{where}.leeway: {leeway} s is outside 0..{MAX_LEEWAY} s (a large leeway accepts expired tokens)"
            )
        if ttl <= 0 or service_ttl <= 0:
            raise ConfigError(f"{where}: ttl and service_ttl must be positive")
        if max(ttl, service_ttl) > max_ttl:
            raise ConfigError(f"{where}: ttl and service_ttl must not exceed max_ttl ({max_ttl} s)")
        opt = {k: (str(raw[k]) if raw.get(k) else None) for k in ("secret", "private_key", "public_key", "jwks_url")}
        if algorithm == "HS256" and (opt["private_key"] or opt["public_key"] or opt["jwks_url"]):
            raise ConfigError(
                f"{where}: private_key, public_key and jwks_url are for RS256/ES256, but algorithm is HS256"
            )
        origins = raw.get("cookie_origins") or []
        if not isinstance(origins, list) or not all(
            isinstance(o, str) and o.startswith(("http://", "https://")) and o.count("/") == 2 for o in origins
        ):
            raise ConfigError(f"{where}.cookie_origins: a list of origins like 'https://app.example.com' (no path)")
        if algorithm != "HS256" and opt["secret"]:
            raise ConfigError(f"{where}: 'secret' is for HS256, but algorithm is {algorithm}")
        return cls(
            algorithm=algorithm,
            issuer=str(raw.get("issuer") or "macaron"),
            audience=audience,
            leeway=leeway,
            ttl=ttl,
            service_ttl=service_ttl,
            cookie=str(raw.get("cookie") or "token"),
            cookie_origins=frozenset(o.rstrip("/").lower() for o in origins),
            jwks_ttl=jwks_ttl,
            max_ttl=max_ttl,
            **opt,
        )


def _hs256_key(settings: AuthSettings, config: Config, environ: Mapping[str, str], where: str) -> KeySet:
    keys = KeySet("HS256")
    if settings.secret is not None:
        value = config.secret(settings.secret)  # ConfigError when not declared
        source = f"the secret {settings.secret!r}"
    elif DEFAULT_SECRET_KEY in config.secrets:
        value, source = config.secret(DEFAULT_SECRET_KEY), f"the secret {DEFAULT_SECRET_KEY!r}"
    else:
        value, source = environ.get(DEFAULT_SECRET_ENV, ""), f"the environment variable {DEFAULT_SECRET_ENV}"
    if not value:
        keys.missing = keys.cannot_sign = (
            f"HS256 needs a secret: set {DEFAULT_SECRET_ENV} or declare '{DEFAULT_SECRET_KEY}' under 'secrets:'"
        )
    elif len(value.encode()) < MIN_SECRET_BYTES:
        raise ConfigError(f"{where}: {source} is shorter than {MIN_SECRET_BYTES} bytes; HS256 needs a longer one")
    else:
        keys.signing_key = value.encode()
    return keys


def load_keys(settings: AuthSettings, config: Config, environ: Mapping[str, str] | None = None) -> KeySet:
    """The KeySet the settings describe; ConfigError when a configured key is unusable."""
    where = f"{config.directory / 'service.yaml'}: auth"
    environ = (config.environ or os.environ) if environ is None else environ
    if settings.algorithm == "HS256":
        return _hs256_key(settings, config, environ, where)
    keys = KeySet(settings.algorithm)
    if settings.private_key:
        private = load_private_key(
            config.secret(settings.private_key),
            settings.algorithm,
            f"{where}.private_key (secret {settings.private_key!r})",
        )
        jwk = public_jwk(private.public_key(), settings.algorithm)
        keys.signing_key, keys.signing_kid = private, jwk["kid"]
        keys.static[jwk["kid"]] = private.public_key()
        keys.served_jwks = {"keys": [jwk]}
    else:
        keys.cannot_sign = f"{settings.algorithm} signing needs auth.private_key (a secret holding a PEM key)"
    if settings.public_key:
        public = load_public_key(settings.public_key, config.directory, settings.algorithm, f"{where}.public_key")
        keys.static.setdefault(public_jwk(public, settings.algorithm)["kid"], public)
    if settings.jwks_url:
        keys.jwks = Jwks(settings.jwks_url, settings.algorithm, ttl=settings.jwks_ttl)
    if not keys.static and keys.jwks is None:
        keys.missing = f"{settings.algorithm} verification needs auth.private_key, auth.public_key or auth.jwks_url"
    return keys
