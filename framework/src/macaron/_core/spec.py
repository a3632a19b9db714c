"""Spec loading: read a Swagger 2.0 YAML file, resolve ``$ref`` across files
(:mod:`.refs`), validate it against the Swagger 2.0 schema, and index the operations
(:mod:`.operations`: merged parameters, names written or derived). Every error names the
file, the place (the operation, or the JSON pointer into the document) and what is wrong.
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
from .operations import HTTP_METHODS, Operation, index_operations
from .refs import RefResolver

__all__ = ["HTTP_METHODS", "Operation", "Spec", "load_spec", "python_name"]
PARAM_TYPES = {"string", "number", "integer", "boolean", "array", "file"}
PARAM_LOCATIONS = {"query", "header", "path", "formData", "body"}


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
    operations = index_operations(path, document)
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
