"""Schemas: Swagger 2.0 schema objects → JSON Schema draft 4 → compiled validators.

Validators are compiled once (fastjsonschema generates Python code for each schema)
and reused for every request: a valid document costs one call of generated code.
fastjsonschema stops at the first error, so when a document fails, :meth:`Validator.errors`
walks the schema next to the document and reports *every* bad field with its path,
compiling the small per-field validators it needs on first use and caching them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import fastjsonschema

from .discriminator import with_dispatch
from .errors import FieldError

_SWAGGER_ONLY = {"discriminator", "readOnly", "xml", "externalDocs", "example", "collectionFormat", "x-nullable"}
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
_TYPE_WORDS = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "object": "an object",
    "array": "an array",
    "null": "null",
}
# fastjsonschema names every nested value for its error messages even when the document is
# valid: each $ref call builds ``(name_prefix or "data") + ".parts[{i}]".format(**locals())``,
# about 1 µs per array item. Validators that only answer valid/invalid pass the prefix through.
_REF_CALL_NAME = re.compile(
    r', custom_formats, \(name_prefix or "data"\) \+ "(?:[^"\\]|\\.)*"(?:\.format\(\*\*locals\(\)\))?\)$', re.M
)
_ROOT_FUNCTION = re.compile(r"^def (\w+)\(data, custom_formats=", re.M)
# Per object it also copies the keys into a set, to strike off each declared property; only
# additionalProperties reads that set afterwards. Where nothing does, membership is asked of
# the dict itself. And each required list becomes a set per call: hoisted into a constant.
_KEY_SET = re.compile(r"^[ ]*(\w+)_keys = set\(\1\.keys\(\)\)\n", re.M)
_REQUIRED = re.compile(r"""set\((\[(?:'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|, )*\])\) - (\w+)\.keys\(\)""")


def to_json_schema(node: Any) -> Any:
    """Convert one Swagger schema object (recursively) to JSON Schema draft 4."""
    if isinstance(node, list):
        return [to_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    nullable = node.get("x-nullable") is True
    if "$ref" in node:
        ref = {"$ref": node["$ref"]}
        return {"anyOf": [{"type": "null"}, ref]} if nullable else ref
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _SWAGGER_ONLY or key.startswith("x-"):
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: to_json_schema(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "allOf", "not", "anyOf", "oneOf"):
            out[key] = to_json_schema(value)
        elif key == "type" and value == "file":
            continue
        else:
            out[key] = value
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


def _pointer(parts: list[str]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


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

    def __init__(self, definitions: dict[str, Any]) -> None:
        converted = {name: to_json_schema(schema) for name, schema in definitions.items()}
        self.definitions = with_dispatch(definitions, converted)  # discriminators: see .discriminator
        self._cache: dict[tuple[str, bool], Callable[[Any], Any]] = {}
        self.compilations = 0

    def compile(
        self, schema: dict[str, Any], *, fill_defaults: bool = False, lean: bool = False
    ) -> Callable[[Any], Any]:
        """A compiled validator for an already converted (JSON Schema) ``schema``.

        ``lean`` validators accept and reject exactly the same documents, but the
        exceptions they raise do not name the bad field (see :meth:`Validator.errors`).
        """
        key = (json.dumps(schema, sort_keys=True, default=str), fill_defaults, lean)
        fn = self._cache.get(key)
        if fn is None:
            document = dict(schema)
            if "$ref" in json.dumps(schema):
                document["definitions"] = self.definitions
            if lean:
                fn = _compile_lean(document, fill_defaults)
            else:
                fn = fastjsonschema.compile(document, use_default=fill_defaults, use_formats=True)
            self._cache[key] = fn
            self.compilations += 1
        return fn

    def validator(self, swagger_schema: dict[str, Any], *, fill_defaults: bool = False) -> Validator:
        """A :class:`Validator` for a Swagger schema object."""
        return Validator(self, to_json_schema(swagger_schema), fill_defaults=fill_defaults)

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        seen = 0
        while "$ref" in schema and seen < 64:
            schema = self.definitions.get(schema["$ref"].rsplit("/", 1)[-1], {})
            seen += 1
        return schema


class Validator:
    """Validate documents against one schema: fast when valid, thorough when not."""

    __slots__ = ("_compiler", "_fn", "schema")

    def __init__(self, compiler: SchemaCompiler, schema: dict[str, Any], *, fill_defaults: bool) -> None:
        self._compiler = compiler
        self.schema = schema
        self._fn = compiler.compile(schema, fill_defaults=fill_defaults, lean=True)

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
            _collect(self._compiler, self.schema, value, list(path), out, 0)
        except RecursionError:
            out.append(FieldError(_pointer(path) or "/", "is nested too deeply"))
        seen: set[tuple[str, str]] = set()
        unique = []
        for err in out:
            if (err.path, err.message) not in seen:
                seen.add((err.path, err.message))
                unique.append(err)
        return unique


def _compile_lean(document: dict[str, Any], fill_defaults: bool) -> Callable[[Any], Any]:
    """fastjsonschema's code for ``document``, rewritten by :func:`lean_code`."""
    code = fastjsonschema.compile_to_code(document, use_default=fill_defaults, use_formats=True)
    root = _ROOT_FUNCTION.search(code)
    if root is None:  # an unexpected layout: the stock validator is as correct, only slower
        return fastjsonschema.compile(document, use_default=fill_defaults, use_formats=True)  # type: ignore[no-any-return]
    try:
        program = compile(lean_code(code), "<macaron validator>", "exec")
    except SyntaxError:  # a generator that writes other code than the rewrites expect
        return fastjsonschema.compile(document, use_default=fill_defaults, use_formats=True)  # type: ignore[no-any-return]
    namespace: dict[str, Any] = {}
    exec(program, namespace)
    return namespace[root.group(1)]  # type: ignore[no-any-return]


def lean_code(code: str) -> str:
    """fastjsonschema's generated ``code`` minus the work a valid document does not need.

    Each rewrite matches the exact lines the generator emits and leaves anything else alone:
    $ref calls pass the name prefix through; key sets that only strike off declared
    properties become ``pass`` (membership is asked of the dict); required lists are constants.
    """
    code = _REF_CALL_NAME.sub(", custom_formats, name_prefix)", code)
    for name in {match.group(1) for match in _KEY_SET.finditer(code)}:
        uses = len(re.findall(rf"\b{name}_keys\b", code))
        assignments = len(re.findall(rf"^[ ]*{name}_keys = set\({name}\.keys\(\)\)$", code, re.M))
        tests = len(re.findall(rf'^[ ]*if "(?:[^"\\]|\\.)*" in {name}_keys:$', code, re.M))
        removes = len(re.findall(rf'^[ ]*{name}_keys\.remove\("(?:[^"\\]|\\.)*"\)$', code, re.M))
        if uses == assignments + tests + removes:  # nothing else reads the set: drop it
            code = re.sub(rf"^([ ]*){name}_keys = set\({name}\.keys\(\)\)$", r"\1pass", code, flags=re.M)
            code = re.sub(rf'^([ ]*){name}_keys\.remove\("(?:[^"\\]|\\.)*"\)$', r"\1pass", code, flags=re.M)
            code = re.sub(rf'^([ ]*if "(?:[^"\\]|\\.)*" in {name})_keys:$', r"\1:", code, flags=re.M)
    constants: list[str] = []

    def hoist(match: re.Match[str]) -> str:
        constants.append(f"_REQUIRED_{len(constants)} = frozenset({match.group(1)})")
        return f"_REQUIRED_{len(constants) - 1} - {match.group(2)}.keys()"

    code = _REQUIRED.sub(hoist, code)
    if constants:
        first = code.index("\ndef ")
        code = code[:first] + "\n" + "\n".join(constants) + "\n" + code[first:]
    return code


def _type_ok(schema: dict[str, Any], value: Any) -> bool:
    expected = schema.get("type")
    if expected is None:
        return True
    types = expected if isinstance(expected, list) else [expected]
    return any(_JSON_TYPES.get(t, lambda v: True)(value) for t in types)


def _type_message(schema: dict[str, Any]) -> str:
    expected = schema["type"]
    types = expected if isinstance(expected, list) else [expected]
    return "must be " + " or ".join(_TYPE_WORDS.get(t, t) for t in types)


def _collect(
    compiler: SchemaCompiler, schema: dict[str, Any], value: Any, path: list[str], out: list[FieldError], depth: int
) -> None:
    schema = compiler.resolve(schema)
    if depth > 200:
        out.append(FieldError(_pointer(path), "is nested too deeply"))
        return
    any_of = schema.get("anyOf")
    if any_of and any(compiler.resolve(s).get("type") == "null" for s in any_of):
        if value is None:
            return
        rest = [s for s in any_of if compiler.resolve(s).get("type") != "null"]
        if len(rest) == 1:
            _collect(compiler, rest[0], value, path, out, depth + 1)
            return
    family = schema.get("x-discriminator")
    if family and isinstance(value, dict) and _dispatch(compiler, family, value, path, out, depth):
        return
    before = len(out)
    for part in schema.get("allOf", []):
        _collect(compiler, part, value, path, out, depth + 1)
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
                _collect(compiler, sub, value[name], [*path, name], out, depth + 1)
        extra = schema.get("additionalProperties", True)
        patterns = schema.get("patternProperties", {})
        for name in value:
            if name in props or any(re.search(p, name) for p in patterns):
                continue
            if extra is False:
                out.append(FieldError(_pointer([*path, name]), "is not a known field"))
            elif isinstance(extra, dict):
                _collect(compiler, extra, value[name], [*path, name], out, depth + 1)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            _collect(compiler, schema["items"], item, [*path, str(index)], out, depth + 1)
    if len(out) > before:
        return
    try:
        compiler.compile(schema)(value)
    except fastjsonschema.JsonSchemaValueException as exc:
        sub = [str(p) for p in (exc.path or [])[1:]]
        out.append(FieldError(_pointer([*path, *sub]), _clean_message(exc)))


def _dispatch(compiler: SchemaCompiler, family: dict[str, Any], value: dict[str, Any], path: list[str],
              out: list[FieldError], depth: int) -> bool:
    """The errors of an object against the subtype its discriminator names (True when it broke it)."""
    tag, before = value.get(family["property"]), len(out)
    if tag in family["outsiders"]:
        out.append(FieldError(_pointer([*path, family["property"]]), f"names {tag}, which is not a {family['name']}"))
    elif isinstance(tag, str) and tag in family["subtypes"]:
        _collect(compiler, {"$ref": family["subtypes"][tag]}, value, path, out, depth + 1)
    return len(out) > before
