"""Email confirmation tokens: ``<user_id>.<expiry>.<mac>``, the mac an HMAC-SHA256 (secret
``verify_token_secret``) over the purpose, user id, address and expiry. A token says nothing a
stranger could use (it is no session token: no service accepts it as a bearer), stops working
when it expires (``verification.ttl``) or its account is deleted, and cannot be forged or moved
to another account without the secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

from macaron import ApiError, FieldError, Service

PURPOSE = b"macaron-user-verify-email-v1"


class TokenInvalid(ApiError):
    status, code, title = 400, "VERIFY_TOKEN_INVALID", "Invalid Confirmation Token"


def _mac(service: Service, user_id: str, email: str, expires: int) -> str:
    key = service.config.secret("verify_token_secret").encode()
    message = b"\n".join([PURPOSE, user_id.encode(), email.encode(), str(expires).encode()])
    return base64.urlsafe_b64encode(hmac.new(key, message, hashlib.sha256).digest()).rstrip(b"=").decode()


def _settings(service: Service) -> dict[str, Any]:
    return dict(service.config.get("verification") or {})


def make(service: Service, user_id: str, email: str) -> str:
    expires = int(time.time()) + int(_settings(service).get("ttl", 7 * 86400))
    return f"{user_id}.{expires}.{_mac(service, user_id, email, expires)}"


def link(service: Service, token: str) -> str:
    """The confirmation link of the mail: ``verification.link`` with ``{token}`` filled in."""
    template = str(_settings(service).get("link") or "{token}")
    return template.replace("{token}", token)


def check(service: Service, token: str) -> Any:
    """The account ``token`` confirms; :class:`TokenInvalid` (400) for anything else."""
    invalid = TokenInvalid("this confirmation token is not valid (malformed, forged or for a deleted account)",
                           errors=[FieldError("/body/token", "is not valid")])
    user_id, _, rest = token.partition(".")
    expiry, _, mac = rest.partition(".")
    if not (user_id and expiry.isdigit() and mac):
        raise invalid
    user = service.models.User.get(user_id)
    if user is None or not hmac.compare_digest(mac, _mac(service, user_id, user.email, int(expiry))):
        raise invalid
    if int(expiry) < time.time():
        raise TokenInvalid("this confirmation token has expired", errors=[FieldError("/body/token", "has expired")])
    return user
