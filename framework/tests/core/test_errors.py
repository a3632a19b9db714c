"""Every error case of the request path answers problem+json with the right status and code."""

from __future__ import annotations

import json

import requests
from macaron import ApiError, FieldError
from macaron._core.errors import problem_body
from macaron.testing import Api, assert_problem


def test_unknown_route_is_404_problem(api: Api) -> None:
    body = assert_problem(api.get("/no/such/route"), 404, "ROUTE_NOT_FOUND")
    assert "/no/such/route" in body["detail"]


def test_wrong_method_is_405_with_allow_header(api: Api) -> None:
    response = api.delete("/items")
    assert_problem(response, 405, "METHOD_NOT_ALLOWED")
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}


def test_malformed_json_is_400(api: Api) -> None:
    response = api.post("/items", data=b'{"name": "x", ', headers={"Content-Type": "application/json"})
    body = assert_problem(response, 400, "MALFORMED_JSON")
    assert "line 1" in body["detail"]


def test_invalid_utf8_is_400(api: Api) -> None:
    response = api.post("/items", data=b'{"name": "\xff\xfe"}', headers={"Content-Type": "application/json"})
    assert_problem(response, 400, "MALFORMED_JSON")


def test_deeply_nested_json_is_400_not_500(api: Api) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    response = api.post("/trees", data=deep, headers={"Content-Type": "application/json"})
    assert response.status_code in (400, 413)
    assert response.headers["Content-Type"].startswith("application/problem+json")


def test_wrong_content_type_is_415(api: Api) -> None:
    response = api.post("/items", data="name=x", headers={"Content-Type": "text/plain"})
    body = assert_problem(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert "text/plain" in body["detail"]


def test_missing_content_type_with_body_is_415(api: Api) -> None:
    request = requests.Request("POST", api.base_url + "/items", data=b'{"name":"x","price":1}').prepare()
    request.headers.pop("Content-Type", None)
    assert_problem(api.session.send(request, timeout=5), 415, "UNSUPPORTED_MEDIA_TYPE")


def test_body_over_limit_is_413(api: Api) -> None:
    big = json.dumps({"name": "x", "price": 1, "note": "a" * 70_000})
    response = api.post("/items", data=big, headers={"Content-Type": "application/json"})
    body = assert_problem(response, 413, "PAYLOAD_TOO_LARGE")
    assert "65536" in body["detail"]


def test_validation_failure_names_each_field(api: Api) -> None:
    response = api.post("/items", json={"name": "", "price": -1, "owner": {"email": "nope"}})
    body = assert_problem(response, 400, "VALIDATION_ERROR", paths=["/body/name", "/body/price", "/body/owner/email"])
    assert all(e["message"] for e in body["errors"])


def test_unhandled_exception_is_500_without_detail_leak(api: Api) -> None:
    response = api.get("/faults/crash")
    body = assert_problem(response, 500, "INTERNAL_ERROR")
    assert "private detail" not in response.text
    assert "Traceback" not in response.text
    assert body["request_id"] in body["detail"]


def test_invalid_response_body_is_500_response_invalid(api: Api) -> None:
    assert_problem(api.get("/faults/bad-body"), 500, "RESPONSE_INVALID")


def test_undeclared_status_is_500_response_invalid(api: Api) -> None:
    assert_problem(api.get("/faults/bad-status"), 500, "RESPONSE_INVALID")


def test_custom_api_error_subclass_keeps_its_status_and_code(api: Api) -> None:
    body = assert_problem(api.get("/faults/teapot"), 418, "I_AM_A_TEAPOT")
    assert body["detail"] == "short and stout"


def test_api_error_raised_with_status_and_code(api: Api) -> None:
    assert_problem(api.get("/items/404"), 404, "ITEM_NOT_FOUND")


def test_never_an_html_page(api: Api) -> None:
    for response in (api.get("/x"), api.put("/items"), api.get("/faults/crash"), api.get("/items/abc")):
        assert "text/html" not in response.headers["Content-Type"]
        assert "<html" not in response.text.lower()


def test_api_error_roots_at_exception() -> None:
    assert issubclass(ApiError, Exception)
    error = ApiError("boom", status=409, code="TAKEN", errors=[FieldError("/body/email", "taken")])
    problem = json.loads(problem_body(error, "rid-1"))
    assert problem == {
        "type": "urn:macaron:problem:TAKEN",
        "title": "Internal Server Error",
        "status": 409,
        "detail": "boom",
        "code": "TAKEN",
        "request_id": "rid-1",
        "errors": [{"path": "/body/email", "message": "taken"}],
    }
