"""The files of a new service (``macaron new``): one example endpoint, its handler, a unit test
and an acceptance test. ``$name``, ``$title``, ``$key`` and ``$port`` are filled in; the tests
name their service through ``this_service``, so they keep working in a copied directory.

The spec is OpenAPI 3.1 (:data:`API_YAML_31`) unless Swagger 2.0 is asked for (:data:`API_YAML`,
``macaron new --swagger2``); the two declare the same: one operation bound to its handler by
``operationId``, the ``Hello`` schema, and a ``bearer`` scheme (a JWT in ``Authorization``).
"""

from __future__ import annotations

from string import Template

SERVICE_YAML = """\
# Config of the $name service. Its name is its directory name.
# Overlays: service.<env>.yaml when MACARON_ENV=<env>. Environment variables
# MACARON_<KEY> / MACARON_${key}_<KEY> override keys written here (nested: __).
port: $port
version: 0.1.0
"""

API_YAML = """\
swagger: "2.0"
info:
  title: $title service
  version: 0.1.0
  description: |
    Start here: declare each operation with an operationId, then write the function of that
    name in handlers.py. `nox -s serve -- $name --reload` serves it and reloads on changes.
consumes: [application/json]
produces: [application/json]
securityDefinitions:
  bearer:
    type: apiKey
    in: header
    name: Authorization
    description: "Bearer <token>. An operation requires one with `security: [{bearer: []}]` (docs/security.md)."
paths:
  /v1/hello/{name}:
    get:
      operationId: hello
      summary: An example endpoint; replace it with your own.
      tags: [$name]
      parameters:
        - {name: name, in: path, required: true, type: string, minLength: 1, maxLength: 40}
      responses:
        "200":
          description: A greeting.
          schema: {$ref: '#/definitions/Hello'}
        "400": {description: "VALIDATION_ERROR: the name is longer than 40 characters."}
definitions:
  Hello:
    type: object
    additionalProperties: false
    required: [message]
    properties:
      message: {type: string}
"""

API_YAML_31 = """\
openapi: 3.1.0
info:
  title: $title service
  version: 0.1.0
  description: |
    Start here: declare each operation with an operationId, then write the function of that
    name in handlers.py. `nox -s serve -- $name --reload` serves it and reloads on changes.
paths:
  /v1/hello/{name}:
    get:
      operationId: hello
      summary: An example endpoint; replace it with your own.
      tags: [$name]
      parameters:
        - name: name
          in: path
          required: true
          schema: {type: string, minLength: 1, maxLength: 40}
      responses:
        "200":
          description: A greeting.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Hello'}
        "400": {description: "VALIDATION_ERROR: the name is longer than 40 characters."}
components:
  securitySchemes:
    bearer:
      type: http
      scheme: bearer
      bearerFormat: JWT
      description: "An operation requires a token with `security: [{bearer: []}]` (docs/security.md)."
  schemas:
    Hello:
      type: object
      additionalProperties: false
      required: [message]
      properties:
        message: {type: string}
"""
DIALECTS = {"3.1": API_YAML_31, "2.0": API_YAML}  # the spec of a new service, by dialect
DIALECT_NAMES = {"3.1": "OpenAPI 3.1", "2.0": "Swagger 2.0"}

HANDLERS = '''\
"""Handlers of the $name service: one function per operationId of api.yaml.

Parameters arrive as keyword arguments, already validated (a body as a model). Return a dict
or a model, or (body, status[, headers]); raise macaron's NotFound, Conflict, ... for errors.
"""

from __future__ import annotations

from typing import Any


def hello(name: str) -> dict[str, Any]:
    """The example endpoint: replace it with your own (spec first, then the handler)."""
    return {"message": f"Hello, {name}!"}
'''

UNIT_TEST = '''\
"""The $name service in this process: config, spec and handlers load; the example endpoint answers.

``this_service`` is the service this file belongs to, so a copied directory tests itself.
"""

from macaron import create_app
from macaron.testing import Api, ThisService, assert_problem, serve_app


def test_loads_and_answers(this_service: ThisService) -> None:
    service = this_service.load()
    with serve_app(create_app(service)) as url:
        api = Api(url)
        assert api.get("/version").json()["name"] == this_service.name
        assert api.get("/v1/hello/ada").json() == {"message": "Hello, ada!"}
        assert_problem(api.get("/v1/hello/" + "x" * 41), 400, "VALIDATION_ERROR", paths=["/path/name"])
'''

ACCEPTANCE_TEST = '''\
"""The $name service, black-box over HTTP, against the target the environment names: a local
system started for the tests, or a deployment (``nox -s acceptance -- $name --url URL``)."""

from macaron.testing import SystemUnderTest, ThisService, assert_problem


def test_hello(system: SystemUnderTest, this_service: ThisService) -> None:
    api = system.api(this_service.name)
    answer = api.get("/v1/hello/ada")
    assert answer.status_code == 200 and answer.json() == {"message": "Hello, ada!"}
    assert_problem(api.get("/v1/hello/" + "x" * 41), 400, "VALIDATION_ERROR", paths=["/path/name"])
'''

EXAMPLE = "GET /v1/hello/{name}"


def render(text: str, name: str, port: int, key: str) -> str:
    """``text`` with the service's name, title, environment key and port filled in."""
    title = name.replace("-", " ").capitalize()
    return Template(text).safe_substitute(name=name, title=title, key=key, port=str(port))


def files(name: str, port: int, key: str, spec: str = "api.yaml", dialect: str = "3.1") -> dict[str, str]:
    """``{path relative to the service directory: text}`` of the example (not service.yaml), its
    spec in ``dialect`` (``"3.1"`` or ``"2.0"``)."""
    return {
        spec: render(DIALECTS[dialect], name, port, key),
        "handlers.py": render(HANDLERS, name, port, key),
        "tests/test_service.py": render(UNIT_TEST, name, port, key),
        "tests/acceptance/test_hello.py": render(ACCEPTANCE_TEST, name, port, key),
    }
