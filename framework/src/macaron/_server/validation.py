"""Request validation: parameters and body parsed, coerced and validated → handler kwargs.

Everything that depends only on the spec — coercers, compiled validators, kwarg names —
is computed once per operation when the app is built. Non-body parameters (and the rules
for ``x-nullable``, empty values and collection formats) are in :mod:`.params`; which body
types an operation accepts and what a non-JSON body becomes, in :mod:`.media`; JSON parsing,
in :mod:`.jsonbody`; the response side, in :mod:`.responses`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Request

from .._core.errors import FieldError, UnsupportedMediaType, ValidationFailed
from .._core.models import Model, ModelRegistry, _ref_name
from .._core.schema import REQUEST, SchemaCompiler, Validator
from .._core.spec import Operation, python_name
from .jsonbody import parse_json
from .media import Consumes, is_json, raw_body
from .params import Param, build_param

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
@dataclass(slots=True)
class Body:
    name: str
    kwarg: str
    required: bool
    validator: Validator
    model: type[Model] | None
    text: bool  # a string schema, against which a text body (not JSON) is validated too


class RequestValidator:
    """Turns a Flask request into the handler's keyword arguments, or raises with every bad field."""

    def __init__(self, op: Operation, compiler: SchemaCompiler, models: ModelRegistry) -> None:
        self.operation = op
        self.params: list[Param] = []
        self.body: Body | None = None
        self.form = any(p.get("in") == "formData" for p in op.parameters)
        self.form_fields = frozenset(p["name"] for p in op.parameters if p.get("in") == "formData")
        self.consumes = Consumes(op.consumes or ["application/json"])
        for p in op.parameters:
            if p.get("in") == "body":
                schema = p.get("schema") or {}
                ref = _ref_name(schema)
                self.body = Body(
                    name=p["name"],
                    kwarg=python_name(p["name"]),
                    required=bool(p.get("required")),
                    validator=compiler.validator(schema, direction=REQUEST),  # readOnly: not from clients
                    model=models.get(ref) if ref else None,
                    text=compiler.resolve(schema).get("type") == "string" and schema.get("format") != "binary",
                )
                continue
            self.params.append(build_param(p, compiler))

    def __call__(self, request: Request, path_args: Mapping[str, str]) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        errors: list[FieldError] = []
        if self.form:
            self._check_form_type(request)
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

    def _check_form_type(self, request: Request) -> None:
        mimetype = request.mimetype
        if mimetype and mimetype not in _FORM_TYPES:
            raise UnsupportedMediaType(f"Content-Type {mimetype!r} is not accepted; use {', '.join(_FORM_TYPES)}")

    def _read_body(self, request: Request, kwargs: dict[str, Any], errors: list[FieldError]) -> None:
        body = self.body
        assert body is not None
        raw = request.get_data(cache=True)
        if not raw:
            if body.required:
                errors.append(FieldError("/body", "is required"))
            return
        mimetype = self.consumes.media_type(request)
        if not is_json(mimetype):  # declared, not JSON: as sent (media.py)
            value = raw_body(request, mimetype, raw)
            if body.text and isinstance(value, str):
                value, errs = body.validator(value, ["body"])
                errors.extend(errs)
            kwargs[body.kwarg] = value
            return
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
