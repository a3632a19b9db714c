"""One operation of a fake (:mod:`.fakes`) and how it answers: only as its spec declares.

- The status: a handler's, else the operation's own (:func:`~macaron._server.responses.answer_status`:
  its lowest 2xx, else ``default`` as 200, else its lowest declared status — never an invented one).
- The media type: one the operation ``produces``, chosen by the request's ``Accept``
  (:func:`.fakedata.negotiate`); the body written as that type says: JSON (``+json`` types labelled
  as declared), XML from the schema's ``xml`` hints (:mod:`.fakexml`), text, or a file's bytes.
- Headers: every declared header, with a value valid for its type (:func:`.fakedata.header_value`).
- Errors (bad requests, missing credentials, injected faults, failing handlers): in the schema
  declared for that status, else for ``default`` (:class:`~macaron._core.errorbodies.ErrorShape`);
  a declared response without a schema is answered without a body; problem+json only where the
  operation declares neither.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Request, Response, g
from werkzeug.http import HTTP_STATUS_CODES

from .._core.errorbodies import ErrorShape
from .._core.errors import PROBLEM_JSON, ApiError, InternalError, problem_body
from .._core.models import ModelRegistry
from .._core.observability import request_id_from
from .._core.schema import RESPONSE, SchemaCompiler
from .._core.spec import Operation, Spec
from .._server.credentials import well_formed
from .._server.dispatch import problem_response
from .._server.responses import answer_status, unpack_result
from .._server.validation import RequestValidator, credential_query_names
from .fakedata import file_bytes, header_value, is_json, is_xml, negotiate, response_example
from .fakexml import to_xml


def problem(error: ApiError) -> Response:
    """``error`` as problem+json, for what no operation declares."""
    return problem_response(problem_body(error, _request_id()), error.status, error.headers)


def _request_id() -> str:
    return str(g.get("macaron_request_id") or request_id_from(None))


def status_error(status: int, response: dict[str, Any], code: str | None = None) -> ApiError:
    """An error of ``status`` described as the spec's response describes it."""
    title = HTTP_STATUS_CODES.get(status, "Error")
    return ApiError(str(response.get("description") or title).strip(), status=status, title=title,
                    code=code or title.upper().replace(" ", "_").replace("'", ""))


class Endpoint:
    """One operation of the fake: security, validation, handler or example, response check."""

    def __init__(self, op: Operation, spec: Spec, compiler: SchemaCompiler, models: ModelRegistry,
                 handler: Any) -> None:
        self.op = op
        self.definitions = spec.definitions
        self.compiler = compiler
        self.parse = RequestValidator(op, compiler, models, credential_query_names(spec.document))
        self.handler = handler
        self.security = self._security_checks(spec)
        self.shapes: dict[str, ErrorShape] = {}
        for key, response in op.responses.items():
            schema = response.get("schema")
            is_error = key == "default" or (key.isdigit() and int(key) >= 400)
            if is_error and isinstance(schema, dict) and schema.get("type") != "file":
                example = next((v for m, v in (response.get("examples") or {}).items() if is_json(m)), None)
                self.shapes[key] = ErrorShape(schema, spec.definitions, compiler, example)

    def fits(self, schema: dict[str, Any], value: Any) -> bool:
        """Whether ``value`` is a valid answer for ``schema`` (for the examples and samples answered)."""
        return self.compiler.validator(schema, direction=RESPONSE).is_valid(value)

    def _security_checks(self, spec: Spec) -> list[list[dict[str, Any]]]:
        schemes = spec.document.get("securityDefinitions") or {}
        return [[schemes.get(name, {}) for name in requirement] for requirement in self.op.security or []]

    def authorized(self, req: Request) -> bool:
        """Any well-formed credentials of a kind the operation accepts (Basic for basic, ...)."""
        if not self.security:
            return True
        return any(all(well_formed(scheme, req) for scheme in needs) for needs in self.security)

    def response_for(self, status: int) -> tuple[str, dict[str, Any]] | None:
        """The declared response that covers ``status`` (its own, else ``default``) and its key."""
        for key in (str(status), "default"):
            if key in self.op.responses:
                return key, self.op.responses[key]
        return None

    def declared(self, status: int, req: Request, key: str | None = None) -> Response | None:
        """The spec's own answer for ``status`` (its example, else generated), or ``None`` if undeclared."""
        found = (key, self.op.responses[key]) if key else self.response_for(status)
        if found is None:
            return None
        key, response = found
        if status >= 400 and key in self.shapes:
            return self.error(status_error(status, response), req, canned=True)
        has_body, body, media = response_example(response, self.definitions, self.op.produces, req.accept_mimetypes,
                                                 self.fits)
        return self.render(body if has_body else None, status, self._headers(response), media, response.get("schema"))

    def error(self, error: ApiError, req: Request, *, canned: bool = False) -> Response:
        """``error`` as the operation declares its status (or ``default``); ``canned`` answers (faults,
        missing credentials) take the response's example first. problem+json where nothing is declared."""
        found = self.response_for(error.status)
        if found is None:
            return self.undeclared(error)
        key, response = found
        headers = {**self._headers(response), **error.headers}
        schema = response.get("schema")
        shape = self.shapes.get(key)
        if shape is None:  # declared without a body (or a file): answered as declared
            has_body, body, media = response_example(response, self.definitions, self.op.produces,
                                                     req.accept_mimetypes, self.fits)
            return self.render(body if has_body else None, error.status, headers, media, schema)
        examples = response.get("examples") or {}
        produces = self.op.produces  # an error goes out as problem+json where the operation lists it
        if isinstance(response.get("x-content"), dict) and response["x-content"]:
            produces = list(response["x-content"])  # OpenAPI 3.x: the media types of that response
        produces = [PROBLEM_JSON, *(m for m in produces if m != PROBLEM_JSON)] if PROBLEM_JSON in produces else produces
        media = negotiate(req.accept_mimetypes, produces, schema, examples)
        if canned and media in examples:
            return self.render(examples[media], error.status, headers, media, schema)
        return self.render(shape.render(error, _request_id()), error.status, headers, media, schema)

    def undeclared(self, error: ApiError) -> Response:
        """``error`` where the operation declares neither its status nor ``default``: a problem
        body, labelled problem+json unless the operation produces only other JSON types — then
        the first of those, so the answer stays in a media type the spec lists for it."""
        answer = problem(error)
        produces = self.op.produces
        json_types = [m for m in produces if is_json(m)]
        if PROBLEM_JSON not in produces and json_types:
            answer.headers["Content-Type"] = json_types[0]
        return answer

    def respond(self, fake: Any, kwargs: dict[str, Any], req: Request) -> Response:
        """The answer of the operation's handler, checked against the spec, or the spec's own."""
        status, key = answer_status(self.op.responses)
        if self.handler is None:
            answer = self.declared(status, req, key)
            assert answer is not None  # answer_status names a declared response (or default)
            return answer
        body, status, headers = unpack_result(self.handler(fake, **kwargs), status)
        found = self.response_for(status)
        if found is None:
            raise InternalError(f"fake handler {self.op.operation_id} answered undeclared status {status}")
        schema = found[1].get("schema")
        plain = body.to_json() if hasattr(body, "to_json") else body
        if schema is None and plain not in (None, "", b"", {}):
            raise InternalError(f"fake handler {self.op.operation_id}: status {status} declares no body")
        if schema is not None and not isinstance(plain, bytes):
            _, errors = self.compiler.validator(schema)(plain, ["response"])
            if errors:
                raise InternalError(f"fake handler {self.op.operation_id} broke the spec", errors=errors)
        texts = [m for m in self.op.produces if m.startswith("text/")] if isinstance(plain, str) else []
        media = texts[0] if texts else negotiate(req.accept_mimetypes, self.op.produces, schema)
        return self.render(plain, status, headers, media, schema)

    def _headers(self, response: dict[str, Any]) -> dict[str, str]:
        return {name: header_value(h) for name, h in (response.get("headers") or {}).items() if isinstance(h, dict)}

    def render(self, body: Any, status: int, headers: dict[str, str], media: str,
               schema: dict[str, Any] | None) -> Response:
        """``body`` written as ``media`` says (no body: no Content-Type)."""
        if body is None or (schema is None and body in ("", b"", {})):
            response = Response(b"", status=status, headers=headers)
            del response.headers["Content-Type"]
            return response
        if isinstance(schema, dict) and schema.get("type") == "file" and not isinstance(body, bytes | str):
            body = file_bytes(media)
        if isinstance(body, bytes):
            data = body
        elif is_xml(media):
            data = to_xml(body, schema, self.definitions)
        elif isinstance(body, str) and not is_json(media):
            data = body.encode()
        else:
            data = json.dumps(body).encode()
        return Response(data, status=status, headers=headers, mimetype=media)
