"""Specs written the way public OpenAPI 3.0 and 3.1 APIs are (``fixtures/oas3/``, see its README) load
into the one operation model, are served as fakes and answer: examples, generated bodies and errors in
the format each spec declares for the status; one runs through ``macaron fake`` as a user runs it."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from macaron import load_spec
from macaron._local.fakes import create_fake_app
from macaron.testing import Api, free_port, serve_app

SPECS = Path(__file__).parents[1] / "fixtures" / "oas3"
NAMES = ["petstore30", "billing30", "media30", "events30", "chat31", "inventory31", "maps31", "split31"]
ASSET = "/media/v2/assets/3fa85f64-5717-4562-b3fc-2c963f66afa6"
BEARER = {"Authorization": "Bearer a.b.c"}


def fake(name: str) -> Iterator[Api]:
    with serve_app(create_fake_app(SPECS / f"{name}.yaml")) as url:
        yield Api(url)


def paths(response: requests.Response) -> list[str]:
    return [e["path"] for e in response.json()["errors"]]


@pytest.mark.parametrize("name", NAMES)
def test_each_spec_loads_into_one_model(name: str) -> None:
    spec = load_spec(SPECS / f"{name}.yaml")
    assert spec.version == name[-2] + "." + name[-1]
    assert spec.source is not spec.document and "openapi" in spec.source and "definitions" not in spec.source
    assert spec.operations and all(op.operation_id.isidentifier() for op in spec.operations)
    for op in spec.operations:
        assert all(p["in"] in ("path", "query", "header", "cookie", "body") for p in op.parameters)
        assert all("x-style" in p for p in op.parameters if p["in"] != "body")


def test_webhooks_callbacks_and_links_stay_in_the_document_not_the_model() -> None:
    chat, events, media = (load_spec(SPECS / f"{n}.yaml") for n in ("chat31", "events30", "media30"))
    assert "messagePosted" in chat.source["webhooks"] and len(chat.operations) == 2
    assert "callbacks" in events.source["paths"]["/calendars/{calendar}/events"]["post"]
    assert "links" in media.source["paths"]["/assets"]["post"]["responses"]["201"]


def test_petstore_answers_examples_and_dispatches_the_union() -> None:
    for api in fake("petstore30"):
        key = {"X-API-Key": "k"}
        pets = api.get("/v3/pets", headers=key)
        assert [p["name"] for p in pets.json()] == ["Tom", "Rex"]  # a component example, by $ref
        assert api.get("/v3/pets/1", headers=key).json()["name"] == "Tom"  # the media type's example
        dog = {"petType": "dog", "name": "Rex", "bark": "loud"}
        assert api.post("/v3/pets", json=dog, headers=key).status_code == 201
        missing = api.post("/v3/pets", json={"petType": "dog", "name": "Rex"}, headers=key)
        assert missing.status_code == 400 and missing.json() == {
            "code": 400, "message": "1 field of the request breaks the spec: /body/bark is required"}
        read_only = api.post("/v3/pets", json={"petType": "cat", "name": "T", "id": 3}, headers=key)
        assert "/body/id is read-only" in read_only.json()["message"]
        assert api.get("/v3/pets").json() == {"code": 401, "message": "credentials are missing"}


def test_billing_reads_forms_brackets_and_pipes_and_answers_its_error_format() -> None:
    for api in fake("billing30"):
        auth = ("sk_test_123", "")
        listed = api.get("/v1/charges?created[gte]=5&created[lte]=9&status=pending|failed", auth=auth)
        assert listed.status_code == 200 and listed.json()["object"] == "list"
        bad = api.get("/v1/charges?created[gte]=soon&status=pending|lost", auth=auth)
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "VALIDATION_ERROR"
        assert "/query/created/gte must be an integer" in bad.json()["error"]["message"]
        assert api.post("/v1/charges", data={"amount": "100", "currency": "usd"}, auth=auth).status_code == 200
        refused = api.post("/v1/charges", data={"amount": "10", "currency": "USD"}, auth=auth)
        message = refused.json()["error"]["message"]
        assert "/body/amount" in message and "/body/currency" in message
        assert api.get("/v1/charges").json()["error"]["code"] == "UNAUTHORIZED"


def test_media_takes_multipart_bytes_and_text_and_answers_binary() -> None:
    for api in fake("media30"):
        files = {"file": ("a.png", io.BytesIO(b"\x89PNG"), "image/png"),
                 "meta": (None, json.dumps({"title": "Dawn"}), "application/json")}
        stored = api.post("/media/v2/assets", files=files)
        assert stored.status_code == 201 and int(stored.headers["X-RateLimit-Remaining"]) >= 0
        assert "Location" in stored.headers
        assert paths(api.post("/media/v2/assets", files={"meta": files["meta"]})) == ["/body/file"]
        files["meta"] = (None, json.dumps({"title": ""}), "application/json")
        assert paths(api.post("/media/v2/assets", files=files)) == ["/body/meta/title"]
        png = api.get(f"{ASSET}/content")
        assert png.status_code == 200 and png.headers["Content-Type"] == "image/png"
        assert api.put(f"{ASSET}/content", data=b"\x00\x01",
                       headers={"Content-Type": "application/octet-stream"}).status_code == 204
        assert api.put(f"{ASSET}/caption", data="hello", headers={"Content-Type": "text/plain"}).status_code == 200
        long = api.put(f"{ASSET}/caption", data="x" * 300, headers={"Content-Type": "text/plain"})
        assert long.status_code == 400 and paths(long) == ["/body"]
        assert paths(api.get("/media/v2/assets/not-a-uuid")) == ["/path/assetId"]


def test_events_reads_matrix_label_header_arrays_and_cookies() -> None:
    for api in fake("events30"):
        listed = api.get("/api/calendars/;calendar=team-a/events", cookies={"SESSION": "s", "tz": "UTC"},
                         headers={"X-Fields": "title,start"})
        assert listed.status_code == 200 and "reminder_url" not in listed.json()[0]  # writeOnly: never answered
        assert paths(api.get("/api/calendars/team-a/events", cookies={"SESSION": "s"})) == ["/path/calendar"]
        assert paths(api.get("/api/calendars/;calendar=a/events", cookies={"SESSION": "s"},
                             headers={"X-Fields": "title,colour"})) == ["/header/X-Fields/1"]
        assert paths(api.get("/api/calendars/;calendar=a/events", cookies={"SESSION": "s", "tz": "x" * 50})) == [
            "/cookie/tz"]
        assert api.get("/api/calendars/;calendar=a/events").status_code == 401
        created = api.post("/api/calendars/;calendar=a/events", headers=BEARER,
                           json={"title": "Standup", "start": "2024-01-01T10:00:00Z", "reminder_url": "https://x.io/"})
        assert created.status_code == 201
        assert api.get("/api/rooms/.1,2").status_code == 200
        assert paths(api.get("/api/rooms/.1,x")) == ["/path/ids"]  # an item's text: the parameter, as in 2.0


def test_chat_validates_2020_12_and_keeps_problem_json() -> None:
    for api in fake("chat31"):
        thread = "/v3/threads/T000ABC/messages"
        page = api.get(thread, params={"before": "null", "limit": "5"}, headers=BEARER)
        assert page.status_code == 200 and page.json()["messages"][0]["kind"] == "message"
        assert paths(api.get(thread, params={"limit": "0"}, headers=BEARER)) == ["/query/limit"]  # exclusiveMinimum 0
        assert api.post(thread, json={"text": "hi", "reply_to": None}, headers=BEARER).status_code == 201
        bad = api.post(thread, json={"text": "", "reply_to": "X", "attachments": [{"url": 3}], "x": 1}, headers=BEARER)
        assert bad.status_code == 400 and bad.headers["Content-Type"] == "application/problem+json"
        detail = bad.json()["detail"]  # the spec's own Problem (no errors[]): every field named in its detail
        for field in ("/body/attachments/0/url must be a string", "/body/reply_to", "/body/text",
                      "/body/x is not a known field"):
            assert field in detail, detail
        assert api.get(thread).status_code == 401


def test_inventory_conditionals_dependent_fields_and_family() -> None:
    for api in fake("inventory31"):
        book = {"sku": "ABC-1234", "kind": "book", "name": "n", "price": 3, "isbn": "9780000000000"}
        assert api.post("/api/v1/products", json=book, headers=BEARER).status_code == 201
        gadget = {"sku": "ABC-1234", "kind": "gadget", "name": "n", "price": 0, "battery": True, "discount": 0.1}
        refused = api.post("/api/v1/products", json=gadget, headers=BEARER)
        assert sorted(paths(refused)) == ["/body/battery_kind", "/body/discount_reason", "/body/price"]
        assert paths(api.post("/api/v1/products", json={**book, "isbn": "1"}, headers=BEARER)) == ["/body/isbn"]
        adjusted = api.patch("/api/v1/stock/ABC-1234", json={"delta": 0, "extra": 1}, headers=BEARER)
        assert sorted(paths(adjusted)) == ["/body/delta", "/body/extra"]
        assert api.patch("/api/v1/stock/ABC-1234", json={"delta": 2}, headers=BEARER).status_code == 200


def test_maps_json_parameter_deep_object_and_csv() -> None:
    for api in fake("maps31"):
        query = {"near": '{"lat": 1, "lon": 2}', "bbox[north]": "3", "kinds": "cafe bar"}
        found = api.get("/maps/places", params=query)
        assert found.status_code == 200 and found.json()[0]["name"] == "Cafe Nero"
        assert sorted(paths(api.get("/maps/places", params={"near": '{"lat": 100}'}))) == [
            "/query/near/lat", "/query/near/lon"]
        assert paths(api.get("/maps/places", params={"near": "{"})) == ["/query/near"]
        assert paths(api.get("/maps/places", params={"kinds": "a a"})) == ["/query/kinds"]  # uniqueItems
        csv = api.get("/maps/places", headers={"Accept": "text/csv"})
        assert csv.headers["Content-Type"].startswith("text/csv") and csv.text.startswith("id,name")
        key = {"label": "l", "secret": "0123456789abcdef"}
        assert paths(api.post("/maps/keys?key=k", json=key)) == ["/body/scopes"]  # dependentSchemas
        made = api.post("/maps/keys?key=k", json={"label": "l", "secret": "0123456789abcdef", "scopes": []})
        assert made.status_code == 201 and "secret" not in made.json()


def test_split_spec_resolves_across_files() -> None:
    spec = load_spec(SPECS / "split31.yaml")
    assert {"Order", "Line", "Failure", "Local"} <= set(spec.definitions)
    assert {str(p) for p in spec.files} == {str(SPECS / "split31.yaml"), str(SPECS / "split31-common.yaml")}
    for api in fake("split31"):  # with its stateful handlers (fixtures/oas3/fakes/split31.py)
        assert api.get("/v1/orders").json() == []
        assert paths(api.post("/v1/orders", json={"lines": [{"sku": "a", "qty": 0}]})) == ["/body/lines/0/qty"]
        placed = api.post("/v1/orders", json={"lines": [{"sku": "a", "qty": 2}], "note": None})
        assert placed.status_code == 201 and placed.json()["id"] == 1
        assert api.get("/v1/orders").json() == [placed.json()]
        assert api.get("/v1/orders/1").json() == placed.json()
        assert api.get("/v1/orders/9").json() == {"reason": "no order 9"}
        assert paths(api.get("/v1/orders/0")) == ["/path/orderId"]
        assert api.get("/__fake__/state").json()["orders"][0]["lines"] == [{"sku": "a", "qty": 2}]


@pytest.fixture(scope="module")
def chat_cli() -> Iterator[str]:
    """``macaron fake fixtures/oas3/chat31.yaml`` as a user runs it."""
    port = free_port()
    command = [sys.executable, "-m", "macaron", "fake", str(SPECS / "chat31.yaml"), "--port", str(port)]
    process = subprocess.Popen(command,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(url + "/__fake__/ping", timeout=2)
                break
            except requests.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"the fake did not start: {process.stdout.read() if process.stdout else ''}")
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_macaron_fake_serves_a_3_1_spec_with_faults_and_recording(chat_cli: str) -> None:
    api = Api(chat_cli)
    thread = "/v3/threads/T000ABC/messages"
    assert api.post("/__fake__/faults", json={"operation": "postMessage", "status": 503, "times": 1}).status_code < 300
    faulted = api.post(thread, json={"text": "hi"}, headers=BEARER)
    assert faulted.status_code == 503 and faulted.headers["Content-Type"].startswith("application/problem+json")
    assert api.post(thread, json={"text": "hi"}, headers=BEARER).status_code == 201
    recorded = api.get("/__fake__/requests", params={"operation": "postMessage"}).json()
    assert [r["status"] for r in recorded] == [503, 201]
    assert recorded[0]["headers"].get("Authorization") is None  # credentials only as fingerprints
