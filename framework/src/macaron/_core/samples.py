"""Sample values from Swagger schemas: a valid instance of a schema, made up from its words.

The spec's own words win: the schema's (or its definition's) ``example``/``default``/first ``enum``
value; only then is a value generated from the schema (types, formats, patterns, lengths, bounds),
with every declared property filled in (``readOnly`` ones too, ``writeOnly`` ones never: a sample
is an answer) so a reader
sees the whole shape. Where a definition is the base of a discriminator family, the sample is its
first most specific subtype, naming itself in the discriminator (:mod:`.discriminator`).

Fakes answer with these (``_local/fakedata.py``), and error bodies in a spec's own error format
start from one (:mod:`.errorbodies`). Rule: pure functions over a schema and its definitions.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import uuid
from collections.abc import Callable
from typing import Any

from .discriminator import concrete, family_property, tag_of

try:  # the stdlib's own regex parser, to write a string matching a pattern; private, so optional
    from re import _parser as _regex  # type: ignore[attr-defined]
except ImportError:  # another Python's layout: patterns get no generated match
    _regex = None

_MAX_DEPTH = 12
_STRING_FORMATS: dict[str, Callable[[], str]] = {
    "email": lambda: "user@example.com",
    "date": lambda: dt.date.today().isoformat(),
    "date-time": lambda: dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
    "uuid": lambda: str(uuid.uuid4()),
    "uri": lambda: "https://example.com/",
    "url": lambda: "https://example.com/",
    "hostname": lambda: "example.com",
    "ipv4": lambda: "192.0.2.1",
    "ipv6": lambda: "2001:db8::1",
    "byte": lambda: "ZXhhbXBsZQ==",
    "password": lambda: "example-password",
}


Check = Callable[[dict[str, Any], Any], bool]


def sample(schema: Any, definitions: dict[str, Any], depth: int = 0, seen: tuple[str, ...] = (),
           check: Check | None = None) -> Any:
    """A value for ``schema`` (a Swagger schema object whose refs point into ``definitions``).

    ``check(schema, value)`` — whether ``value`` is valid for ``schema`` — lets a ``oneOf`` pick
    the first member whose sample is valid for that member alone (members that overlap would
    otherwise make the value valid for two, which ``oneOf`` refuses)."""
    if not isinstance(schema, dict):
        return None
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return _ref(ref.rsplit("/", 1)[-1], definitions, depth, seen, dispatch=True, check=check)
    for key in ("example", "default"):
        if key in schema:
            return copy.deepcopy(schema[key])
    if schema.get("enum"):
        return copy.deepcopy(schema["enum"][0])
    if "const" in schema:
        return copy.deepcopy(schema["const"])
    if isinstance(schema.get("examples"), list) and schema["examples"]:  # 3.1: JSON Schema's examples
        return copy.deepcopy(schema["examples"][0])
    member: Any = None
    for key in ("oneOf", "anyOf"):
        if isinstance(schema.get(key), list) and schema[key] and schema.get("type") in (None, "object"):
            member = _member(schema, key, definitions, depth, seen, check)
            if not schema.get("allOf") and not schema.get("properties"):
                return member
            break
    if schema.get("allOf") or isinstance(member, dict):
        merged: dict[str, Any] = dict(member) if isinstance(member, dict) else {}
        for part in schema.get("allOf") or []:
            part_ref = part.get("$ref") if isinstance(part, dict) else None
            if isinstance(part_ref, str):  # a parent: its own shape, never one of its subtypes
                value = _ref(part_ref.rsplit("/", 1)[-1], definitions, depth + 1, seen, dispatch=False, check=check)
            else:
                value = sample(part, definitions, depth + 1, seen, check)
            if isinstance(value, dict):
                merged.update(value)
        own = {k: v for k, v in schema.items() if k != "allOf"}
        if own.get("properties") or own.get("required"):  # the schema's own properties, beside its parts
            extra = _object(own, definitions, depth, seen, check)
            merged.update({k: v for k, v in extra.items() if k not in merged or k in (own.get("properties") or {})})
        return merged
    kind = schema.get("type") or ("object" if "properties" in schema else None)
    if isinstance(kind, list):  # 3.1: a list of types; the first that is not null
        kind = next((k for k in kind if k != "null"), None)
    if kind == "array" and isinstance(schema.get("prefixItems"), list):
        return [sample(s, definitions, depth + 1, seen, check) for s in schema["prefixItems"]]
    if kind == "object":
        return _object(schema, definitions, depth, seen, check)
    if kind == "array":
        item = sample(schema.get("items") or {}, definitions, depth + 1, seen, check)
        count = max(1, int(schema.get("minItems", 1))) if item is not None else 0
        return [copy.deepcopy(item) for _ in range(count if not schema.get("uniqueItems") else min(count, 1))]
    if kind == "string":
        return string(schema)
    if kind in ("integer", "number"):
        return number(schema, kind)
    if kind == "boolean":
        return True
    return None


def _member(schema: dict[str, Any], key: str, definitions: dict[str, Any], depth: int, seen: tuple[str, ...],
            check: Check | None) -> Any:
    """A ``oneOf``/``anyOf`` value: a member's sample, naming it in the discriminator (``x-union``);
    for ``oneOf`` (with ``check``) the first member whose sample no other member also accepts."""
    union = schema.get("x-union")
    members = schema[key]
    first: Any = None
    for index, member in enumerate(members):
        value = sample(member, definitions, depth + 1, seen, check)
        if isinstance(union, dict) and isinstance(value, dict) and isinstance(member, dict):
            name = str(member.get("$ref", "")).rsplit("/", 1)[-1]
            tags = [t for t, d in (union.get("mapping") or {}).items() if d == name]
            if tags:
                value[union["property"]] = tags[0]
        if index == 0:
            first = value
        if check is None or key == "anyOf" or len(members) == 1:
            return value
        valid = [isinstance(m, dict) and check(m, value) for m in members]
        if valid[index] and sum(valid) == 1:
            return value
    return first


def _ref(name: str, definitions: dict[str, Any], depth: int, seen: tuple[str, ...], *, dispatch: bool,
         check: Check | None = None) -> Any:
    target = concrete(name, definitions) if dispatch else name
    key = target if dispatch else f"{name}@self"  # a subtype expands its parent's own shape once more
    if key in seen or depth > _MAX_DEPTH:
        return None
    value = sample(definitions.get(target, {}), definitions, depth + 1, (*seen, key), check)
    prop = family_property(target, definitions) if dispatch else None
    if prop is not None and isinstance(value, dict):
        value[prop] = tag_of(target, target, definitions)  # a discriminator names the definition the value is
    return value


def _object(schema: dict[str, Any], definitions: dict[str, Any], depth: int, seen: tuple[str, ...],
            check: Check | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    required = set(schema.get("required") or [])
    for name, sub in (schema.get("properties") or {}).items():
        if (depth > 2 and name not in required) or (isinstance(sub, dict) and sub.get("writeOnly") is True):
            continue  # a writeOnly property is never in an answer
        value = sample(sub, definitions, depth + 1, seen, check)
        if value is not None or (isinstance(sub, dict) and sub.get("x-nullable")):
            out[name] = value
        elif name in required:
            out[name] = {}
    return out


def string(schema: dict[str, Any], default: str = "string") -> str:
    """A string valid for ``schema``'s format, pattern and lengths (``default`` when nothing says more)."""
    make = _STRING_FORMATS.get(str(schema.get("format")))
    value = make() if make else default
    pattern = schema.get("pattern")
    if isinstance(pattern, str) and not _matches(pattern, value):
        value = from_pattern(pattern, int(schema.get("minLength", 0))) or value
        if _matches(pattern, value):
            return value
    low, high = int(schema.get("minLength", 0)), schema.get("maxLength")
    if len(value) < low:
        value = value + "x" * (low - len(value))
    if high is not None and len(value) > int(high):
        value = value[: int(high)]
    return value


def number(schema: dict[str, Any], kind: str) -> int | float:
    """A number valid for ``schema``'s bounds and ``multipleOf``; an int for ``kind`` integer."""
    low, high = schema.get("minimum"), schema.get("maximum")
    ex_low, ex_high = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if not isinstance(ex_low, bool) and isinstance(ex_low, (int, float)):  # 3.1: a number, not a flag
        low, ex_low = (ex_low, True) if low is None or ex_low >= low else (low, False)
    if not isinstance(ex_high, bool) and isinstance(ex_high, (int, float)):
        high, ex_high = (ex_high, True) if high is None or ex_high <= high else (high, False)
    value: float = 1
    if low is not None:
        value = low + (1 if ex_low else 0)
    elif high is not None and high < 1:
        value = high - (1 if ex_high else 0)
    step = schema.get("multipleOf")
    if step:
        value = -(-value // step) * step
    return int(value) if kind == "integer" else float(value)


def _matches(pattern: str, value: str) -> bool:
    try:
        return re.search(pattern, value) is not None
    except re.error:
        return True  # a pattern Python cannot read is not ours to enforce


def from_pattern(pattern: str, min_length: int = 0) -> str | None:
    """The shortest simple string matching ``pattern`` (literals, classes, repeats, groups,
    alternatives), or ``None`` for what this small walk does not know."""
    if _regex is None:
        return None
    try:
        value = _walk(_regex.parse(pattern))
    except Exception:  # a pattern Python cannot read, or a construct the walk does not know
        return None
    return value if len(value) >= min_length else None


def _walk(items: Any) -> str:
    out = []
    for op, arg in items:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(arg))
        elif name == "ANY":
            out.append("a")
        elif name == "IN":
            out.append(_first_in(arg))
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, _, sub = arg
            out.append(_walk(sub) * int(low))
        elif name == "SUBPATTERN":
            out.append(_walk(arg[-1]))
        elif name == "BRANCH":
            out.append(_walk(arg[1][0]))
        elif name in ("AT", "ASSERT", "ASSERT_NOT"):
            continue
        elif name == "CATEGORY":
            out.append(_category(str(arg)))
        else:
            raise ValueError(name)
    return "".join(out)


def _first_in(choices: Any) -> str:
    for op, arg in choices:
        name = str(op)
        if name == "LITERAL":
            return chr(arg)
        if name == "RANGE":
            return chr(arg[0])
        if name == "CATEGORY":
            return _category(str(arg))
        if name == "NEGATE":
            raise ValueError(name)
    raise ValueError("empty class")


def _category(name: str) -> str:
    return {"CATEGORY_DIGIT": "0", "CATEGORY_WORD": "a", "CATEGORY_SPACE": " "}.get(name) or _raise(name)


def _raise(name: str) -> str:
    raise ValueError(name)
