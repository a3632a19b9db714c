"""The Flask app of a Service: operation routes, built-ins, hooks and error handlers.

Per request: request id and timer (before) → route → security guard → request
validation → handler → response validation → JSON; any exception → problem+json;
then one log line and the metrics (after).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, g, has_request_context, request
from werkzeug.exceptions import HTTPException

from . import _errors as errors
from ._builtins import register_builtins, served_spec
from ._errors import PROBLEM_JSON, ApiError, problem_body
from ._observability import REQUEST_ID_ENVIRON, REQUEST_ID_HEADER, Metrics, request_id_from
from ._responses import ResponseValidator
from ._routing import endpoint_name, flask_rule
from ._security import decorate_handler, security_guard
from ._service import BoundOperation, Service
from ._validation import RequestValidator
from .tasks import attach as attach_tasks

Guard = Callable[[Any], None]
GuardFactory = Callable[[Service, Any], Guard | None]


def current_service() -> Service:
    """The Service handling the current request, or running the current task."""
    from flask import current_app, has_app_context

    if has_app_context():
        return current_app.extensions["macaron"]  # type: ignore[no-any-return]
    from ._taskbase import service_here

    service = service_here()
    if service is None:
        raise RuntimeError("current_service() needs a request or a running task; pass the Service explicitly")
    return service


def client_address() -> str | None:
    """The network address of the current request's client (``REMOTE_ADDR``), for handlers that
    pass it on (say, to an identity provider's brute-force protection). Behind a proxy or a load
    balancer it is theirs: macaron does not trust ``X-Forwarded-For``. None outside a request."""
    return request.remote_addr if has_request_context() else None


def _http_to_api_error(exc: HTTPException) -> ApiError:
    if exc.code == 404:
        return errors.NotFound(f"no route matches {request.method} {request.path}", code="ROUTE_NOT_FOUND")
    if exc.code == 405:
        allowed = getattr(exc, "valid_methods", None) or []
        return errors.MethodNotAllowed(
            f"{request.method} is not allowed on {request.path}",
            headers={"Allow": ", ".join(sorted(allowed))} if allowed else None,
        )
    if exc.code == 413:
        limit = request.max_content_length
        return errors.PayloadTooLarge(f"the body is larger than the limit of {limit} bytes")
    if exc.code == 415:
        return errors.UnsupportedMediaType(exc.description)
    code = (exc.name or "HTTP_ERROR").upper().replace(" ", "_").replace("'", "")
    return ApiError(exc.description, status=exc.code or 500, code=code, title=exc.name)


def _view(
    service: Service, bound: BoundOperation, variables: dict[str, str], guards: list[Guard]
) -> Callable[..., Response]:
    op = bound.operation
    parse = RequestValidator(op, service.compiler, service.models)
    respond = ResponseValidator(op, service.compiler, service.log)
    handler = decorate_handler(service, op, bound.handler)
    op_id = op.operation_id
    produces = next((p for p in op.produces if "json" in p), "application/json")

    def view(**args: str) -> Response:
        g.macaron_operation = op_id
        for guard in guards:
            guard(request)
        kwargs = parse(request, {variables[k]: v for k, v in args.items()})
        body, status, headers = respond.render(handler(**kwargs))
        response = Response(body, status=status, headers=headers, mimetype=produces if body else None)
        if not body and "Content-Type" not in headers:  # no content, no type (Flask's default is text/html)
            del response.headers["Content-Type"]
        return response

    view.__name__ = endpoint_name(op_id)
    return view


def create_app(
    service: Service, *, guard_factories: list[GuardFactory] | None = None, security: bool = True
) -> Flask:
    """Build the Flask app serving ``service``; ``guard_factories`` add per-operation checks.

    The spec's ``security:`` is enforced first (``security=False`` only for fakes of external APIs).
    """
    app = Flask(f"macaron.app.{service.name}")
    app.config["MAX_CONTENT_LENGTH"] = int(service.config["max_body_bytes"])
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["macaron"] = service
    metrics = Metrics(service.name)
    attach_tasks(service)  # finds @task functions; with any, /ping checks Redis and /metrics shows queues
    for collector in service.extensions.get("metrics_collectors", []):
        metrics.registry.register(collector)
    log = service.log

    factories = [security_guard] if security else []
    factories += list(guard_factories or []) + list(service.extensions.get("guard_factories", []))
    for bound in service.operations:
        op = bound.operation
        rule = flask_rule(service.spec.base_path, op.path)
        guards = [guard for f in factories if (guard := f(service, op)) is not None]
        app.add_url_rule(
            rule.rule,
            endpoint_name(op.operation_id),
            _view(service, bound, rule.variables, guards),
            methods=[op.method.upper()],
        )
    spec_bytes = json.dumps(served_spec(service), separators=(",", ":")).encode()
    register_builtins(app, service, spec_bytes, metrics.registry)

    @app.before_request
    def start() -> None:
        ctx = g._get_current_object()  # one proxy lookup, not one per attribute
        ctx.macaron_start = time.perf_counter()
        ctx.macaron_request_id = request_id_from(request.environ.get(REQUEST_ID_ENVIRON))

    @app.errorhandler(Exception)
    def on_error(exc: Exception) -> Response:
        if isinstance(exc, ApiError):
            error = exc
        elif isinstance(exc, HTTPException):
            error = _http_to_api_error(exc)
        else:
            error = errors.InternalError(
                f"an internal error occurred; quote request id {g.get('macaron_request_id')} when reporting it"
            )
        if error.status >= 500:
            _report(service, error, exc)
        response = Response(
            problem_body(error, g.get("macaron_request_id")), status=error.status, mimetype=PROBLEM_JSON
        )
        for key, value in error.headers.items():
            response.headers[key] = value
        return response

    @app.after_request
    def finish(response: Response) -> Response:
        ctx = g._get_current_object()  # plain attribute reads below, not a proxy lookup each
        req = request._get_current_object()  # type: ignore[attr-defined]
        request_id = getattr(ctx, "macaron_request_id", None) or request_id_from(None)
        response.headers[REQUEST_ID_HEADER] = request_id
        seconds = time.perf_counter() - getattr(ctx, "macaron_start", time.perf_counter())
        operation = getattr(ctx, "macaron_operation", None) or (req.endpoint or "unmatched").removeprefix("builtin.")
        claims = getattr(ctx, "macaron_claims", None)
        status = response.status_code
        metrics.observe(operation, req.method, status, seconds)
        log.request_line(
            f"{req.method} {req.path} {status}",
            {
                "request_id": request_id,
                "method": req.method,
                "path": req.path,
                "operation": operation,
                "status": status,
                "duration_ms": round(seconds * 1000, 3),
                "user": claims.get("sub") if isinstance(claims, dict) else None,
            },
        )
        return response

    return app


def _report(service: Service, error: ApiError, exc: BaseException) -> None:
    request_id = g.get("macaron_request_id")
    claims = g.get("macaron_claims")
    context = {
        "service": service.name,
        "method": request.method,
        "path": request.path,
        "operation": g.get("macaron_operation"),
        "request_id": request_id,
        "user_id": claims.get("sub") if isinstance(claims, dict) else None,
        "status": error.status,
        "code": error.code,
    }
    if not isinstance(exc, ApiError):
        service.log.error(
            "unhandled %s in %s",
            type(exc).__name__,
            context["operation"] or request.path,
            exc_info=exc,
            extra={"request_id": request_id, "operation": context["operation"]},
        )
    if service.reporter is None:
        return
    try:
        service.reporter(context, exc)
    except Exception as reporter_exc:  # a broken reporter must never break the error response
        service.log.error("crash reporter failed: %s", type(reporter_exc).__name__, extra={"request_id": request_id})
