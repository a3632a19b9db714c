"""Specs written the way public Swagger 2.0 APIs are (``fixtures/swagger2/``: integer status
keys, no operationIds, templates inside segments, HTTP Basic, XML/text/binary bodies, readOnly,
nullable and nested query parameters) load, are served as fakes and answer."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from macaron import Service, create_app, load_spec
from macaron._local.fakes import create_fake_app
from macaron.testing import Api, free_port, serve_app

SPECS = Path(__file__).parents[1] / "fixtures" / "swagger2"
BASIC = {"Authorization": "Basic " + base64.b64encode(b"AC01234567:token").decode()}
SID = "AC0123abcd"


def fake(name: str) -> Iterator[Api]:
    with serve_app(create_fake_app(SPECS / f"{name}.yaml")) as url:
        yield Api(url)


@pytest.mark.parametrize("name", ["telephony", "pets", "rides", "content", "uploads"])
def test_each_spec_loads_with_every_operation_named(name: str) -> None:
    spec = load_spec(SPECS / f"{name}.yaml")
    assert spec.operations and all(op.operation_id.isidentifier() for op in spec.operations)
    assert all(set(op.responses) <= {"default"} | {str(n) for n in range(100, 600)} for op in spec.operations)


@pytest.fixture(scope="module")
def telephony() -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``macaron fake fixtures/swagger2/telephony.yaml`` as a user runs it."""
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "macaron", "fake", str(SPECS / "telephony.yaml"), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )
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
        yield url, process
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_telephony_fake_answers_calls_with_basic_credentials(telephony: tuple[str, subprocess.Popen[str]]) -> None:
    api = Api(telephony[0])
    calls = f"/2010-04-01/Accounts/{SID}/Calls.json"
    listed = api.get(calls, params={"PageSize": "5"}, headers=BASIC)
    assert listed.status_code == 200 and listed.json()["calls"][0]["status"] == "queued"
    created = api.post(calls, data={"To": "+15550100", "From": "+15550199", "Timeout": "null"}, headers=BASIC)
    assert created.status_code == 201 and created.json()["sid"] == "CA0123abcd"
    assert api.get(f"/2010-04-01/Accounts/{SID}/Calls/CA1.json", headers=BASIC).status_code == 200
    assert api.delete(f"/2010-04-01/Accounts/{SID}/Calls/CA1.json", headers=BASIC).status_code == 204
    assert api.get(calls, headers={"Authorization": "Bearer a.b.c"}).status_code == 401
    assert api.get("/2010-04-01/Accounts/nope/Calls.json", headers=BASIC).status_code == 400
    refused = api.put(calls, headers=BASIC)
    assert refused.status_code == 405 and refused.headers["Allow"] == "GET, HEAD, OPTIONS, POST"
    recorded = api.get("/__fake__/requests", params={"operation": "post_accounts_account_sid_calls_json"}).json()
    assert len(recorded) == 1


def test_pets_fake_takes_json_or_xml_and_never_a_client_set_id() -> None:
    for api in fake("pets"):
        assert api.get("/api/pets", params={"tags": "a,b", "limit": "null"}).json()[0]["name"] == "rex"
        assert api.post("/api/pets", json={"name": "rex"}).status_code == 200
        assert api.post("/api/pets", json={"id": 3, "name": "rex"}).status_code == 400  # readOnly
        xml = api.post("/api/pets", data="<pet><name>rex</name></pet>", headers={"Content-Type": "application/xml"})
        assert xml.status_code == 200
        assert api.post("/api/pets", data="rex", headers={"Content-Type": "text/plain"}).status_code == 415
        assert api.get("/api/pets/1").json()["id"] == 1
        assert api.delete("/api/pets/1").status_code == 204


def test_rides_fake_splits_formats_and_nested_routes() -> None:
    for api in fake("rides"):
        bearer = {"Authorization": "Bearer anything"}
        products = api.get("/v1/products.json", params={"latitude": "37.7", "longitude": "-122.4", "seats": "null"},
                           headers=bearer)
        assert products.status_code == 200 and products.json()[0]["display_name"] == "Pool"
        assert api.get("/v1/products.xml", params={"latitude": "1", "longitude": "2"}, headers=BASIC).status_code == 200
        csv = api.get("/v1/products.csv", params={"latitude": "1", "longitude": "2"}, headers=bearer)
        assert csv.status_code == 400 and csv.json()["errors"][0]["path"] == "/path/ext"  # not in its enum
        route = api.get("/v1/estimates/price", params={"route": "37.7,-122.4|37.8,-122.3"}, headers=bearer)
        assert route.status_code == 200
        bad = api.get("/v1/estimates/price", params={"route": "37.7|37.8,-122.3"}, headers=bearer)
        assert bad.status_code == 400 and bad.json()["errors"][0]["path"] == "/query/route/0"
        patched = api.patch("/v1/me", data='{"first_name": "Ada", "promo_code": null}', headers={
            **bearer, "Content-Type": "application/merge-patch+json"})
        assert patched.status_code == 200
        assert api.get("/v1/me").status_code == 401


def test_content_fake_routes_language_slugs_and_takes_text() -> None:
    for api in fake("content"):
        article = api.get("/es/getting-covered.json")
        assert article.status_code == 200 and article.json()["updated"] == "2014-01-01"
        assert api.get("/fr/getting-covered.json").status_code == 400  # lang's enum
        assert api.get("/api/articles.xml").status_code == 200
        thanks = api.post("/feedback", data="Muy útil".encode(), headers={"Content-Type": "text/plain; charset=utf-8"})
        assert thanks.status_code == 202
        too_long = api.post("/feedback", data="x" * 501, headers={"Content-Type": "text/plain"})
        assert too_long.status_code == 400


def test_uploads_fake_stores_binary_and_filters_with_empty_values() -> None:
    for api in fake("uploads"):
        stored = api.put("/media/files/cat.png", data=b"\x89PNG\r\n", headers={**BASIC, "Content-Type": "image/png"})
        assert stored.status_code == 201 and stored.json()["name"] == "cat.png"
        assert api.put("/media/files/cat.png", data=b"x", headers={"Content-Type": "image/png"}).status_code == 401
        listed = api.get("/media/files", params=[("kind", "image"), ("kind", "text"), ("q", ""), ("grid", "1,2 3")])
        assert listed.status_code == 200
        assert api.get("/media/files", params={"kind": "audio"}).status_code == 400
        assert api.get("/media/files", params={"kind": ""}).status_code == 400  # no allowEmptyValue on kind


PET_HANDLERS = '''\
PETS = {1: {"id": 1, "name": "rex"}}


def get_pets(tags=None, limit=None):
    return list(PETS.values())[: limit or None]


def post_pets(pet):
    name = pet if isinstance(pet, str) else pet.name  # XML arrives as the text sent
    PETS[len(PETS) + 1] = {"id": len(PETS) + 1, "name": name}
    return PETS[len(PETS)]


def get_pets_id(id):
    return PETS[id]


def delete_pets_id(id):
    PETS.pop(id, None)
    return None, 204
'''


def test_a_service_serves_the_pets_spec_with_handlers_named_after_method_and_path(tmp_path: Path) -> None:
    directory = tmp_path / "pets"
    directory.mkdir()
    (directory / "service.yaml").write_text("port: 9999\n")
    (directory / "api.yaml").write_text((SPECS / "pets.yaml").read_text())
    (directory / "handlers.py").write_text(PET_HANDLERS)
    with serve_app(create_app(Service.load(directory, environ={}))) as url:
        api = Api(url)
        assert api.post("/api/pets", json={"name": "tom"}).json() == {"id": 2, "name": "tom"}
        assert api.post("/api/pets", data="<pet/>", headers={"Content-Type": "application/xml"}).json()["id"] == 3
        assert api.get("/api/pets", params={"limit": "null"}).json()[1] == {"id": 2, "name": "tom"}
        assert api.get("/api/pets/2").json() == {"id": 2, "name": "tom"}
        assert api.delete("/api/pets/2").status_code == 204
        assert api.post("/api/pets/2").headers["Allow"] == "DELETE, GET, HEAD, OPTIONS"
