"""Built-in endpoints: /ping, /version, /api.json, /docs, /metrics."""

from __future__ import annotations

from macaron.testing import Api


def test_ping(api: Api) -> None:
    response = api.get("/ping")
    assert response.status_code == 200 and response.json() == {}


def test_version(api: Api) -> None:
    assert api.get("/version").json() == {"name": "shop", "version": "1.2.3", "env": "dev", "apis": ["shop"]}


def test_api_json_lists_builtins_and_problem(api: Api) -> None:
    spec = api.get("/api.json").json()
    assert spec["swagger"] == "2.0"
    assert {"/ping", "/version", "/api.json", "/metrics", "/items"} <= set(spec["paths"])
    assert "Person" in spec["definitions"] and "Problem" in spec["definitions"]
    create = spec["paths"]["/items"]["post"]["responses"]
    assert create["400"]["schema"] == {"$ref": "#/definitions/Problem"}
    assert {"413", "415", "500"} <= set(create)
    assert "400" not in spec["paths"]["/ping"]["get"]["responses"]


def test_docs_page_served_offline(api: Api) -> None:
    page = api.get("/docs")
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    assert "/docs/static/swagger-ui-bundle.js" in page.text and "/api.json" in page.text
    asset = api.get("/docs/static/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.content) > 100_000
    assert api.get("/docs/").status_code == 200


def test_metrics_content_type(api: Api) -> None:
    response = api.get("/metrics")
    assert response.headers["Content-Type"].startswith("text/plain")
    assert "# TYPE macaron_requests_total counter" in response.text


def test_api_json_declares_problem_json_on_every_operation(api: Api) -> None:
    """Regression (fuzzing, content_type_conformance): every error is application/problem+json,
    yet the served spec's ``produces`` listed only application/json."""
    spec = api.get("/api.json").json()
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method != "parameters":
                assert "application/problem+json" in op.get("produces", []), f"{method} {path}"
    assert spec["paths"]["/items"]["post"]["produces"][0] == "application/json"  # the success type stays first
    assert spec["paths"]["/metrics"]["get"]["produces"][0] == "text/plain"
    assert api.post("/items", json={}).headers["Content-Type"].startswith("application/problem+json")
