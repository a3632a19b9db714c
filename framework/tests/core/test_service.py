"""Service: handler binding relative to the directory, isolation, start-up errors, reporter."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from macaron import Service, SpecError, create_app
from macaron.testing import Api, serve_app

from ..conftest import FIXTURES, SHOP_ENV

SPEC = {
    "swagger": "2.0",
    "info": {"title": "t", "version": "1"},
    "paths": {
        "/hello": {
            "get": {"operationId": "hello", "responses": {"200": {"description": "ok", "schema": {"type": "object"}}}}
        }
    },
}


def make_service(root: Path, name: str, handlers: str, spec: dict | None = None) -> Path:
    directory = root / name
    directory.mkdir(parents=True)
    (directory / "service.yaml").write_text("port: 9999\n")
    (directory / "api.yaml").write_text(yaml.safe_dump(spec or SPEC))
    (directory / "handlers.py").write_text(handlers)
    return directory


def test_two_services_with_handlers_py_in_one_process(tmp_path: Path) -> None:
    a = Service.load(make_service(tmp_path, "alpha", "def hello():\n    return {'from': 'alpha'}\n"), environ={})
    b = Service.load(make_service(tmp_path, "beta", "def hello():\n    return {'from': 'beta'}\n"), environ={})
    assert a.package != b.package
    with serve_app(create_app(a)) as url_a, serve_app(create_app(b)) as url_b:
        assert Api(url_a).get("/hello").json() == {"from": "alpha"}
        assert Api(url_b).get("/hello").json() == {"from": "beta"}


def test_copied_directory_works_unchanged(tmp_path: Path) -> None:
    copy = tmp_path / "shop_copy"
    shutil.copytree(FIXTURES / "shop", copy)
    shutil.copytree(FIXTURES / "shared", tmp_path / "shared")
    service = Service.load(copy, environ=SHOP_ENV)
    assert service.name == "shop_copy"
    with serve_app(create_app(service)) as url:
        assert Api(url).get("/items/2").json()["id"] == 2


def test_missing_handler_names_file_operation_and_module(tmp_path: Path) -> None:
    directory = make_service(tmp_path, "broken", "def other():\n    pass\n")
    with pytest.raises(SpecError) as info:
        Service.load(directory, environ={})
    message = str(info.value)
    assert str(directory / "api.yaml") in message
    assert "operation hello (GET /hello)" in message
    assert "has no function 'hello'" in message


def test_missing_module_and_broken_module(tmp_path: Path) -> None:
    spec = yaml.safe_load(yaml.safe_dump(SPEC))
    spec["paths"]["/hello"]["get"]["x-bind-server"] = "nowhere.hello"
    with pytest.raises(SpecError, match="cannot import module 'nowhere'"):
        Service.load(make_service(tmp_path, "a", "", spec), environ={})
    with pytest.raises(SpecError, match="importing 'handlers' failed: ZeroDivisionError"):
        Service.load(make_service(tmp_path, "b", "x = 1 / 0\n"), environ={})


def test_reporter_receives_5xx_context_without_secrets(tmp_path: Path) -> None:
    reports: list[tuple[dict, BaseException]] = []
    service = Service.load(FIXTURES / "shop", environ=SHOP_ENV, reporter=lambda ctx, exc: reports.append((ctx, exc)))
    with serve_app(create_app(service)) as url:
        api = Api(url, token="secret-token-value")
        api.get("/faults/crash", headers={"X-Request-ID": "rid-9"})
        api.get("/faults/bad-body")
        api.get("/items/404")  # a 4xx is not reported
    assert len(reports) == 2
    context, exc = reports[0]
    assert context["method"] == "GET" and context["path"] == "/faults/crash"
    assert context["request_id"] == "rid-9" and context["status"] == 500
    assert context["operation"] == "fault" and "user_id" in context
    assert isinstance(exc, RuntimeError)
    assert "secret-token-value" not in repr(reports)
    assert reports[1][0]["code"] == "RESPONSE_INVALID"


def test_broken_reporter_does_not_break_the_500(tmp_path: Path) -> None:
    def reporter(ctx: dict, exc: BaseException) -> None:
        raise ValueError("reporter down")

    service = Service.load(FIXTURES / "shop", environ=SHOP_ENV, reporter=reporter)
    with serve_app(create_app(service)) as url:
        assert Api(url).get("/faults/crash").status_code == 500


def test_reporter_from_config(tmp_path: Path) -> None:
    directory = make_service(tmp_path, "rep", "def hello():\n    raise RuntimeError('x')\n")
    (directory / "reporting.py").write_text("SEEN = []\n\ndef report(ctx, exc):\n    SEEN.append(ctx['path'])\n")
    (directory / "service.yaml").write_text("port: 9999\nreporter: reporting.report\n")
    service = Service.load(directory, environ={})
    with serve_app(create_app(service)) as url:
        Api(url).get("/hello")
    import sys

    assert sys.modules[f"{service.package}.reporting"].SEEN == ["/hello"]


def test_health_reports_degraded_dependencies(tmp_path: Path) -> None:
    service = Service.load(make_service(tmp_path, "h", "def hello():\n    return {}\n"), environ={})
    assert service.health() == {}
    service.health_checks["redis"] = lambda: False
    service.health_checks["broken"] = lambda: 1 / 0
    assert service.health() == {"degraded": ["redis", "broken"]}


UNNAMED = {
    "swagger": "2.0",
    "info": {"title": "t", "version": "1"},
    "paths": {
        "/users/{id}/profile": {
            "get": {
                "parameters": [{"name": "id", "in": "path", "required": True, "type": "integer"}],
                "responses": {"200": {"description": "ok", "schema": {"type": "object"}}},
            }
        },
        "/users.list": {"get": {"operationId": "users.list", "responses": {"200": {"description": "ok"}}}},
    },
}


def test_an_operation_without_operation_id_binds_the_function_named_after_method_and_path(tmp_path: Path) -> None:
    handlers = "def get_users_id_profile(id):\n    return {'id': id}\n\ndef users_list():\n    return None, 200\n"
    service = Service.load(make_service(tmp_path, "unnamed", handlers, UNNAMED), environ={})
    with serve_app(create_app(service)) as url:
        assert Api(url).get("/users/7/profile").json() == {"id": 7}
        assert Api(url).get("/users.list").status_code == 200  # operationId users.list → users_list()


def test_a_missing_handler_without_operation_id_says_what_to_write(tmp_path: Path) -> None:
    directory = make_service(tmp_path, "unbound", "def users_list():\n    pass\n", UNNAMED)
    with pytest.raises(SpecError) as info:
        Service.load(directory, environ={})
    message = str(info.value)
    assert "operation get_users_id_profile (GET /users/{id}/profile)" in message
    assert "no operationId and no x-bind-server" in message
    assert "define get_users_id_profile() in handlers.py" in message
    assert "x-bind-server: module.function" in message
