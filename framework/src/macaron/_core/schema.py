"""Schemas: Swagger 2.0 schema objects → JSON Schema draft 4 → compiled validators.

Validators are compiled once (fastjsonschema generates Python code for each schema)
and reused for every request: a valid document costs one call of generated code.
fastjsonschema stops at the first error, so when a document fails, :meth:`Validator.errors`
walks the schema next to the document and reports *every* bad field with its path,
compiling the small per-field validators it needs on first use and caching them.

A validator has a direction. :data:`REQUEST` (what a client sends: request bodies) reads
``readOnly: true`` as Swagger 2.0 means it: the property is set by the server, so it is not
required and must not be sent (sending it is an error naming the field). Any other direction
takes the schema as written (responses, models, stored items hold their readOnly properties).
Definitions are converted once per direction; a spec without readOnly shares one set.
:data:`RESPONSE` (what the service answers) reads ``writeOnly: true`` the same way in reverse:
such a property is never required in an answer and never sent (answering it is an error).

A compiler has a dialect. ``draft4`` (Swagger 2.0) compiles with fastjsonschema, as above. ``draft7``
(OpenAPI 3.0: JSON Schema draft 4 with OpenAPI's words, as :mod:`.oas3schemas` writes them) and ``2020-12``
(OpenAPI 3.1: JSON Schema 2020-12 — type lists, ``const``, ``prefixItems``, ``$defs``,
``dependentRequired``, ``if``/``then``/``else``, ``unevaluatedProperties``, numeric
``exclusiveMinimum``) compiles with jsonschema-rs (fastjsonschema stops at draft 7), whose errors
carry every bad field's instance path: :mod:`.schemars` words them as the draft 4 walk does
(``/body/email``: "must be email", "is required", "is not a known field").
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import fastjsonschema

from .discriminator import with_dispatch
from .errors import FieldError
from .leancode import compile_lean, lean_code
from .schemars import (
    _READ_ONLY_MESSAGE,
    _WRITE_ONLY_MESSAGE,
    DRAFT7,
    DRAFT2020,
    READ_ONLY_SENT,
    WRITE_ONLY_SENT,
    _pointer,
    _type_message,
    compile_rs,
    rs_errors,
)

__all__ = ["DRAFT4", "DRAFT7", "DRAFT2020", "READ_ONLY_SENT", "REQUEST", "RESPONSE", "WRITE_ONLY_SENT",
           "SchemaCompiler", "Validator", "lean_code", "to_json_schema"]

#: The direction of a validator for what a client sends (``readOnly`` applies). Validators of
#: any other direction (None, ``"response"``) take schemas as written: a response, a model, a
#: stored item must hold their readOnly properties.
REQUEST = "request"
RESPONSE = "response"
DRAFT4 = "draft4"
_SWAGGER_ONLY = {"discriminator", "readOnly", "writeOnly", "xml", "externalDocs", "example", "collectionFormat",
                 "x-nullable", "nullable", "deprecated"}
_SUBSCHEMAS = ("items", "additionalProperties", "allOf", "not", "anyOf", "oneOf")
_SUBSCHEMAS_2020 = (*_SUBSCHEMAS, "prefixItems", "if", "then", "else", "contains", "unevaluatedProperties",
                    "unevaluatedItems", "propertyNames", "dependentSchemas", "$defs", "patternProperties")
_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
_JSON_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "null": lambda v: v is None,
}
def _read_only(node: Any) -> bool:
    return isinstance(node, dict) and node.get("readOnly") is True


def _write_only(node: Any) -> bool:
    return isinstance(node, dict) and node.get("writeOnly") is True


def _hidden(direction: str | None) -> tuple[Callable[[Any], bool], dict[str, Any]] | None:
    """What a direction refuses: readOnly properties in requests, writeOnly ones in responses."""
    if direction == REQUEST:
        return _read_only, READ_ONLY_SENT
    if direction == RESPONSE:
        return _write_only, WRITE_ONLY_SENT
    return None


def to_json_schema(node: Any, direction: str | None = None, dialect: str = DRAFT4) -> Any:
    """Convert one Swagger schema object (recursively) to JSON Schema draft 4 (``dialect``
    ``2020-12``: a 3.1 schema, kept as JSON Schema 2020-12), for ``direction`` (:data:`REQUEST`:
    readOnly properties neither required nor accepted; :data:`RESPONSE`: writeOnly ones)."""
    if isinstance(node, list):
        return [to_json_schema(n, direction, dialect) for n in node]
    if not isinstance(node, dict):
        return node
    modern = dialect == DRAFT2020
    nullable = node.get("x-nullable") is True and not modern
    if "$ref" in node and not (modern and len(node) > 1):
        ref = {"$ref": node["$ref"]}
        return {"anyOf": [{"type": "null"}, ref]} if nullable else ref
    hidden = _hidden(direction)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _SWAGGER_ONLY or key.startswith("x-"):
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {
                name: dict(hidden[1]) if hidden and hidden[0](sub) else to_json_schema(sub, direction, dialect)
                for name, sub in value.items()
            }
        elif key == "required" and hidden and isinstance(value, list):
            props = node.get("properties") if isinstance(node.get("properties"), dict) else {}
            kept = [name for name in value if not hidden[0](props.get(name))]
            if kept:
                out[key] = kept
        elif key in ("$defs", "dependentSchemas", "patternProperties") and modern and isinstance(value, dict):
            out[key] = {k: to_json_schema(v, direction, dialect) for k, v in value.items()}
        elif key in (_SUBSCHEMAS_2020 if modern else _SUBSCHEMAS):
            out[key] = to_json_schema(value, direction, dialect)
        elif key == "type" and value == "file":
            continue
        else:
            out[key] = value
    if not modern:  # draft 4's boolean exclusive bounds (2.0, 3.0), as the draft 7 fastjsonschema compiles reads them
        for exclusive, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
            if isinstance(out.get(exclusive), bool):
                if out.pop(exclusive) and bound in out:
                    out[exclusive] = out.pop(bound)
    if out.get("type") == "integer" and node.get("format") in _INT_RANGES:
        low, high = _INT_RANGES[node["format"]]
        out.setdefault("minimum", low)
        out.setdefault("maximum", high)
    if nullable:
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        elif "type" not in out:
            out = {"anyOf": [{"type": "null"}, out]}
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    return out


def _clean_message(exc: fastjsonschema.JsonSchemaValueException) -> str:
    message = exc.message
    name = exc.name or "data"
    if message.startswith(name + " "):
        message = message[len(name) + 1 :]
    return message


class SchemaCompiler:
    """Compiles validators for one spec's schemas, sharing its converted definitions.

    Identical schemas are compiled once (keyed by their JSON text), so two operations
    taking the same model share one validator. ``compilations`` counts the work done,
    which lets tests check that nothing is compiled per request after start-up.
    """

    def __init__(self, definitions: dict[str, Any], dialect: str = DRAFT4) -> None:
        self.dialect = dialect
        converted = {name: to_json_schema(schema, None, dialect) for name, schema in definitions.items()}
        self.definitions = with_dispatch(definitions, converted)  # discriminators: see .discriminator
        request = {name: to_json_schema(schema, REQUEST, dialect) for name, schema in definitions.items()}
        request = with_dispatch(definitions, request)
        #: the definitions as a request sees them; the same object when no definition has a readOnly
        self.request_definitions = self.definitions if request == self.definitions else request
        response = {name: to_json_schema(schema, RESPONSE, dialect) for name, schema in definitions.items()}
        response = with_dispatch(definitions, response)
        #: the definitions as a response sees them; the same object when no definition has a writeOnly
        self.response_definitions = self.definitions if response == self.definitions else response
        self._cache: dict[tuple[str, bool, bool, int], Callable[[Any], Any]] = {}
        self.compilations = 0

    def _definitions(self, direction: str | None) -> dict[str, Any]:
        if direction == REQUEST:
            return self.request_definitions
        return self.response_definitions if direction == RESPONSE else self.definitions

    def compile(
        self, schema: dict[str, Any], *, fill_defaults: bool = False, lean: bool = False, direction: str | None = None
    ) -> Callable[[Any], Any]:
        """A compiled validator for an already converted (JSON Schema) ``schema``; its refs lead to
        the definitions of ``direction``.

        ``lean`` validators accept and reject exactly the same documents, but the
        exceptions they raise do not name the bad field (see :meth:`Validator.errors`).
        """
        definitions = self._definitions(direction)
        text = json.dumps(schema, sort_keys=True, default=str)
        which = 0 if definitions is self.definitions else 1 if definitions is self.request_definitions else 2
        key = (text, fill_defaults, lean, which)
        fn = self._cache.get(key)
        if fn is None:
            document = dict(schema)
            if "$ref" in text:
                document["definitions"] = definitions
            if self.dialect in (DRAFT7, DRAFT2020):
                fn = compile_rs(document, self.dialect)
            elif lean:
                fn = compile_lean(document, fill_defaults)
            else:
                fn = fastjsonschema.compile(document, use_default=fill_defaults, use_formats=True)
            self._cache[key] = fn
            self.compilations += 1
        return fn

    def validator(
        self, swagger_schema: dict[str, Any], *, fill_defaults: bool = False, direction: str | None = None
    ) -> Validator:
        """A :class:`Validator` for a Swagger schema object, for ``direction`` (:data:`REQUEST`
        for what clients send; :data:`RESPONSE` for what the service answers; None for what it keeps)."""
        schema = to_json_schema(swagger_schema, direction, self.dialect)
        return Validator(self, schema, fill_defaults=fill_defaults, direction=direction)

    def resolve(self, schema: dict[str, Any], direction: str | None = None) -> dict[str, Any]:
        definitions = self._definitions(direction)
        seen = 0
        while "$ref" in schema and seen < 64:
            ref = str(schema["$ref"])
            if ref.startswith("#/definitions/") and "/" in ref[len("#/definitions/"):]:
                node: Any = {"definitions": definitions}
                for part in ref[2:].split("/"):
                    node = node.get(part.replace("~1", "/").replace("~0", "~"), {}) if isinstance(node, dict) else {}
                schema = node if isinstance(node, dict) else {}
            else:
                schema = definitions.get(ref.rsplit("/", 1)[-1], {})
            seen += 1
        return schema


class Validator:
    """Validate documents against one schema: fast when valid, thorough when not."""

    __slots__ = ("_compiler", "_fn", "direction", "schema")

    def __init__(
        self, compiler: SchemaCompiler, schema: dict[str, Any], *, fill_defaults: bool, direction: str | None = None
    ) -> None:
        self._compiler = compiler
        self.schema = schema
        self.direction = direction
        self._fn = compiler.compile(schema, fill_defaults=fill_defaults, lean=True, direction=direction)

    def __call__(self, value: Any, path: list[str]) -> tuple[Any, list[FieldError]]:
        """Return ``(value, errors)``; ``value`` may gain defaults from the schema."""
        try:
            return self._fn(value), []
        except fastjsonschema.JsonSchemaValueException:
            return value, self.errors(value, path)
        except RecursionError:
            return value, [FieldError(_pointer(path) or "/", "is nested too deeply")]

    def is_valid(self, value: Any) -> bool:
        """The fast check alone (no error collection)."""
        try:
            self._fn(value)
        except (fastjsonschema.JsonSchemaValueException, RecursionError):
            return False
        return True

    def errors(self, value: Any, path: list[str]) -> list[FieldError]:
        """Every error in ``value``, one per bad field, each with its path."""
        out: list[FieldError] = []
        try:
            rs = getattr(self._fn, "rs", None)
            if rs is not None:
                rs_errors(self._compiler, self._fn, value, list(path), out, self.direction)
            else:
                _collect(self._compiler, self.schema, value, list(path), out, 0, self.direction)
        except RecursionError:
            out.append(FieldError(_pointer(path) or "/", "is nested too deeply"))
        seen: set[tuple[str, str]] = set()
        unique = []
        for err in out:
            if (err.path, err.message) not in seen:
                seen.add((err.path, err.message))
                unique.append(err)
        return unique


def _type_ok(schema: dict[str, Any], value: Any) -> bool:
    expected = schema.get("type")
    if expected is None:
        return True
    types = expected if isinstance(expected, list) else [expected]
    return any(_JSON_TYPES.get(t, lambda v: True)(value) for t in types)


def _collect(
    compiler: SchemaCompiler, schema: dict[str, Any], value: Any, path: list[str], out: list[FieldError], depth: int,
    direction: str | None = None,
) -> None:
    schema = compiler.resolve(schema, direction)
    if schema.get("readOnly") is True and "not" in schema:  # READ_ONLY_SENT: sent in a request
        out.append(FieldError(_pointer(path), _READ_ONLY_MESSAGE))
        return
    if schema.get("writeOnly") is True and "not" in schema:  # WRITE_ONLY_SENT: in a response
        out.append(FieldError(_pointer(path), _WRITE_ONLY_MESSAGE))
        return
    if depth > 200:
        out.append(FieldError(_pointer(path), "is nested too deeply"))
        return
    any_of = schema.get("anyOf")
    if any_of and any(compiler.resolve(s, direction).get("type") == "null" for s in any_of):
        if value is None:
            return
        rest = [s for s in any_of if compiler.resolve(s, direction).get("type") != "null"]
        if len(rest) == 1:
            _collect(compiler, rest[0], value, path, out, depth + 1, direction)
            return
    family = schema.get("x-discriminator")
    if family and isinstance(value, dict) and _dispatch(compiler, family, value, path, out, depth, direction):
        return
    before = len(out)
    for part in schema.get("allOf", []):
        _collect(compiler, part, value, path, out, depth + 1, direction)
    if len(out) > before:
        return
    if not _type_ok(schema, value):
        out.append(FieldError(_pointer(path), _type_message(schema)))
        return
    if isinstance(value, dict):
        for name in schema.get("required", []):
            if name not in value:
                out.append(FieldError(_pointer([*path, name]), "is required"))
        props = schema.get("properties", {})
        for name, sub in props.items():
            if name in value:
                _collect(compiler, sub, value[name], [*path, name], out, depth + 1, direction)
        extra = schema.get("additionalProperties", True)
        patterns = schema.get("patternProperties", {})
        for name in value:
            if name in props or any(re.search(p, name) for p in patterns):
                continue
            if extra is False:
                out.append(FieldError(_pointer([*path, name]), "is not a known field"))
            elif isinstance(extra, dict):
                _collect(compiler, extra, value[name], [*path, name], out, depth + 1, direction)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            _collect(compiler, schema["items"], item, [*path, str(index)], out, depth + 1, direction)
    if len(out) > before:
        return
    try:
        compiler.compile(schema, direction=direction)(value)
    except fastjsonschema.JsonSchemaValueException as exc:
        sub = [str(p) for p in (exc.path or [])[1:]]
        out.append(FieldError(_pointer([*path, *sub]), _clean_message(exc)))


def _dispatch(compiler: SchemaCompiler, family: dict[str, Any], value: dict[str, Any], path: list[str],
              out: list[FieldError], depth: int, direction: str | None = None) -> bool:
    """The errors of an object against the subtype its discriminator names (True when it broke it)."""
    tag, before = value.get(family["property"]), len(out)
    if tag in family["outsiders"]:
        out.append(FieldError(_pointer([*path, family["property"]]), f"names {tag}, which is not a {family['name']}"))
    elif isinstance(tag, str) and tag in family["subtypes"]:
        _collect(compiler, {"$ref": family["subtypes"][tag]}, value, path, out, depth + 1, direction)
    return len(out) > before
