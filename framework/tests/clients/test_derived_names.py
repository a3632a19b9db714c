"""Clients of a spec whose operations have no operationId: methods named after method and path."""

from __future__ import annotations

import textwrap
from pathlib import Path

from macaron import Service
from macaron._local.fakes import create_fake_app
from macaron.clients import client
from macaron.testing import serve_app

SPEC = """\
swagger: "2.0"
info: {title: plain, version: "1"}
paths:
  /users/{id}/profile:
    get:
      parameters: [{name: id, in: path, required: true, type: integer}]
      responses: {200: {description: ok, schema: {$ref: '#/definitions/Profile'}}}
  /users.list:
    get:
      operationId: users.list
      responses: {200: {description: ok, schema: {type: array, items: {type: string}, example: [ada]}}}
definitions:
  Profile:
    type: object
    required: [name]
    properties: {name: {type: string, example: ada}}
"""


def test_a_client_calls_operations_by_their_derived_names(tmp_path: Path) -> None:
    (tmp_path / "plain.yaml").write_text(SPEC)
    caller = tmp_path / "caller"
    caller.mkdir()
    (caller / "handlers.py").write_text("")
    (caller / "api.yaml").write_text('swagger: "2.0"\ninfo: {title: caller, version: "1"}\npaths: {}\n')
    with serve_app(create_fake_app(tmp_path / "plain.yaml")) as url:
        (caller / "service.yaml").write_text(textwrap.dedent(f"""\
            port: 9999
            clients:
              plain: {{spec: ../plain.yaml, kind: external, url: "{url}"}}
            """))
        plain = client("plain", service=Service.load(caller, environ={}))
        assert plain.operations == ["get_users_id_profile", "users.list"]
        assert plain.get_users_id_profile(id=7).name == "ada"
        assert plain.call("users.list") == ["ada"]
