"""The implementation of :mod:`macaron.auth` (its ``__init__`` re-exports the public names and
documents them)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import g, has_app_context, has_request_context

from .._core import context
from .._core.errors import MacaronError
from ._authority import authority, unauthorized
from ._tokens import TokenError, scopes_of

if TYPE_CHECKING:
    from .._core.service import Service



@dataclass
class _ServiceCredentials:
    service: Service
    sub: str
    scopes: tuple[str, ...]
    audience: str | tuple[str, ...] | None
    ttl: int
    token: str
    expires: float


# Context-local (per thread / task), like Flask's own context: set only inside ``service_token``.
_CREDENTIALS: ContextVar[_ServiceCredentials | None] = ContextVar("macaron_service_credentials", default=None)


def _service(service: Service | None) -> Service:
    if service is not None:
        return service
    creds = _CREDENTIALS.get()
    if creds is not None:
        return creds.service
    if has_app_context():
        return context.current_service()
    raise MacaronError("outside a request or service_token(): pass service= to say which service's keys to use")


def current_user() -> dict[str, Any] | None:
    """The verified claims of the current request's token, or None (no request, open operation)."""
    if not has_request_context():
        return None
    claims = g.get("macaron_claims")
    return dict(claims) if isinstance(claims, dict) else None


def get_user_id() -> str | None:
    """The ``sub`` of the current request's verified token, or None."""
    claims = current_user()
    return str(claims["sub"]) if claims else None


def current_token() -> str | None:
    """The bearer token to act with: the ``service_token`` of the enclosing block (renewed when it nears
    expiry), else the current request's verified token, else None."""
    creds = _CREDENTIALS.get()
    if creds is not None:
        if time.time() > creds.expires - min(10.0, creds.ttl / 2):
            creds.token = authority(creds.service).issue(
                creds.sub, ttl=creds.ttl, scopes=creds.scopes, audience=creds.audience
            )
            creds.expires = time.time() + creds.ttl
        return creds.token
    if has_request_context():
        token = g.get("macaron_token")
        return token if isinstance(token, str) else None
    return None


def generate_token(
    sub: str,
    ttl: int | None = None,
    scopes: Iterable[str] = (),
    audience: str | Iterable[str] | None = None,
    *,
    service: Service | None = None,
    **claims: Any,
) -> str:
    """A signed JWT for ``sub``. ``audience`` defaults to this service's own; ``ttl`` to ``auth.ttl``.

    Extra ``claims`` (e.g. ``act={"sub": "user"}`` for a token on behalf of ``sub``) are added as given;
    the registered claims (iss, sub, aud, iat, nbf, exp, jti, scope) are the framework's.
    """
    return authority(_service(service)).issue(sub, ttl=ttl, scopes=scopes, audience=audience, **claims)


def verify_token(token: str, *, service: Service | None = None) -> dict[str, Any]:
    """The claims of ``token`` checked by this service's rules; raises a 401 :class:`Unauthorized`."""
    svc = _service(service)
    try:
        return authority(svc).verify(token)
    except TokenError as exc:
        raise unauthorized(svc, exc.code, exc.reason) from None


@contextmanager
def service_token(
    scopes: Iterable[str] = (),
    *,
    audience: str | Iterable[str] | None = None,
    ttl: int | None = None,
    sub: str | None = None,
    service: Service | None = None,
) -> Iterator[str]:
    """Mint a short-lived token (``auth.service_ttl``, default 60 s) with ``sub`` ``service:<name>``;
    inside the block ``current_token()`` returns it (renewed as needed) and ``token_for`` mints from it."""
    svc = _service(service)
    auth = authority(svc)
    lifetime = int(ttl or auth.settings.service_ttl)
    scope_tuple = (scopes,) if isinstance(scopes, str) else tuple(scopes)
    aud = audience if audience is None or isinstance(audience, str) else tuple(audience)
    subject = sub or f"service:{svc.name}"
    token = auth.issue(subject, ttl=lifetime, scopes=scope_tuple, audience=aud)
    creds = _ServiceCredentials(svc, subject, scope_tuple, aud, lifetime, token, time.time() + lifetime)
    reset = _CREDENTIALS.set(creds)
    try:
        yield token
    finally:
        _CREDENTIALS.reset(reset)


def token_for(audience: str, *, scopes: Iterable[str] | None = None, service: Service | None = None) -> str | None:
    """A token to present to the service ``audience`` now, or None when there is no caller to act for.

    In a ``service_token`` block: a service token for ``audience``. In a request with a verified token:
    that token when it is already meant for ``audience`` (and no ``scopes`` are asked), else a token on
    behalf of its ``sub`` (``act: {"sub": <this service>}``), expiring no later than the caller's.
    """
    creds = _CREDENTIALS.get()
    if creds is not None:
        chosen = creds.scopes if scopes is None else tuple(scopes)
        return authority(creds.service).issue(creds.sub, ttl=creds.ttl, scopes=chosen, audience=audience)
    claims = current_user()
    if claims is None:
        return None
    aud = claims.get("aud")
    if scopes is None and audience in ([aud] if isinstance(aud, str) else list(aud or [])):
        return current_token()
    svc = _service(service)
    auth = authority(svc)
    ttl = max(1, min(int(claims["exp"]) - int(time.time()), auth.settings.service_ttl))
    act: dict[str, Any] = {"sub": svc.name}
    if isinstance(claims.get("act"), dict):
        act["act"] = claims["act"]
    granted = sorted(scopes_of(claims)) if scopes is None else list(scopes)
    return auth.issue(str(claims["sub"]), ttl=ttl, scopes=granted, audience=audience, act=act)
