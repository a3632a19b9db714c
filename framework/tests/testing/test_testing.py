"""The test helpers themselves: serve_app, Api, assert_problem, capture_logs."""

from __future__ import annotations

import pytest
from macaron import Service
from macaron.testing import Api, assert_problem, capture_logs


def test_assert_problem_checks_status_code_and_paths(api: Api) -> None:
    response = api.get("/items", params={"limit": "x"})
    body = assert_problem(response, 400, "VALIDATION_ERROR", paths=["/query/limit"])
    assert body["errors"][0]["message"] == "must be an integer"
    with pytest.raises(AssertionError):
        assert_problem(response, 404, "VALIDATION_ERROR")
    with pytest.raises(AssertionError):
        assert_problem(api.get("/ping"), 200, "X")


def test_api_sends_bearer_token(shop_url: str) -> None:
    assert Api(shop_url, token="t").session.headers["Authorization"] == "Bearer t"


def test_capture_logs_yields_parsed_records(api: Api, shop_service: Service) -> None:
    with capture_logs(shop_service) as logs:
        api.get("/ping", headers={"X-Request-ID": "cap-1"})
    assert [r["request_id"] for r in logs.records] == ["cap-1"]
