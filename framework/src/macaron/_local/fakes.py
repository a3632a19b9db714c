"""A fake server for any spec: ``macaron fake shared_apis/sendgrid.yaml --port 8025``.

Every request is validated against the spec with the framework's own validation (a
wrong payload gets a 400 problem naming the field: contract testing), then answered
by a stateful handler when one is written for the operation, else with the spec's
example or a body generated from the response schema. Control endpoints:

- ``GET /__fake__/requests`` (``?operation=``) lists recorded requests (method, path,
  query, headers without credentials, body, answer status); ``DELETE`` clears them.
  Credentials are recorded only as fingerprints (``Bearer sha256:1a2b3c4d5e6f``).
- ``POST /__fake__/faults`` ``{"operation": "sendMail", "status": 503, "times": 2}``,
  ``{"delay_ms": 300}`` or ``{"status": 429, "retry_after": 1}``; ``GET`` lists,
  ``DELETE`` clears. ``operation`` omitted = any operation; ``times`` defaults to 1.
- ``GET /__fake__/state`` shows the handlers' state, ``DELETE`` resets it; ``GET /__fake__/ping``.

Stateful handlers live in ``<spec dir>/fakes/<spec name>.py``: one function per
operationId, called as ``handler(fake, **kwargs)`` with the validated parameters
(as a service handler gets them) and ``fake`` a :class:`FakeContext`; they return
``body``, ``(body, status)`` or ``(body, status, headers)``, checked against the spec.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from flask import Flask, Request, Response, g, request
from werkzeug.exceptions import HTTPException

from .._core.errors import ApiError, InternalError, NotFound, Unauthorized, problem_body
from .._core.models import ModelRegistry
from .._core.observability import REQUEST_ID_HEADER, request_id_from
from .._core.schema import SchemaCompiler
from .._core.spec import Operation, Spec, load_spec, python_name
from .._server.credentials import well_formed
from .._server.dispatch import http_to_api_error, problem_response
from .._server.responses import unpack_result
from .._server.routing import flask_rule
from .._server.serve import check_port_free
from .._server.validation import RequestValidator
from .fakecontrol import FakeState, control_routes, credential_names, fingerprint, record
from .fakedata import response_example

__all__ = ["FakeContext", "FakeState", "create_fake_app", "default_handlers", "fingerprint",
           "serve_fake"]


@dataclass
class FakeContext:
    """What a stateful handler gets besides its parameters."""

    state: dict[str, Any]
    request: Request
    operation: str

    def bearer(self) -> str | None:
        """The bearer token of the request, if any."""
        scheme, _, token = self.request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return token.strip()


def _load_handlers(path: Path) -> ModuleType:
    name = f"macaron_fakes.{python_name(path.stem)}_{hashlib.sha1(str(path).encode()).hexdigest()[:8]}"
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise ApiError(f"cannot load fake handlers from {path}")
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def default_handlers(spec_path: Path) -> Path | None:
    """``<spec dir>/fakes/<spec name>.py`` when it exists."""
    candidate = spec_path.parent / "fakes" / f"{spec_path.stem}.py"
    return candidate if candidate.is_file() else None


class _Endpoint:
    """One operation of the fake: security, validation, handler or example, response check."""

    def __init__(self, op: Operation, spec: Spec, compiler: SchemaCompiler, models: ModelRegistry,
                 handler: Any) -> None:
        self.op = op
        self.spec = spec
        self.compiler = compiler
        self.parse = RequestValidator(op, compiler, models)
        self.handler = handler
        self.security = self._security_checks(spec)

    def _security_checks(self, spec: Spec) -> list[list[dict[str, Any]]]:
        schemes = spec.document.get("securityDefinitions") or {}
        return [[schemes.get(name, {}) for name in requirement] for requirement in self.op.security or []]

    def authorized(self, req: Request) -> bool:
        """Any well-formed credentials of a kind the operation accepts (Basic for basic, ...)."""
        if not self.security:
            return True
        return any(all(well_formed(scheme, req) for scheme in needs) for needs in self.security)

    def declared(self, status: int, body_fallback: bool = True) -> Response | None:
        """The spec's own answer for ``status`` (example or generated), or ``None`` if undeclared."""
        response = self.op.responses.get(str(status))
        if response is None:
            return None
        has_body, body, media = response_example(response, self.spec.definitions, self.op.produces)
        headers = {name: _header_value(h) for name, h in (response.get("headers") or {}).items()}
        if not has_body:
            return _empty(status, headers)
        return _render(body, status, headers, media)

    def respond(self, fake: FakeContext, kwargs: dict[str, Any]) -> Response:
        if self.handler is None:
            success = sorted(int(s) for s in self.op.responses if s.isdigit() and int(s) < 400)
            answer = self.declared(success[0] if success else 200)
            return answer or Response(b"{}", status=200, mimetype="application/json")
        body, status, headers = unpack_result(self.handler(fake, **kwargs), 200)
        declared = self.op.responses.get(str(status)) or self.op.responses.get("default")
        if declared is None:
            raise InternalError(f"fake handler {self.op.operation_id} answered undeclared status {status}")
        schema = declared.get("schema")
        plain = body.to_json() if hasattr(body, "to_json") else body
        if schema is None and plain not in (None, "", b"", {}):
            raise InternalError(f"fake handler {self.op.operation_id}: status {status} declares no body")
        if schema is not None:
            _, errors = self.compiler.validator(schema)(plain, ["response"])
            if errors:
                raise InternalError(f"fake handler {self.op.operation_id} broke the spec", errors=errors)
        media = "text/plain" if isinstance(plain, str) else "application/json"
        return _render(plain, status, headers, media)


def _header_value(header: dict[str, Any]) -> str:
    if "example" in header or "default" in header:
        return str(header.get("example", header.get("default")))
    if header.get("type") in ("integer", "number"):
        return str(int(time.time()))
    return hashlib.sha1(str(time.perf_counter_ns()).encode()).hexdigest()[:22]


def _empty(status: int, headers: dict[str, str]) -> Response:
    response = Response(b"", status=status, headers=headers)
    del response.headers["Content-Type"]
    return response


def _render(body: Any, status: int, headers: dict[str, str], media: str) -> Response:
    if isinstance(body, str) and "json" not in media:
        return Response(body, status=status, headers=headers, mimetype=media)
    if body is None:
        return _empty(status, headers)
    return Response(json.dumps(body), status=status, headers=headers, mimetype="application/json")


def create_fake_app(spec_path: str | Path, *, handlers: str | Path | None = None, stateful: bool = True) -> Flask:
    """The fake of the spec at ``spec_path``; ``handlers`` defaults to ``default_handlers(spec_path)``."""
    spec_path = Path(spec_path).resolve()
    spec = load_spec(spec_path)
    compiler = SchemaCompiler(spec.definitions)
    models = ModelRegistry(spec.definitions, compiler)
    handler_path = Path(handlers) if handlers else default_handlers(spec_path) if stateful else None
    module = _load_handlers(handler_path) if handler_path else None
    state = FakeState()
    secret_headers = credential_names(spec)
    app = Flask(f"macaron.fake.{spec_path.stem}")
    app.extensions["macaron.fake"] = state
    app.json.sort_keys = False  # type: ignore[attr-defined]

    def view_for(endpoint: _Endpoint, variables: dict[str, str]) -> Any:
        def view(**args: str) -> Response:
            op_id = endpoint.op.operation_id
            entry = record(request, op_id, secret_headers)
            with state.lock:
                state.requests.append(entry)
            try:
                response = _answer(endpoint, op_id, {variables[k]: v for k, v in args.items()})
            except ApiError as error:
                response = _problem(error)
            entry["status"] = response.status_code
            return response

        view.__name__ = f"fake_{endpoint.op.operation_id}"
        return view

    def _answer(endpoint: _Endpoint, op_id: str, path_args: dict[str, str]) -> Response:
        fault = state.take_fault(op_id)
        if fault is not None:
            if fault.delay_ms:
                time.sleep(fault.delay_ms / 1000)
            if fault.status:
                answer = endpoint.declared(fault.status) or _problem(
                    ApiError(f"injected fault {fault.status}", status=fault.status, code="INJECTED_FAULT"))
                if fault.retry_after is not None:
                    answer.headers["Retry-After"] = fault.retry_after
                return answer
        if not endpoint.authorized(request):
            return endpoint.declared(401) or _problem(Unauthorized("credentials are missing"))
        kwargs = endpoint.parse(request, path_args)
        with state.lock:  # stateful handlers run one at a time
            return endpoint.respond(FakeContext(state.data, request, op_id), kwargs)

    for op in spec.operations:
        handler = getattr(module, op.operation_id, None) if module else None
        rule = flask_rule(spec.base_path, op.path, op.parameters)
        endpoint = _Endpoint(op, spec, compiler, models, handler)
        app.add_url_rule(rule.rule, f"op.{op.operation_id}", view_for(endpoint, rule.variables),
                         methods=[op.method.upper()])
    control_routes(app, state, [op.operation_id for op in spec.operations])

    @app.before_request
    def request_id_in() -> None:
        g.macaron_request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))

    @app.after_request
    def request_id_out(response: Response) -> Response:
        response.headers[REQUEST_ID_HEADER] = g.get("macaron_request_id") or request_id_from(None)
        return response

    @app.errorhandler(Exception)
    def on_error(exc: Exception) -> Response:
        if isinstance(exc, ApiError):
            return _problem(exc)
        if isinstance(exc, HTTPException):
            if exc.code == 404:
                return _problem(NotFound(f"the spec has no route {request.method} {request.path}"))
            if exc.code == 405:
                return _problem(http_to_api_error(exc))  # with the Allow header, as a service's
            return _problem(ApiError(exc.description, status=exc.code or 500, code="HTTP_ERROR", title=exc.name))
        app.logger.exception("fake handler failed")
        return _problem(InternalError(f"the fake failed: {type(exc).__name__}"))

    return app


def _problem(error: ApiError) -> Response:
    rid = g.get("macaron_request_id") or request_id_from(None)
    return problem_response(problem_body(error, rid), error.status, error.headers)


def serve_fake(spec_path: str | Path, *, host: str = "127.0.0.1", port: int = 0, handlers: str | None = None,
               stateful: bool = True, out: Any = None) -> None:
    """Serve the fake of ``spec_path`` until interrupted (HTTP/1.1 keep-alive, one thread per connection)."""
    from werkzeug.serving import WSGIRequestHandler, make_server

    class KeepAlive(WSGIRequestHandler):
        protocol_version = "HTTP/1.1"

    check_port_free(host, port, f"fake of {spec_path}")
    app = create_fake_app(spec_path, handlers=handlers, stateful=stateful)
    server = make_server(host, port, app, threaded=True, request_handler=KeepAlive)
    loaded = handlers or (default_handlers(Path(spec_path).resolve()) if stateful else None)
    print(f"macaron fake of {spec_path} on http://{host}:{server.server_port} "
          f"(stateful handlers: {loaded or 'none'}; control: /__fake__/requests, /__fake__/faults, /__fake__/state)",
          file=out or sys.stdout, flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
