"""Query and formData parameters as Swagger 2.0 writes them: ``x-nullable`` (``null``),
``allowEmptyValue`` (an empty value refused unless allowed) and nested ``collectionFormat``."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient

from .._speckit import fake_app, service_app

SPEC = """\
paths:
  /search:
    get:
      parameters:
        - {name: n, in: query, type: number, x-nullable: true}
        - {name: tag, in: query, type: string, x-nullable: true}
        - {name: q, in: query, type: string, required: true}
        - {name: status, in: query, type: array, items: {type: string}}
        - {name: empty, in: query, type: string, allowEmptyValue: true}
        - {name: flags, in: query, type: array, items: {type: string}, allowEmptyValue: true}
        - {name: limit, in: query, type: integer, allowEmptyValue: true}
        - {name: m, in: query, type: array, collectionFormat: pipes,
           items: {type: array, items: {type: integer}}}
        - {name: grid, in: query, type: array, collectionFormat: multi,
           items: {type: array, collectionFormat: ssv, items: {type: integer, x-nullable: true}}}
      responses: {200: {description: ok, schema: {type: object}}}
  /form:
    post:
      consumes: [application/x-www-form-urlencoded]
      parameters:
        - {name: age, in: formData, type: integer, x-nullable: true}
        - {name: note, in: formData, type: string}
      responses: {200: {description: ok, schema: {type: object}}}
"""
HANDLERS = """\
def get_search(**kwargs):
    return kwargs

def post_form(**kwargs):
    return kwargs
"""


@pytest.fixture
def api(tmp_path: Path) -> FlaskClient:
    return service_app(tmp_path, SPEC, HANDLERS)


def fields(answer) -> list[str]:
    assert answer.status_code == 400, answer.json
    return [e["path"] for e in answer.json["errors"]]


def test_null_is_the_value_null_of_a_nullable_parameter(api: FlaskClient) -> None:
    assert api.get("/search?q=a&n=null&tag=null").json == {"q": "a", "n": None, "tag": None}
    assert api.get("/search?q=a&n=1.5").json == {"q": "a", "n": 1.5}
    assert fields(api.get("/search?q=null&n=nul")) == ["/query/n"]  # q is not nullable: "null" is text
    assert api.get("/search?q=null").json == {"q": "null"}
    assert api.post("/form", data={"age": "null"}).json == {"age": None}


def test_an_empty_value_is_refused_unless_allow_empty_value(api: FlaskClient) -> None:
    answer = api.get("/search?q=&status=&n=")
    assert fields(answer) == ["/query/n", "/query/q", "/query/status"]
    assert all("allowEmptyValue" in e["message"] for e in answer.json["errors"])
    assert fields(api.get("/search?q")) == ["/query/q"]  # a name without '=' is empty too
    assert fields(api.post("/form", data={"note": ""})) == ["/formData/note"]


def test_allow_empty_value_gives_an_empty_string_list_or_none(api: FlaskClient) -> None:
    answer = api.get("/search?q=a&empty=&flags=&limit=")
    assert answer.json == {"q": "a", "empty": "", "flags": [], "limit": None}


def test_nested_collection_formats_split_outer_then_inner(api: FlaskClient) -> None:
    assert api.get("/search?q=a&m=1,2|3,4").json == {"q": "a", "m": [[1, 2], [3, 4]]}
    assert api.get("/search?q=a&grid=1 2&grid=3 null").json == {"q": "a", "grid": [[1, 2], [3, None]]}
    assert fields(api.get("/search?q=a&m=1,x|3")) == ["/query/m"]


def test_a_fake_reads_parameters_by_the_same_rules(tmp_path: Path) -> None:
    fake = fake_app(tmp_path, SPEC).test_client()
    assert fake.get("/search?q=a&n=null&m=1,2|3,4").status_code == 200
    assert fake.get("/search?q=").status_code == 400
