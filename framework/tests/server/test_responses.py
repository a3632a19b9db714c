"""Response validation: declared statuses, body schemas, models turned into JSON, the 500 when
a handler breaks its own spec (with every bad field logged, nothing of the body sent)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from macaron import ResponseInvalid, Service
from macaron._server.responses import ResponseValidator, unpack_result
from macaron.testing import Api, assert_problem, capture_logs


def validator(service: Service, operation_id: str) -> ResponseValidator:
    [op] = [b.operation for b in service.operations if b.operation.operation_id == operation_id]
    return ResponseValidator(op, service.compiler, service.log)


def render(service: Service, operation_id: str, result: Any) -> tuple[Any, int, dict[str, str]]:
    with Flask(__name__).test_request_context():
        body, status, headers = validator(service, operation_id).render(result)
    return (json.loads(body) if body else body), status, headers


def test_a_model_or_plain_json_renders_with_the_first_declared_success_status(shop_service: Service) -> None:
    data = {"name": "pen", "price": 1.5, "owner": {"email": "ann@example.com", "name": "Ann"}}
    item = shop_service.models.Item.from_json(data)
    assert type(item.owner).__name__ == "Person"
    assert render(shop_service, "getItem", item) == (data, 200, {})
    assert render(shop_service, "createItem", ({"name": "ink", "price": 2}, 201, {"X-A": "1"})) == (
        {"name": "ink", "price": 2}, 201, {"X-A": "1"})


def test_models_nested_in_plain_lists_and_dicts_are_turned_into_json(shop_service: Service) -> None:
    pens = [shop_service.models.Item.from_json({"name": f"pen {i}", "price": i}) for i in range(3)]
    body, status, _ = render(shop_service, "listItems", {"items": pens, "limit": 3})
    assert status == 200 and body["items"][2] == {"name": "pen 2", "price": 2} and body["limit"] == 3


def test_no_content_status_sends_no_body(shop_service: Service, api: Api) -> None:
    assert render(shop_service, "deleteItem", (None, 204)) == (b"", 204, {})
    response = api.delete("/items/3")
    assert response.status_code == 204 and response.content == b""


@pytest.mark.parametrize(
    ("result", "why"),
    [
        ({"name": "", "price": -1}, "breaks the spec"),  # both fields invalid
        (({"name": "pen", "price": 1}, 418), "status 418 is not declared"),
        (({"unexpected": True}, 204), "declares no body"),
    ],
)
def test_a_response_breaking_the_spec_is_refused_and_logged_with_every_field(
    shop_service: Service, result: Any, why: str
) -> None:
    operation = "deleteItem" if why == "declares no body" else "getItem"
    with capture_logs(shop_service) as logs, pytest.raises(ResponseInvalid):
        render(shop_service, operation, result)
    [entry] = [r for r in logs.records if "is invalid" in r["message"]]
    assert why in entry["message"] and entry["level"] == "ERROR"
    if why == "breaks the spec":
        assert {f["path"] for f in entry["fields"]} == {"/response/name", "/response/price"}


def test_over_http_an_invalid_response_is_a_500_response_invalid_without_its_body(api: Api) -> None:
    problem = assert_problem(api.get("/faults/bad-body"), 500, "RESPONSE_INVALID")
    assert problem["detail"] == "the service produced a response that breaks its own spec"
    assert_problem(api.get("/faults/bad-status"), 500, "RESPONSE_INVALID")
    tupled = api.get("/faults/raw-tuple")
    assert tupled.status_code == 200 and tupled.headers["X-Extra"] == "1"


def test_unpack_result_accepts_body_pair_and_triple_only() -> None:
    assert unpack_result({"a": 1}, 200) == ({"a": 1}, 200, {})
    assert unpack_result(({"a": 1}, "201"), 200) == ({"a": 1}, 201, {})
    assert unpack_result((None, 204, None), 200) == (None, 204, {})
    with pytest.raises(TypeError, match="body, \\(body, status\\)"):
        unpack_result((1, 2, 3, 4), 200)
