"""A fake server for any spec: ``macaron fake shared_apis/sendgrid.yaml --port 8025``.

Every request is validated against the spec with the framework's own validation (a
wrong payload gets a 400 naming the field, in the error format the spec declares: contract
testing), then answered by a stateful handler when one is written for the operation, else
with the spec's example or a body generated from the response schema — always with a
status, media type, body and headers the spec declares (:mod:`.fakeanswers`). Control endpoints:

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
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from flask import Flask, Request, Response, g, request
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from .._core.errors import ApiError, InternalError, NotFound, Unauthorized
from .._core.models import ModelRegistry
from .._core.observability import REQUEST_ID_HEADER, request_id_from
from .._core.schema import SchemaCompiler
from .._core.spec import load_spec, python_name
from .._server.dispatch import http_to_api_error
from .._server.routing import flask_rule
from .._server.serve import check_port_free
from .._server.underscores import KeepAside, UnderscoreHeaders, declared_underscore_headers
from .fakeanswers import Endpoint, problem
from .fakecontrol import FakeState, control_routes, credential_names, fingerprint, record

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


def create_fake_app(spec_path: str | Path, *, handlers: str | Path | None = None, stateful: bool = True) -> Flask:
    """The fake of the spec at ``spec_path``; ``handlers`` defaults to ``default_handlers(spec_path)``."""
    spec_path = Path(spec_path).resolve()
    spec = load_spec(spec_path)
    compiler = SchemaCompiler(spec.definitions, spec.dialect)
    models = ModelRegistry(spec.definitions, compiler)
    handler_path = Path(handlers) if handlers else default_handlers(spec_path) if stateful else None
    module = _load_handlers(handler_path) if handler_path else None
    state = FakeState()
    secret_headers = credential_names(spec)
    app = Flask(f"macaron.fake.{spec_path.stem}")
    app.extensions["macaron.fake"] = state
    app.json.sort_keys = False  # type: ignore[attr-defined]

    def view_for(endpoint: Endpoint, variables: dict[str, str]) -> Any:
        def view(**args: str) -> Response:
            op_id = endpoint.op.operation_id
            entry = record(request, op_id, secret_headers)
            with state.lock:
                state.requests.append(entry)
            try:
                response = _answer(endpoint, op_id, {variables[k]: v for k, v in args.items()})
            except ApiError as error:
                response = endpoint.error(error, request)
            except HTTPException as exc:  # werkzeug's refusals while reading the request (413...)
                response = endpoint.error(_http_error(exc), request)
            except Exception as exc:
                app.logger.exception("fake handler failed")
                response = endpoint.error(InternalError(f"the fake failed: {type(exc).__name__}"), request)
            entry["status"] = response.status_code
            return response

        view.__name__ = f"fake_{endpoint.op.operation_id}"
        return view

    def _answer(endpoint: Endpoint, op_id: str, path_args: dict[str, str]) -> Response:
        fault = state.take_fault(op_id)
        if fault is not None:
            if fault.delay_ms:
                time.sleep(fault.delay_ms / 1000)
            if fault.status:
                injected = ApiError(f"injected fault {fault.status}", status=fault.status, code="INJECTED_FAULT",
                                    title=HTTP_STATUS_CODES.get(fault.status, "Error"))
                answer = (endpoint.declared(fault.status, request) if fault.status < 400 else None) or \
                    endpoint.error(injected, request, canned=True)
                if fault.retry_after is not None:
                    answer.headers["Retry-After"] = fault.retry_after
                return answer
        if not endpoint.authorized(request):
            return endpoint.error(Unauthorized("credentials are missing"), request, canned=True)
        kwargs = endpoint.parse(request, path_args)
        with state.lock:  # stateful handlers run one at a time
            return endpoint.respond(FakeContext(state.data, request, op_id), kwargs, request)

    for op in spec.operations:
        handler = getattr(module, op.operation_id, None) if module else None
        rule = flask_rule(spec.base_path, op.path, op.parameters)
        endpoint = Endpoint(op, spec, compiler, models, handler)
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
            return problem(exc)
        if isinstance(exc, HTTPException):
            if exc.code == 404:
                return problem(NotFound(f"the spec has no route {request.method} {request.path}"))
            if exc.code == 405:
                return problem(http_to_api_error(exc))  # with the Allow header, as a service's
            return problem(_http_error(exc))
        app.logger.exception("fake handler failed")
        return problem(InternalError(f"the fake failed: {type(exc).__name__}"))

    app.wsgi_app = UnderscoreHeaders(app.wsgi_app, declared_underscore_headers(spec.document))  # type: ignore[method-assign]
    return app


def _http_error(exc: HTTPException) -> ApiError:
    return ApiError(exc.description, status=exc.code or 500, code="HTTP_ERROR", title=exc.name)


def serve_fake(spec_path: str | Path, *, host: str = "127.0.0.1", port: int = 0, handlers: str | None = None,
               stateful: bool = True, out: Any = None) -> None:
    """Serve the fake of ``spec_path`` until interrupted (HTTP/1.1 keep-alive, one thread per connection)."""
    from werkzeug.serving import make_server

    class KeepAlive(KeepAside):
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
