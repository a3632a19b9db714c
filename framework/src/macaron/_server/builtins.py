"""Built-in endpoints of every service: ``/ping``, ``/version``, ``/docs``, ``/api.json``,
``/metrics`` (plus ``/auth/version`` and ``/.well-known/jwks.json`` from ``_authroutes``);
and the served spec, which lists them next to the service's own paths.

The served spec also declares the error responses the framework itself produces
(400 for bad input, 413/415 for bodies, 500) with the ``Problem`` schema, so what a
client reads in ``/api.json`` is what it can receive; an operation declaring ``default`` is left
as written (its errors are answered as ``default`` declares, see :mod:`.responses`).
The ``/docs`` page itself (Swagger UI 5, offline) is built by :mod:`.docs`.
"""

from __future__ import annotations

import copy
import json
from typing import TYPE_CHECKING, Any

from flask import Flask, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from .._core.errors import PROBLEM_JSON
from .authroutes import annotate_spec, auth_routes
from .docs import register_docs

if TYPE_CHECKING:
    from .._core.service import Service

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An RFC 7807 problem, the body of every error.",
    "required": ["type", "title", "status", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "description": "A stable UPPER_SNAKE error code."},
        "request_id": {"type": "string", "x-nullable": True},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["path", "message"],
                "properties": {"path": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}

_VERSION_SCHEMA = {
    "type": "object",
    "required": ["name", "version", "env", "apis"],
    "properties": {
        "name": {"type": "string"},
        "version": {"type": "string"},
        "env": {"type": "string"},
        "apis": {"type": "array", "items": {"type": "string"}},
    },
}


def _builtin_paths() -> dict[str, Any]:
    def get(
        op_id: str, summary: str, schema: dict[str, Any] | None, produces: str = "application/json"
    ) -> dict[str, Any]:
        response: dict[str, Any] = {"description": summary}
        if schema is not None:
            response["schema"] = schema
        return {
            "get": {
                "operationId": op_id,
                "summary": summary,
                "tags": ["built-in"],
                "security": [],  # open whatever the spec's top-level security says
                "produces": [produces],
                "responses": {"200": response},
            }
        }

    return {
        "/ping": get("ping", "Health check: answers {} while the web tier is up.", {"type": "object"}),
        "/version": get("version", "Name, version and environment of the service.", _VERSION_SCHEMA),
        "/api.json": get("apiSpec", "This spec, resolved into one document.", {"type": "object"}),
        "/metrics": get("metrics", "Prometheus metrics (text format).", None, "text/plain"),
    }


def served_spec(service: Service, extra_paths: dict[str, Any] | None = None) -> dict[str, Any]:
    """The spec as served at ``/api.json``: the service's own, plus built-ins and error responses
    (an OpenAPI 3.x spec is served in its own version: :mod:`.served3`)."""
    if service.spec.version != "2.0":
        from .served3 import served_spec_3  # a cycle otherwise: served3 builds on this module's schemas

        return served_spec_3(service, {**_builtin_paths(), **(extra_paths or {})})
    doc = copy.deepcopy(service.spec.document)
    definitions = doc.setdefault("definitions", {})
    definitions.setdefault("Problem", PROBLEM_SCHEMA)
    problem = {"$ref": "#/definitions/Problem"}
    for item in (doc.get("paths") or {}).values():
        for op in item.values():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            params = [*item.get("parameters", []), *op.get("parameters", [])]
            responses = op["responses"]
            if "default" in responses:
                continue  # the spec's default covers every other status, the framework's errors too
            if params:
                responses.setdefault("400", {"description": "The request breaks the spec.", "schema": problem})
            if any(p.get("in") in ("body", "formData") for p in params if isinstance(p, dict)):
                responses.setdefault("413", {"description": "The body is too large.", "schema": problem})
                responses.setdefault("415", {"description": "Unsupported Content-Type.", "schema": problem})
            responses.setdefault("500", {"description": "Internal error.", "schema": problem})
    paths = doc.setdefault("paths", {})
    base = service.spec.base_path
    for route, item in {**_builtin_paths(), **(extra_paths or {})}.items():
        if not base:
            paths.setdefault(route, item)
    annotate_spec(service, doc)  # 401/403 on secured operations, /auth/version, /.well-known/jwks.json
    _declare_problem_media_type(doc)
    tags = doc.setdefault("tags", [])
    _own_tags_first(doc, service.name, tags)
    if not any(t.get("name") == "built-in" for t in tags):
        tags.append({"name": "built-in", "description": "Endpoints every macaron service serves."})
    return doc


def _own_tags_first(doc: dict[str, Any], name: str, tags: list[dict[str, Any]]) -> None:
    """Swagger UI shows declared tags first, in order: declare the service's own (an untagged
    operation gets the service's name) before ``built-in``, so ``/docs`` opens on the service."""
    declared = {t.get("name") for t in tags}
    for item in (doc.get("paths") or {}).values():
        for method, op in item.items():
            if method == "parameters" or not isinstance(op, dict) or "built-in" in (op.get("tags") or []):
                continue
            op.setdefault("tags", [name])
            for tag in op["tags"]:
                if tag not in declared:
                    declared.add(tag)
                    tags.append({"name": tag})


def _declare_problem_media_type(doc: dict[str, Any]) -> None:
    """Every operation can answer an error, and errors are ``application/problem+json``: list that
    media type in each operation's ``produces``, after the success type (found by fuzzing)."""
    default = list(doc.get("produces") or ["application/json"])
    for item in (doc.get("paths") or {}).values():
        for method, op in item.items():
            if method == "parameters" or not isinstance(op, dict) or "responses" not in op:
                continue
            produces = list(op.get("produces") or default)
            if PROBLEM_JSON not in produces:
                op["produces"] = [*produces, PROBLEM_JSON]


def register_builtins(app: Flask, service: Service, spec_bytes: bytes, metrics_registry: Any) -> None:
    """Add the built-in routes to ``app`` (at the root, whatever the spec's basePath)."""
    version_body = {
        "name": service.name,
        "version": service.version,
        "env": service.config.env,
        "apis": service.apis,
    }

    def ping() -> Response:
        return Response(json.dumps(service.health()), mimetype="application/json")

    def version() -> Response:
        return Response(json.dumps(version_body), mimetype="application/json")

    def api_json() -> Response:
        return Response(spec_bytes, mimetype="application/json")

    def metrics() -> Response:
        return Response(generate_latest(metrics_registry), mimetype=CONTENT_TYPE_LATEST)

    for rule, endpoint, view in (
        ("/ping", "builtin.ping", ping),
        ("/version", "builtin.version", version),
        ("/api.json", "builtin.api_json", api_json),
        ("/metrics", "builtin.metrics", metrics),
        *auth_routes(service, version_body),
    ):
        app.add_url_rule(rule, endpoint, view, methods=["GET"])
    info = service.spec.document.get("info")
    title = str(info.get("title") or service.name) if isinstance(info, dict) else service.name
    register_docs(app, {"info": {"title": title}})  # Swagger UI reads the document itself from /api.json
