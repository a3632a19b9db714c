"""Observability: one JSON log line per request, request ids, redaction, metrics."""

from __future__ import annotations

from macaron import Service
from macaron._core.observability import JsonFormatter, request_id_from
from macaron.testing import Api, capture_logs


def test_one_json_line_per_request_with_fields(api: Api, shop_service: Service) -> None:
    with capture_logs(shop_service) as logs:
        response = api.get("/items/3?verbose=false", headers={"X-Request-ID": "req-123"})
    assert response.headers["X-Request-ID"] == "req-123"
    [line] = [r for r in logs.records if r.get("path") == "/items/3"]
    assert line["service"] == "shop" and line["level"] == "INFO"
    assert line["request_id"] == "req-123"
    assert line["method"] == "GET" and line["operation"] == "getItem" and line["status"] == 200
    assert isinstance(line["duration_ms"], float)
    assert "user" in line and "time" in line


def test_insane_request_id_is_replaced(api: Api) -> None:
    response = api.get("/ping", headers={"X-Request-ID": "bad id\twith spaces" + "x" * 200})
    generated = response.headers["X-Request-ID"]
    assert len(generated) == 32 and generated.isalnum()
    assert request_id_from("ok-1:2") == "ok-1:2"


def test_no_authorization_cookie_or_body_logged(api: Api, shop_service: Service) -> None:
    with capture_logs(shop_service) as logs:
        api.post(
            "/items",
            json={"name": "body-marker-xyz", "price": 1},
            headers={"Authorization": "Bearer tok-marker-abc", "Cookie": "token=cookie-marker-def"},
            params={"q": "query-marker"},
        )
    assert logs.records
    for marker in ("body-marker-xyz", "tok-marker-abc", "cookie-marker-def", "query-marker"):
        assert marker not in logs.text


def test_secret_values_are_masked_in_logs(api: Api, shop_service: Service) -> None:
    with capture_logs(shop_service) as logs:
        assert api.get("/faults/secret").status_code == 500
    assert "leaking ***" in logs.text
    assert "s3cr3t-shop-key" not in logs.text


def test_formatter_masks_every_secret() -> None:
    formatter = JsonFormatter("svc", ["abcd1234", "zz"])
    assert formatter.redact("x abcd1234 y zz") == "x *** y zz"  # too-short values are not masked


def test_metrics_count_requests_by_operation_and_status(api: Api) -> None:
    api.get("/items/5")
    api.get("/items/abc")
    text = api.get("/metrics").text
    assert 'macaron_requests_total{method="GET",operation="getItem",service="shop",status="200"}' in text
    assert 'macaron_requests_total{method="GET",operation="getItem",service="shop",status="400"}' in text
    assert 'macaron_request_duration_seconds_bucket{le="0.005",operation="getItem",service="shop",status="200"}' in text
