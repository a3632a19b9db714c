"""What an outgoing call carries on behalf of its caller: the request id and, for
sibling services, a bearer token.

Request id: the current request's, else the running task's, else a new one per call.

Token for a sibling whose audience is ``aud`` (never sent to external APIs):

- in a request with a verified token: that token when its ``aud`` includes ``aud``,
  else a short-lived token for ``aud`` on behalf of the same ``sub`` with an ``act``
  claim naming this service (``macaron.auth.token_for``); cached for the request;
- inside ``macaron.auth.service_token()``: a service token for ``aud``;
- in a task enqueued by a user: a token on behalf of that user (``act`` names this service);
- otherwise (no caller): a service token (``sub`` ``service:<name>``) for ``aud`` with
  the scopes the callee's operation requires, reused until half its lifetime has passed.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

from flask import g, has_request_context

from .. import auth
from .._core import context
from .._core.observability import REQUEST_ID_HEADER
from ..auth._authority import authority
from ..auth._tokens import scopes_of

if TYPE_CHECKING:
    from .._core.service import Service


def request_id() -> str:
    """The request id the outgoing call joins: the request's, else the task's, else a new one."""
    return context.request_id() or uuid.uuid4().hex


class TokenSource:
    """Bearer tokens for one sibling audience, minted with the calling service's keys."""

    def __init__(self, service: Service, audience: str) -> None:
        self.service = service
        self.audience = audience
        self._lock = threading.Lock()
        self._cached: dict[tuple[str, tuple[str, ...], str], tuple[str, float]] = {}

    def token(self, scopes: tuple[str, ...] = ()) -> str:
        """The token for one call; ``scopes`` are those the operation requires (for service tokens)."""
        if has_request_context():
            cache = g.setdefault("macaron_client_tokens", {})
            key = (self.audience, auth.current_token())
            token = cache.get(key)
            if token is None:
                token = auth.token_for(self.audience, service=self.service)
                if token is not None:
                    cache[key] = token
            if token is not None:
                return str(token)
        elif (token := auth.token_for(self.audience, service=self.service)) is not None:
            return str(token)  # inside service_token()
        ctx = context.task()
        claims = getattr(ctx, "claims", None) if ctx is not None else None
        if isinstance(claims, dict) and isinstance(claims.get("sub"), str):

            act: dict[str, Any] = {"sub": self.service.name}
            if isinstance(claims.get("act"), dict):
                act["act"] = claims["act"]
            return self._minted(str(claims["sub"]), tuple(sorted(scopes_of(claims))), act=act)
        return self._minted(f"service:{self.service.name}", scopes)

    def _minted(self, sub: str, scopes: tuple[str, ...], **claims: Any) -> str:
        key = (sub, scopes, repr(sorted(claims.items())))
        now = time.time()
        with self._lock:
            hit = self._cached.get(key)
            if hit is not None and now < hit[1]:
                return hit[0]
        ttl = authority(self.service).settings.service_ttl
        token = authority(self.service).issue(sub, ttl=ttl, scopes=scopes, audience=self.audience, **claims)
        with self._lock:
            self._cached[key] = (token, now + ttl / 2)
        return token


def outgoing_headers(tokens: TokenSource | None, scopes: tuple[str, ...] = ()) -> dict[str, str]:
    """The propagation headers of one call (a token only when ``tokens`` is given)."""
    headers = {REQUEST_ID_HEADER: request_id()}
    if tokens is not None:
        headers["Authorization"] = f"Bearer {tokens.token(scopes)}"
    return headers
