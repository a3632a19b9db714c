"""``$ref`` resolution across files, into one self-contained document.

Refs into other files (``../../shared_apis/common.yaml#/definitions/Problem``) are
pulled into the root document: a referenced definition is imported under
``definitions`` and the ref rewritten to ``#/definitions/<Name>``; anything else
(a parameter, a response) is inlined. Local ``#/definitions/..`` refs stay refs, so
self-referencing models resolve without recursion. The result is what ``/api.json``
serves and what clients and Swagger UI read.

OpenAPI 3.x documents resolve the same way with ``components/schemas`` as the place of named
schemas: a ref into another file's ``#/components/schemas/X``, ``#/definitions/X`` (a file shared
with Swagger 2.0 specs) or ``#/$defs/X`` imports ``X`` under ``components/schemas``. A 3.x
Reference Object may have siblings (3.1: ``description``/``summary`` overriding the target's,
and any keyword next to a schema's ``$ref``): they are kept, next to the rewritten ref or over the
inlined target.

Files are read as JSON would have them, which is what a Swagger document is: every mapping
key is the text written (``200:`` is the status ``"200"``, not the int 200; a property
``on:`` is ``"on"``, not True) and a date is its text (``example: 2024-05-01``). A key that
is itself a list or a mapping is refused naming the file and the line.

Each file is read with the OpenAPI Overlays beside it applied (``X.overlay.yaml`` for ``X.yaml``:
:mod:`.overlay`), and those overlay files count among the files read.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from .errors import SpecError


class _SpecLoader(yaml.SafeLoader):
    """PyYAML's safe loader with keys and dates as written (see the module's docstring)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        self.flatten_mapping(node)  # merge keys (<<), as the safe loader does
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping", node.start_mark,
                    "a mapping key must be a plain value (a name or a number), not a list or a mapping",
                    key_node.start_mark,
                )
            mapping[key_node.value] = self.construct_object(value_node, deep=deep)
        return mapping


_SpecLoader.add_constructor("tag:yaml.org,2002:timestamp", _SpecLoader.construct_yaml_str)


def read_yaml_document(path: Path) -> Any:
    """Parse a YAML or JSON file, naming the file in any error."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        return yaml.load(text, Loader=_SpecLoader)  # _SpecLoader is a SafeLoader
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: not valid YAML: {exc}") from None


def pointer_get(doc: Any, pointer: str, where: str) -> Any:
    """The node at JSON pointer ``pointer`` of ``doc``; a SpecError naming ``where`` if there is none."""
    node = doc
    if pointer in ("", "/"):
        return node
    for raw in pointer.lstrip("/").split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise SpecError(f"{where}: $ref target '#{pointer}' does not exist")
    return node


#: Mappings whose keys are names a spec chose (a property or header may be called ``x-rate``), not
#: keywords: there an ``x-`` key is not a vendor extension.
NAME_MAPS = frozenset({"properties", "patternProperties", "definitions", "parameters", "responses", "headers",
                       "securityDefinitions", "schemas", "requestBodies", "securitySchemes", "examples", "links",
                       "callbacks", "pathItems", "$defs", "dependentSchemas", "content", "encoding", "variables",
                       "webhooks", "mapping"})


class RefResolver:
    """Pulls external refs into the root document (see module docstring)."""

    def __init__(self, root_path: Path) -> None:
        self.root_path = root_path.resolve()
        self.docs: dict[Path, Any] = {}
        self.root = self.load(self.root_path)
        if not isinstance(self.root, dict):
            raise SpecError(f"{root_path}: a spec must be a YAML mapping")
        #: where named schemas live: 'definitions' (Swagger 2.0) or 'components/schemas' (OpenAPI 3.x)
        self.oas3 = "openapi" in self.root and "swagger" not in self.root
        self.prefix = "/components/schemas/" if self.oas3 else "/definitions/"
        home: dict[str, Any] = self.root
        if self.oas3:
            components = self.root.get("components")
            if components is None or components == {}:
                components = self.root["components"] = {}
            if not isinstance(components, dict):
                raise SpecError(f"{root_path}: at 'components': must be a mapping")
            home = components
        key = "schemas" if self.oas3 else "definitions"
        self.definitions: dict[str, Any] = home.setdefault(key, {}) or {}
        self.definitions_file = self.root_path  # where the definitions' own relative refs start
        ref = self.definitions.get("$ref") if isinstance(self.definitions, dict) else None
        if isinstance(ref, str) and len(self.definitions) == 1:  # definitions: {$ref: ./definitions.yaml}
            file_part, _, pointer = ref.partition("#")
            self.definitions_file = (self.root_path.parent / file_part).resolve() if file_part else self.root_path
            if not self.definitions_file.is_file():
                raise SpecError(f"{root_path}: at '{key}': $ref '{ref}' points to a missing file")
            target = pointer_get(self.load(self.definitions_file), pointer, f"{root_path}: at '{key}'")
            self.definitions = copy.deepcopy(target) if isinstance(target, dict) else target
        if not isinstance(self.definitions, dict):
            raise SpecError(f"{root_path}: at '{self.prefix.strip('/')}': must be a mapping of names to schemas")
        home[key] = self.definitions
        self.imported: dict[tuple[Path, str], str] = {}
        self.inlining: list[tuple[Path, str]] = []

    def load(self, path: Path) -> Any:
        if path not in self.docs:
            from .overlay import overlaid  # here, as .overlay imports this module

            self.docs[path] = overlaid(read_yaml_document(path), path, self.docs)  # X.overlay.yaml applied
        return self.docs[path]

    def resolve(self) -> dict[str, Any]:
        own = list(self.definitions)
        prefix = self.prefix
        for name in own:
            self.imported[(self.root_path, f"{prefix}{name}")] = name
        if self.oas3:
            components = self.root["components"]
            out = {k: self.walk(v, self.root_path, f"#/{k}") for k, v in self.root.items() if k != "components"}
            walked_components = {k: self.walk(v, self.root_path, f"#/components/{k}")
                                 for k, v in components.items() if k != "schemas"}
        else:
            out = {k: self.walk(v, self.root_path, f"#/{k}") for k, v in self.root.items() if k != "definitions"}
        for name in own:  # imported definitions are walked when imported
            walked = self.walk(self.definitions[name], self.definitions_file, f"#{prefix}{name}")
            if walked != {"$ref": f"#{prefix}{name}"}:  # an alias imports its target under its own name
                self.definitions[name] = walked
        if self.oas3:
            out["components"] = {**walked_components, "schemas": self.definitions}
            if not self.definitions and set(components) == {"schemas"}:
                out["components"] = {"schemas": {}}
        else:
            out["definitions"] = self.definitions
        self.root = out
        return out

    def walk(self, node: Any, file: Path, where: str) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                target = self.ref(ref, file, where)
                if not self.oas3 or len(node) == 1:
                    return target
                siblings = {k: self.walk(v, file, f"{where}/{k}") for k, v in node.items() if k != "$ref"}
                if set(target) == {"$ref"}:  # a schema ref kept: its siblings next to it
                    return {**siblings, **target}
                return {**target, **siblings} if isinstance(target, dict) else target
            # a vendor extension's value is opaque (the OpenAPI specs give $ref no meaning there):
            # kept as written, so x-derived-objects pointing back at their parent are no cycle
            names = where.rsplit("/", 1)[-1] in NAME_MAPS  # keys there are names, not keywords
            return {k: copy.deepcopy(v) if str(k).startswith("x-") and not names else self.walk(v, file, f"{where}/{k}")
                    for k, v in node.items()}
        if isinstance(node, list):
            return [self.walk(v, file, f"{where}/{i}") for i, v in enumerate(node)]
        return node

    def ref(self, ref: str, file: Path, where: str) -> dict[str, Any]:
        file_part, _, pointer = ref.partition("#")
        target_file = (file.parent / file_part).resolve() if file_part else file
        loc = f"{file}: {where}"
        if file_part and not target_file.is_file():
            raise SpecError(f"{loc}: $ref '{ref}' points to a missing file {target_file}")
        doc = self.load(target_file)
        parts = pointer.strip("/").split("/")
        if target_file == self.root_path and self.oas3 and pointer.startswith("/definitions/"):
            pass  # a 3.x document has no definitions of its own: a local ref there is checked below
        elif self._names_schema(parts, target_file):
            return {"$ref": f"#{self.prefix}{self.import_definition(target_file, pointer, doc, loc)}"}
        if target_file == self.root_path and pointer:
            pointer_get(doc, pointer, loc)  # keep local refs, but they must exist
            return {"$ref": f"#{pointer}"}
        key = (target_file, pointer)
        if key in self.inlining:
            raise SpecError(f"{loc}: $ref '{ref}' is circular; only definitions may refer to themselves")
        self.inlining.append(key)
        try:
            return self.walk(copy.deepcopy(pointer_get(doc, pointer, loc)), target_file, f"#{pointer}")
        finally:
            self.inlining.pop()

    def _names_schema(self, parts: list[str], target_file: Path) -> bool:
        """Whether a ref's pointer names a schema to import (see the module's docstring)."""
        if len(parts) == 2 and parts[0] == "definitions":
            return True
        if not self.oas3:
            return False
        if len(parts) == 3 and parts[:2] == ["components", "schemas"]:
            return True
        return len(parts) == 2 and parts[0] == "$defs" and target_file != self.root_path

    def _is_alias(self, node: Any, file: Path, pointer: str) -> bool:
        """``Problem: {$ref: 'common.yaml#/definitions/Problem'}`` in the root: same name, elsewhere."""
        if not (isinstance(node, dict) and set(node) == {"$ref"} and isinstance(node["$ref"], str)):
            return False
        file_part, _, target = node["$ref"].partition("#")
        return bool(file_part) and (self.root_path.parent / file_part).resolve() == file and target == pointer

    def import_definition(self, file: Path, pointer: str, doc: Any, loc: str) -> str:
        key = (file, pointer)
        if key in self.imported:
            return self.imported[key]
        name = pointer.strip("/").split("/")[-1].replace("~1", "/").replace("~0", "~")
        if name in self.definitions and not self._is_alias(self.definitions[name], file, pointer):
            raise SpecError(
                f"{loc}: definition {name!r} from {file} clashes with a definition of the same "
                f"name in {self.root_path}; rename one of them"
            )
        schema = pointer_get(doc, pointer, loc)
        self.imported[key] = name
        self.definitions[name] = {}  # placeholder: makes self-references terminate
        self.definitions[name] = self.walk(copy.deepcopy(schema), file, f"#{pointer}")
        return name
