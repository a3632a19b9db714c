"""Non-body parameters (path, query, header, formData): read from the request, text turned
into values, values checked by their compiled validator. Everything is decided per parameter
at start-up (:func:`build_param`); a request only runs the result.

Text → value, by the Swagger 2.0 rules:

- ``integer``, ``number`` and ``boolean`` (``true``/``false``) are parsed; strings stay as sent.
- ``array``: split by ``collectionFormat`` (``csv`` by default, ``ssv``, ``tsv``, ``pipes``;
  ``multi`` is the name repeated, in the query or a form). An item that is an array itself is
  split again by *its* ``collectionFormat``: ``?m=1,2|3,4`` for pipes of csv is ``[[1, 2], [3, 4]]``.
- ``x-nullable: true``: the value ``null`` means None (for a nullable string too, which therefore
  cannot be the text "null"); so does an array item ``null`` when its ``items`` are x-nullable.
  An empty value never means null: it follows the next rule.
- An empty value — ``?q=``, a bare ``?q``, an empty form field — is refused (400 naming the
  parameter) unless the parameter says ``allowEmptyValue: true``: Swagger 2.0's default is false,
  for optional parameters too. Allowed, it is ``""`` for a string, ``[]`` for an array, and None
  for other types. The rule is for query and formData parameters, the only ones that may say
  ``allowEmptyValue``; a header's empty value is its text, and a path variable is never empty.

Rule: imports only the core (validators come from ``_core.schema``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Request

from .._core.errors import FieldError
from .._core.schema import SchemaCompiler, Validator
from .._core.spec import python_name

_INT = re.compile(r"[-+]?\d+\Z")
_SPLIT = {"csv": ",", "ssv": " ", "tsv": "\t", "pipes": "|"}
_EMPTY_ALLOWED_IN = frozenset({"query", "formData"})
_NOT_SCHEMA = ("name", "in", "required", "description", "allowEmptyValue")
MISSING = object()
Coerce = Callable[[Any], Any]


def _integer(raw: str) -> int:
    if not _INT.match(raw.strip()):
        raise ValueError("must be an integer")
    return int(raw)


def _number(raw: str) -> int | float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError("must be a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("must be a finite number")
    return int(value) if _INT.match(raw.strip()) else value


def _boolean(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered not in ("true", "false"):
        raise ValueError("must be true or false")
    return lowered == "true"


def _same(raw: Any) -> Any:
    return raw


_SCALARS: dict[str | None, Coerce] = {"integer": _integer, "number": _number, "boolean": _boolean}


def coercer(schema: Mapping[str, Any]) -> Coerce:
    """The function from a parameter's (or an item's) text to its value; ValueError says why not."""
    kind = schema.get("type")
    if kind == "array":
        items = schema.get("items")
        item = coercer(items if isinstance(items, dict) else {})
        sep = _SPLIT.get(str(schema.get("collectionFormat", "csv")), ",")

        def coerce(raw: Any) -> Any:
            parts = raw if isinstance(raw, list) else ([] if raw == "" else raw.split(sep))
            return [item(p) for p in parts]
    else:
        coerce = _SCALARS.get(kind, _same)
    if schema.get("x-nullable") is not True:
        return coerce
    inner = coerce

    def nullable(raw: Any) -> Any:
        return None if raw == "null" else inner(raw)

    return nullable


@dataclass(slots=True)
class Param:
    """A non-body parameter: where to read it, how to turn it into a value, how to check it."""

    name: str
    location: str
    kwarg: str
    required: bool
    default: Any
    kind: str | None
    multi: bool
    allow_empty: bool | None  # None: the empty-value rule does not apply here (header, path)
    coerce: Coerce
    validator: Validator | None
    path: list[str]

    def raw(self, request: Request, path_args: Mapping[str, str]) -> Any:
        if self.location == "path":
            return path_args.get(self.name, MISSING)
        if self.location == "query":
            source = request.args
        elif self.location == "header":
            source = request.headers
        elif self.kind == "file":
            return request.files.get(self.name, MISSING)
        else:
            source = request.form
        if self.multi:
            values = source.getlist(self.name)
            return values if values else MISSING
        value = source.get(self.name)
        return MISSING if value is None else value

    def read(self, request: Request, path_args: Mapping[str, str], kwargs: dict[str, Any],
             errors: list[FieldError]) -> None:
        """Put this parameter's value into ``kwargs``, or its errors into ``errors``."""
        raw = self.raw(request, path_args)
        if raw is MISSING:
            if self.required:
                errors.append(FieldError("/" + "/".join(self.path), "is required"))
            elif self.default is not MISSING:
                kwargs[self.kwarg] = self.default
            return
        if self.allow_empty is not None and (raw == "" or raw == [""]):
            if not self.allow_empty:
                errors.append(FieldError("/" + "/".join(self.path),
                                         "is empty; send a value (the spec does not set allowEmptyValue on it)"))
                return
            value: Any = "" if self.kind == "string" else [] if self.kind == "array" else None
            if value is None:
                kwargs[self.kwarg] = None
                return
        else:
            try:
                value = self.coerce(raw)
            except ValueError as exc:
                errors.append(FieldError("/" + "/".join(self.path), str(exc)))
                return
        if self.validator is not None:
            value, errs = self.validator(value, self.path)
            errors.extend(errs)
        kwargs[self.kwarg] = value


def build_param(p: dict[str, Any], compiler: SchemaCompiler) -> Param:
    """The :class:`Param` of the spec's parameter ``p`` (not a body)."""
    kind = p.get("type")
    location = p["in"]
    schema = {k: v for k, v in p.items() if k not in _NOT_SCHEMA}
    return Param(
        name=p["name"],
        location=location,
        kwarg=python_name(p["name"]),
        required=bool(p.get("required")),
        default=p.get("default", MISSING),
        kind=kind,
        multi=kind == "array" and p.get("collectionFormat") == "multi",
        allow_empty=p.get("allowEmptyValue") is True if location in _EMPTY_ALLOWED_IN and kind != "file" else None,
        coerce=_same if kind == "file" else coercer(p),
        validator=None if kind == "file" else compiler.validator(schema),
        path=[location, p["name"]],
    )
