"""The security guard: what a spec's ``security:`` requires, checked before request validation.

The spec says what is protected, never handler code. Two kinds of scheme are enforced:

- Bearer JWTs: ``type: apiKey, in: header, name: Authorization`` (or ``type: oauth2``), verified
  with the service's keys (``macaron.auth``).
- HTTP Basic: ``type: basic``, with ``x-verify-server: module.function`` on the scheme naming the
  service's verifier, called as ``verify(user, password)``; it returns the caller's claims (a
  dict; ``sub`` defaults to the user), ``True`` (claims ``{"sub": user}``), or a false value to
  refuse. Without ``x-verify-server`` the service does not start: macaron holds no passwords.

Any other scheme (an apiKey in another header or the query) stops the service at start-up
rather than go unenforced, as does an alternative that needs two schemes sent in the one
``Authorization`` header (Basic and Bearer), or scopes listed for a Basic scheme (Swagger 2.0
allows scopes for oauth2 only; a JWT scheme's list is read as the scopes the token must hold).
``security:`` on an operation replaces the global one; ``security: []`` opens an operation; an
empty alternative (``- {}``) makes the credentials optional (checked when sent). Alternatives
are OR; the scopes listed in one alternative are all required. The ``Authorization`` header's
scheme word says which alternatives a request is judged by: ``Basic`` → the Basic ones,
anything else (or none) → the JWT ones.

Token sources: ``Authorization: Bearer <jwt>`` (scheme case-insensitive), else the
cookie named ``auth.cookie`` (default ``token``) holding ``Bearer <jwt>`` or the bare
jwt. When a header is sent it alone counts; any other header form is a 401.

A cookie is sent by the browser on requests other sites trigger too (CSRF). So a write
(any method but GET, HEAD, OPTIONS) authenticated by the cookie must come from the service's
own origin or one listed in ``auth.cookie_origins``: browsers say where a request comes from
(``Sec-Fetch-Site``, ``Origin``), and one from elsewhere is a 403 ``CSRF_REJECTED``. A request
with neither header is not a browser's and passes. A bearer Authorization header is never sent
by a browser on its own, so it needs no such check; Basic credentials are (a browser keeps what
its login prompt was given), so a write with them is checked like one with the cookie.

Failures: 401 ``AUTHORIZATION_HEADER_MISSING`` / ``TOKEN_INVALID`` / ``TOKEN_EXPIRED`` /
``CREDENTIALS_INVALID`` (Basic: malformed, or refused by the verifier), 403
``INSUFFICIENT_SCOPE`` / ``CSRF_REJECTED``, each with ``WWW-Authenticate: Bearer realm=...,
error=...`` (``Basic realm=..., charset="UTF-8"`` for Basic, both when either would do);
503 ``AUTH_KEYS_UNAVAILABLE`` when a JWKS cannot be fetched. The detail never contains
the credentials. On success the claims are ``g.macaron_claims`` and, for a JWT, the raw token
``g.macaron_token``.
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
from .basic import BASIC_FORM, Basic, basic_scheme, check_basic, refuse_basic
from .credentials import authorization, scheme_kind

if TYPE_CHECKING:
    from .._core.service import Service
    from .._core.spec import Operation

@dataclass(frozen=True)
class Requirement:
    """What an operation needs: a JWT with any one of ``alternatives`` (sets of scopes), or Basic
    credentials one of ``basic`` accepts; ``optional`` allows none."""

    alternatives: tuple[frozenset[str], ...]
    optional: bool = False
    basic: tuple[Basic, ...] = ()


ANY_TOKEN = Requirement((frozenset(),))


def is_bearer(scheme: Any) -> bool:
    return scheme_kind(scheme) == "bearer"


def requirement(service: Service, op: Operation) -> Requirement | None:
    """The operation's requirement, or None when it is open; SpecError for schemes macaron cannot enforce."""
    if not op.security:
        return None
    where = f"{service.spec.path}: operation {op.label}"
    definitions = service.spec.document.get("securityDefinitions") or {}
    alternatives: list[frozenset[str]] = []
    basic: list[Basic] = []
    optional = False
    for alternative in op.security:
        if not alternative:
            optional = True
            continue
        scopes: set[str] = set()
        kinds: list[str] = []
        for name, listed in alternative.items():
            if name not in definitions:
                raise SpecError(f"{where}: security scheme {name!r} is not declared in securityDefinitions")
            kind = scheme_kind(definitions[name])
            kinds.append(kind)
            if kind == "basic":
                basic.append(basic_scheme(service, where, name, definitions[name], listed))
            elif kind == "bearer":
                scopes.update(str(s) for s in listed or [])
            else:
                raise SpecError(
                    f"{where}: security scheme {name!r} is neither a bearer JWT scheme nor HTTP Basic, which is "
                    "all macaron enforces; declare it as 'type: apiKey, in: header, name: Authorization' "
                    "or 'type: basic'"
                )
        if len(kinds) > 1:
            raise SpecError(
                f"{where}: one alternative of security needs {sorted(alternative)}, but a request sends one "
                "Authorization header; list them as separate alternatives"
            )
        if kinds != ["basic"]:
            alternatives.append(frozenset(scopes))
    if not alternatives and not basic:
        return None
    return Requirement(tuple(alternatives), optional, tuple(basic))


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


def check_cookie_origin(trusted: frozenset[str], what: str = "the token cookie") -> None:
    """403 ``CSRF_REJECTED`` when a browser sent this write, authenticated by credentials it adds
    on its own (``what``: the token cookie, or Basic credentials), from another origin."""
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
        f"a write authenticated by {what} must come from this service's own pages "
        f"(origin {origin[:100] or 'not sent'})"
        + ("; send 'Authorization: Bearer <token>' instead" if what == "the token cookie" else ""),
        code="CSRF_REJECTED",
    )


def authenticate(service: Service, needs: Requirement) -> dict[str, Any] | None:
    """Check the current request against ``needs``; set ``g.macaron_claims``; raise 401/403/503."""
    if needs.basic:
        sent = authorization(request)
        if sent is not None and sent[0] == "basic":
            if len(request.headers.getlist("Authorization")) > 1:
                raise refuse_basic(service, "CREDENTIALS_INVALID", "send one Authorization header, not several",
                                   both=bool(needs.alternatives))
            # a browser that was once asked for Basic credentials sends them on other sites' requests too
            check_cookie_origin(authority(service).settings.cookie_origins, "Basic credentials")
            claims = check_basic(service, needs.basic, sent[1], both=bool(needs.alternatives))
            g.macaron_claims = claims
            return claims
        if not needs.alternatives:  # Basic only
            if sent is None and needs.optional:
                return None
            raise refuse_basic(service, "AUTHORIZATION_HEADER_MISSING" if sent is None else "CREDENTIALS_INVALID",
                               f"this operation needs {BASIC_FORM}", both=False)
    auth = authority(service)
    token = bearer_token(service, auth.settings.cookie)
    if token is None:
        if needs.optional:
            return None
        detail = f"this operation needs 'Authorization: Bearer <token>' (or a {auth.settings.cookie!r} cookie)"
        if needs.basic:
            raise refuse_basic(service, "AUTHORIZATION_HEADER_MISSING", f"{detail} or {BASIC_FORM}", both=True)
        raise unauthorized(service, "AUTHORIZATION_HEADER_MISSING", detail, "invalid_request")
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
    if needs.alternatives and auth.keys.missing:
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
