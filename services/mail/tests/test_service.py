"""The mail service loads with its config, spec and handlers, and serves its built-ins."""

import os
from pathlib import Path

from macaron import Service, create_app
from macaron._devenv import dev_environ
from macaron.testing import Api, serve_app

HERE = Path(__file__).resolve().parent.parent


def test_loads_and_serves_builtins() -> None:
    service = Service.load(HERE, environ={**dev_environ(HERE.parent.parent), **os.environ})
    assert service.name == "mail"
    with serve_app(create_app(service)) as url:
        api = Api(url)
        assert api.get("/ping").status_code == 200  # {} or {"degraded": [...]} without Redis
        assert api.get("/version").json()["name"] == "mail"
        assert {o.operation.operation_id for o in service.operations} <= set(api.get("/api.json").text.split('"'))
