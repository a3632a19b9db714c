"""The auth built-ins and what the served spec says about security.

``GET /auth/version`` answers like ``/version`` for a caller with any valid token;
``GET /.well-known/jwks.json`` serves the public half of the service's private key
(only when it holds one). The served spec gains the 401/403 the guard produces on
secured operations, and lists these built-ins.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flask import Response

from ..auth._authority import authority
from .security import ANY_TOKEN, authenticate, is_bearer, requirement

if TYPE_CHECKING:
    from .._core.service import Service

BUILTIN_SCHEME = "macaron_jwt"


def auth_routes(service: Service, version_body: dict[str, Any]) -> list[tuple[str, str, Callable[[], Response]]]:
    """Built-ins: ``/auth/version`` (needs any valid token) and ``/.well-known/jwks.json`` (with a private key)."""
    body = json.dumps(version_body)

    def auth_version() -> Response:
        authenticate(service, ANY_TOKEN)
        return Response(body, mimetype="application/json")

    routes = [("/auth/version", "builtin.auth_version", auth_version)]
    jwks = authority(service).keys.served_jwks
    if jwks is not None:
        jwks_body = json.dumps(jwks)

        def jwks_json() -> Response:
            return Response(jwks_body, mimetype="application/json", headers={"Cache-Control": "public, max-age=300"})

        routes.append(("/.well-known/jwks.json", "builtin.jwks", jwks_json))
    return routes


def annotate_spec(service: Service, doc: dict[str, Any]) -> None:
    """Declare in the served spec the 401/403 the guard produces and the auth built-ins."""
    problem = {"$ref": "#/definitions/Problem"}
    unauthorized = {"description": "No valid bearer token (see WWW-Authenticate).", "schema": problem}
    forbidden = {"description": "The token lacks a required scope.", "schema": problem}
    paths = doc.setdefault("paths", {})
    for bound in service.operations:
        needs = requirement(service, bound.operation)
        responses = paths.get(bound.operation.path, {}).get(bound.operation.method, {}).get("responses")
        if needs is None or responses is None or "default" in responses:
            continue  # with a default, the spec declares the guard's 401/403 itself
        responses.setdefault("401", unauthorized)
        if any(needs.alternatives):
            responses.setdefault("403", forbidden)
    if service.spec.base_path:
        return
    definitions = doc.setdefault("securityDefinitions", {})
    scheme = next((name for name, d in definitions.items() if is_bearer(d)), None)
    if scheme is None:
        scheme = BUILTIN_SCHEME
        definitions[scheme] = {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "Authorization: Bearer <JWT>",
        }
    version = copy.deepcopy(
        paths.get("/version", {}).get("get", {}).get("responses", {}).get("200", {}).get("schema", {"type": "object"})
    )
    paths.setdefault(
        "/auth/version",
        {
            "get": {
                "operationId": "authVersion",
                "summary": "Like /version, but only for a caller with a valid token.",
                "tags": ["built-in"],
                "produces": ["application/json"],
                "security": [{scheme: []}],
                "responses": {
                    "200": {"description": "Name, version and environment.", "schema": version},
                    "401": unauthorized,
                },
            }
        },
    )
    if authority(service).keys.served_jwks is not None:
        paths.setdefault(
            "/.well-known/jwks.json",
            {
                "get": {
                    "operationId": "jwks",
                    "summary": "The public keys that verify this service's tokens (JWKS).",
                    "tags": ["built-in"],
                    "security": [],
                    "produces": ["application/json"],
                    "responses": {"200": {"description": "A JSON Web Key Set.", "schema": {"type": "object"}}},
                }
            },
        )
