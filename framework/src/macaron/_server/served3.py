"""The served spec (``/api.json``, what ``/docs`` shows) of a service whose spec is OpenAPI 3.x: the
document as written, in its own version (refs across files pulled in: ``Spec.source``), plus what
the framework adds for a 2.0 spec (:func:`.builtins.served_spec`) written the 3.x way:

- ``components/schemas/Problem`` and, on each operation without a ``default`` response, the
  error responses the framework itself answers — 400 (parameters or a body), 413/415 (a body),
  500, 401/403 (secured operations) — as ``application/problem+json``;
- the built-in paths (``/ping``, ``/version``, ``/api.json``, ``/metrics``, ``/auth/version``,
  ``/.well-known/jwks.json``) when the first server URL has no path of its own, and a bearer
  scheme for ``/auth/version`` when the spec has none;
- the service's own tags first, then ``built-in``.

``webhooks``, ``callbacks`` and ``links`` stay as written.

Rule: imports the core and its sibling modules of the served spec (builtins, authroutes).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from .._core.errors import PROBLEM_JSON
from .authroutes import annotate_spec
from .builtins import PROBLEM_SCHEMA
from .security import requirement

if TYPE_CHECKING:
    from .._core.service import Service

_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def _schema(node: Any, version: str) -> Any:
    """A framework-written (2.0-shaped) schema in the served document's version."""
    if isinstance(node, list):
        return [_schema(n, version) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _schema(v, version) for k, v in node.items() if k != "x-nullable"}
    if isinstance(out.get("$ref"), str) and out["$ref"].startswith("#/definitions/"):
        out["$ref"] = "#/components/schemas/" + out["$ref"][len("#/definitions/"):]
    if node.get("x-nullable"):
        if version == "3.0":
            out["nullable"] = True
        elif isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
    if out.get("type") == "file":
        out = {"type": "string", "format": "binary"}
    return out


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {"schema": dict(_PROBLEM_REF)}}}


def _operation(op: dict[str, Any], version: str) -> dict[str, Any]:
    """A built-in operation (2.0-shaped: ``produces``, ``schema``) the 3.x way."""
    out = {k: copy.deepcopy(v) for k, v in op.items() if k not in ("produces", "responses", "parameters")}
    produces = list(op.get("produces") or ["application/json"])
    responses: dict[str, Any] = {}
    for status, response in (op.get("responses") or {}).items():
        written: dict[str, Any] = {"description": response.get("description", "")}
        if "schema" in response:
            written["content"] = {produces[0] if status.startswith("2") else PROBLEM_JSON:
                                  {"schema": _schema(response["schema"], version)}}
        responses[status] = written
    out["responses"] = responses
    return out


def served_spec_3(service: Service, builtin_paths: dict[str, Any]) -> dict[str, Any]:
    """``/api.json`` for a 3.x service (see the module's docstring)."""
    spec = service.spec
    version = spec.version
    doc = copy.deepcopy(spec.source)
    components = doc.setdefault("components", {})
    components.setdefault("schemas", {}).setdefault("Problem", _schema(PROBLEM_SCHEMA, version))
    secured = {(b.operation.path, b.operation.method): requirement(service, b.operation) for b in service.operations}
    for route, item in (doc.get("paths") or {}).items():
        for method, op in item.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            responses = op["responses"]
            if "default" in responses:
                continue  # the spec's default covers every other status, the framework's errors too
            if [*item.get("parameters", []), *op.get("parameters", [])] or "requestBody" in op:
                responses.setdefault("400", _problem("The request breaks the spec."))
            if "requestBody" in op:
                responses.setdefault("413", _problem("The body is too large."))
                responses.setdefault("415", _problem("Unsupported Content-Type."))
            responses.setdefault("500", _problem("Internal error."))
            needs = secured.get((route, method))
            if needs is not None:
                responses.setdefault("401", _problem("No valid credentials (see WWW-Authenticate)."))
                if any(needs.alternatives):
                    responses.setdefault("403", _problem("The token lacks a required scope."))
    scratch: dict[str, Any] = {"paths": copy.deepcopy(builtin_paths),
                               "securityDefinitions": copy.deepcopy(spec.document.get("securityDefinitions") or {})}
    annotate_spec(service, scratch)  # /auth/version, /.well-known/jwks.json, and their scheme when none
    if not spec.base_path:
        paths = doc.setdefault("paths", {})
        for route, item in scratch["paths"].items():
            paths.setdefault(route, {m: _operation(op, version) for m, op in item.items()})
        schemes = components.setdefault("securitySchemes", {})
        for name, scheme in scratch["securityDefinitions"].items():
            if name not in schemes:  # the built-in bearer scheme, declared as for a 2.0 spec
                schemes[name] = {k: v for k, v in scheme.items() if k in ("type", "in", "name", "description")}
    _tags(doc, service.name)
    return doc


def _tags(doc: dict[str, Any], name: str) -> None:
    tags = doc.setdefault("tags", [])
    declared = {t.get("name") for t in tags}
    for item in (doc.get("paths") or {}).values():
        for op in item.values():
            if not isinstance(op, dict) or "responses" not in op or "built-in" in (op.get("tags") or []):
                continue
            op.setdefault("tags", [name])
            for tag in op["tags"]:
                if tag not in declared:
                    declared.add(tag)
                    tags.append({"name": tag})
    if "built-in" not in declared:
        tags.append({"name": "built-in", "description": "Endpoints every macaron service serves."})
