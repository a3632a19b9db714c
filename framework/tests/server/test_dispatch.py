"""The dispatcher: spec operations skip Flask's response pipeline, and answer exactly as
Flask's path does — same status line, headers, body, log line and metrics."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask, has_request_context
from macaron import Service, Unauthorized, create_app
from macaron._server.dispatch import status_line
from macaron.testing import capture_logs

from ..conftest import FIXTURES, SHOP_ENV


def _guard(service: Service, op: Any) -> Any:
    if op.operation_id != "submitForm":
        return None

    def guard(request: Any) -> None:
        if request.headers.get("X-Key") != "open":
            raise Unauthorized("no key", code="NO_KEY", headers={"WWW-Authenticate": 'Bearer realm="shop"'})

    return guard


@pytest.fixture(scope="module")
def service() -> Service:
    return Service.load(FIXTURES / "shop", environ=SHOP_ENV)


@pytest.fixture(scope="module")
def app(service: Service) -> Flask:
    return create_app(service, guard_factories=[_guard])


@pytest.fixture(scope="module")
def flask_path_app(service: Service) -> Flask:
    """The same app with no operation on the fast path: every request takes Flask's dispatch."""
    app = create_app(service, guard_factories=[_guard])
    app.macaron_operations.clear()  # type: ignore[attr-defined]
    return app


CASES = [
    ("get", "/items/3", {}),
    ("get", "/items/3?verbose=true", {"headers": {"X-Trace": "abcd"}}),
    ("get", "/items", {"query_string": {"limit": 2, "tags": "a,b"}}),
    ("post", "/items", {"json": {"name": "lamp", "price": 2, "owner": {"email": "a@b.io"}}}),
    ("delete", "/items/3", {}),  # 204: no body, no Content-Type, no Content-Length
    ("get", "/items/404", {}),  # the handler's own ApiError
    ("get", "/items/abc", {}),  # 400 naming the parameter
    ("post", "/items", {"data": "{not json", "content_type": "application/json"}),
    ("post", "/items", {"json": {"name": 5}}),
    ("post", "/items", {"data": "x", "content_type": "text/plain"}),  # 415
    ("get", "/faults/crash", {}),  # 500, reported, nothing private leaks
    ("get", "/faults/teapot", {}),
    ("get", "/faults/bad-body", {}),  # 500 RESPONSE_INVALID
    ("get", "/faults/raw-tuple", {}),  # extra headers from the handler
    ("get", "/faults/bad-status", {}),  # an undeclared status: 500
    ("get", "/faults/nope", {}),  # not in the enum: 400
    ("post", "/forms", {"data": {"title": "t", "count": "2"}}),  # 401 with WWW-Authenticate
    ("post", "/forms", {"data": {"title": "t", "count": "2"}, "headers": {"X-Key": "open"}}),
]


def _answer(app: Flask, service: Service, method: str, path: str, kwargs: dict[str, Any], **extra: Any) -> Any:
    headers = {"X-Request-ID": "req-1", **kwargs.get("headers", {})}
    with capture_logs(service) as logs:
        response = getattr(app.test_client(), method)(path, **{**kwargs, "headers": headers}, **extra)
    lines = [line for line in logs.records if "duration_ms" in line]
    for line in lines:
        del line["time"], line["duration_ms"]
    return response.status, sorted(response.headers.items()), response.get_data(), lines


@pytest.mark.parametrize(("method", "path", "kwargs"), CASES, ids=[f"{m} {p}" for m, p, _ in CASES])
def test_an_operation_answers_as_flasks_path_does(
    app: Flask, flask_path_app: Flask, service: Service, method: str, path: str, kwargs: dict[str, Any]
) -> None:
    fast = _answer(app, service, method, path, kwargs)
    slow = _answer(flask_path_app, service, method, path, kwargs)
    assert fast == slow
    _, headers, body, lines = fast
    assert ("X-Request-ID", "req-1") in headers
    assert len(lines) == 1 and lines[0]["request_id"] == "req-1"
    assert b"Traceback" not in body and b"s3cr3t" not in body


def test_operations_skip_flasks_dispatch_and_the_rest_take_it(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    dispatched: list[str] = []
    full = Flask.full_dispatch_request  # Flask's own dispatch (hooks, Response), under macaron's override

    def flasks(self: Flask) -> Any:
        dispatched.append("flask")
        return full(self)

    monkeypatch.setattr(Flask, "full_dispatch_request", flasks)
    client = app.test_client()
    assert client.get("/items/3").status_code == 200
    assert client.post("/items", json={"name": "lamp", "price": 2}).status_code == 201
    assert dispatched == []
    assert client.get("/ping").status_code == 200  # a built-in
    assert client.get("/nowhere").status_code == 404
    assert client.patch("/items/3").status_code == 405
    head = client.head("/items/3")  # HEAD of a GET operation: Flask's path, no body
    assert head.status_code == 200 and head.get_data() == b"" and int(head.headers["Content-Length"]) > 0
    assert dispatched == ["flask"] * 4


def test_errors_outside_operations_keep_the_problem_format(app: Flask) -> None:
    response = app.test_client().patch("/items/3", headers={"X-Request-ID": "req-2"})
    assert response.status_code == 405 and response.headers["Allow"] == "DELETE, GET, HEAD, OPTIONS, PUT"
    assert response.mimetype == "application/problem+json" and response.headers["X-Request-ID"] == "req-2"
    assert json.loads(response.get_data())["code"] == "METHOD_NOT_ALLOWED"


def test_a_request_context_is_there_for_handlers_and_gone_after(app: Flask) -> None:
    assert app.test_client().get("/dogs/rex").status_code == 200  # its handler builds models via current_service
    assert not has_request_context()


def _deletes_counted(client: Any) -> float:
    lines = client.get("/metrics").get_data(as_text=True).splitlines()
    mine = [e for e in lines if e.startswith("macaron_requests_total{") and 'operation="deleteItem"' in e]
    return float(mine[0].rsplit(" ", 1)[1]) if mine else 0.0


def test_metrics_count_both_paths_alike(app: Flask, flask_path_app: Flask) -> None:
    for each in (app, flask_path_app):
        client = each.test_client()
        before = _deletes_counted(client)
        client.delete("/items/3")
        assert _deletes_counted(client) == before + 1


def test_a_preserved_test_context_sees_the_operations_request(app: Flask) -> None:
    from flask import g

    with app.test_client() as client:  # keeps the request context after the answer
        assert client.get("/items/3", headers={"X-Request-ID": "req-3"}).status_code == 200
        assert g.macaron_request_id == "req-3" and g.macaron_operation == "getItem"
    assert not has_request_context()


@pytest.mark.parametrize(
    ("status", "line"), [(200, "200 OK"), (201, "201 CREATED"), (422, "422 UNPROCESSABLE ENTITY"), (599, "599 UNKNOWN")]
)
def test_status_lines_are_werkzeugs(status: int, line: str) -> None:
    assert status_line(status) == line


@pytest.mark.parametrize(
    ("content_type", "status"),
    [
        ("application/json", 201),
        ("application/json; charset=utf-8", 201),
        ("application/json;charset=UTF-8", 201),
        ("Application/JSON ; charset=utf-8", 201),  # not one of the usual spellings: parsed, still JSON
        ("application/merge-patch+json", 201),
        ("text/plain", 415),
        ("application/jsonx", 415),
    ],
)
def test_content_types_are_judged_alike_shortcut_or_not(app: Flask, content_type: str, status: int) -> None:
    body = json.dumps({"name": "lamp", "price": 2})
    assert app.test_client().post("/items", data=body, content_type=content_type).status_code == status


def test_a_form_operation_still_refuses_json_spelled_the_usual_way(app: Flask) -> None:
    answer = app.test_client().post(
        "/forms", data='{"title": "t"}', content_type="application/json", headers={"X-Key": "open"}
    )
    assert answer.status_code == 415


def test_flask_is_a_version_the_dispatcher_was_written_for() -> None:
    """The dispatcher overrides Flask.full_dispatch_request(self), a Flask internal (its signature
    changes in Flask 3.2): on any series it was not written for this fails loudly, so an upgrade
    is a deliberate re-reading of Flask.wsgi_app, never a silent wrong answer."""
    import importlib.metadata
    import inspect

    from flask import Flask
    from macaron._server.dispatch import FLASK_WRITTEN_FOR

    version = importlib.metadata.version("flask")
    assert version.rsplit(".", version.count(".") - 1)[0] in FLASK_WRITTEN_FOR, (
        f"Flask {version}: the dispatcher was written for Flask {FLASK_WRITTEN_FOR}; re-read Flask.wsgi_app "
        "and full_dispatch_request, adjust macaron/_server/dispatch.py, then add the series"
    )
    assert list(inspect.signature(Flask.full_dispatch_request).parameters) == ["self"]
