"""Request bodies of the types an operation declares in ``consumes``: JSON (and ``+json``)
parsed and validated, other types handed to the handler raw; 415 only for undeclared types."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient

from .._speckit import fake_app, service_app

SPEC = """\
paths:
  /notes:
    post:
      consumes: [application/json, application/xml, text/plain]
      parameters: [{name: note, in: body, required: true, schema: {$ref: '#/definitions/Note'}}]
      responses: {200: {description: ok, schema: {type: object}}}
  /text:
    post:
      consumes: [text/plain]
      parameters: [{name: text, in: body, schema: {type: string, maxLength: 5}}]
      responses: {200: {description: ok, schema: {type: object}}}
  /blobs:
    put:
      consumes: [application/octet-stream, image/*]
      parameters: [{name: data, in: body, required: true, schema: {type: string, format: binary}}]
      responses: {200: {description: ok, schema: {type: object}}}
  /vendor:
    post:
      consumes: [application/vnd.macaron.note+json]
      parameters: [{name: note, in: body, required: true, schema: {$ref: '#/definitions/Note'}}]
      responses: {200: {description: ok, schema: {type: object}}}
  /any:
    post:
      consumes: ['*/*']
      parameters: [{name: body, in: body, schema: {}}]
      responses: {200: {description: ok, schema: {type: object}}}
definitions:
  Note:
    type: object
    required: [text]
    properties: {text: {type: string}}
"""
HANDLERS = """\
def _seen(value):
    if isinstance(value, bytes):
        return {"bytes": value.hex()}
    if isinstance(value, str):
        return {"str": value}
    return {"json": value.to_json() if hasattr(value, "to_json") else value}

def post_notes(note):
    return _seen(note)

def post_text(text=None):
    return _seen(text)

def put_blobs(data):
    return _seen(data)

def post_vendor(note):
    return _seen(note)

def post_any(body=None):
    return _seen(body)
"""


@pytest.fixture
def api(tmp_path: Path) -> FlaskClient:
    return service_app(tmp_path, SPEC, HANDLERS, config="port: 9999\nmax_body_bytes: 64\n")


def test_a_declared_xml_or_text_body_reaches_the_handler_as_text(api: FlaskClient) -> None:
    xml = "<note><text>héllo</text></note>"
    assert api.post("/notes", data=xml.encode(), content_type="application/xml").json == {"str": xml}
    assert api.post("/notes", data=b"hi", content_type="text/plain; charset=utf-8").json == {"str": "hi"}
    assert api.post("/notes", data="hé".encode("latin-1"), content_type="text/plain; charset=latin-1").json == {
        "str": "hé"
    }
    assert api.post("/notes", data=b'{"text": "a"}', content_type="application/json").json == {"json": {"text": "a"}}


def test_a_json_body_is_still_validated_and_a_text_one_by_a_string_schema(api: FlaskClient) -> None:
    answer = api.post("/notes", data=b"{}", content_type="application/json")
    assert answer.status_code == 400 and answer.json["errors"] == [{"path": "/body/text", "message": "is required"}]
    answer = api.post("/text", data=b"too long", content_type="text/plain")
    assert answer.status_code == 400 and answer.json["errors"][0]["path"] == "/body"
    answer = api.post("/text", data=b"\xff\xfe", content_type="text/plain")
    assert answer.status_code == 400 and answer.json["code"] == "MALFORMED_BODY"


def test_binary_bodies_reach_the_handler_as_bytes(api: FlaskClient) -> None:
    assert api.put("/blobs", data=b"\x00\x01", content_type="application/octet-stream").json == {"bytes": "0001"}
    assert api.put("/blobs", data=b"\x89PNG", content_type="image/png").json == {"bytes": "89504e47"}
    assert api.post("/any", data=b"\x00", content_type="application/x-anything").json == {"bytes": "00"}
    assert api.post("/any", data=b'{"a": 1}', content_type="application/json").json == {"json": {"a": 1}}


def test_vendor_json_is_json(api: FlaskClient) -> None:
    answer = api.post("/vendor", data=b'{"text": "a"}', content_type="application/vnd.macaron.note+json")
    assert answer.json == {"json": {"text": "a"}}
    assert api.post("/vendor", data=b"{}", content_type="application/vnd.macaron.note+json").status_code == 400


def test_undeclared_types_are_415_naming_the_declared_ones(api: FlaskClient) -> None:
    answer = api.post("/text", data=b'"a"', content_type="application/json")
    assert answer.status_code == 415 and "text/plain" in answer.json["detail"]
    assert api.put("/blobs", data=b"x", content_type="text/plain").status_code == 415
    assert api.put("/blobs", data=b"x").status_code == 415  # no Content-Type at all
    assert api.post("/vendor", data=b"{}", content_type="application/xml").status_code == 415


def test_raw_bodies_keep_the_size_limit(api: FlaskClient) -> None:
    answer = api.put("/blobs", data=b"x" * 65, content_type="application/octet-stream")
    assert answer.status_code == 413


def test_a_fake_accepts_what_the_operation_declares(tmp_path: Path) -> None:
    fake = fake_app(tmp_path, SPEC).test_client()
    assert fake.post("/notes", data=b"<note/>", content_type="application/xml").status_code == 200
    assert fake.put("/blobs", data=b"\x00", content_type="application/octet-stream").status_code == 200
    assert fake.post("/text", data=b"{}", content_type="application/json").status_code == 415
