"""Request validation: parameters and body parsed, coerced and validated → handler kwargs.

Everything that depends only on the spec — coercers, compiled validators, kwarg names —
is computed once per operation when the app is built. Non-body parameters (and the rules
for ``x-nullable``, empty values and collection formats) are in :mod:`.params`; the
response side is in :mod:`.responses`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Request

from .._core.errors import FieldError, MalformedJson, UnsupportedMediaType, ValidationFailed
from .._core.models import Model, ModelRegistry, _ref_name
from .._core.schema import SchemaCompiler, Validator, _pointer
from .._core.spec import Operation, python_name
from .params import Param, build_param

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_MISSING = object()
# What JSON can say but Python, a store or a client library cannot take: integers beyond 64 bits (or
# beyond Python's int-digit limit), numbers that overflow to infinity, NaN/Infinity (not JSON at all),
# lone UTF-16 surrogates ("\ud800": SQLite, requests and logging fail on them) and deep nesting.
# A cheap scan of the raw bytes decides whether a body needs the slower look that names the field.
MAX_JSON_DEPTH = 64
_INT64 = (-(2**63), 2**63 - 1)
_SUSPECT = re.compile(rb"\\u[dD][89a-fA-F]|\d{19}|[eE]\+?\d{3}|NaN|Infinity")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class _Unfit:
    """Stands in, while a body is checked, for a number Python or a store cannot take."""

    def __init__(self, message: str) -> None:
        self.message = message


def _int_or_unfit(text: str) -> int | _Unfit:
    digits = len(text.lstrip("-"))
    if digits > 19:  # beyond 64 bits whatever its digits; int() refuses past sys.get_int_max_str_digits()
        return _Unfit("is an integer outside the 64-bit range")
    value = int(text)
    return value if _INT64[0] <= value <= _INT64[1] else _Unfit("is an integer outside the 64-bit range")


def _float_or_unfit(text: str) -> float | _Unfit:
    value = float(text)
    return value if math.isfinite(value) else _Unfit("is a number too large to represent (it overflows to infinity)")


def _constant(text: str) -> _Unfit:
    return _Unfit(f"is {text}, which is not a JSON number")


def unfit_json(raw: bytes, root: str = "body") -> tuple[Any, list[FieldError]]:
    """``raw`` (valid JSON) parsed again, and one error per value Python, a store or a client
    cannot take, naming its field; also too deep a nesting. Walks without recursion."""
    try:
        value = json.loads(raw, parse_int=_int_or_unfit, parse_float=_float_or_unfit, parse_constant=_constant)
    except RecursionError:
        return None, [FieldError(f"/{root}", f"is nested deeper than {MAX_JSON_DEPTH} levels")]
    errors: list[FieldError] = []
    stack: list[tuple[Any, list[str]]] = [(value, [root])]
    while stack and len(errors) < 20:
        item, path = stack.pop()
        if len(path) > MAX_JSON_DEPTH + 1:
            errors.append(FieldError(_pointer(path[:2]), f"is nested deeper than {MAX_JSON_DEPTH} levels"))
            break
        if isinstance(item, _Unfit):
            errors.append(FieldError(_pointer(path), item.message))
        elif isinstance(item, str):
            if _LONE_SURROGATE.search(item):
                errors.append(FieldError(_pointer(path), "holds a lone UTF-16 surrogate (not a character)"))
        elif isinstance(item, dict):
            for key, sub in item.items():
                if _LONE_SURROGATE.search(key):
                    clean = _LONE_SURROGATE.sub("\ufffd", key)
                    errors.append(FieldError(_pointer([*path, clean]), "is a key holding a lone UTF-16 surrogate"))
                else:
                    stack.append((sub, [*path, key]))
        elif isinstance(item, list):
            stack.extend((sub, [*path, str(i)]) for i, sub in enumerate(item))
    errors.sort(key=lambda e: e.path)
    return value, errors


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
        try:
            value = json.loads(raw)
        except UnicodeDecodeError:
            raise MalformedJson("the body is not valid UTF-8") from None
        except json.JSONDecodeError as exc:
            raise MalformedJson(
                f"the body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
            ) from None
        except RecursionError:
            raise MalformedJson("the body is nested too deeply") from None
        except ValueError:  # an integer beyond Python's int-digit limit: found and named below
            value = _MISSING
        if value is _MISSING or _SUSPECT.search(raw) or raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH:
            value, errs = unfit_json(raw)
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
