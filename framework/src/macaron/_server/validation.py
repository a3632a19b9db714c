"""Request validation: parameters and body parsed, coerced and validated → handler kwargs.

Everything that depends only on the spec — coercers, compiled validators, kwarg names —
is computed once per operation when the app is built. Non-body parameters (and the rules
for ``x-nullable``, empty values and collection formats) are in :mod:`.params`; the
response side is in :mod:`.responses`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Request

from .._core.errors import FieldError, UnsupportedMediaType, ValidationFailed
from .._core.models import Model, ModelRegistry, _ref_name
from .._core.schema import SchemaCompiler, Validator
from .._core.spec import Operation, python_name
from .jsonbody import parse_json
from .params import Param, build_param

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
@dataclass(slots=True)
class Body:
    name: str
    kwarg: str
    required: bool
    validator: Validator
    model: type[Model] | None


class RequestValidator:
    """Turns a Flask request into the handler's keyword arguments, or raises with every bad field."""

    def __init__(self, op: Operation, compiler: SchemaCompiler, models: ModelRegistry) -> None:
        self.operation = op
        self.params: list[Param] = []
        self.body: Body | None = None
        self.form = any(p.get("in") == "formData" for p in op.parameters)
        self.form_fields = frozenset(p["name"] for p in op.parameters if p.get("in") == "formData")
        self.consumes = [c.split(";")[0].strip().lower() for c in op.consumes]
        self.json_types = [c for c in self.consumes if c == "application/json" or c.endswith("+json")] or [
            "application/json"
        ]
        self.exact_json = frozenset(  # Content-Type headers of a JSON body accepted as sent, unparsed
            f"{t}{charset}"
            for t in self.json_types
            for charset in ("", "; charset=utf-8", "; charset=UTF-8", ";charset=utf-8", ";charset=UTF-8")
        )
        for p in op.parameters:
            if p.get("in") == "body":
                schema = p.get("schema") or {}
                ref = _ref_name(schema)
                self.body = Body(
                    name=p["name"],
                    kwarg=python_name(p["name"]),
                    required=bool(p.get("required")),
                    validator=compiler.validator(schema),
                    model=models.get(ref) if ref else None,
                )
                continue
            self.params.append(build_param(p, compiler))

    def __call__(self, request: Request, path_args: Mapping[str, str]) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        errors: list[FieldError] = []
        if self.form:
            self._check_content_type(request, _FORM_TYPES, required=False)
            errors.extend(  # an undeclared field is an error, as in a JSON body (additionalProperties: false)
                FieldError(f"/formData/{name}", "is not a field of this form")
                for name in sorted({*request.form, *request.files} - self.form_fields)
            )
        for param in self.params:
            param.read(request, path_args, kwargs, errors)
        if self.body is not None:
            self._read_body(request, kwargs, errors)
        if errors:
            raise ValidationFailed(
                f"{len(errors)} field{'s' if len(errors) > 1 else ''} of the request "
                f"{'break' if len(errors) > 1 else 'breaks'} the spec",
                errors=errors,
            )
        return kwargs

    def _check_content_type(
        self,
        request: Request,
        allowed: tuple[str, ...] | list[str],
        *,
        required: bool,
        exact: frozenset[str] = frozenset(),
    ) -> None:
        if request.environ.get("CONTENT_TYPE") in exact:  # the usual header as sent: no need to parse it
            return
        mimetype = request.mimetype
        if not mimetype:
            if required:
                raise UnsupportedMediaType(f"send the body as {allowed[0]} (Content-Type header missing)")
            return
        if mimetype not in allowed and not (mimetype.endswith("+json") and "application/json" in allowed):
            raise UnsupportedMediaType(f"Content-Type {mimetype!r} is not accepted; use {', '.join(allowed)}")

    def _read_body(self, request: Request, kwargs: dict[str, Any], errors: list[FieldError]) -> None:
        body = self.body
        assert body is not None
        raw = request.get_data(cache=True)
        if not raw:
            if body.required:
                errors.append(FieldError("/body", "is required"))
            return
        self._check_content_type(request, self.json_types, required=True, exact=self.exact_json)
        value, errs = parse_json(raw)
        if errs:
            errors.extend(errs)
            return
        value, errs = body.validator(value, ["body"])
        if errs:
            errors.extend(errs)
            return
        if body.model is not None and isinstance(value, dict):
            value = body.model.__registry__.build(body.model, value)
        kwargs[body.kwarg] = value


Handler = Callable[..., Any]
