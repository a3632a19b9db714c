"""Response validation: is the handler's status declared, does its body match the schema →
JSON bytes. A response that breaks the service's own spec is logged with every bad field
and answered 500 ``RESPONSE_INVALID`` (never sent as it is).

Errors too answer as the spec declares (:class:`ErrorResponses`): problem+json wherever the
response declared for the status (or ``default``) takes a problem — always, for what the spec does
not declare and for the built-in error responses — else the error written into that response's
own schema (:class:`~macaron._core.errorbodies.ErrorShape`); a declared error schema that neither
takes a problem nor can be written validly stops start-up, naming the response.

Response headers an OpenAPI 3.x response declares (``x-schema``, ``x-required`` in the normalised
model) are checked too: a required one missing, or one whose text is not of its schema, is a 500
``RESPONSE_INVALID`` naming ``/header/<name>``. (Swagger 2.0's response headers are documentation
only, as they always were here.)

The validators and the encoder are built once per operation when the app is built.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, NoReturn

from flask import g

from .._core.errorbodies import REPRESENTATIVE, ErrorShape
from .._core.errors import ApiError, FieldError, ResponseInvalid, SpecError
from .._core.models import Model, to_plain
from .._core.schema import RESPONSE, SchemaCompiler, Validator
from .._core.spec import Operation
from .params import coercer


@dataclass(slots=True)
class _Header:
    name: str
    required: bool
    coerce: Any
    validator: Validator


@dataclass(slots=True)
class _Declared:
    validator: Validator | None
    headers: tuple[_Header, ...] = ()


def _headers(response: Any, compiler: SchemaCompiler) -> tuple[_Header, ...]:
    out = []
    for name, header in ((response or {}).get("headers") or {}).items() if isinstance(response, dict) else ():
        if isinstance(header, dict) and "x-schema" in header:  # OpenAPI 3.x (see the module's docstring)
            out.append(_Header(name, bool(header.get("x-required")), coercer(header),
                               compiler.validator(header["x-schema"], direction=RESPONSE)))
    return tuple(out)


class ResponseValidator:
    """Checks a handler's result against the operation's declared responses and renders it."""

    def __init__(self, op: Operation, compiler: SchemaCompiler, log: logging.Logger) -> None:
        self.operation = op
        self.log = log
        self.declared: dict[str, _Declared] = {}
        for status, response in op.responses.items():
            schema = response.get("schema") if isinstance(response, dict) else None
            self.declared[status] = _Declared(compiler.validator(schema, direction=RESPONSE) if schema else None,
                                              _headers(response, compiler))
        self.default_status = answer_status(op.responses)[0]
        # json.dumps(..., separators=..., ...) builds an encoder per call; this one is built once
        self._dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=_json_default).encode

    def render(self, result: Any) -> tuple[bytes, int, dict[str, str]]:
        body, status, headers = unpack_result(result, self.default_status)
        declared = self.declared.get(str(status)) or self.declared.get("default")
        if declared is None:
            self._fail(f"status {status} is not declared", [])
        if declared.headers:
            self._check_headers(status, declared.headers, headers)
        if isinstance(body, Model):
            body = body._dump(False)  # encoded below and dropped: may share the model's JSON
        if declared.validator is None:
            if body not in (None, {}, b"", ""):
                self._fail(f"status {status} declares no body, but the handler returned one", [])
            return b"", status, headers
        if not declared.validator.is_valid(body):
            body = to_plain(body, fresh=False)  # models nested in dicts or lists: convert, validate again
            _, errors = declared.validator(body, ["response"])
            if errors:
                self._fail(f"the {status} response body breaks the spec", errors)
        return self._dumps(body).encode(), status, headers

    def _check_headers(self, status: int, declared: tuple[_Header, ...], sent: dict[str, str]) -> None:
        lowered = {k.lower(): v for k, v in sent.items()}
        errors: list[FieldError] = []
        for header in declared:
            text = lowered.get(header.name.lower())
            if text is None:
                if header.required:
                    errors.append(FieldError(f"/header/{header.name}", "is required"))
                continue
            try:
                value = header.coerce(str(text))
            except ValueError as exc:
                errors.append(FieldError(f"/header/{header.name}", str(exc)))
                continue
            errors.extend(header.validator(value, ["header", header.name])[1])
        if errors:
            self._fail(f"the {status} response's headers break the spec", errors)

    def _fail(self, why: str, errors: list[FieldError]) -> NoReturn:
        fields = "; ".join(f"{e.path}: {e.message}" for e in errors)
        self.log.error(
            "response of %s is invalid: %s%s",
            self.operation.label,
            why,
            f" ({fields})" if fields else "",
            extra={
                "operation": self.operation.operation_id,
                "request_id": g.get("macaron_request_id"),
                "fields": [e.to_json() for e in errors],
            },
        )
        error = ResponseInvalid("the service produced a response that breaks its own spec")
        error.macaron_fields = errors  # type: ignore[attr-defined]  # shown in dev only (_server.devcause)
        raise error


class ErrorResponses:
    """How one operation answers an error: ``render(error, request_id)`` is ``(body, content type)``
    in the declared schema where that schema does not take the error's problem+json, else ``None``
    (answer problem+json). ``content_type`` is the operation's JSON type."""

    def __init__(self, op: Operation, compiler: SchemaCompiler, definitions: dict[str, Any],
                 content_type: str) -> None:
        self._declared = set(op.responses)
        self._content_type = content_type
        self.shapes: dict[str, ErrorShape] = {}
        for key, response in op.responses.items():
            schema = response.get("schema") if isinstance(response, dict) else None
            if not (key == "default" or (key.isdigit() and int(key) >= 400)) or not isinstance(schema, dict):
                continue
            example = (response.get("examples") or {}).get(content_type.split(";")[0])
            shape = ErrorShape(schema, definitions, compiler, example)
            if all(shape.accepts(error.to_problem("a-request-id")) for error in REPRESENTATIVE):
                continue  # problem+json-compatible: errors are answered as problems
            if (why := shape.renderable) is not None:
                raise SpecError(f"{op.label}: the {key} response's schema does not take a problem+json error "
                                f"body, and errors cannot be written into it: {why}")
            for error in REPRESENTATIVE:  # compiles the field validators it uses now, not at the first error
                shape.render(error, "a-request-id")
            self.shapes[key] = shape
        self._dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode

    def __bool__(self) -> bool:
        return bool(self.shapes)

    def render(self, error: ApiError, request_id: str | None) -> tuple[bytes, str] | None:
        key = str(error.status) if str(error.status) in self._declared else "default"
        shape = self.shapes.get(key)
        if shape is None or shape.accepts(error.to_problem(request_id)):
            return None
        return self._dumps(shape.render(error, request_id)).encode(), self._content_type


def answer_status(responses: dict[str, Any]) -> tuple[int, str]:
    """The status an operation answers when nothing says which, and the response that declares it:
    its lowest 2xx; else 200 as ``default`` describes it (what connexion and prism answer); else its
    lowest declared status (an operation declaring only ``404`` answers 404)."""
    codes = sorted(int(s) for s in responses if s.isdigit())
    success = [c for c in codes if 200 <= c < 300]
    if success:
        return success[0], str(success[0])
    if "default" in responses or not codes:
        return 200, "default"
    return codes[0], str(codes[0])


def unpack_result(result: Any, default_status: int) -> tuple[Any, int, dict[str, str]]:
    """A handler's ``body``, ``(body, status)`` or ``(body, status, headers)`` as all three."""
    if isinstance(result, tuple):
        if len(result) == 2:
            return result[0], int(result[1]), {}
        if len(result) == 3:
            return result[0], int(result[1]), dict(result[2] or {})
        raise TypeError("a handler returns body, (body, status) or (body, status, headers)")
    return result, default_status, {}


def _json_default(value: Any) -> Any:
    if isinstance(value, Model):
        return value._dump(False)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
