"""A fake answers only as its spec declares: statuses, error formats, media types (XML, vendor
JSON, files), typed headers and discriminated bodies (specs in ``fixtures/fakes`` and inline)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask.testing import FlaskClient
from macaron._core.schema import SchemaCompiler
from macaron._core.spec import load_spec
from macaron._local.fakes import create_fake_app
from macaron._local.fakexml import from_xml

SPECS = Path(__file__).parents[1] / "fixtures" / "fakes"
KEY = {"X-Api-Key": "k"}


def fake(name: str) -> FlaskClient:
    return create_fake_app(SPECS / f"{name}.yaml").test_client()


def valid(name: str, definition: str, value: Any) -> bool:
    spec = load_spec(SPECS / f"{name}.yaml")
    return SchemaCompiler(spec.definitions).validator({"$ref": f"#/definitions/{definition}"}).is_valid(value)


def write_spec(tmp_path: Path, paths: dict[str, Any], **extra: Any) -> Path:
    path = tmp_path / "api.yaml"
    path.write_text(yaml.safe_dump({"swagger": "2.0", "info": {"title": "t", "version": "1"}, "paths": paths,
                                    **extra}))
    return path


# 4. Errors in the error format the spec declares


def test_a_bad_request_is_answered_in_the_error_schema_declared_for_400() -> None:
    answer = fake("ledger").post("/api/entries", json={"amount": "ten", "currency": "EUR"}, headers=KEY)
    assert answer.status_code == 400 and answer.content_type == "application/json"
    body = answer.get_json()
    assert body["code"] == 400 and "/body/amount must be a number" in body["message"]
    assert "/body/amount must be a number" in body["fields"] and valid("ledger", "Error", body)


def test_errors_fall_back_to_the_default_response_and_missing_credentials_too() -> None:
    ledger = fake("ledger")
    bad = ledger.get("/api/entries?limit=0", headers=KEY)  # listEntries declares only 200 and default
    assert bad.status_code == 400 and bad.get_json()["code"] == 400 and valid("ledger", "Error", bad.get_json())
    anonymous = ledger.get("/api/entries/3")  # 401 declared with the Error schema, no example
    assert anonymous.status_code == 401 and anonymous.content_type == "application/json"
    assert anonymous.get_json() == {"code": 401, "message": "credentials are missing"}


def test_nested_error_objects_and_field_lists_are_filled_by_their_common_names() -> None:
    answer = fake("fleet").post("/vehicles", json={"plate": "X", "vehicleType": "Truck"})
    assert answer.status_code == 400
    error = answer.get_json()["error"]
    assert error["status"] == 400 and "/body/plate" in error["reason"]
    assert {"field": "payloadKg", "issue": "is required"} in error["details"]
    assert {d["field"] for d in error["details"]} == {"plate", "payloadKg"}


def test_injected_faults_take_the_declared_schema_and_undeclared_errors_are_problems_in_a_listed_type(
    tmp_path: Path,
) -> None:
    """An error the operation declares no response for is a problem body, labelled with the JSON
    media type the operation produces (``application/json`` here), not one the spec never lists."""
    ledger = fake("ledger")
    ledger.post("/__fake__/faults", json={"operation": "listEntries", "status": 503})
    fault = ledger.get("/api/entries", headers=KEY)
    assert fault.status_code == 503 and fault.get_json() == {"code": 503, "message": "injected fault 503"}
    spec = write_spec(tmp_path, {"/things": {"get": {"operationId": "listThings", "parameters": [
        {"name": "n", "in": "query", "type": "integer"}], "responses": {
        "200": {"description": "ok", "schema": {"type": "array", "items": {"type": "string"}}},
        "404": {"description": "none (no body)"}}}}})
    app = create_fake_app(spec).test_client()
    undeclared = app.get("/things?n=x")
    assert undeclared.status_code == 400 and undeclared.content_type == "application/json"
    assert undeclared.get_json()["code"] == "VALIDATION_ERROR" and "/query/n" in str(undeclared.get_json())
    app.post("/__fake__/faults", json={"status": 404})
    empty = app.get("/things")
    assert empty.status_code == 404 and empty.data == b"" and "Content-Type" not in empty.headers


def test_a_plain_text_error_schema_gets_the_message(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, {"/echo": {"post": {"operationId": "echo", "consumes": ["application/json"],
                                                    "produces": ["text/plain"], "parameters": [
        {"name": "body", "in": "body", "required": True, "schema": {"type": "object", "required": ["say"]}}],
        "responses": {"200": {"description": "ok", "schema": {"type": "string"}},
                      "default": {"description": "error text", "schema": {"type": "string"}}}}}})
    answer = create_fake_app(spec).test_client().post("/echo", json={})
    assert answer.status_code == 400 and answer.content_type.startswith("text/plain")
    assert answer.text == "1 field of the request breaks the spec: /body/say is required"


def test_a_spec_declaring_problems_gets_them_as_problem_json_with_declared_headers() -> None:
    notes = fake("notes")
    basic = {"Authorization": "Basic bm90ZXM6bm90ZXM="}
    bad = notes.get("/notes/v3/notes?since=yesterday", headers=basic)
    assert bad.status_code == 400 and bad.content_type == "application/problem+json"
    assert bad.get_json() == {"type": "urn:macaron:problem:VALIDATION_ERROR", "title": "Request Validation Failed",
                              "status": 400, "detail": "1 field of the request breaks the spec: /query/since must "
                                                       "be date"}
    notes.post("/__fake__/faults", json={"operation": "listNotes", "status": 429})
    limited = notes.get("/notes/v3/notes", headers=basic)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert limited.get_json()["title"] == "Too Many Requests"


# 5. No invented statuses


def test_an_operation_declaring_only_default_answers_200_with_its_body() -> None:
    answer = fake("ledger").delete("/api/entries/7", headers=KEY)
    assert answer.status_code == 200 and answer.get_json() == {"ok": True, "note": "string"}


def test_an_operation_declaring_only_404_answers_404_with_a_body_valid_for_it() -> None:
    answer = fake("ledger").get("/api/archive")
    assert answer.status_code == 404 and answer.content_type == "application/json"
    assert answer.get_json() == {"code": 404, "message": "Archives are never kept online."}
    assert valid("ledger", "Error", answer.get_json())


def test_an_operation_declaring_only_a_redirect_answers_it_with_its_location() -> None:
    moved = fake("notes").get("/notes/v3/legacy/42")
    assert moved.status_code == 301 and moved.headers["Location"] == "https://example.com/" and moved.data == b""


# 6. Typed response headers


def test_response_headers_are_valid_for_their_declared_types() -> None:
    headers = fake("ledger").get("/api/entries", headers=KEY).headers
    assert int(headers["X-Rate-Limit-Remaining"]) >= 0 and float(headers["X-Balance"]) == 1.0
    assert dt.datetime.fromisoformat(headers["X-Expires-After"].replace("Z", "+00:00")).tzinfo is not None
    assert headers["X-Partial"] in ("true", "false") and dt.date.fromisoformat(headers["X-Request-Date"])
    assert headers["X-Entry-Ids"] == "1,2"
    tags = headers["X-Tags"].split("|")
    assert len(tags) == 2 and all(0 < len(t) <= 8 for t in tags)
    entry = {"amount": 2, "currency": "EUR"}  # id and booked are readOnly: a request must not send them
    assert fake("ledger").post("/api/entries", json=entry, headers=KEY).headers["Location"] == "https://example.com/"


# 7. Media types


def test_xml_is_answered_where_xml_is_produced_written_by_its_hints() -> None:
    answer = fake("catalog").get("/v0/books")
    assert answer.status_code == 200 and answer.content_type == "application/xml; charset=utf-8"
    assert answer.data.startswith(b"<?xml") and b'<cat:shelf xmlns:cat="https://catalog.example.com/ns"' in answer.data
    assert b"<books><book isbn=" in answer.data and b"<author>" in answer.data
    spec = load_spec(SPECS / "catalog.yaml")
    shelf = from_xml(answer.data, {"$ref": "#/definitions/Shelf"}, spec.definitions)
    assert valid("catalog", "Shelf", shelf) and shelf["books"][0]["authors"] == ["string"]


def test_errors_and_accept_negotiation_follow_the_declared_media_types() -> None:
    catalog = fake("catalog")
    bad = catalog.get("/v0/books?shelf=poetry")
    assert bad.status_code == 400 and bad.content_type.startswith("application/xml")
    assert b"<fault><reason>1 field of the request breaks the spec" in bad.data and b"<status>400</status>" in bad.data
    as_json = catalog.get("/v0/books/9780000000001", headers={"Accept": "application/json"})
    assert as_json.content_type == "application/json" and as_json.get_json()["isbn"] == "string"
    as_xml = catalog.get("/v0/books/9780000000001", headers={"Accept": "application/xml"})
    assert as_xml.content_type.startswith("application/xml") and as_xml.data.count(b"<book ") == 1


def test_vendor_json_is_labelled_as_declared_and_files_are_bytes_of_their_type() -> None:
    catalog = fake("catalog")
    summary = catalog.get("/v0/books/9780000000001/summary")
    assert summary.content_type == "application/vnd.catalog.summary+json"
    assert summary.get_json() == {"isbn": "string", "title": "string", "pages": 1}
    cover = catalog.get("/v0/books/9780000000001/cover")
    assert cover.status_code == 200 and cover.content_type == "image/png" and cover.data.startswith(b"\x89PNG")
    jpeg = catalog.get("/v0/books/9780000000001/cover", headers={"Accept": "image/jpeg"})
    assert jpeg.content_type == "image/jpeg" and jpeg.data.startswith(b"\xff\xd8")


# 10. Discriminators, as the fake sees them


@pytest.mark.parametrize("path", ["/vehicles/AB12", "/vans/AB12"])
def test_generated_bodies_name_a_real_subtype_and_bad_subtypes_are_refused(path: str) -> None:
    fleet = fake("fleet")
    body = fleet.get(path).get_json()
    assert body["vehicleType"] in ("Truck", "ElectricVan") and valid("fleet", body["vehicleType"], body)
    refused = fleet.post("/vehicles", json={"plate": "AB12", "vehicleType": "Truck", "payloadKg": "heavy"})
    assert refused.status_code == 400
    assert refused.get_json()["error"]["details"] == [{"field": "payloadKg", "issue": "must be an integer"}]


def test_an_example_its_schema_refuses_is_passed_over_for_a_generated_body(tmp_path: Path) -> None:
    """Specs carry stale examples (openapi-core's petstore writes JSON text as a YAML string): a fake
    answers only what its schema accepts, so such an example gives way to a generated body."""
    path = tmp_path / "api.yaml"
    pet = {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}}
    path.write_text(yaml.safe_dump({"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {
        "/stale": {"get": {"responses": {"200": {"description": "ok", "content": {"application/json": {
            "schema": pet, "example": '{\n  "id": []\n}\n'}}}}}},
        "/good": {"get": {"responses": {"200": {"description": "ok", "content": {"application/json": {
            "schema": pet, "example": {"id": 42}}}}}}},
    }}))
    client = create_fake_app(path).test_client()
    assert client.get("/stale").get_json() == {"id": 1}
    assert client.get("/good").get_json() == {"id": 42}
