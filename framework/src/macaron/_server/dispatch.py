"""The WSGI entry of a service's app: spec operations answered without Flask's response pipeline.

Flask still receives every request: it builds the request, matches the route and pushes its
request context, so ``flask.request``, ``g`` and ``current_app`` work in guards and handlers as
anywhere. A matched spec operation then runs (guards → validation → handler → response
validation) and its bytes go straight to the WSGI server: no ``Response`` object, no hook lists
to walk, no session to open or save. That machinery is about a fifth of a request's time in
process (docs/benchmarks.md) and an operation uses none of it.

Flask's own ``wsgi_app`` still pushes and pops the context and handles what escapes; only
``full_dispatch_request`` is replaced. Built-ins, 404/405, ``HEAD`` and ``OPTIONS`` take Flask's
ordinary dispatch, and answers with extra headers or a 204/304 are built as a ``Response``.
Both paths give the same status line, headers, problem+json body, log line and metrics
(``tests/server/test_dispatch.py`` compares them).

A Flask internal is overridden here: ``Flask.full_dispatch_request(self)``, as it is in Flask
3.0 and 3.1 (Flask 3.2 changes it to ``full_dispatch_request(self, ctx)``). There is no public
extension point at that depth, so the override stays, guarded: :data:`FLASK_WRITTEN_FOR` names
the series it was written for, importing this module on a Flask whose method has another
signature raises at once (not a wrong answer at the first request), and
``tests/server/test_dispatch.py::test_flask_is_a_version_the_dispatcher_was_written_for`` fails
on any other series. Moving to a new Flask means re-reading ``Flask.wsgi_app`` and adjusting.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

from flask import Flask, Request, Response, current_app, g, has_app_context, request
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.utils import get_content_type

from .._core import errors
from .._core.errors import PROBLEM_JSON, ApiError, problem_body
from .._core.observability import REQUEST_ID_ENVIRON, REQUEST_ID_HEADER, Metrics, ServiceLogger, request_id_from
from .body import MacaronRequest, body_error
from .devcause import explained
from .routing import allow_header

#: The Flask series whose ``full_dispatch_request(self)`` the dispatcher replaces.
FLASK_WRITTEN_FOR = ("3.0", "3.1")
if list(inspect.signature(Flask.full_dispatch_request).parameters) != ["self"]:
    raise RuntimeError(
        f"macaron's dispatcher replaces Flask.full_dispatch_request(self) (Flask {' / '.join(FLASK_WRITTEN_FOR)}); "
        f"this Flask's is full_dispatch_request{inspect.signature(Flask.full_dispatch_request)}: "
        "install the Flask version framework/pyproject.toml pins"
    )

Parts = tuple[bytes, int, dict[str, str]]  # body, status, extra headers: what an operation answers
StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
_PROBLEM_TYPE = get_content_type(PROBLEM_JSON, "utf-8")  # what Response(mimetype=...) sends


@dataclass(frozen=True, slots=True)
class Operation:
    """A spec operation as the dispatcher calls it: its id, method, its body's type, and
    ``call(request, path_args) -> (body, status, headers)``, which raises on any failure."""

    name: str
    method: str
    content_type: str
    call: Callable[[Request, dict[str, str]], Parts]
    no_store: bool = False  # its answers carry credentials (a token): never cached (_security.returns_credentials)
    # an error in the spec's own format, (body, content type), where it declares one; None: problem+json
    errors: Callable[[ApiError, str | None], tuple[bytes, str] | None] | None = None

    def error_answer(self, error: ApiError, request_id: str | None) -> tuple[bytes, str]:
        """An error's body and content type: as the operation declares it, else problem+json."""
        own = self.errors(error, request_id) if self.errors is not None else None
        return own or (problem_body(error, request_id), _PROBLEM_TYPE)

    def response(self, body: bytes, status: int, headers: dict[str, str]) -> Response:
        """An answer as a Flask ``Response``; without a body, without a Content-Type."""
        response = Response(body, status=status, headers=headers, mimetype=self.content_type if body else None)
        if not body and "Content-Type" not in headers:  # Flask's default type is text/html
            del response.headers["Content-Type"]
        return response


class RequestRecord:
    """What every request of a service gets, on either path: a request id and a timer at the
    start; one log line, the metrics and the ``X-Request-ID`` header at the end; and every
    exception turned into an :class:`ApiError` (5xx reported with the request's context)."""

    def __init__(self, log: ServiceLogger, metrics: Metrics, report: Callable[[ApiError, BaseException], None],
                 client: Callable[[dict[str, Any]], str | None] | None = None):
        self.log = log
        self.metrics = metrics
        self.report = report
        self.client = client or (lambda environ: environ.get("REMOTE_ADDR"))  # the line's "client" (.proxies)

    def begin(self, ctx: Any, environ: dict[str, Any]) -> None:
        """Start the timer and take the request id (``ctx`` is the request's ``g``)."""
        ctx.macaron_start = time.perf_counter()
        ctx.macaron_request_id = request_id_from(environ.get(REQUEST_ID_ENVIRON))
        ctx.macaron_operation = ctx.macaron_claims = None  # set: a miss on g raises and catches inside

    def end(self, ctx: Any, req: Any, status: int) -> str:
        """Log the request's line and count it; returns its request id."""
        now = time.perf_counter()
        request_id = getattr(ctx, "macaron_request_id", None) or request_id_from(None)
        seconds = now - getattr(ctx, "macaron_start", now)
        operation = getattr(ctx, "macaron_operation", None) or (req.endpoint or "unmatched").removeprefix("builtin.")
        claims = getattr(ctx, "macaron_claims", None)
        method, path = req.method, req.path
        self.metrics.observe(operation, method, status, seconds)
        self.log.request_line(
            f"{method} {path} {status}",
            {
                "request_id": request_id,
                "method": method,
                "path": path,
                "operation": operation,
                "status": status,
                "duration_ms": round(seconds * 1000, 3),
                "user": claims.get("sub") if isinstance(claims, dict) else None,
                "client": self.client(req.environ),
            },
        )
        return request_id

    def error(self, exc: Exception) -> ApiError:
        """The problem an exception is answered with."""
        if isinstance(exc, ApiError):
            error = exc
        elif isinstance(exc, HTTPException):
            error = http_to_api_error(exc)
        elif (refused := body_error(exc)) is not None:
            error = refused
        else:
            error = errors.InternalError(
                f"an internal error occurred; quote request id {g.get('macaron_request_id')} when reporting it"
            )
        if error.status == 405 and "Allow" not in error.headers:  # raised by a handler: still say what is allowed
            error.headers = {**error.headers, **allow_header(current_app.url_map, request.path)}
        if error.status >= 500:
            self.report(error, exc)
            error = explained(error, exc, self.env())  # dev only: the cause in the body (.devcause)
        return error

    def env(self) -> str:
        """``MACARON_ENV`` as the app's service was loaded with (``""`` when unset), read once."""
        if not hasattr(self, "_env"):
            service = current_app.extensions.get("macaron") if has_app_context() else None
            self._env = str(service.config.environ.get("MACARON_ENV", "")) if service is not None else ""
        return self._env

    def answer(self, op: Operation) -> WsgiApp:
        """Run ``op`` for the current request; its answer, as a WSGI callable (the fast path)."""
        ctx = g._get_current_object()
        req = request._get_current_object()  # type: ignore[attr-defined]
        self.begin(ctx, req.environ)
        ctx.macaron_operation = op.name
        try:
            body, status, headers = op.call(req, req.view_args)
            content_type = op.content_type
            response = op.response if headers or status < 200 or status in (204, 304) else None
        except Exception as exc:
            error = self.error(exc)
            body, content_type = op.error_answer(error, ctx.macaron_request_id)
            status, headers = error.status, error.headers
            response = partial(error_response, content_type=content_type) if headers else None
        request_id = self.end(ctx, req, status)
        store = op.no_store or carries_credentials(req.environ)
        if response is not None:  # rarer shapes: werkzeug applies its rules (Location, 204, 304...)
            answer = response(body, status, headers)
            answer.headers[REQUEST_ID_HEADER] = request_id
            if store:
                answer.headers.setdefault("Cache-Control", "no-store")
            return answer
        if body:
            wsgi_headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
        else:
            wsgi_headers = [("Content-Length", "0")]
        wsgi_headers.append((REQUEST_ID_HEADER, request_id))
        if store:
            wsgi_headers.append(("Cache-Control", "no-store"))
        line, chunks = status_line(status), [body] if body and req.method != "HEAD" else []

        def write(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
            start_response(line, wsgi_headers)
            return chunks

        return write


def carries_credentials(environ: dict[str, Any]) -> bool:
    """Whether a request sends credentials (an Authorization header or cookies): its answer is
    for that caller alone, so it is sent with ``Cache-Control: no-store``."""
    return "HTTP_AUTHORIZATION" in environ or "HTTP_COOKIE" in environ


def lacks_host(environ: dict[str, Any]) -> bool:
    """An HTTP/1.1 request without a Host header, which RFC 9112 (3.2) says to refuse with a 400."""
    return not environ.get("HTTP_HOST") and environ.get("SERVER_PROTOCOL") == "HTTP/1.1"


def problem_response(body: bytes, status: int, headers: dict[str, str]) -> Response:
    """A problem+json body as a Flask ``Response``."""
    return error_response(body, status, headers, content_type=_PROBLEM_TYPE)


def error_response(body: bytes, status: int, headers: dict[str, str], *, content_type: str) -> Response:
    """An error's body (problem+json, or the spec's own format) as a Flask ``Response``."""
    response = Response(body, status=status, content_type=content_type)
    for key, value in headers.items():
        response.headers[key] = value
    return response


def status_line(status: int) -> str:
    """``201`` → ``"201 CREATED"``, the status line werkzeug writes."""
    return f"{status} {HTTP_STATUS_CODES.get(status, 'unknown').upper()}"


class MacaronFlask(Flask):
    """Flask, with spec operations answered on the fast path (see the module's docstring)."""

    request_class = MacaronRequest

    def __init__(self, import_name: str) -> None:
        super().__init__(import_name)
        # No redirect from routing: werkzeug's 308 for "//" or a missing trailing slash is an HTML
        # page whose Location is built from the Host header. Such paths are a 404 problem instead.
        self.url_map.merge_slashes = self.url_map.strict_slashes = False
        self.macaron_operations: dict[str, Operation] = {}  # by endpoint name
        self.macaron_record: RequestRecord | None = None

    def full_dispatch_request(self) -> Response:
        """A spec operation's answer, as a WSGI callable that Flask's ``wsgi_app`` calls next (all
        the work done here, inside Flask's error handling); anything else through Flask's own
        dispatch, hooks included."""
        record = self.macaron_record
        req = request._get_current_object()  # type: ignore[attr-defined]
        rule = req.url_rule
        op = self.macaron_operations.get(rule.endpoint) if rule is not None and record is not None else None
        if op is None or req.method != op.method or lacks_host(req.environ):
            return super().full_dispatch_request()
        return record.answer(op)  # type: ignore[return-value]

    def preprocess_request(self) -> Any:
        """Flask's before-request hooks (the request's record begins there), then the Host check."""
        answer = super().preprocess_request()
        if answer is None and lacks_host(request.environ):
            raise errors.BadRequest("an HTTP/1.1 request must send a Host header", code="HOST_MISSING")
        return answer


def http_to_api_error(exc: HTTPException) -> ApiError:
    """A werkzeug HTTP exception (no route, wrong method, body too large...) as an ApiError."""
    if exc.code == 404:
        return errors.NotFound(f"no route matches {request.method} {request.path}", code="ROUTE_NOT_FOUND")
    if exc.code == 405:
        return errors.MethodNotAllowed(
            f"{request.method} is not allowed on {request.path}",
            headers=allow_header(current_app.url_map, request.path, getattr(exc, "valid_methods", None)),
        )
    if exc.code == 413:
        limit = request.max_content_length
        return errors.PayloadTooLarge(f"the body is larger than the limit of {limit} bytes")
    if exc.code == 415:
        return errors.UnsupportedMediaType(exc.description)
    code = (exc.name or "HTTP_ERROR").upper().replace(" ", "_").replace("'", "")
    return ApiError(exc.description, status=exc.code or 500, code=code, title=exc.name)
