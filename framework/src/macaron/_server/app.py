"""The Flask app of a Service: operation routes, built-ins, hooks and error handlers.

Per request (see :mod:`._dispatch`): request id and timer → route → security guard → request
validation → handler → response validation → JSON; any exception → problem+json (or the error
format the operation declares, :class:`.responses.ErrorResponses`); then one log line and the
metrics (after).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, current_app, g, has_request_context, request
from werkzeug.utils import get_content_type

from .._core.errors import ApiError, problem_body
from .._core.observability import REQUEST_ID_HEADER, Metrics
from .._core.service import BoundOperation, Service
from ..tasks._runtime import attach as attach_tasks
from .builtins import register_builtins, served_spec
from .dispatch import MacaronFlask, Operation, RequestRecord, carries_credentials, error_response, problem_response
from .pipeline import operation_call
from .proxies import TrustedProxies
from .responses import ErrorResponses, ResponseValidator
from .routing import endpoint_name, flask_rule
from .security import decorate_handler, returns_credentials, security_guard
from .underscores import UnderscoreHeaders, declared_underscore_headers
from .validation import RequestValidator, credential_query_names

Guard = Callable[[Any], None]
GuardFactory = Callable[[Service, Any], Guard | None]


def client_address() -> str | None:
    """The network address of the current request's client, for handlers that pass it on (say, to
    an identity provider's brute-force protection) or count by it. ``REMOTE_ADDR``, unless the
    service trusts the proxies in front of it (``trusted_proxies``): then the first address of
    ``X-Forwarded-For`` (or ``Forwarded``), from the right, that is not one of them (see
    :mod:`.proxies`). The request log line has it as ``client``. None outside a request."""
    if not has_request_context():
        return None
    proxies = current_app.extensions.get("macaron.proxies")
    return proxies.client(request.environ) if proxies is not None else request.remote_addr


def _operation(service: Service, bound: BoundOperation, variables: dict[str, str], guards: list[Guard]) -> Operation:
    op = bound.operation
    parse = RequestValidator(op, service.compiler, service.models, credential_query_names(service.spec.document))
    respond = ResponseValidator(op, service.compiler, service.log)
    handler = decorate_handler(service, op, bound.handler)
    op_id = op.operation_id
    call = operation_call(guards, parse, handler, respond.render, variables)
    produces = next((p for p in op.produces if "json" in p), "application/json")
    no_store = returns_credentials(service, op)
    content_type = get_content_type(produces, "utf-8")
    errors = ErrorResponses(op, service.compiler, service.spec.definitions, content_type)
    return Operation(op_id, op.method.upper(), content_type, call, no_store, errors.render if errors else None)


def _view(op: Operation, name: str) -> Callable[..., Response]:
    """The Flask view of an operation, for requests that take Flask's path (HEAD, tests...)."""

    def view(**args: str) -> Response:
        g.macaron_operation = op.name
        return op.response(*op.call(request._get_current_object(), args))  # type: ignore[attr-defined]

    view.__name__ = name
    return view


def create_app(
    service: Service, *, guard_factories: list[GuardFactory] | None = None, security: bool = True
) -> Flask:
    """Build the Flask app serving ``service``; ``guard_factories`` add per-operation checks.

    The spec's ``security:`` is enforced first (``security=False`` only for fakes of external APIs).
    """
    app = MacaronFlask(f"macaron.app.{service.name}")
    app.config["MAX_CONTENT_LENGTH"] = int(service.config["max_body_bytes"])
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["macaron"] = service
    proxies = TrustedProxies.from_config(service.config.get("trusted_proxies"),
                                         f"{service.directory / 'service.yaml'}: trusted_proxies")
    app.extensions["macaron.proxies"] = proxies
    metrics = Metrics(service.name)
    attach_tasks(service)  # finds @task functions; with any, /ping checks Redis and /metrics shows queues
    for collector in service.extensions.get("metrics_collectors", []):
        metrics.registry.register(collector)
    log = service.log

    factories = [security_guard] if security else []
    factories += list(guard_factories or []) + list(service.extensions.get("guard_factories", []))
    for bound in service.operations:
        op = bound.operation
        rule = flask_rule(service.spec.base_path, op.path, op.parameters)
        guards = [guard for f in factories if (guard := f(service, op)) is not None]
        name = endpoint_name(op.operation_id)
        app.macaron_operations[name] = operation = _operation(service, bound, rule.variables, guards)
        app.add_url_rule(rule.rule, name, _view(operation, name), methods=[op.method.upper()])
    spec_bytes = json.dumps(served_spec(service), separators=(",", ":")).encode()
    register_builtins(app, service, spec_bytes, metrics.registry)

    record = RequestRecord(log, metrics, lambda error, exc: _report(service, error, exc), client=proxies.client)
    app.macaron_record = record

    @app.before_request
    def start() -> None:
        record.begin(g._get_current_object(), request.environ)

    @app.errorhandler(Exception)
    def on_error(exc: Exception) -> Response:
        error = record.error(exc)
        request_id = g.get("macaron_request_id")
        operation = app.macaron_operations.get(request.endpoint or "")
        if operation is None:
            return problem_response(problem_body(error, request_id), error.status, error.headers)
        body, content_type = operation.error_answer(error, request_id)
        return error_response(body, error.status, error.headers, content_type=content_type)

    @app.after_request
    def finish(response: Response) -> Response:
        req = request._get_current_object()  # type: ignore[attr-defined]
        response.headers[REQUEST_ID_HEADER] = record.end(g._get_current_object(), req, response.status_code)
        operation = app.macaron_operations.get(req.endpoint or "")
        if carries_credentials(req.environ) or (operation is not None and operation.no_store):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    app.wsgi_app = UnderscoreHeaders(app.wsgi_app, declared_underscore_headers(service.spec.document))  # type: ignore[method-assign]
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
