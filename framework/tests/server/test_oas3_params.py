"""OpenAPI 3.x parameters and form bodies as real specs write them: empty query values (3.x
deprecates ``allowEmptyValue``), free-form objects exploded into the query, nested ``deepObject``
form fields (Stripe's API), and header names with an underscore (the Petstore's ``api_key``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests
import yaml
from flask.testing import FlaskClient
from macaron._local.fakes import create_fake_app
from macaron.testing import serve_app

FORM = "application/x-www-form-urlencoded"


def fake(tmp_path: Path, paths: dict[str, Any], **extra: Any) -> Any:
    path = tmp_path / "api.yaml"
    path.write_text(yaml.safe_dump({"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": paths,
                                    **extra}))
    return create_fake_app(path)


def ok(operation: dict[str, Any]) -> dict[str, Any]:
    return {**operation, "responses": {"204": {"description": "ok"}}}


def test_an_empty_query_value_is_an_empty_string_or_list_which_the_schema_still_judges(tmp_path: Path) -> None:
    client: FlaskClient = fake(tmp_path, {"/s": {"get": ok({"parameters": [
        {"name": "q", "in": "query", "schema": {"type": "string"}},
        {"name": "tags", "in": "query", "schema": {"type": "array", "items": {"type": "string"}}},
        {"name": "code", "in": "query", "schema": {"type": "string", "minLength": 2}},
        {"name": "n", "in": "query", "schema": {"type": "integer"}},
        {"name": "strict", "in": "query", "allowEmptyValue": False, "schema": {"type": "string"}},
    ]})}}).test_client()
    assert client.get("/s?q=&tags=").status_code == 204
    assert client.get("/s?code=").status_code == 400
    assert client.get("/s?n=").status_code == 400
    assert client.get("/s?strict=").status_code == 400


def test_a_free_form_exploded_object_takes_the_query_names_no_other_parameter_claims(tmp_path: Path) -> None:
    client: FlaskClient = fake(tmp_path, {"/s": {"get": ok({"parameters": [
        {"name": "limit", "in": "query", "schema": {"type": "integer"}},
        {"name": "filters", "in": "query", "schema": {"type": "object", "additionalProperties": {"type": "integer"}}},
    ]})}}).test_client()
    assert client.get("/s?limit=3&a=1&b=2").status_code == 204
    refused = client.get("/s?limit=3&a=x")
    assert refused.status_code == 400 and refused.get_json()["errors"][0]["path"] == "/query/filters/a"


def test_form_fields_nest_by_brackets_as_deep_object_encoding_says(tmp_path: Path) -> None:
    address = {"type": "object", "additionalProperties": False,
               "properties": {"city": {"type": "string"}, "geo": {"type": "object", "properties": {
                   "lat": {"type": "number"}}}}}
    expand = {"type": "array", "items": {"type": "string"}}
    schema = {"type": "object", "properties": {"address": address, "expand": expand, "name": {"type": "string"}}}
    encoding = {"address": {"style": "deepObject", "explode": True}, "expand": {"style": "deepObject", "explode": True}}
    client: FlaskClient = fake(tmp_path, {"/c": {"post": ok({"requestBody": {"content": {
        FORM: {"schema": schema, "encoding": encoding}}}})}}).test_client()
    body = "name=Ann&address[city]=Paris&address[geo][lat]=48.8&expand[]=a&expand[]=b"
    assert client.post("/c", data=body, content_type=FORM).status_code == 204
    assert client.post("/c", data="expand[0]=a&expand[1]=b", content_type=FORM).status_code == 204
    refused = client.post("/c", data="address[town]=Paris", content_type=FORM)
    assert refused.status_code == 400
    assert client.post("/c", data="nickname[x]=1", content_type=FORM).status_code == 204  # the schema takes extras


def test_a_header_the_spec_declares_with_an_underscore_reaches_it_and_others_do_not(tmp_path: Path) -> None:
    """Servers drop ``_`` names (they share an environ key with the ``-`` spelling); macaron's keep
    them aside and the app lets in the ones its spec declares — over real HTTP, here werkzeug's."""
    app = fake(tmp_path, {"/pets": {"get": {"security": [{"api_key": []}], "parameters": [
        {"name": "trace_id", "in": "header", "required": True, "schema": {"type": "string", "minLength": 3}}],
        "responses": {"200": {"description": "ok"}, "401": {"description": "no"}}}}},
        components={"securitySchemes": {"api_key": {"type": "apiKey", "in": "header", "name": "api_key"}}})
    with serve_app(app) as url:
        assert requests.get(url + "/pets", headers={"api_key": "k", "trace_id": "abc", "x_other": "1"},
                            timeout=10).status_code == 200
        assert requests.get(url + "/pets", headers={"trace_id": "abc"}, timeout=10).status_code == 401
        short = requests.get(url + "/pets", headers={"api_key": "k", "trace_id": "a"}, timeout=10)
        assert short.status_code == 400 and short.json()["errors"][0]["path"] == "/header/trace_id"
        recorded = requests.get(url + "/__fake__/requests", timeout=10).json()
    assert recorded and all("x-other" not in {k.lower() for k in r["headers"]} for r in recorded)
    assert any("trace-id" in {k.lower() for k in r["headers"]} for r in recorded)


def test_an_empty_body_of_a_media_type_declared_without_a_schema_is_content(tmp_path: Path) -> None:
    """``text/plain: {}`` takes any content, the empty one too (openapi-core's petstore); a media
    type with a schema still needs its body."""
    client: FlaskClient = fake(tmp_path, {"/notes": {"post": ok({"requestBody": {"required": True, "content": {
        "text/plain": {}, "application/json": {"schema": {"type": "object"}}}}})}}).test_client()
    assert client.post("/notes", content_type="text/plain").status_code == 204
    assert client.post("/notes", data="hello", content_type="text/plain").status_code == 204
    refused = client.post("/notes", content_type="application/json")
    assert refused.status_code == 400 and refused.get_json()["errors"][0]["path"] == "/body"


def test_a_form_field_the_schema_does_not_name_is_taken_where_the_schema_takes_it(tmp_path: Path) -> None:
    open_form = {"type": "object", "properties": {"name": {"type": "string"}}}
    closed = {**open_form, "additionalProperties": False}
    client: FlaskClient = fake(tmp_path, {
        "/open": {"post": ok({"requestBody": {"content": {"multipart/form-data": {"schema": open_form}}}})},
        "/closed": {"post": ok({"requestBody": {"content": {"multipart/form-data": {"schema": closed}}}})},
    }).test_client()
    fields = {"name": "a", "colour": "red"}
    assert client.post("/open", data=fields, content_type="multipart/form-data").status_code == 204
    refused = client.post("/closed", data=fields, content_type="multipart/form-data")
    assert refused.status_code == 400 and refused.get_json()["errors"][0]["path"] == "/body/colour"


def test_a_binary_field_sent_as_a_plain_part_is_a_file_of_its_bytes(tmp_path: Path) -> None:
    """curl's ``-F photo=<bytes`` and schemathesis send no filename: the handler still gets a file."""
    from macaron import Service, create_app

    directory = tmp_path / "svc"
    directory.mkdir()
    (directory / "service.yaml").write_text("port: 9999\n")
    (directory / "handlers.py").write_text("def upload(body):\n    return {'size': len(body['photo'].read())}\n")
    (directory / "api.yaml").write_text(yaml.safe_dump({"openapi": "3.1.0", "info": {"title": "t", "version": "1"},
        "paths": {"/up": {"post": {"operationId": "upload", "requestBody": {"content": {"multipart/form-data": {
            "schema": {"type": "object", "properties": {"photo": {"type": "string", "format": "binary"}}}}}},
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {
                "type": "object"}}}}}}}}}))
    client = create_app(Service.load(directory, environ={})).test_client()
    body = b'--B\r\nContent-Disposition: form-data; name="photo"\r\n\r\nPNG-bytes\r\n--B--\r\n'
    answer = client.post("/up", data=body, content_type="multipart/form-data; boundary=B")
    assert answer.status_code == 200 and answer.get_json() == {"size": 9}
