"""OpenAPI 3.x Schema Objects → the framework's schema form (the one :mod:`.schema` compiles).

The framework's schemas are Swagger 2.0's: refs to ``#/definitions/<Name>``, ``x-nullable`` for
null, a discriminator naming a property. :func:`convert` rewrites a 3.x schema into that form,
once, at load time:

- refs: ``#/components/schemas/X`` (and pointers under it, ``.../X/$defs/Y``) → ``#/definitions/X``;
- 3.0: ``nullable: true`` → ``x-nullable: true`` (the keyword of 2.0's vendors); the rest of a 3.0
  schema is JSON Schema draft 4 with extras the validator ignores (``writeOnly``, ``deprecated``),
  so it compiles as a 2.0 schema does; siblings of a ``$ref`` are ignored, as 3.0 says;
- 3.1: the schema is JSON Schema 2020-12 and stays as written (its ``$ref`` keeps its siblings);
  ``x-nullable: true`` is added where ``type`` lists ``"null"``, for the readers that coerce text
  (parameters), build models or make samples — :mod:`.schema` compiles 3.1 schemas with a 2020-12
  validator, which reads ``type`` itself;
- a discriminator object ``{propertyName, mapping}``: on a definition whose subtypes ``allOf`` it
  (2.0's inheritance), ``discriminator: <propertyName>`` plus ``x-discriminator-mapping`` (tag →
  definition) when a mapping is written; on a definition with ``oneOf``/``anyOf`` (a union),
  ``x-union: {property, mapping}`` with every member's tag (its mapping key, else its name), which
  :mod:`.discriminator` turns into a dispatch on the tag. Elsewhere (an inline union) it is kept
  as the same ``x-union``, which samples and fakes read to name the member in the tag; there
  ``oneOf`` still validates as JSON Schema says (no dispatch: overlapping members refuse a value
  both accept).

Rule: pure functions over plain data; imports nothing of macaron.
"""

from __future__ import annotations

from typing import Any

COMPONENT_SCHEMAS = "#/components/schemas/"
DEFINITIONS = "#/definitions/"
_ONE = ("items", "additionalProperties", "additionalItems", "not", "if", "then", "else", "contains",
        "propertyNames", "unevaluatedProperties", "unevaluatedItems", "contentSchema")
_LIST = ("allOf", "anyOf", "oneOf", "prefixItems")
_MAP = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")


def rewrite_ref(ref: str) -> str:
    return DEFINITIONS + ref[len(COMPONENT_SCHEMAS):] if ref.startswith(COMPONENT_SCHEMAS) else ref


def ref_name(ref: Any) -> str | None:
    """``X`` for a ref to a whole named schema (``#/components/schemas/X`` or ``#/definitions/X``)."""
    if not isinstance(ref, str):
        return None
    for prefix in (COMPONENT_SCHEMAS, DEFINITIONS):
        if ref.startswith(prefix) and "/" not in ref[len(prefix):]:
            return ref[len(prefix):].replace("~1", "/").replace("~0", "~")
    return None


def convert(node: Any, version: str) -> Any:
    """A 3.x schema (``version`` "3.0" or "3.1") in the framework's form (see the module docstring)."""
    if not isinstance(node, dict):  # booleans too: 2020-12's true/false schemas stay as written
        return node
    if isinstance(node.get("$ref"), str):
        ref = {"$ref": rewrite_ref(node["$ref"])}
        if version == "3.0" or len(node) == 1:
            return ref
        node = {**node, "$ref": ref["$ref"]}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$ref":
            out[key] = value
        elif key in _ONE:
            out[key] = [convert(v, version) for v in value] if isinstance(value, list) else convert(value, version)
        elif key in _LIST and isinstance(value, list):
            out[key] = [convert(v, version) for v in value]
        elif key in _MAP and isinstance(value, dict):
            out[key] = {k: convert(v, version) for k, v in value.items()}
        elif key == "nullable" and version == "3.0":
            if value is True:
                out["x-nullable"] = True
        elif key == "discriminator" and isinstance(value, dict):
            union = _union(node, value)
            if union:  # the tag a sample names (a definition's is made a dispatch by :func:`definitions`)
                out["x-union"] = union
        else:
            out[key] = value
    kinds = out.get("type")
    if version == "3.1" and isinstance(kinds, list) and "null" in kinds:
        out["x-nullable"] = True
    return out


def _union(node: dict[str, Any], disc: dict[str, Any]) -> dict[str, Any] | None:
    """``{property, mapping}`` (tag → definition, the members' names where not mapped) of a
    discriminated ``oneOf``/``anyOf`` of refs; ``None`` when it is not one."""
    if not isinstance(disc.get("propertyName"), str):
        return None
    members = [ref_name(part.get("$ref")) for part in (node.get("oneOf") or node.get("anyOf") or [])
               if isinstance(part, dict)]
    if not any(members):
        return None
    tags = {str(tag): ref_name(target) or str(target) for tag, target in (disc.get("mapping") or {}).items()}
    for member in members:
        if member and member not in tags.values():
            tags[member] = member
    return {"property": disc["propertyName"], "mapping": tags}


def definitions(schemas: dict[str, Any], version: str) -> dict[str, Any]:
    """``components/schemas`` as the framework's definitions, discriminators included."""
    out = {name: convert(schema, version) for name, schema in schemas.items()}
    for name, schema in schemas.items():
        disc = schema.get("discriminator") if isinstance(schema, dict) else None
        if not isinstance(disc, dict) or not isinstance(disc.get("propertyName"), str):
            continue
        prop = disc["propertyName"]
        mapping = {str(tag): ref_name(target) or str(target) for tag, target in (disc.get("mapping") or {}).items()}
        union = _union(schema, disc)
        if union:
            out[name] = {**out[name], "x-union": union}
        else:
            out[name] = {**out[name], "discriminator": prop}
            if mapping:
                out[name]["x-discriminator-mapping"] = mapping
    return out


def flat(schema: Any, defs: dict[str, Any]) -> dict[str, Any]:
    """A (converted) schema with its top-level refs followed: what a parameter's type is read from."""
    seen = 0
    while isinstance(schema, dict) and ref_name(schema.get("$ref")) and seen < 32:
        name = ref_name(schema["$ref"])
        rest = {k: v for k, v in schema.items() if k != "$ref"}
        schema = {**(defs.get(name or "") or {}), **rest}
        seen += 1
    if not isinstance(schema, dict):
        return {}
    kinds = schema.get("type")
    if isinstance(kinds, list):  # 3.1: one type and null, as a parameter's text is read
        real = [k for k in kinds if k != "null"]
        schema = {**schema, "type": real[0] if len(real) == 1 else None}
        if schema["type"] is None:
            del schema["type"]
    if isinstance(schema.get("items"), dict):
        schema = {**schema, "items": flat(schema["items"], defs)}
    return schema
