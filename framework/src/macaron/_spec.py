"""Spec loading: read a Swagger 2.0 YAML file, resolve ``$ref`` across files, validate,
and index the operations.

Refs into other files (``../../shared_apis/common.yaml#/definitions/Problem``) are
pulled into the root document: a referenced definition is imported under
``definitions`` and the ref rewritten to ``#/definitions/<Name>``; anything else
(a parameter, a response) is inlined. Local ``#/definitions/..`` refs stay refs, so
self-referencing models resolve without recursion. The result is one self-contained
document: what ``/api.json`` serves and what clients and Swagger UI read.
"""

from __future__ import annotations

import copy
import functools
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import fastjsonschema
import yaml

from ._errors import SpecError

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch")
PARAM_TYPES = {"string", "number", "integer", "boolean", "array", "file"}
PARAM_LOCATIONS = {"query", "header", "path", "formData", "body"}


@dataclass
class Operation:
    """One operation of the spec, with path-level parameters merged and refs inlined."""

    operation_id: str
    method: str
    path: str
    spec: dict[str, Any]
    parameters: list[dict[str, Any]]
    responses: dict[str, dict[str, Any]]
    consumes: list[str]
    produces: list[str]
    security: list[dict[str, list[str]]] | None

    @property
    def label(self) -> str:
        return f"{self.operation_id} ({self.method.upper()} {self.path})"


@dataclass
class Spec:
    """A resolved spec: the self-contained document, its source files and operations."""

    path: Path
    document: dict[str, Any]
    files: list[Path] = field(default_factory=list)
    operations: list[Operation] = field(default_factory=list)

    @property
    def definitions(self) -> dict[str, Any]:
        return self.document.setdefault("definitions", {})

    @property
    def base_path(self) -> str:
        return str(self.document.get("basePath") or "").rstrip("/")


def read_yaml_document(path: Path) -> Any:
    """Parse a YAML or JSON file, naming the file in any error."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: not valid YAML: {exc}") from None


def _pointer_get(doc: Any, pointer: str, where: str) -> Any:
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


class _Resolver:
    """Pulls external refs into the root document (see module docstring)."""

    def __init__(self, root_path: Path) -> None:
        self.root_path = root_path.resolve()
        self.docs: dict[Path, Any] = {}
        self.root = self.load(self.root_path)
        if not isinstance(self.root, dict):
            raise SpecError(f"{root_path}: a spec must be a YAML mapping")
        self.definitions: dict[str, Any] = self.root.setdefault("definitions", {}) or {}
        self.root["definitions"] = self.definitions
        self.imported: dict[tuple[Path, str], str] = {}
        self.inlining: list[tuple[Path, str]] = []

    def load(self, path: Path) -> Any:
        if path not in self.docs:
            self.docs[path] = read_yaml_document(path)
        return self.docs[path]

    def resolve(self) -> dict[str, Any]:
        own = list(self.definitions)
        for name in own:
            self.imported[(self.root_path, f"/definitions/{name}")] = name
        out = {k: self.walk(v, self.root_path, f"#/{k}") for k, v in self.root.items() if k != "definitions"}
        for name in own:  # imported definitions are walked when imported
            walked = self.walk(self.definitions[name], self.root_path, f"#/definitions/{name}")
            if walked != {"$ref": f"#/definitions/{name}"}:  # an alias imports its target under its own name
                self.definitions[name] = walked
        out["definitions"] = self.definitions
        self.root = out
        return out

    def walk(self, node: Any, file: Path, where: str) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                return self.ref(ref, file, where)
            return {k: self.walk(v, file, f"{where}/{k}") for k, v in node.items()}
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
        if len(parts) == 2 and parts[0] == "definitions":
            return {"$ref": f"#/definitions/{self.import_definition(target_file, pointer, doc, loc)}"}
        if target_file == self.root_path and pointer:
            _pointer_get(doc, pointer, loc)  # keep local refs, but they must exist
            return {"$ref": f"#{pointer}"}
        key = (target_file, pointer)
        if key in self.inlining:
            raise SpecError(f"{loc}: $ref '{ref}' is circular; only definitions may refer to themselves")
        self.inlining.append(key)
        try:
            return self.walk(copy.deepcopy(_pointer_get(doc, pointer, loc)), target_file, f"#{pointer}")
        finally:
            self.inlining.pop()

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
        name = pointer.strip("/").split("/")[1].replace("~1", "/").replace("~0", "~")
        if name in self.definitions and not self._is_alias(self.definitions[name], file, pointer):
            raise SpecError(
                f"{loc}: definition {name!r} from {file} clashes with a definition of the same "
                f"name in {self.root_path}; rename one of them"
            )
        schema = _pointer_get(doc, pointer, loc)
        self.imported[key] = name
        self.definitions[name] = {}  # placeholder: makes self-references terminate
        self.definitions[name] = self.walk(copy.deepcopy(schema), file, f"#{pointer}")
        return name


@functools.cache
def _meta_validator() -> Any:
    schema_dir = resources.files("macaron") / "_schemas"
    swagger = json.loads((schema_dir / "swagger-2.0.json").read_text(encoding="utf-8"))
    draft4 = json.loads((schema_dir / "draft-04.json").read_text(encoding="utf-8"))
    return fastjsonschema.compile(swagger, handlers={"http": lambda uri: draft4}, use_default=False)


def _meta_error(path: Path, document: dict[str, Any]) -> str | None:
    try:
        _meta_validator()(document)
    except fastjsonschema.JsonSchemaValueException as exc:
        where = "/".join(str(p) for p in (exc.path or [])[1:])
        node: Any = document
        for part in (exc.path or [])[1:]:
            node = node[int(part)] if isinstance(node, list) else node.get(part)
        detail = _explain(node) or exc.message.replace(exc.name or "data", "this value", 1)
        return f"{path}: at '{where or '/'}': {detail}"
    return None


_RESPONSE_KEYS = {"description", "schema", "headers", "examples"}


def _explain(node: Any) -> str | None:
    """A human hint for the common mistakes the Swagger meta-schema reports vaguely."""
    if isinstance(node, dict) and ("description" in node or "schema" in node) and "in" not in node:
        unknown = sorted(k for k in node if k not in _RESPONSE_KEYS and not str(k).startswith("x-"))
        if "description" not in node or unknown:
            return (
                "a response needs a 'description' and may have only 'schema', 'headers', 'examples'"
                + (f"; unexpected: {unknown}" if unknown else "")
            )
    if isinstance(node, dict) and "in" in node and "name" in node:
        if node["in"] not in PARAM_LOCATIONS:
            return f"parameter {node['name']!r}: 'in' must be one of {sorted(PARAM_LOCATIONS)}"
        if node["in"] != "body" and node.get("type") not in PARAM_TYPES:
            return f"parameter {node['name']!r}: 'type' must be one of {sorted(PARAM_TYPES)}, got {node.get('type')!r}"
        if node["in"] == "body" and "schema" not in node:
            return f"parameter {node['name']!r}: a body parameter needs a 'schema'"
        if node["in"] == "path" and node.get("required") is not True:
            return f"parameter {node['name']!r}: path parameters must say 'required: true'"
        return f"parameter {node['name']!r} is not a valid Swagger 2.0 parameter"
    return None


def _merge_parameters(path_level: list[dict[str, Any]], op_level: list[dict[str, Any]]) -> list[dict[str, Any]]:
    merged = {(p.get("name"), p.get("in")): p for p in path_level}
    merged.update({(p.get("name"), p.get("in")): p for p in op_level})
    return list(merged.values())


def _deref(document: dict[str, Any], node: Any, where: str) -> Any:
    while isinstance(node, dict) and isinstance(node.get("$ref"), str):
        ref = node["$ref"]
        if ref.startswith("#/definitions/"):
            return node
        node = _pointer_get(document, ref[1:], where)
    return node


def _index_operations(path: Path, doc: dict[str, Any]) -> list[Operation]:
    operations: list[Operation] = []
    seen: dict[str, str] = {}
    for route, item in (doc.get("paths") or {}).items():
        path_params = [_deref(doc, p, f"{path}: {route}") for p in item.get("parameters", [])]
        for method in HTTP_METHODS:
            op = item.get(method)
            if op is None:
                continue
            op_id = op.get("operationId") or ""
            label = f"{path}: operation {op_id or '(no operationId)'} ({method.upper()} {route})"
            if not op_id:
                raise SpecError(f"{label}: every operation needs an operationId")
            if op_id in seen:
                raise SpecError(f"{label}: operationId {op_id!r} is also used by {seen[op_id]}")
            seen[op_id] = f"{method.upper()} {route}"
            params = _merge_parameters(path_params, [_deref(doc, p, label) for p in op.get("parameters", [])])
            _check_parameters(label, route, params)
            responses = {str(k): _deref(doc, v, label) for k, v in (op.get("responses") or {}).items()}
            operations.append(
                Operation(
                    operation_id=op_id,
                    method=method,
                    path=route,
                    spec=op,
                    parameters=params,
                    responses=responses,
                    consumes=list(op.get("consumes") or doc.get("consumes") or ["application/json"]),
                    produces=list(op.get("produces") or doc.get("produces") or ["application/json"]),
                    security=op.get("security", doc.get("security")),
                )
            )
    return operations


def _check_parameters(label: str, route: str, params: list[dict[str, Any]]) -> None:
    names_in_path = {seg[1:-1] for seg in route.split("/") if seg.startswith("{") and seg.endswith("}")}
    declared = {p["name"] for p in params if p.get("in") == "path"}
    for missing in sorted(names_in_path - declared):
        raise SpecError(f"{label}: path parameter {{{missing}}} is not declared in 'parameters'")
    for extra in sorted(declared - names_in_path):
        raise SpecError(f"{label}: parameter {extra!r} is 'in: path' but {route} has no {{{extra}}}")
    if sum(1 for p in params if p.get("in") == "body") > 1:
        raise SpecError(f"{label}: an operation can have at most one body parameter")
    if any(p.get("in") == "body" for p in params) and any(p.get("in") == "formData" for p in params):
        raise SpecError(f"{label}: body and formData parameters cannot be mixed")


def _check_definition_refs(path: Path, doc: dict[str, Any]) -> None:
    definitions = doc.get("definitions") or {}

    def visit(node: Any, where: str) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/definitions/"):
                name = ref.split("/", 2)[2]
                if name not in definitions:
                    raise SpecError(f"{path}: at '{where}': $ref to unknown definition {name!r}")
            for k, v in node.items():
                visit(v, f"{where}/{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                visit(v, f"{where}/{i}")

    visit(doc, "")


def load_spec(path: Path) -> Spec:
    """Load, resolve and validate the spec at ``path``; raise :class:`SpecError` naming the problem."""
    path = Path(path).resolve()
    resolver = _Resolver(path)
    document = resolver.resolve()
    if document.get("swagger") != "2.0":
        raise SpecError(f"{path}: only Swagger 2.0 specs are supported (expected 'swagger: \"2.0\"')")
    error = _meta_error(path, document)
    if error:
        raise SpecError(error)
    _check_definition_refs(path, document)
    operations = _index_operations(path, document)
    return Spec(path=path, document=document, files=sorted(resolver.docs), operations=operations)
