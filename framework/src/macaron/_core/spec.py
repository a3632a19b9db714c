"""Spec loading: read a Swagger 2.0, OpenAPI 3.0 or OpenAPI 3.1 YAML (or JSON) file, resolve
``$ref`` across files (:mod:`.refs`), validate it against its version's schema, normalise it into
the framework's one model, and index the operations (:mod:`.operations`: merged parameters, names
written or derived). Every error names the file, the place (the operation, or the JSON pointer
into the document) and what is wrong.

One model, three dialects. The version is read once — ``swagger: "2.0"``, ``openapi: 3.0.x`` or
``openapi: 3.1.x``; anything else is refused naming the field and the supported values — and a
3.x document is normalised at load time (:mod:`.oas3`) into the shape a Swagger 2.0 document has
(``definitions``, parameters ``in: path|query|header|body`` — and ``cookie`` —, ``consumes``/
``produces``, ``securityDefinitions``, ``basePath``), with what 2.0 cannot say as ``x-`` keys:
a parameter's ``x-style``/``x-explode``/``x-schema``, a body's ``x-content`` (a schema per media
type), a response's ``x-content``. Downstream (validation, models, fakes, docs, fuzzing, clients)
reads :attr:`Spec.document` (that model) and :attr:`Spec.operations` only, so it handles one
model, not three; :attr:`Spec.dialect` says how its schemas compile (``draft4`` for 2.0,
``draft7`` for 3.0, ``2020-12`` for 3.1). :attr:`Spec.source` is the document as written, refs across files pulled
in, in its own version: what ``/api.json`` and ``/docs`` serve. For 2.0 both are the same object.
"""

from __future__ import annotations

import functools
import json
import keyword
import re
import warnings
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import fastjsonschema

from .errors import SpecError, SpecWarning
from .oas3 import normalise
from .oas3meta import meta_error as meta_error_3
from .operations import HTTP_METHODS, Operation, index_operations
from .refs import RefResolver, pointer_get

__all__ = ["HTTP_METHODS", "Operation", "Spec", "load_spec", "python_name"]
PARAM_TYPES = {"string", "number", "integer", "boolean", "array", "file"}
PARAM_LOCATIONS = {"query", "header", "path", "formData", "body"}
SUPPORTED = "swagger: \"2.0\", openapi: 3.0.x or openapi: 3.1.x"
_OPENAPI = re.compile(r"3\.([01])\.\d+(-[0-9A-Za-z.-]+)?")


@dataclass
class Spec:
    """A resolved spec: the normalised document, its source files and operations, its version
    ("2.0", "3.0", "3.1") and the document as written (``source``; see the module's docstring)."""

    path: Path
    document: dict[str, Any]
    files: list[Path] = field(default_factory=list)
    operations: list[Operation] = field(default_factory=list)
    version: str = "2.0"
    source: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.source:
            self.source = self.document

    @property
    def dialect(self) -> str:
        """How the model's schemas compile (:mod:`.schema`): ``draft4`` (Swagger 2.0: fastjsonschema),
        ``draft7`` (OpenAPI 3.0: draft 4's words, jsonschema-rs) or ``2020-12`` (3.1: jsonschema-rs)."""
        return {"3.0": "draft7", "3.1": "2020-12"}.get(self.version, "draft4")

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
                if name not in definitions and "/" in name:  # 3.1: a pointer into a schema ($defs)
                    pointer_get(doc, ref[1:], f"{path}: at '{where}'")
                elif name not in definitions:
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
    version = spec_version(path, resolver.root)
    document = resolver.resolve()
    _require_path_parameters(path, document)
    if version != "2.0":
        error = meta_error_3(path, document, version)
        if error:
            raise SpecError(error)
        model = normalise(path, document, version)
        _check_definition_refs(path, model)
        operations = index_operations(path, model)
        return Spec(path=path, document=model, files=sorted(resolver.docs), operations=operations,
                    version=version, source=document)
    error = _meta_error(path, document)
    if error:
        raise SpecError(error)
    _check_definition_refs(path, document)
    operations = index_operations(path, document)
    return Spec(path=path, document=document, files=sorted(resolver.docs), operations=operations)


def _require_path_parameters(path: Path, document: dict[str, Any]) -> None:
    """A path parameter that does not say ``required: true`` (both schemas demand it; hand-written
    specs often forget) is taken as required, as a path variable always is, with a warning naming it."""
    found: list[tuple[str, Any]] = []
    for name, param in ((document.get("components") or {}).get("parameters") or {}).items():
        found.append((f"/components/parameters/{name}", param))
    for name, param in (document.get("parameters") or {}).items():
        found.append((f"/parameters/{name}", param))
    for route, item in (document.get("paths") or {}).items():
        if not isinstance(item, dict):
            continue
        for key, node in [("", item), *((m, o) for m, o in item.items() if m in HTTP_METHODS)]:
            params = node.get("parameters") if isinstance(node, dict) else None
            for i, param in enumerate(params if isinstance(params, list) else []):
                found.append((f"{route}{' ' + key if key else ''} parameters[{i}]", param))
    for where, param in found:
        if isinstance(param, dict) and param.get("in") == "path" and param.get("required") is not True:
            param["required"] = True
            warnings.warn(f"{path}: {where}: path parameter {param.get('name')!r} does not say "
                          "'required: true'; taken as required", SpecWarning, stacklevel=3)


def spec_version(path: Path, document: dict[str, Any]) -> str:
    """"2.0", "3.0" or "3.1" from the document's ``swagger``/``openapi`` field; SpecError naming it else."""
    if "openapi" in document:
        written = document["openapi"]
        match = _OPENAPI.fullmatch(str(written)) if isinstance(written, str) else None
        if match is None:
            raise SpecError(f"{path}: at 'openapi': {written!r} is not a supported version; "
                            f"supported: {SUPPORTED}")
        return f"3.{match.group(1)}"
    if "swagger" in document:
        if document["swagger"] != "2.0":
            raise SpecError(f"{path}: at 'swagger': {document['swagger']!r} is not a supported version; "
                            f"supported: {SUPPORTED}")
        return "2.0"
    raise SpecError(f"{path}: no 'swagger' or 'openapi' field says the spec's version; supported: {SUPPORTED}")


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
