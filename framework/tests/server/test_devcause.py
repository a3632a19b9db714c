"""500s that explain themselves with MACARON_ENV=dev, and only there."""

from __future__ import annotations

from pathlib import Path

import pytest
from macaron import Service, create_app

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _get(env: dict[str, str], path: str) -> dict:  # type: ignore[type-arg]
    service = Service.load(FIXTURES / "shop", environ={"SHOP_API_KEY": "s3cr3t-shop-key", **env})
    response = create_app(service).test_client().get(path)
    assert response.status_code == 500 and response.mimetype == "application/problem+json"
    return response.get_json()  # type: ignore[no-any-return]


def test_in_dev_a_crash_names_its_exception_and_line() -> None:
    body = _get({"MACARON_ENV": "dev"}, "/faults/crash")
    assert body["code"] == "INTERNAL_ERROR"
    assert body["cause"]["type"] == "RuntimeError"
    assert body["cause"]["message"] == "the handler crashed with a private detail"
    assert body["cause"]["where"].startswith("handlers.py:")
    assert "RuntimeError: the handler crashed" in body["detail"] and body["request_id"] in body["detail"]


def test_in_dev_an_invalid_response_names_each_field() -> None:
    body = _get({"MACARON_ENV": "dev"}, "/faults/bad-body")
    assert body["code"] == "RESPONSE_INVALID"
    assert body["errors"] == [{"path": "/response/ok", "message": "must be a boolean"}]
    assert "/response/ok: must be a boolean" in body["detail"]


@pytest.mark.parametrize("env", [{}, {"MACARON_ENV": "staging"}, {"MACARON_ENV": "live"}])
def test_elsewhere_500s_stay_as_they_were(env: dict[str, str]) -> None:
    crash = _get(env, "/faults/crash")
    assert "cause" not in crash and "private detail" not in str(crash)
    invalid = _get(env, "/faults/bad-body")
    assert invalid["detail"] == "the service produced a response that breaks its own spec"
    assert "errors" not in invalid
