"""JWT issuing and verification for one service (keys and settings from ``_authconfig``).

Every verified token has ``exp``, ``iat``, ``iss``, ``aud`` and a non-empty string
``sub``; ``alg`` must be the pinned algorithm and the signature is checked with it
only. ``exp``, ``iat`` and ``nbf`` must be JSON numbers (not numeric strings, which PyJWT
takes), finite, and the token may live at most ``auth.max_ttl`` seconds; ``sub`` must not
start or end with whitespace. A refusal is a :class:`TokenError` whose ``reason`` never
contains the token.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from .._core.config import Config
from .._core.errors import ConfigError, MacaronError
from ._config import AuthSettings, load_keys
from ._keys import KeySet, KeysUnavailable, UnknownKey

REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud", "sub")
RESERVED_CLAIMS = frozenset({"iss", "sub", "aud", "iat", "nbf", "exp", "jti", "scope"})
MAX_TOKEN_CHARS = 8192


class TokenError(MacaronError):
    """A token failed verification; ``reason`` is safe to show (it never contains the token)."""

    code = "TOKEN_INVALID"

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class TokenExpired(TokenError):
    code = "TOKEN_EXPIRED"


def scopes_of(claims: Mapping[str, Any]) -> frozenset[str]:
    """The token's scopes: the ``scope`` claim, a space-separated string or a list of strings."""
    scope = claims.get("scope")
    if isinstance(scope, str):
        return frozenset(scope.split())
    if isinstance(scope, list):
        return frozenset(s for s in scope if isinstance(s, str))
    return frozenset()


class TokenAuthority:
    """Issues and verifies the JWTs of one service."""

    def __init__(self, settings: AuthSettings, keys: KeySet) -> None:
        self.settings = settings
        self.keys = keys

    @classmethod
    def from_config(cls, config: Config, environ: Mapping[str, str] | None = None) -> TokenAuthority:
        settings = AuthSettings.from_config(config)
        return cls(settings, load_keys(settings, config, environ))

    def issue(
        self,
        sub: str,
        *,
        ttl: int | None = None,
        scopes: Iterable[str] = (),
        audience: str | Iterable[str] | None = None,
        **claims: Any,
    ) -> str:
        """A signed token for ``sub``; ``audience`` defaults to this service's own."""
        import jwt

        if self.keys.signing_key is None:
            raise ConfigError(f"this service cannot sign tokens: {self.keys.cannot_sign}")
        if not isinstance(sub, str) or not sub.strip() or sub != sub.strip():
            raise ValueError("sub must be a non-empty string without surrounding whitespace")
        clash = RESERVED_CLAIMS & set(claims)
        if clash:
            raise ValueError(f"claims {sorted(clash)} are set by the framework; use the keyword arguments")
        lifetime = self.settings.ttl if ttl is None else int(ttl)
        if lifetime <= 0:
            raise ValueError("ttl must be positive")
        if lifetime > self.settings.max_ttl:
            raise ValueError(f"ttl must not exceed auth.max_ttl ({self.settings.max_ttl} s)")
        scope_list = [scopes] if isinstance(scopes, str) else list(scopes)
        if any(not isinstance(s, str) or not s or " " in s for s in scope_list):
            raise ValueError("each scope must be a non-empty string without spaces")
        aud: Any = audience if audience is not None else self.settings.audience
        aud = aud if isinstance(aud, str) else list(aud)
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": self.settings.issuer,
            "sub": sub,
            "aud": aud,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "jti": uuid.uuid4().hex,
            **claims,
        }
        if scope_list:
            payload["scope"] = " ".join(scope_list)
        headers = {"kid": self.keys.signing_kid} if self.keys.signing_kid else None
        return jwt.encode(payload, self.keys.signing_key, algorithm=self.settings.algorithm, headers=headers)

    def verify(self, token: str) -> dict[str, Any]:
        """The claims of a valid token; raises :class:`TokenError` saying why it is not."""
        try:
            return self._verify(token)
        except (TokenError, KeysUnavailable):
            raise
        except Exception:  # whatever else goes wrong, the answer is no (and never a 500)
            raise TokenError("the token cannot be verified") from None

    def _verify(self, token: str) -> dict[str, Any]:
        import jwt  # imported on first use: keeps the server's cold start short
        from jwt.exceptions import InvalidSubjectError

        if len(token) > MAX_TOKEN_CHARS:
            raise TokenError(f"the token is longer than {MAX_TOKEN_CHARS} characters")
        if token.count(".") != 2:
            raise TokenError("the token is not a signed JWT (header.payload.signature)")
        try:
            header = jwt.get_unverified_header(token)
        except Exception:
            raise TokenError("the token is malformed (its segments are not base64url-encoded JSON)") from None
        pinned = self.settings.algorithm
        if header.get("alg") != pinned:
            raise TokenError(f"this service accepts {pinned} tokens only")
        try:
            key = self.keys.verification_key(header.get("kid"))
        except UnknownKey as exc:
            raise TokenError(str(exc)) from None
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[pinned],
                audience=self.settings.audience,
                issuer=self.settings.issuer,
                leeway=self.settings.leeway,
                options={
                    "require": list(REQUIRED_CLAIMS),
                    "verify_signature": True,
                    "verify_exp": True,
                    "verify_nbf": True,
                    "verify_iat": True,
                    "verify_aud": True,
                    "verify_iss": True,
                    "verify_sub": True,
                    "enforce_minimum_key_length": True,
                },
            )
        except jwt.ExpiredSignatureError:
            raise TokenExpired("the token has expired") from None
        except jwt.MissingRequiredClaimError as exc:
            raise TokenError(f"the token lacks the required {exc.claim!r} claim") from None
        except jwt.InvalidAudienceError:
            raise TokenError("the token is not meant for this service (audience)") from None
        except jwt.InvalidIssuerError:
            raise TokenError("the token's issuer is not trusted") from None
        except jwt.ImmatureSignatureError:
            raise TokenError("the token is not valid yet (nbf or iat in the future)") from None
        except jwt.InvalidSignatureError:
            raise TokenError("the token's signature does not verify") from None
        except InvalidSubjectError:
            raise TokenError("the token's subject (sub) must be a string") from None
        except jwt.InvalidIssuedAtError:
            raise TokenError("the token's 'iat' must be a number") from None
        except jwt.DecodeError:
            raise TokenError("the token is malformed (a segment or a time claim cannot be decoded)") from None
        except Exception:  # any other decoding problem: fail closed, say nothing about the token
            raise TokenError("the token cannot be decoded or verified") from None
        for name in ("exp", "iat", "nbf"):
            value = claims.get(name, 0)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise TokenError(f"the token's {name!r} must be a number (seconds since the epoch)")
        longest = self.settings.max_ttl
        if claims["exp"] - claims["iat"] > longest or claims["exp"] - time.time() > longest + self.settings.leeway:
            raise TokenError(f"the token lives longer than the {longest} s this service accepts (exp - iat)")
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub.strip():
            raise TokenError("the token's subject (sub) is empty")
        if sub != sub.strip():
            raise TokenError("the token's subject (sub) starts or ends with whitespace")
        if "scope" in claims and not isinstance(claims["scope"], str | list):
            raise TokenError("the token's scope claim must be a string or a list")
        return claims
