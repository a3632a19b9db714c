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

OpenAPI 3.x parameters (normalised by ``_core.oas3``) may also be ``in: cookie``, carry a
``style``/``explode`` (``x-style``/``x-explode``: the text is cut by :mod:`macaron._core.styles`,
then typed as above — an object's properties by their own types; ``form`` with explode gathers an
object's properties from the query's own names, ``deepObject`` from ``name[key]``; a free-form
one — ``additionalProperties``, or no ``properties`` — takes every query name no other parameter
of the operation, nor its security, claims), or a
``content`` media type (``x-content``: the value is JSON text, parsed, then validated). Values are
validated against the parameter's whole schema (``x-schema``), in its spec's dialect. 3.x
deprecates ``allowEmptyValue``: an empty query value is ``""`` for a string or an untyped schema
(a ``oneOf``) and ``[]`` for an array (which their schemas still judge), unless the parameter says
``allowEmptyValue: false``; an object's empty value (``color=`` in a free-form object) is ``{}``.

Rule: imports only the core (validators come from ``_core.schema``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Request

from .._core.errors import FieldError
from .._core.schema import SchemaCompiler, Validator
from .._core.spec import python_name
from .._core.styles import deep_object, split

_INT = re.compile(r"[-+]?\d+\Z")
_SPLIT = {"csv": ",", "ssv": " ", "tsv": "\t", "pipes": "|"}
_EMPTY_ALLOWED_IN = frozenset({"query", "formData"})
_NOT_SCHEMA = ("name", "in", "required", "description", "allowEmptyValue")
_SIMPLE_ARRAYS = frozenset({("form", True), ("form", False), ("spaceDelimited", False), ("pipeDelimited", False),
                            ("spaceDelimited", True), ("pipeDelimited", True), ("simple", False), ("simple", True)})
MISSING = object()
Coerce = Callable[[Any], Any]


class FieldValueError(ValueError):
    """A property of an object parameter that is not of its type (named in the error's path)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


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
    if isinstance(kind, list):  # 3.1: a list of types; text is read as the first that is not null
        kind = next((k for k in kind if k != "null"), None)
    if kind == "array":
        items = schema.get("items")
        item = coercer(items if isinstance(items, dict) else {})
        sep = _SPLIT.get(str(schema.get("collectionFormat", "csv")), ",")

        def coerce(raw: Any) -> Any:
            parts = raw if isinstance(raw, list) else ([] if raw == "" else raw.split(sep))
            return [item(p) for p in parts]
    elif kind == "object" and (isinstance(schema.get("properties"), dict)
                               or isinstance(schema.get("additionalProperties"), dict)):
        fields = {k: coercer(v) for k, v in (schema.get("properties") or {}).items() if isinstance(v, dict)}
        extra = schema.get("additionalProperties")
        rest = coercer(extra) if isinstance(extra, dict) else _same

        def coerce(raw: Any) -> Any:
            if raw == "":  # an empty object, as form and simple styles write it
                return {}
            if not isinstance(raw, dict):
                raise ValueError("must be an object")
            out = {}
            for k, v in raw.items():
                try:
                    out[k] = fields.get(k, rest)(v)
                except ValueError as exc:
                    raise FieldValueError(k, str(exc)) from None
            return out
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
    style: str | None = None  # OpenAPI 3.x: its style and explode; None for Swagger 2.0's parameters
    explode: bool = False
    json_text: bool = False  # a content-typed (JSON) parameter
    properties: tuple[str, ...] = ()  # an object in the query, form style exploded: its own names
    free_form: bool = False  # ... that takes other names too (additionalProperties, or no properties)
    others: frozenset[str] = frozenset()  # the operation's other query parameters (never gathered)

    def raw(self, request: Request, path_args: Mapping[str, str]) -> Any:
        if self.style is not None:
            return self._styled(request, path_args)
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

    def _styled(self, request: Request, path_args: Mapping[str, str]) -> Any:
        """A 3.x parameter's parts (see :mod:`macaron._core.styles`), MISSING when not sent."""
        style = str(self.style)
        if self.location == "query" and self.kind == "object" and not self.json_text:
            if style == "deepObject":
                found = deep_object(self.name, request.args)
                return MISSING if found is None else found
            if style == "form" and self.explode:
                gathered = {k: request.args[k] for k in request.args
                            if k in self.properties or (self.free_form and k not in self.others)}
                return gathered or MISSING
        if self.location == "path":
            text: Any = path_args.get(self.name, MISSING)
        elif self.location == "query":
            many = self.kind == "array" and self.explode and style != "deepObject" and not self.json_text
            text = request.args.getlist(self.name) or MISSING if many else request.args.get(self.name, MISSING)
        elif self.location == "header":
            text = request.headers.get(self.name, MISSING)
        else:  # cookie
            text = request.cookies.get(self.name, MISSING)
        if text is MISSING or self.json_text:
            return text
        if self.location == "query" and text == "":
            return text  # the empty-value rule decides
        return split(style, self.explode, self.kind, self.name, text)

    def read(self, request: Request, path_args: Mapping[str, str], kwargs: dict[str, Any],
             errors: list[FieldError]) -> None:
        """Put this parameter's value into ``kwargs``, or its errors into ``errors``."""
        try:
            raw = self.raw(request, path_args)
        except ValueError as exc:
            errors.append(FieldError("/" + "/".join(self.path), str(exc)))
            return
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
            value: Any = "" if self.kind in ("string", None) else [] if self.kind == "array" else None
            if value is None:
                kwargs[self.kwarg] = None
                return
        else:
            try:
                value = self.coerce(raw)
            except FieldValueError as exc:
                errors.append(FieldError("/" + "/".join([*self.path, exc.key]), str(exc)))
                return
            except ValueError as exc:
                errors.append(FieldError("/" + "/".join(self.path), str(exc)))
                return
        if self.validator is not None:
            value, errs = self.validator(value, self.path)
            errors.extend(errs)
        kwargs[self.kwarg] = value


def _json(raw: Any) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise ValueError("must be JSON text (the spec gives this parameter a JSON content type)") from None


def build_param(p: dict[str, Any], compiler: SchemaCompiler) -> Param:
    """The :class:`Param` of the spec's parameter ``p`` (not a body)."""
    kind = p.get("type")
    location = p["in"]
    if "x-style" in p:  # OpenAPI 3.x (normalised by _core.oas3)
        return _build_styled(p, compiler)
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


def _resolved_extra(p: dict[str, Any], compiler: SchemaCompiler) -> dict[str, Any]:
    """``p`` with a ``$ref`` in ``additionalProperties`` followed (a map's values are typed by it)."""
    extra = p.get("additionalProperties")
    if isinstance(extra, dict) and "$ref" in extra:
        return {**p, "additionalProperties": compiler.resolve(extra)}
    return p


def _build_styled(p: dict[str, Any], compiler: SchemaCompiler) -> Param:
    kind = p.get("type")
    location = p["in"]
    style, explode = str(p["x-style"]), bool(p.get("x-explode"))
    json_text = bool(p.get("x-content"))
    simple = kind == "array" and (style, explode) in _SIMPLE_ARRAYS and location in ("query", "cookie")
    props = tuple((p.get("properties") or {}).keys()) if kind == "object" else ()
    extra = p.get("additionalProperties")
    free_form = kind == "object" and (isinstance(extra, dict) or extra is True or (not props and extra is not False))
    # OpenAPI 3.x deprecates allowEmptyValue: an empty text is "" for a string, [] for an array
    # (their schemas still judge it: minLength, minItems), unless the parameter says false
    empty_ok = p.get("allowEmptyValue") is True or (p.get("allowEmptyValue") is not False
                                                   and kind in ("string", "array", None))
    return Param(
        name=p["name"],
        location=location,
        kwarg=python_name(p["name"]),
        required=bool(p.get("required")),
        default=p.get("default", MISSING),
        kind=kind,
        multi=simple and explode,
        allow_empty=empty_ok if location == "query" else None,
        coerce=_json if json_text else coercer(_resolved_extra(
            {k: v for k, v in p.items() if k != "collectionFormat"}, compiler)),
        validator=compiler.validator(p.get("x-schema") or {}),
        path=[location, p["name"]],
        style=style,
        explode=explode,
        json_text=json_text,
        properties=props,
        free_form=free_form,
    )
