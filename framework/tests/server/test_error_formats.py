"""A service's errors in the format its spec declares (``fixtures/tallies``): written into the declared
schema where it takes no problem+json, problem+json everywhere else; start-up stops where neither
can be answered validly. Also the status a handler answers when it names none."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from macaron import Service, SpecError, create_app
from macaron._server.builtins import served_spec
from macaron.testing._fuzz import fuzz_app

from ..conftest import FIXTURES

TALLIES = FIXTURES / "tallies"


def tallies() -> Service:
    return Service.load(TALLIES, environ={"MACARON_LOG_LEVEL": "CRITICAL"})


@pytest.fixture
def app() -> FlaskClient:
    return create_app(tallies()).test_client()


def test_errors_are_written_into_the_declared_schema_of_their_status_or_default(app: FlaskClient) -> None:
    missing = app.get("/tallies/nope")
    assert missing.status_code == 404 and missing.content_type == "application/json"
    assert missing.get_json() == {"code": 404, "message": "no tally named nope"}
    bad = app.get("/tallies/far-too-long")  # 400 is not declared: default's Error
    assert bad.status_code == 400 and bad.get_json() == {
        "code": 400, "message": "1 field of the request breaks the spec: /path/name must be shorter than or equal "
                                "to 8 characters"}
    failed = app.get("/tallies/boom")
    assert failed.status_code == 500 and failed.get_json()["code"] == 500
    assert failed.get_json()["message"].startswith("an internal error occurred; quote request id")
    refused = app.put("/tallies/x", json={"count": -1})
    assert refused.status_code == 400 and refused.get_json()["message"].endswith("/body/count must be bigger than "
                                                                                   "or equal to 0")


def test_problem_json_stays_where_the_spec_declares_problems_or_nothing(app: FlaskClient) -> None:
    problem = app.get("/problems/x")
    assert problem.status_code == 404 and problem.content_type == "application/problem+json"
    assert problem.get_json()["code"] == "NOT_FOUND"
    unsupported = app.put("/tallies/x", data="1", content_type="text/plain")  # setTally declares no 415, no default
    assert unsupported.status_code == 415 and unsupported.content_type == "application/problem+json"


def test_both_dispatch_paths_answer_an_error_alike(app: FlaskClient) -> None:
    head = app.head("/tallies/nope")  # HEAD takes Flask's own dispatch
    assert head.status_code == 404 and head.content_type == "application/json"


def test_the_served_spec_keeps_an_operation_with_default_as_written() -> None:
    doc = served_spec(tallies())
    get, put = doc["paths"]["/tallies/{name}"]["get"], doc["paths"]["/tallies/{name}"]["put"]
    assert set(get["responses"]) == {"200", "404", "default"}
    assert put["responses"]["400"]["schema"] == {"$ref": "#/definitions/Error"}
    assert put["responses"]["415"]["schema"] == {"$ref": "#/definitions/Problem"}


def test_a_handler_naming_no_status_answers_the_one_declared() -> None:
    client = create_app(tallies()).test_client()
    assert client.get("/total").status_code == 200  # only default: 200, as default describes it
    retired = client.get("/retired")  # only 410
    assert retired.status_code == 410 and retired.get_json() == {"code": 410, "message": "tallies are retired"}


def test_start_up_stops_where_an_error_schema_takes_neither_a_problem_nor_a_written_error(tmp_path: Path) -> None:
    shutil.copytree(TALLIES, tmp_path / "tallies")
    spec = tmp_path / "tallies" / "api.yaml"
    spec.write_text(spec.read_text().replace(
        "default: {description: Any other error., schema: {$ref: '#/definitions/Error'}}",
        "default: {description: Any other error., schema: {type: string, pattern: '^[^a-z]+$'}}"))
    with pytest.raises(SpecError, match=r"getTally \(GET /tallies/\{name\}\): the default response's schema does "
                                        r"not take a problem\+json error body, and errors cannot be written"):
        create_app(Service.load(tmp_path / "tallies", environ={"MACARON_LOG_LEVEL": "CRITICAL"}))


def test_fuzzing_the_service_finds_nothing_breaking_its_spec() -> None:
    service = tallies()
    report = fuzz_app(service, create_app(service), seed=0, max_examples=10)
    assert report.ok, report.summary()
    assert {200, 400, 404, 410} <= set(report.statuses)
