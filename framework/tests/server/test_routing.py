"""Routing: spec paths become Flask rules with spec names behind each variable."""

from pathlib import Path

import pytest
import yaml
from macaron import SpecWarning
from macaron._local.fakes import create_fake_app
from macaron._server.routing import endpoint_name, flask_rule

from .._speckit import fake_app, service_app


def test_flask_rule_maps_variables() -> None:
    rule = flask_rule("", "/users/{user-id}/items/{item_id}")
    assert rule.rule == "/users/<p0>/items/<p1>"
    assert rule.variables == {"p0": "user-id", "p1": "item_id"}


def test_base_path_prefix() -> None:
    assert flask_rule("/v1/", "/ping").rule == "/v1/ping"
    assert flask_rule("", "/").rule == "/"


def test_endpoint_names_do_not_clash_with_builtins() -> None:
    assert endpoint_name("ping") == "op.ping"


def test_templates_inside_a_segment_become_werkzeug_variables() -> None:
    rule = flask_rule("", "/users/{id}.json")
    assert (rule.rule, rule.variables) == ("/users/<p0>.json", {"p0": "id"})
    rule = flask_rule("/v1", "/files/{name}.{ext}")
    assert (rule.rule, rule.variables) == ("/v1/files/<p0>.<p1>", {"p0": "name", "p1": "ext"})


def test_adjacent_variables_are_split_by_the_later_ones_enum() -> None:
    ext = {"name": "ext", "in": "path", "required": True, "type": "string", "enum": [".json", ".xml"]}
    rule = flask_rule("", "/apps/{sid}{ext}", [ext])
    assert rule.rule == '/apps/<p0><any(".json", ".xml"):p1>'


SEGMENTS = """\
paths:
  /users/{id}:
    get:
      operationId: user
      parameters: [{name: id, in: path, required: true, type: integer}]
      responses: {200: {description: ok, schema: {type: object}}}
  /users/{id}.json:
    get:
      parameters: [{name: id, in: path, required: true, type: integer}]
      responses: {200: {description: ok, schema: {type: object}}}
  /apps/{sid}{ext}:
    get:
      parameters:
        - {name: sid, in: path, required: true, type: string}
        - {name: ext, in: path, required: true, type: string, enum: [.json, .xml]}
      responses: {200: {description: ok, schema: {type: object}}}
"""
HANDLERS = """\
def user(id):
    return {"op": "user", "id": id}

def get_users_id_json(id):
    return {"op": "json", "id": id}

def get_apps_sid_ext(sid, ext):
    return {"sid": sid, "ext": ext}
"""


def test_a_service_routes_templates_inside_segments(tmp_path: Path) -> None:
    api = service_app(tmp_path, SEGMENTS, HANDLERS)
    assert api.get("/users/7.json").json == {"op": "json", "id": 7}
    assert api.get("/users/7").json == {"op": "user", "id": 7}
    assert api.get("/apps/AC12.xml").json == {"sid": "AC12", "ext": ".xml"}
    assert api.get("/apps/AC.12.json").json == {"sid": "AC.12", "ext": ".json"}
    problem = api.get("/users/seven.json")
    assert problem.status_code == 400 and problem.json["errors"][0]["path"] == "/path/id"


def test_a_fake_routes_templates_inside_segments(tmp_path: Path) -> None:
    fake = fake_app(tmp_path, SEGMENTS).test_client()
    assert fake.get("/users/7.json").status_code == 200
    assert fake.get("/apps/AC12.json").status_code == 200
    requests = fake.get("/__fake__/requests").json
    assert [r["operation"] for r in requests] == ["get_users_id_json", "get_apps_sid_ext"]


METHODS = """\
paths:
  /things/{id}.json:
    parameters: [{name: id, in: path, required: true, type: integer}]
    get: {responses: {200: {description: ok}}}
    put: {responses: {200: {description: ok}}}
  /refuse:
    get: {responses: {200: {description: ok}}}
"""
METHOD_HANDLERS = """\
from macaron import MethodNotAllowed

def get_things_id_json(id):
    return None, 200

def put_things_id_json(id):
    return None, 200

def get_refuse():
    raise MethodNotAllowed("not today")
"""


def test_every_405_of_a_service_says_which_methods_the_path_allows(tmp_path: Path) -> None:
    api = service_app(tmp_path, METHODS, METHOD_HANDLERS)
    answer = api.delete("/things/1.json")
    assert answer.status_code == 405 and answer.headers["Allow"] == "GET, HEAD, OPTIONS, PUT"
    answer = api.get("/refuse")  # raised by a handler, not by routing
    assert answer.status_code == 405 and answer.headers["Allow"] == "GET, HEAD, OPTIONS"


def test_every_405_of_a_fake_says_which_methods_the_path_allows(tmp_path: Path) -> None:
    fake = fake_app(tmp_path, METHODS).test_client()
    answer = fake.post("/things/1.json")
    assert answer.status_code == 405 and answer.headers["Allow"] == "GET, HEAD, OPTIONS, PUT"
    assert answer.json["code"] == "METHOD_NOT_ALLOWED"
    answer = fake.post("/__fake__/ping")
    assert answer.status_code == 405 and answer.headers["Allow"] == "GET, HEAD, OPTIONS"


def test_an_undeclared_path_parameter_is_routed_as_a_string(tmp_path: Path) -> None:
    """A fake of a spec whose ``{id}`` no parameter declares answers ``GET /pets/7`` (as connexion
    does), and its served document declares the parameter it routed."""
    spec = tmp_path / "api.yaml"
    spec.write_text(yaml.safe_dump({"swagger": "2.0", "info": {"title": "pets", "version": "1"}, "paths": {
        "/pets/{id}": {"get": {"responses": {"200": {"description": "a pet", "schema": {
            "type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}}}}}}}))
    with pytest.warns(SpecWarning):
        client = create_fake_app(spec).test_client()
    answer = client.get("/pets/7")
    assert answer.status_code == 200 and isinstance(answer.get_json()["name"], str)
