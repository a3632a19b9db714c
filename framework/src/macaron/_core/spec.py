"""Spec loading: read a Swagger 2.0 YAML file, resolve ``$ref`` across files
(:mod:`._refs`), validate it against the Swagger 2.0 schema, and index the operations.
Every error names the file, the operation and what is wrong.
"""

from __future__ import annotations

import functools
import json
import keyword
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import fastjsonschema

from .errors import SpecError
from .refs import RefResolver, pointer_get

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


@functools.cache
def _meta_validator() -> Any:
    schema_dir = resources.files("macaron._core") / "_schemas"
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
        if not isinstance(node["in"], str) or node["in"] not in PARAM_LOCATIONS:
            return f"parameter {node['name']!r}: 'in' must be one of {sorted(PARAM_LOCATIONS)}"
        if node["in"] != "body" and (not isinstance(node.get("type"), str) or node["type"] not in PARAM_TYPES):
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
        node = pointer_get(document, ref[1:], where)
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
    resolver = RefResolver(path)
    document = resolver.resolve()
    if document.get("swagger") != "2.0":
        raise SpecError(f"{path}: only Swagger 2.0 specs are supported (expected 'swagger: \"2.0\"')")
    error = _meta_error(path, document)
    if error:
        raise SpecError(error)
    _check_definition_refs(path, document)
    operations = _index_operations(path, document)
    return Spec(path=path, document=document, files=sorted(resolver.docs), operations=operations)


def python_name(name: str) -> str:
    """The keyword-argument name for a spec parameter: ``X-Trace-Id`` → ``x_trace_id``."""
    ident = re.sub(r"\W", "_", name)
    if "-" in name:
        ident = ident.lower()
    if ident[:1].isdigit():
        ident = "_" + ident
    if keyword.iskeyword(ident):
        ident += "_"
    return ident
