"""XML bodies for fakes of specs that ``produce`` XML, written from the schema's ``xml`` hints.

Swagger 2.0's XML object says how a value is written: ``name`` (the element, or the attribute),
``attribute: true`` (a property written as an attribute of its object's element), ``wrapped: true``
(an array inside an element of its own, else its items repeated in place), ``namespace`` and
``prefix`` (``<prefix:name xmlns:prefix="namespace">``). An element is named by its own ``xml.name``,
else the definition's, else its property name; the root by the schema's ``xml.name``, else the
definition it references. A discriminated value is written as the subtype it names.

:func:`to_xml` is the writer and :func:`from_xml` the matching reader (tests use it to check what a
fake answered against the schema). Rule: pure functions over a value, its schema and definitions.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from .._core.discriminator import family_property

_PREFIX = "#/definitions/"


def _resolve(schema: Any, definitions: dict[str, Any], value: Any = None) -> tuple[dict[str, Any], str | None]:
    """``schema`` with its ``$ref`` followed (to the subtype ``value`` names) and ``allOf`` merged,
    and the definition name it came from."""
    name = None
    for _ in range(32):
        if not isinstance(schema, dict) or not isinstance(schema.get("$ref"), str):
            break
        name = schema["$ref"].rsplit("/", 1)[-1]
        prop = family_property(name, definitions)
        if prop and isinstance(value, dict) and isinstance(value.get(prop), str) and value[prop] in definitions:
            name = value[prop]
        schema = definitions.get(name, {})
    if not isinstance(schema, dict):
        return {}, name
    if schema.get("allOf"):
        merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
        props: dict[str, Any] = {}
        for part in schema["allOf"]:
            resolved, _ = _resolve(part, definitions)
            props.update(resolved.get("properties") or {})
            merged.setdefault("type", resolved.get("type"))
        props.update(schema.get("properties") or {})
        merged["properties"] = props
        return merged, name
    return schema, name


def _hints(schema: dict[str, Any]) -> dict[str, Any]:
    hints = schema.get("xml")
    return hints if isinstance(hints, dict) else {}


def _element(parent: ET.Element | None, hints: dict[str, Any], fallback: str, bound: frozenset[str]
             ) -> tuple[ET.Element, frozenset[str]]:
    """A new element named by ``hints`` (under ``parent``), declaring its namespace; a prefix is
    written only where it is bound (here or by an ancestor), so the document stays well-formed."""
    name, prefix = str(hints.get("name") or fallback), hints.get("prefix")
    if prefix and (hints.get("namespace") or prefix in bound):
        name = f"{prefix}:{name}"
    element = ET.Element(name) if parent is None else ET.SubElement(parent, name)
    if hints.get("namespace"):
        element.set(f"xmlns:{prefix}" if prefix else "xmlns", str(hints["namespace"]))
        if prefix:
            bound = bound | {str(prefix)}
    return element, bound


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def to_xml(value: Any, schema: dict[str, Any] | None, definitions: dict[str, Any]) -> bytes:
    """``value`` as an XML document written as ``schema`` says."""
    resolved, name = _resolve(schema or {}, definitions, value)
    hints = _hints(resolved) or _hints(schema or {})
    root, bound = _element(None, hints, name or ("items" if isinstance(value, list) else "value"), frozenset())
    if isinstance(value, list):  # one root element: a top-level array is always wrapped
        _items(root, value, resolved.get("items") or {}, definitions, "item", bound)
    else:
        _fill(root, value, resolved, definitions, bound)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _fill(element: ET.Element, value: Any, schema: dict[str, Any], definitions: dict[str, Any],
          bound: frozenset[str]) -> None:
    if not isinstance(value, dict):
        element.text = _text(value)
        return
    props = schema.get("properties") or {}
    for key, item in value.items():
        if item is None:
            continue
        declared = props.get(key) if isinstance(props.get(key), dict) else {}
        sub, _ = _resolve(declared, definitions, item)
        hints = {**_hints(sub), **_hints(declared)}
        if hints.get("attribute") and not isinstance(item, dict | list):
            prefix = hints.get("prefix")
            name = str(hints.get("name") or key)
            element.set(f"{prefix}:{name}" if prefix and prefix in bound else name, _text(item))
        elif isinstance(item, list):
            if hints.get("wrapped"):
                wrapper, inner = _element(element, hints, key, bound)
                _items(wrapper, item, sub.get("items") or {}, definitions, key, inner)
            else:
                _items(element, item, sub.get("items") or {}, definitions, key, bound)
        else:
            child, inner = _element(element, hints, key, bound)
            _fill(child, item, sub, definitions, inner)


def _items(parent: ET.Element, values: list[Any], items: dict[str, Any], definitions: dict[str, Any],
           fallback: str, bound: frozenset[str]) -> None:
    for value in values:
        resolved, _ = _resolve(items, definitions, value)
        child, inner = _element(parent, {**_hints(resolved), **_hints(items)}, fallback, bound)
        _fill(child, value, resolved, definitions, inner)


def from_xml(data: bytes, schema: dict[str, Any] | None, definitions: dict[str, Any]) -> Any:
    """The value an XML document written by :func:`to_xml` holds, typed by ``schema``."""
    root = ET.fromstring(data)
    resolved, _ = _resolve(schema or {}, definitions)
    if resolved.get("type") == "array":
        items = resolved.get("items") or {}
        return [_read(child, items, definitions) for child in root]
    return _read(root, schema or {}, definitions)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def _read(element: ET.Element, schema: dict[str, Any], definitions: dict[str, Any]) -> Any:
    resolved, _ = _resolve(schema, definitions)
    kind = resolved.get("type") or ("object" if "properties" in resolved else None)
    if kind != "object":
        return _scalar(element.text or "", resolved)
    out: dict[str, Any] = {}
    for key, sub in (resolved.get("properties") or {}).items():
        sub_resolved, _ = _resolve(sub, definitions)
        hints = {**_hints(sub_resolved), **_hints(sub)}
        local = str(hints.get("name") or key)
        if hints.get("attribute"):
            found = next((v for k, v in element.attrib.items() if _local(k) == local), None)
            if found is not None:
                out[key] = _scalar(found, sub_resolved)
        elif sub_resolved.get("type") == "array":
            items = sub_resolved.get("items") or {}
            item_resolved, _ = _resolve(items, definitions)
            item_name = str({**_hints(item_resolved), **_hints(items)}.get("name") or key)
            holder = next((c for c in element if _local(c.tag) == local), None) if hints.get("wrapped") else element
            if holder is not None:
                out[key] = [_read(c, items, definitions) for c in holder if _local(c.tag) == item_name]
        else:
            child = next((c for c in element if _local(c.tag) == local), None)
            if child is not None:
                out[key] = _read(child, sub, definitions)
    return out


def _scalar(text: str, schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    try:
        if kind == "integer":
            return int(text)
        if kind == "number":
            return float(text)
    except ValueError:
        return text
    if kind == "boolean":
        return {"true": True, "false": False}.get(text, text)
    return text
