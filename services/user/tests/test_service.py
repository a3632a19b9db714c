"""The user service loads, and serves its built-in endpoints over HTTP."""

from pathlib import Path

from macaron import Service, create_app
from macaron.testing import Api, serve_app

HERE = Path(__file__).resolve().parent.parent


def test_serves_builtins() -> None:
    service = Service.load(HERE)
    assert service.name == "user"
    with serve_app(create_app(service)) as url:
        api = Api(url)
        assert api.get("/ping").json() == {}
        assert api.get("/version").json()["name"] == "user"
        assert api.get("/docs").status_code == 200
