"""Swagger 2.0 discriminators: one property of an object names the definition it is.

A definition declaring ``discriminator: petType`` is the base of a family; its subtypes are the
definitions whose ``allOf`` references it, directly or through another subtype, and the value of
``petType`` is the name of the definition an object is (Swagger 2.0 has no mapping). So an object
validated against ``Pet`` that says ``"petType": "Cat"`` must also be a valid ``Cat``.

JSON Schema draft 4 has no such keyword: :func:`with_dispatch` rewrites the converted definitions.
A base (or any member with subtypes of its own) keeps its own schema as ``<Name>@self`` (what its
subtypes' ``allOf`` then points at, so a subtype never dispatches back to itself), and ``<Name>``
becomes that schema with, added to its ``allOf``, one implication per subtype — "``petType`` is not
``Cat``, or the object is a ``Cat``" — and "``petType`` names no member of the family that is not a
``Pet``". A value naming
no definition at all is left to the base schema. ``x-discriminator`` carries the same facts for the
error walk (:mod:`.schema`), which reports the subtype's bad fields rather than "must match anyOf".
Samples (:mod:`.samples`) and models (:mod:`.models`) use :func:`family_property` and
:func:`descendants` to name, generate and build a real subtype.

OpenAPI 3.x adds two things (written by :mod:`.oas3schemas`): a base's ``x-discriminator-mapping``
(tag → definition: the tag of a subtype is its mapping key, else its name), and unions — a
definition with ``oneOf``/``anyOf`` and ``x-union: {property, mapping}`` — which :func:`with_dispatch`
turns into the same dispatch: the tag must be one of the mapping's, and the object must be valid
for the definition its tag names (so two members that both accept an object never make a
``oneOf`` fail: the tag decides, as the discriminator means).

Rule: pure functions over definitions (Swagger or converted); imports nothing of macaron.
"""

from __future__ import annotations

import copy
from typing import Any

SELF = "@self"
_PREFIX = "#/definitions/"


def _parents(schema: Any) -> list[str]:
    """The definitions a schema's ``allOf`` references directly."""
    if not isinstance(schema, dict):
        return []
    out = []
    for part in schema.get("allOf") or []:
        ref = part.get("$ref") if isinstance(part, dict) else None
        if isinstance(ref, str) and ref.startswith(_PREFIX):
            out.append(ref[len(_PREFIX):])
    return out


def children(definitions: dict[str, Any]) -> dict[str, list[str]]:
    """Each definition's direct subtypes (in the definitions' order)."""
    out: dict[str, list[str]] = {}
    for name, schema in definitions.items():
        for parent in _parents(schema):
            out.setdefault(parent, []).append(name)
    return out


def descendants(name: str, definitions: dict[str, Any], kids: dict[str, list[str]] | None = None) -> list[str]:
    """Every subtype of ``name``, direct or not, nearest first."""
    kids = children(definitions) if kids is None else kids
    out: list[str] = []
    queue = list(kids.get(name, []))
    while queue:
        child = queue.pop(0)
        if child not in out and child != name:
            out.append(child)
            queue.extend(kids.get(child, []))
    return out


def family_property(name: str, definitions: dict[str, Any]) -> str | None:
    """The discriminator property of ``name``: its own, or the nearest ancestor's."""
    seen: set[str] = set()
    queue = [name]
    while queue:
        current = queue.pop(0)
        if current in seen:
            continue
        seen.add(current)
        schema = definitions.get(current)
        if isinstance(schema, dict) and isinstance(schema.get("discriminator"), str):
            return str(schema["discriminator"])
        queue.extend(_parents(schema))
    return None


def _root(name: str, definitions: dict[str, Any]) -> str:
    """The member of ``name``'s family that declares the discriminator."""
    current, seen = name, set()
    while current not in seen:
        seen.add(current)
        schema = definitions.get(current)
        if isinstance(schema, dict) and isinstance(schema.get("discriminator"), str):
            return current
        parents = [p for p in _parents(schema) if family_property(p, definitions)]
        if not parents:
            return current
        current = parents[0]
    return current


def mapping_of(name: str, definitions: dict[str, Any]) -> dict[str, str]:
    """Tag → definition for ``name``'s family (3.x mappings; empty when tags are the names)."""
    schema = definitions.get(name)
    union = schema.get("x-union") if isinstance(schema, dict) else None
    if isinstance(union, dict):
        return dict(union.get("mapping") or {})
    root = definitions.get(_root(name, definitions))
    return dict(root.get("x-discriminator-mapping") or {}) if isinstance(root, dict) else {}


def tag_of(name: str, family: str, definitions: dict[str, Any]) -> str:
    """The discriminator value that names definition ``name`` in ``family``'s family."""
    for tag, target in mapping_of(family, definitions).items():
        if target == name:
            return tag
    return name


def _unions(raw: dict[str, Any], out: dict[str, Any]) -> None:
    for name, schema in raw.items():
        union = schema.get("x-union") if isinstance(schema, dict) else None
        if not isinstance(union, dict):
            continue
        prop, tags = union["property"], dict(union.get("mapping") or {})
        checks = [{"anyOf": [{"properties": {prop: {"not": {"enum": [tag]}}}}, {"$ref": _PREFIX + target}]}
                  for tag, target in tags.items()]
        out[name] = {"type": "object", "required": [prop], "properties": {prop: {"enum": list(tags)}},
                     "allOf": checks,
                     "x-discriminator": {"property": prop, "subtypes": {t: _PREFIX + d for t, d in tags.items()},
                                         "outsiders": [], "name": name}}


def with_dispatch(raw: dict[str, Any], converted: dict[str, Any]) -> dict[str, Any]:
    """``converted`` (the JSON Schema form of ``raw``) with every family member dispatching on its
    discriminator, as the module's docstring says. Definitions outside families are unchanged."""
    members = {name: prop for name in raw if (prop := family_property(name, raw))}
    if any(isinstance(s, dict) and "x-union" in s for s in raw.values()):
        converted = dict(converted)
        _unions(raw, converted)
    if not members:
        return converted
    kids = children(raw)
    families: dict[str, list[str]] = {}
    for name in members:
        families.setdefault(_root(name, raw), []).append(name)
    out = dict(converted)
    dispatching = {name for name in members if descendants(name, raw, kids)}
    for name in dispatching:
        out[name + SELF] = copy.deepcopy(converted[name])
    for name, schema in list(out.items()):  # subtypes extend a parent's own schema, never its dispatch
        if isinstance(schema, dict) and any(p in dispatching for p in _parents(schema)):
            schema = dict(schema)
            schema["allOf"] = [{"$ref": _PREFIX + p + SELF} if p in dispatching else part
                               for part, p in _allof_pairs(schema["allOf"])]
            out[name] = schema
    for name, prop in members.items():
        below = descendants(name, raw, kids)
        family = families[_root(name, raw)]
        outsiders = [tag_of(m, name, raw) for m in family if m != name and m not in below]
        checks: list[dict[str, Any]] = [
            {"anyOf": [{"properties": {prop: {"not": {"enum": [tag_of(sub, name, raw)]}}}}, {"$ref": _PREFIX + sub}]}
            for sub in below
        ]
        if outsiders:
            checks.append({"properties": {prop: {"not": {"enum": outsiders}}}})
        if not checks:
            continue
        own = out[name]  # its own schema, checks added to its allOf (so its parts stay one resolve away)
        out[name] = {**own, "allOf": [*own.get("allOf", []), *checks],
                     "x-discriminator": {"property": prop,
                                         "subtypes": {tag_of(sub, name, raw): _PREFIX + sub for sub in below},
                                         "outsiders": outsiders, "name": name}}
    return out


def _allof_pairs(parts: list[Any]) -> list[tuple[Any, str | None]]:
    out: list[tuple[Any, str | None]] = []
    for part in parts:
        ref = part.get("$ref") if isinstance(part, dict) else None
        out.append((part, ref[len(_PREFIX):] if isinstance(ref, str) and ref.startswith(_PREFIX) else None))
    return out


def concrete(name: str, definitions: dict[str, Any]) -> str:
    """The definition a generated ``name`` should be: itself when it has no subtypes, else its
    first subtype without subtypes of its own (a real, most specific type)."""
    if not family_property(name, definitions):
        return name
    kids = children(definitions)
    below = descendants(name, definitions, kids)
    leaves = [d for d in below if not kids.get(d)]
    return leaves[0] if leaves else name
