"""Sample data from a spec: the body a fake answers with when no handler is written.

The spec's own words win: a response's ``examples`` for the media type, then the
schema's (or its definition's) ``example``/``default``/first ``enum`` value; only
then is a value generated from the schema (types, formats, lengths, bounds), with
every declared property filled in so a client sees the whole shape.
"""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

_MAX_DEPTH = 6
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


def response_example(
    response: dict[str, Any], definitions: dict[str, Any], produces: list[str]
) -> tuple[bool, Any, str]:
    """``(has_body, body, media_type)`` for a declared response, JSON preferred."""
    examples = response.get("examples") or {}
    preferred = sorted(produces, key=lambda m: "json" not in m) or ["application/json"]
    for key in (*preferred, *examples):
        if key in examples:
            return True, copy.deepcopy(examples[key]), key
    schema = response.get("schema")
    if schema is None:
        return False, None, preferred[0]
    body = sample(schema, definitions)
    media = preferred[0] if not isinstance(body, str) else next((m for m in preferred if "json" not in m), preferred[0])
    return True, body, media


def sample(schema: Any, definitions: dict[str, Any], depth: int = 0, seen: tuple[str, ...] = ()) -> Any:
    """A value for ``schema`` (a Swagger schema object whose refs point into ``definitions``)."""
    if not isinstance(schema, dict):
        return None
    ref = schema.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        if name in seen or depth > _MAX_DEPTH:
            return None
        return sample(definitions.get(name, {}), definitions, depth + 1, (*seen, name))
    for key in ("example", "default"):
        if key in schema:
            return copy.deepcopy(schema[key])
    if schema.get("enum"):
        return copy.deepcopy(schema["enum"][0])
    if schema.get("allOf"):
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            value = sample(part, definitions, depth + 1, seen)
            if isinstance(value, dict):
                merged.update(value)
        return merged
    kind = schema.get("type") or ("object" if "properties" in schema else None)
    if kind == "object":
        return _object(schema, definitions, depth, seen)
    if kind == "array":
        item = sample(schema.get("items") or {}, definitions, depth + 1, seen)
        count = max(1, int(schema.get("minItems", 1))) if item is not None else 0
        return [copy.deepcopy(item) for _ in range(count if not schema.get("uniqueItems") else min(count, 1))]
    if kind == "string":
        return _string(schema)
    if kind in ("integer", "number"):
        return _number(schema, kind)
    if kind == "boolean":
        return True
    return None


def _object(schema: dict[str, Any], definitions: dict[str, Any], depth: int, seen: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    required = set(schema.get("required") or [])
    for name, sub in (schema.get("properties") or {}).items():
        if depth > 2 and name not in required:
            continue
        value = sample(sub, definitions, depth + 1, seen)
        if value is not None or (isinstance(sub, dict) and sub.get("x-nullable")):
            out[name] = value
        elif name in required:
            out[name] = {}
    return out


def _string(schema: dict[str, Any]) -> str:
    make = _STRING_FORMATS.get(str(schema.get("format")))
    value = make() if make else "string"
    low, high = int(schema.get("minLength", 0)), schema.get("maxLength")
    if len(value) < low:
        value = value + "x" * (low - len(value))
    if high is not None and len(value) > int(high):
        value = value[: int(high)]
    return value


def _number(schema: dict[str, Any], kind: str) -> int | float:
    low, high = schema.get("minimum"), schema.get("maximum")
    value: float = 1
    if low is not None:
        value = low + (1 if schema.get("exclusiveMinimum") else 0)
    elif high is not None and high < 1:
        value = high - (1 if schema.get("exclusiveMaximum") else 0)
    step = schema.get("multipleOf")
    if step:
        value = -(-value // step) * step
    return int(value) if kind == "integer" else float(value)
