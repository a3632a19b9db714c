"""Response validation: is the handler's status declared, does its body match the schema →
JSON bytes. A response that breaks the service's own spec is logged with every bad field
and answered 500 ``RESPONSE_INVALID`` (never sent as it is).

The validators and the encoder are built once per operation when the app is built.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from flask import g

from .._core.errors import FieldError, ResponseInvalid
from .._core.models import Model, to_plain
from .._core.schema import SchemaCompiler, Validator
from .._core.spec import Operation


@dataclass(slots=True)
class _Declared:
    validator: Validator | None


class ResponseValidator:
    """Checks a handler's result against the operation's declared responses and renders it."""

    def __init__(self, op: Operation, compiler: SchemaCompiler, log: logging.Logger) -> None:
        self.operation = op
        self.log = log
        self.declared: dict[str, _Declared] = {}
        for status, response in op.responses.items():
            schema = response.get("schema") if isinstance(response, dict) else None
            self.declared[status] = _Declared(compiler.validator(schema) if schema else None)
        success = sorted(int(s) for s in op.responses if s.isdigit() and 200 <= int(s) < 300)
        self.default_status = success[0] if success else 200
        # json.dumps(..., separators=..., ...) builds an encoder per call; this one is built once
        self._dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=_json_default).encode

    def render(self, result: Any) -> tuple[bytes, int, dict[str, str]]:
        body, status, headers = unpack_result(result, self.default_status)
        declared = self.declared.get(str(status)) or self.declared.get("default")
        if declared is None:
            self._fail(f"status {status} is not declared", [])
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

    def _fail(self, why: str, errors: list[FieldError]) -> None:
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
