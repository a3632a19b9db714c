"""``readOnly`` properties in requests: not required (the server sets them), refused when sent;
responses still carry and require them."""

from __future__ import annotations

from pathlib import Path

from .._speckit import fake_app, service_app

SPEC = """\
paths:
  /users:
    post:
      parameters: [{name: user, in: body, required: true, schema: {$ref: '#/definitions/User'}}]
      responses: {201: {description: created, schema: {$ref: '#/definitions/User'}}}
definitions:
  User:
    type: object
    required: [id, name]
    properties:
      id: {type: integer, readOnly: true}
      name: {type: string}
"""
HANDLERS = """\
def post_users(user):
    return {"id": 7, "name": user.name}, 201
"""


def test_a_request_need_not_and_must_not_send_read_only_properties(tmp_path: Path) -> None:
    api = service_app(tmp_path, SPEC, HANDLERS)
    created = api.post("/users", json={"name": "ada"})
    assert (created.status_code, created.json) == (201, {"id": 7, "name": "ada"})
    refused = api.post("/users", json={"id": 1, "name": "ada"})
    assert refused.status_code == 400
    assert refused.json["errors"] == [
        {"path": "/body/id", "message": "is read-only: the server sets it, a request must not send it"}
    ]


def test_a_fake_judges_requests_the_same_way(tmp_path: Path) -> None:
    fake = fake_app(tmp_path, SPEC).test_client()
    assert fake.post("/users", json={"name": "ada"}).status_code == 201
    assert fake.post("/users", json={"id": 1, "name": "ada"}).status_code == 400
