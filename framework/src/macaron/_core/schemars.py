"""jsonschema-rs behind :mod:`.schema`'s interface: the validators of OpenAPI 3.0 (draft 7) and 3.1
(JSON Schema 2020-12) specs, and their errors worded as the draft 4 walk words fastjsonschema's.

A compiled validator returns the value when it is valid and raises fastjsonschema's
``JsonSchemaValueException`` when not, as fastjsonschema's do, so callers handle one kind; it
carries the jsonschema-rs validator (``rs``) and the document it was built from (``document``), where
the schema paths of its errors point. :func:`rs_errors` turns jsonschema-rs's errors (every bad field,
with its instance path) into :class:`~.errors.FieldError`: "is required" at the missing property,
"is not a known field", "must be an integer", read-only and write-only properties named as such,
and an ``anyOf`` the converter wrote — a nullable value, a discriminator's dispatch — reported by
the branch that applies.

Rule: imports only ``_core``'s errors and third-party packages (:mod:`.schema` builds on this module).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import fastjsonschema
import jsonschema_rs

from .errors import FieldError, SpecError

if TYPE_CHECKING:
    from .schema import SchemaCompiler

DRAFT7 = "draft7"  # OpenAPI 3.0: draft 4's words as the converter writes them, compiled by jsonschema-rs
DRAFT2020 = "2020-12"
#: What a readOnly property becomes in the request direction: nothing may be sent for it.
READ_ONLY_SENT: dict[str, Any] = {"not": {}, "readOnly": True}
#: What a writeOnly property becomes in the response direction: nothing may be answered for it.
WRITE_ONLY_SENT: dict[str, Any] = {"not": {}, "writeOnly": True}
_READ_ONLY_MESSAGE = "is read-only: the server sets it, a request must not send it"
_WRITE_ONLY_MESSAGE = "is write-only: a client sends it, a response must not carry it"
_TYPE_WORDS = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "object": "an object",
    "array": "an array",
    "null": "null",
}

def _pointer(parts: list[str]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _type_message(schema: dict[str, Any]) -> str:
    expected = schema["type"]
    types = expected if isinstance(expected, list) else [expected]
    return "must be " + " or ".join(_TYPE_WORDS.get(t, t) for t in types)



def compile_rs(document: dict[str, Any], dialect: str) -> Callable[[Any], Any]:
    """A validator of ``document`` in ``dialect`` (:data:`DRAFT7` or :data:`DRAFT2020`); see the module's docstring."""
    compiled: Any
    try:
        if dialect == DRAFT2020:
            compiled = jsonschema_rs.Draft202012Validator(document, validate_formats=True)
        else:  # draft 7 knows no uuid, which OpenAPI 3.0 specs use (and fastjsonschema checks for 2.0)
            compiled = jsonschema_rs.Draft7Validator(document, validate_formats=True, formats={"uuid": _is_uuid})
    except ValueError as exc:  # jsonschema-rs checks the schema against its meta-schema
        first = str(exc).splitlines()[0][:300]
        raise SpecError(f"a schema of the spec is not valid JSON Schema: {first}") from None
    valid = compiled.is_valid

    def check(value: Any) -> Any:
        if not valid(value):
            raise fastjsonschema.JsonSchemaValueException("does not match the schema")
        return value

    check.rs = compiled  # type: ignore[attr-defined]
    check.document = document  # type: ignore[attr-defined]  # where its errors' schema paths point
    return check


_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def _is_uuid(value: str) -> bool:
    return bool(_UUID.match(value))


def _at(document: Any, parts: list[Any]) -> Any:
    node = document
    for part in parts:
        if isinstance(node, dict):
            node = node.get(str(part))
        elif isinstance(node, list) and str(part).isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def rs_errors(compiler: SchemaCompiler, fn: Any, value: Any, path: list[str], out: list[FieldError],
               direction: str | None, depth: int = 0) -> None:
    """Every error jsonschema-rs finds in ``value``, worded as the draft 4 walk words them; a
    discriminator's dispatch (an ``anyOf`` "tag is not X, or the value is an X") reports the
    named definition's own errors instead."""
    rs, document = fn.rs, fn.document
    for err in rs.iter_errors(value):
        where = [*path, *(str(p) for p in err.instance_path)]
        kind = type(err.kind).__name__
        if kind == "Required":
            out.append(FieldError(_pointer([*where, str(err.kind.property)]), "is required"))
        elif kind == "AdditionalProperties" or kind == "UnevaluatedProperties":
            names = getattr(err.kind, "unexpected", None) or []
            out.extend(FieldError(_pointer([*where, str(n)]), "is not a known field") for n in names)
            if not names:
                out.append(FieldError(_pointer(where), _rs_message(err)))
        elif kind == "Type":
            types = list(getattr(err.kind, "types", None) or [])
            out.append(FieldError(_pointer(where), _type_message({"type": types}) if types else _rs_message(err)))
        elif kind == "Format":
            out.append(FieldError(_pointer(where), f"must be {err.kind.format}" if hasattr(err.kind, "format")
                                  else _rs_message(err)))
        elif kind == "Not" and (hidden := _at(document, list(err.schema_path)[:-1])) in (READ_ONLY_SENT,
                                                                                          WRITE_ONLY_SENT):
            out.append(FieldError(_pointer(where), _READ_ONLY_MESSAGE if hidden == READ_ONLY_SENT
                                  else _WRITE_ONLY_MESSAGE))
        elif kind == "AnyOf" and depth < 16 and _narrowed(compiler, document, err, where, out, direction, depth):
            continue
        else:
            out.append(FieldError(_pointer(where), _rs_message(err)))


def _narrowed(compiler: SchemaCompiler, document: Any, err: Any, where: list[str], out: list[FieldError],
              direction: str | None, depth: int) -> bool:
    """An ``anyOf`` the converter wrote, reported by the branch that applies: a nullable value's
    non-null branch (``[{"type": "null"}, X]``), or a discriminator's implication ("the tag is not
    T, or the value is the T definition") by the definition the tag names."""
    branches = _at(document, list(err.schema_path))
    if not isinstance(branches, list) or len(branches) != 2:
        return False
    first, second = branches
    tag_check = isinstance(first, dict) and set(first) == {"properties"} and isinstance(second, dict) \
        and set(second) == {"$ref"}
    if first != {"type": "null"} and not tag_check:
        return False
    sub = compiler.compile(second, direction=direction)
    if getattr(sub, "rs", None) is None or sub.rs.is_valid(err.instance):  # type: ignore[attr-defined]
        return False
    rs_errors(compiler, sub, err.instance, where, out, direction, depth + 1)
    return True


def _rs_message(err: Any) -> str:
    """jsonschema-rs's message without the value it starts with (``3 is not one of 1 or 2`` →
    ``is not one of 1 or 2``), as the fields' messages read."""
    message = str(err.message)
    instance = json.dumps(err.instance, separators=(",", ":"), default=str)
    for prefix in (instance + " ", repr(err.instance) + " ", str(err.instance) + " "):
        if message.startswith(prefix):
            return message[len(prefix):]
    return message if len(message) <= 200 else message[:200] + "..."
