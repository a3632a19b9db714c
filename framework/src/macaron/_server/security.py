"""The security guard: the bearer JWTs a spec requires, checked before request validation.

The spec says what is protected, never handler code. Bearer JWT schemes are declared in
``securityDefinitions`` as ``type: apiKey, in: header, name: Authorization`` (or
``type: oauth2``); any other scheme type stops the service at start-up rather than go
unenforced. ``security:`` on an operation replaces the global one; ``security: []``
opens an operation; an empty alternative (``- {}``) makes the token optional (checked
when sent). Alternatives are OR; the scopes listed in one alternative are all required.

Token sources: ``Authorization: Bearer <jwt>`` (scheme case-insensitive), else the
cookie named ``auth.cookie`` (default ``token``) holding ``Bearer <jwt>`` or the bare
jwt. When a header is sent it alone counts; any other header form is a 401.

A cookie is sent by the browser on requests other sites trigger too (CSRF). So a write
(any method but GET, HEAD, OPTIONS) authenticated by the cookie must come from the service's
own origin or one listed in ``auth.cookie_origins``: browsers say where a request comes from
(``Sec-Fetch-Site``, ``Origin``), and one from elsewhere is a 403 ``CSRF_REJECTED``. A request
with neither header is not a browser's and passes. The Authorization header is never sent by
a browser on its own, so it needs no such check.

Failures: 401 ``AUTHORIZATION_HEADER_MISSING`` / ``TOKEN_INVALID`` / ``TOKEN_EXPIRED``,
403 ``INSUFFICIENT_SCOPE`` / ``CSRF_REJECTED``, each with ``WWW-Authenticate: Bearer realm=..., error=...``;
503 ``AUTH_KEYS_UNAVAILABLE`` when a JWKS cannot be fetched. The detail never contains
the token. On success the claims are ``g.macaron_claims`` and the raw token ``g.macaron_token``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from flask import g, request

from .._core.errors import Forbidden, ServiceUnavailable, SpecError
from ..auth._authority import authority, challenge, unauthorized
from ..auth._keys import KeysUnavailable
from ..auth._tokens import TokenError, scopes_of

if TYPE_CHECKING:
    from .._core.service import Service
    from .._core.spec import Operation

@dataclass(frozen=True)
class Requirement:
    """What an operation needs: any one of ``alternatives`` (sets of scopes); ``optional`` allows no token."""

    alternatives: tuple[frozenset[str], ...]
    optional: bool = False


ANY_TOKEN = Requirement((frozenset(),))


def is_bearer(scheme: Any) -> bool:
    if not isinstance(scheme, dict):
        return False
    if scheme.get("type") == "oauth2":
        return True
    return (
        scheme.get("type") == "apiKey"
        and scheme.get("in") == "header"
        and str(scheme.get("name", "")).lower() == "authorization"
    )


def requirement(service: Service, op: Operation) -> Requirement | None:
    """The operation's requirement, or None when it is open; SpecError for schemes macaron cannot enforce."""
    if not op.security:
        return None
    where = f"{service.spec.path}: operation {op.label}"
    definitions = service.spec.document.get("securityDefinitions") or {}
    alternatives: list[frozenset[str]] = []
    optional = False
    for alternative in op.security:
        if not alternative:
            optional = True
            continue
        scopes: set[str] = set()
        for name, listed in alternative.items():
            if name not in definitions:
                raise SpecError(f"{where}: security scheme {name!r} is not declared in securityDefinitions")
            if not is_bearer(definitions[name]):
                raise SpecError(
                    f"{where}: security scheme {name!r} is not a bearer JWT scheme, which is all macaron enforces; "
                    "declare it as 'type: apiKey, in: header, name: Authorization'"
                )
            scopes.update(str(s) for s in listed or [])
        alternatives.append(frozenset(scopes))
    return Requirement(tuple(alternatives), optional) if alternatives else None


def bearer_token(service: Service, cookie_name: str) -> str | None:
    """The token the current request carries, None when it carries none; 401 for a malformed one."""
    headers = request.headers.getlist("Authorization")
    if len(headers) > 1:
        raise unauthorized(service, "TOKEN_INVALID", "send one Authorization header, not several", "invalid_request")
    if headers:
        scheme, _, token = headers[0].strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or " " in token:
            raise unauthorized(
                service, "TOKEN_INVALID", "the Authorization header must read 'Bearer <token>'", "invalid_request"
            )
        return token
    cookies = request.cookies.getlist(cookie_name)
    if not cookies:
        return None
    if len(cookies) > 1:
        raise unauthorized(service, "TOKEN_INVALID", f"send one {cookie_name!r} cookie, not several", "invalid_request")
    value = unquote(cookies[0]).strip()
    if value[:7].lower() == "bearer ":
        value = value[7:].strip()
    if not value or " " in value:
        raise unauthorized(
            service,
            "TOKEN_INVALID",
            f"the {cookie_name!r} cookie must hold 'Bearer <token>' or the token",
            "invalid_request",
        )
    return value


_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def check_cookie_origin(trusted: frozenset[str]) -> None:
    """403 ``CSRF_REJECTED`` when a browser sent this cookie-authenticated write from another origin."""
    if request.method in _SAFE_METHODS:
        return
    origin = (request.headers.get("Origin") or "").rstrip("/").lower()
    if origin:  # the same host, over http(s) only: a proxy may have ended TLS before this worker
        scheme, _, host = origin.partition("://")
        if (scheme in ("http", "https") and host == request.host.lower()) or origin in trusted:
            return
    elif (request.headers.get("Sec-Fetch-Site") or "").lower() in ("", "same-origin", "none"):
        return  # no header at all: not a browser; "none": the user typed it
    raise Forbidden(
        f"a write authenticated by the token cookie must come from this service's own pages "
        f"(origin {origin[:100] or 'not sent'}); send 'Authorization: Bearer <token>' instead",
        code="CSRF_REJECTED",
    )


def authenticate(service: Service, needs: Requirement) -> dict[str, Any] | None:
    """Check the current request against ``needs``; set ``g.macaron_claims``; raise 401/403/503."""
    auth = authority(service)
    token = bearer_token(service, auth.settings.cookie)
    if token is None:
        if needs.optional:
            return None
        raise unauthorized(
            service,
            "AUTHORIZATION_HEADER_MISSING",
            f"this operation needs 'Authorization: Bearer <token>' (or a {auth.settings.cookie!r} cookie)",
            "invalid_request",
        )
    if auth.keys.missing:
        raise ServiceUnavailable(f"this service cannot verify tokens: {auth.keys.missing}", code="AUTH_NOT_CONFIGURED")
    if "Authorization" not in request.headers:  # the token came from the cookie
        check_cookie_origin(auth.settings.cookie_origins)
    try:
        claims = auth.verify(token)
    except TokenError as exc:
        service.log.info(
            "token rejected: %s", exc.reason, extra={"request_id": g.get("macaron_request_id"), "code": exc.code}
        )
        raise unauthorized(service, exc.code, exc.reason) from None
    except KeysUnavailable as exc:
        service.log.warning("token keys unavailable: %s", exc, extra={"request_id": g.get("macaron_request_id")})
        raise ServiceUnavailable(
            "the keys to verify tokens cannot be fetched right now", code="AUTH_KEYS_UNAVAILABLE"
        ) from None
    g.macaron_claims = claims
    g.macaron_token = token
    have = scopes_of(claims)
    if not any(alternative <= have for alternative in needs.alternatives):
        need = " ".join(sorted(sorted(needs.alternatives, key=len)[0]))
        detail = f"this operation needs the scope(s): {need}"
        raise Forbidden(
            detail, code="INSUFFICIENT_SCOPE", headers=challenge(service, "insufficient_scope", detail, need)
        )
    return claims


def security_guard(service: Service, op: Operation) -> Callable[[Any], None] | None:
    """Guard factory for ``create_app``: None for open operations; fails start-up when keys are missing."""
    needs = requirement(service, op)
    if needs is None:
        return None
    auth = authority(service)
    if auth.keys.missing:
        raise SpecError(f"{service.spec.path}: operation {op.label} requires a token, but {auth.keys.missing}")

    def guard(_request: Any) -> None:
        authenticate(service, needs)

    return guard


TOKEN_FIELDS = frozenset({"token", "access_token", "id_token", "refresh_token"})


def returns_credentials(service: Service, op: Operation) -> bool:
    """Whether the operation's answers carry credentials, so that they go out with
    ``Cache-Control: no-store``: ``x-no-store: true|false`` on the operation says so explicitly;
    otherwise a response schema with a top-level property named like a token (``token``,
    ``access_token``, ``id_token``, ``refresh_token``) or marked ``x-credential: true`` does."""
    explicit = op.spec.get("x-no-store")
    if explicit is not None:
        return bool(explicit)
    for response in op.responses.values():
        schema = response.get("schema") if isinstance(response, dict) else None
        if not isinstance(schema, dict):
            continue
        schema = service.compiler.resolve(schema)
        parts = [schema, *(service.compiler.resolve(s) for s in schema.get("allOf", []) if isinstance(s, dict))]
        for part in parts:
            props = part.get("properties") or {}
            if TOKEN_FIELDS & set(props) or any(isinstance(p, dict) and p.get("x-credential") for p in props.values()):
                return True
    return False


def decorate_handler(service: Service, op: Operation, handler: Callable[..., Any]) -> Callable[..., Any]:
    """Apply ``x-decorate-server: module.function`` (or a list, outermost first) to the handler."""
    targets = op.spec.get("x-decorate-server")
    if not targets:
        return handler
    for target in reversed([targets] if isinstance(targets, str) else list(targets)):
        where = f"{service.spec.path}: operation {op.label}: x-decorate-server"
        decorator = service.resolve(str(target), where=where)
        if not callable(decorator):
            raise SpecError(f"{where}: {target!r} is not callable")
        handler = decorator(handler)
    return handler
