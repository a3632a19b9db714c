"""Python type expressions for JSON Schemas, as the stubs of :mod:`.stubs` write them.

One spec's named schemas (Swagger 2.0 ``definitions``, OpenAPI 3.x ``components/schemas``) and,
for JSON Schema 2020-12 (OpenAPI 3.1), the ``$defs`` they hold are typed so:

- a ref to an object definition is its model class (``User``; input ``User | UserDict``); a ref to
  any other definition is that definition's type, inlined (what 2.0 stubs always did);
- a ref into ``$defs`` (``#/$defs/Money``, ``#/components/schemas/Order/$defs/Money``) is a named
  type of the stub module: a TypedDict for an object, a type alias otherwise (:meth:`SchemaTypes.aliases`);
- ``oneOf`` / ``anyOf`` → the union of their branches; ``allOf`` of one → that schema;
- ``enum`` / ``const`` → ``Literal[...]`` (``null`` among them → ``| None``);
- ``nullable: true`` (3.0), ``x-nullable: true`` (2.0) and a type list holding ``"null"`` (3.1) →
  ``| None``;
- ``prefixItems`` → ``tuple[...]`` (with ``, ...`` when further items are allowed);
- ``type: file`` (2.0) → ``bytes | IO[bytes]``; arrays → ``Sequence`` (input) or ``list`` (output);
  objects → ``Mapping`` / ``dict`` of their ``additionalProperties``; anything else → ``Any``.

Rule: text only, from the schemas given; no spec loading, no I/O. What a Swagger 2.0 spec produced
before 3.x support is produced unchanged (the committed stubs are checked against it).
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterator, Mapping
from typing import Any

_SCALARS = {"string": "str", "integer": "int", "number": "float", "boolean": "bool", "file": "bytes"}
_NAMED = re.compile(r"#/(?:definitions|components/schemas)/([^/]+)\Z")
_DEFS = re.compile(r"#/(?:(?:definitions|components/schemas)/([^/]+)/)?\$defs/([^/]+)\Z")


def _unescape(part: str) -> str:
    return part.replace("~1", "/").replace("~0", "~")


def is_object_schema(schema: Mapping[str, Any]) -> bool:
    """Whether a definition becomes a model class (as :mod:`macaron._core.models` decides)."""
    return schema.get("type") == "object" or "properties" in schema or "allOf" in schema


def _identifier(name: str) -> str:
    text = re.sub(r"\W", "_", name)
    text = "_" + text if text[:1].isdigit() else text
    return text + "_" if keyword.iskeyword(text) else text


class SchemaTypes:
    """The type expressions of one spec's schemas (see the module docstring)."""

    def __init__(self, definitions: Mapping[str, Any], root_defs: Mapping[str, Any] | None = None) -> None:
        self.definitions = definitions
        self.models = sorted(n for n, s in definitions.items() if isinstance(s, dict) and is_object_schema(s))
        self._defs: dict[tuple[str | None, str], tuple[str, Any]] = {}  # (owner, name) → (type name, schema)
        owned: list[tuple[str | None, str, Any]] = [(None, name, schema) for name, schema in (root_defs or {}).items()]
        owned += [(owner, name, schema) for owner, s in definitions.items() if isinstance(s, dict)
                  for name, schema in (s.get("$defs") or {}).items()]
        taken = set(definitions)
        for owner, name, schema in owned:
            alias = _identifier(name)
            if alias in taken or f"{alias}Dict" in taken:
                alias = _identifier(f"{owner or 'Root'}_{name}")
            taken.add(alias)
            self._defs[(owner, name)] = (alias, schema)

    def _ref(self, ref: str) -> tuple[str, str]:
        """``("model" | "inline" | "alias" | "unknown", name)`` for a ``$ref``."""
        named = _NAMED.match(ref)
        if named:
            name = _unescape(named[1])
            return ("model" if name in self.models else "inline", name)
        defs = _DEFS.match(ref)
        if defs:
            owner, name = (_unescape(defs[1]) if defs[1] else None), _unescape(defs[2])
            found = self._defs.get((owner, name)) or next(
                (v for (o, n), v in self._defs.items() if n == name and owner is None), None)
            if found is not None:
                return ("alias", found[0])
        return ("unknown", ref)

    def of(self, schema: Any, inp: bool) -> str:
        """The type of a value of ``schema``; ``inp``: as an argument (models also as dicts)."""
        if not isinstance(schema, dict):
            return "Any"
        text = self._bare(schema, inp)
        nullable = schema.get("x-nullable") or schema.get("nullable") is True or _null_in(schema)
        return _optional(text) if nullable else text

    def _bare(self, schema: dict[str, Any], inp: bool) -> str:
        ref = schema.get("$ref")
        if isinstance(ref, str):
            target, name = self._ref(ref)
            if target == "model":
                return f"{name} | {name}Dict" if inp else name
            if target == "inline":
                return self.of(self.definitions.get(name), inp)
            return name if target == "alias" else "Any"
        literal = _literal(schema)
        if literal is not None:
            return literal
        branches = schema.get("oneOf") or schema.get("anyOf")
        if isinstance(branches, list) and branches:
            return _union(self.of(b, inp) for b in branches)
        kind = schema.get("type")
        if isinstance(kind, list):  # a union of types, e.g. [string, number, boolean]; "null" is | None
            parts_text = [self._bare({**schema, "type": k}, inp) for k in kind if k != "null"]
            return " | ".join(dict.fromkeys(parts_text)) or "None"
        if kind == "null":
            return "None"
        if kind in _SCALARS:
            return "bytes | IO[bytes]" if kind == "file" else _SCALARS[kind]
        if isinstance(schema.get("prefixItems"), list):
            return self._tuple(schema, inp)
        if kind == "array":
            item = self.of(schema.get("items"), inp)
            return f"Sequence[{item}]" if inp else f"list[{item}]"
        parts = schema.get("allOf") or []
        if len(parts) == 1:
            return self._bare(parts[0], inp)
        if kind == "object" or "properties" in schema or parts:
            extra = schema.get("additionalProperties")
            value = self.of(extra, inp) if isinstance(extra, dict) else "Any"
            return f"Mapping[str, {value}]" if inp else f"dict[str, {value}]"
        return "Any"

    def _tuple(self, schema: dict[str, Any], inp: bool) -> str:
        items = [self.of(s, inp) for s in schema["prefixItems"]]
        rest = schema.get("items", True)
        if rest is False or not items:
            return f"tuple[{', '.join(items) or '()'}]"
        # more items may follow: tuple[A, B, *tuple[C, ...]] is 3.11+ syntax mypy accepts in stubs
        tail = self.of(rest, inp) if isinstance(rest, dict) else "Any"
        return f"tuple[{', '.join(items)}, *tuple[{tail}, ...]]"

    def properties(self, name: str, seen: tuple[str, ...] = ()) -> tuple[dict[str, Any], set[str], list[str]]:
        """All properties of a definition (inherited included), the required ones, and its model bases."""
        schema = self.definitions.get(name) or {}
        props: dict[str, Any] = {}
        required = set(schema.get("required") or [])
        bases: list[str] = []
        for part in schema.get("allOf") or []:
            kind, base = self._ref(part["$ref"]) if isinstance(part, dict) and "$ref" in part else ("", "")
            if kind == "model" and base not in seen:
                inherited, needed, _ = self.properties(base, (*seen, name))
                props.update(inherited)
                required |= needed
                bases.append(base)
            elif isinstance(part, dict):
                props.update(part.get("properties") or {})
                required |= set(part.get("required") or [])
        props.update(schema.get("properties") or {})
        return props, required, bases

    def aliases(self) -> Iterator[str]:
        """The lines declaring each ``$defs`` type (none for a spec without ``$defs``)."""
        for alias, schema in self._defs.values():
            if isinstance(schema, dict) and (schema.get("type") == "object" or "properties" in schema):
                required = set(schema.get("required") or [])
                typed = {k: self.of(v, False) for k, v in (schema.get("properties") or {}).items()}
                fields = ", ".join(f"{k!r}: {f'Required[{t}]' if k in required else t}" for k, t in typed.items())
                yield f"{alias} = TypedDict({alias!r}, {{{fields}}}, total=False)"
            else:
                yield f"{alias}: TypeAlias = {self.of(schema, False)}"


def _null_in(schema: Mapping[str, Any]) -> bool:
    kind = schema.get("type")
    return isinstance(kind, list) and "null" in kind and any(k != "null" for k in kind)


def _optional(text: str) -> str:
    return text if text in ("Any", "None") or text.endswith("| None") else f"{text} | None"


def _union(parts: Iterator[str]) -> str:
    seen: list[str] = []
    for part in parts:
        for piece in _split(part):
            if piece not in seen:
                seen.append(piece)
    if "Any" in seen:
        return "Any"
    none = "None" in seen
    text = " | ".join(p for p in seen if p != "None")
    return (f"{text} | None" if text else "None") if none else text


def _split(text: str) -> list[str]:
    """The top-level members of a union expression (``|`` outside brackets)."""
    out, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char in "[(":
            depth += 1
        elif char in "])":
            depth -= 1
        elif char == "|" and depth == 0:
            out.append(text[start:i].strip())
            start = i + 1
    out.append(text[start:].strip())
    return out


def _literal(schema: Mapping[str, Any]) -> str | None:
    """``Literal[...]`` of ``const`` or ``enum``, when its values can be literals; else None."""
    if "const" in schema:
        values = [schema["const"]]
    elif isinstance(schema.get("enum"), list) and schema["enum"]:
        values = schema["enum"]
    else:
        return None
    plain = [v for v in values if v is not None]
    if not all(isinstance(v, str | int | bool) for v in plain):  # a float, list or object: no literal
        return None
    text = "Literal[" + ", ".join(repr(v) for v in plain) + "]" if plain else "None"
    return f"{text} | None" if plain and len(plain) < len(values) else text
