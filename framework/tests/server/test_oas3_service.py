"""A service whose api.yaml is OpenAPI 3.0 or 3.1 (``fixtures/shop30``, ``fixtures/shop31``: the shop
fixture written in each version, plus cookies, styles and a discriminated union), over real HTTP:
the request validation tests the 2.0 shop has (``test_validation.py``) where they apply, then what
only 3.x can say. Errors are problem+json naming each field by its 3.x location."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest
from macaron import Service, create_app
from macaron.testing import Api, assert_problem, serve_app

from ..conftest import FIXTURES, SHOP_ENV


@pytest.fixture(scope="module", params=["shop30", "shop31"])
def api(request: pytest.FixtureRequest) -> Iterator[Api]:
    service = Service.load(FIXTURES / request.param, environ=SHOP_ENV)
    with serve_app(create_app(service)) as url:
        yield Api(url)


def test_query_parameters_are_coerced(api: Api) -> None:
    response = api.get("/items", params=[("limit", "5"), ("tags", "a,b"), ("ids", "1"), ("ids", "2"),
                                         ("sort", "name"), ("price_min", "1.5"), ("in_stock", "true")])
    assert response.status_code == 200, response.text
    assert response.json() == {
        "items": [], "limit": 5,
        "query": {"tags": ["a", "b"], "ids": [1, 2], "sort": "name", "price_min": 1.5, "in_stock": True},
    }


def test_query_default_applies(api: Api) -> None:
    assert api.get("/items").json()["limit"] == 10


def test_every_bad_query_parameter_is_named(api: Api) -> None:
    response = api.get("/items", params={"limit": "500", "ids": "x", "sort": "zz", "price_min": "-1",
                                         "in_stock": "maybe"})
    assert_problem(response, 400, "VALIDATION_ERROR",
                   paths=["/query/limit", "/query/ids", "/query/sort", "/query/price_min", "/query/in_stock"])


def test_path_parameter_type_and_minimum(api: Api) -> None:
    assert api.get("/items/3").json() == {"id": 3, "name": "thing", "price": 1.5}
    assert_problem(api.get("/items/abc"), 400, "VALIDATION_ERROR", paths=["/path/item_id"])
    assert_problem(api.get("/items/0"), 400, "VALIDATION_ERROR", paths=["/path/item_id"])


def test_header_parameter_pattern(api: Api) -> None:
    ok = api.get("/items/3", params={"verbose": "true"}, headers={"X-Trace": "abcd1234"})
    assert ok.json()["name"] == "thing traced abcd1234"
    assert_problem(api.get("/items/3", headers={"X-Trace": "NO!"}), 400, "VALIDATION_ERROR", paths=["/header/X-Trace"])


def test_form_body_and_file(api: Api) -> None:
    ok = api.post("/forms", data={"title": "hello", "count": "3"})
    assert ok.json() == {"title": "hello", "count": 3}, ok.text
    with_file = api.post("/forms", data={"title": "f", "count": "1"},
                         files={"attachment": ("a.txt", io.BytesIO(b"12345"))})
    assert with_file.json() == {"title": "f", "count": 1, "attachment_size": 5}, with_file.text
    bad = api.post("/forms", data={"title": "x" * 30, "count": "many"})
    assert_problem(bad, 400, "VALIDATION_ERROR", paths=["/body/count"])  # typing first, as for JSON
    assert_problem(api.post("/forms", data={"title": "x" * 30, "count": "2"}), 400, "VALIDATION_ERROR",
                   paths=["/body/title"])
    assert_problem(api.post("/forms", data={"count": "1"}), 400, "VALIDATION_ERROR", paths=["/body/title"])
    # a field the schema does not name is taken as the schema says, as in a JSON body (Form does not
    # say additionalProperties: false); framework/tests/server/test_oas3_params.py has the refusal
    assert api.post("/forms", data={"title": "t", "count": "1", "admin": "yes"}).json() == {"title": "t", "count": 1}


def test_form_endpoint_rejects_an_undeclared_content_type(api: Api) -> None:
    assert_problem(api.post("/forms", json={"title": "x", "count": 1}), 415, "UNSUPPORTED_MEDIA_TYPE")


def test_body_required(api: Api) -> None:
    assert_problem(api.post("/items", headers={"Content-Type": "application/json"}), 400, "VALIDATION_ERROR",
                   paths=["/body"])


def test_body_with_nested_model_from_another_file(api: Api) -> None:
    item = {"name": "lamp", "price": 3, "owner": {"email": "a@b.co", "address": {"city": "Paris", "zip": "75001"}}}
    response = api.post("/items", json=item)
    assert response.status_code == 201, response.text
    assert response.json() == {**item, "id": 7}


def test_nested_errors_have_paths(api: Api) -> None:
    item = {"name": "x", "price": 1, "tags": ["ok", 3], "owner": {"email": "a@b.co", "address": {"zip": "1"}}}
    assert_problem(api.post("/items", json=item), 400, "VALIDATION_ERROR",
                   paths=["/body/tags/1", "/body/owner/address/city", "/body/owner/address/zip"])


def test_body_of_wrong_type_and_unknown_fields(api: Api) -> None:
    assert_problem(api.post("/items", json=[1, 2]), 400, "VALIDATION_ERROR", paths=["/body"])
    assert_problem(api.put("/items/3", json={"name": "a", "bogus": 1}), 400, "VALIDATION_ERROR", paths=["/body/bogus"])
    assert api.post("/items", json={"name": "a", "price": 1, "colour": "red"}).json()["colour"] == "red"


def test_nullable_field(api: Api) -> None:
    assert api.post("/items", json={"name": "a", "price": 1, "note": None}).status_code == 201
    assert_problem(api.post("/items", json={"name": "a", "price": None}), 400, "VALIDATION_ERROR",
                   paths=["/body/price"])


def test_read_only_refused_and_write_only_never_answered(api: Api) -> None:
    assert_problem(api.post("/items", json={"id": 3, "name": "a", "price": 1}), 400, "VALIDATION_ERROR",
                   paths=["/body/id"])
    created = api.post("/items", json={"name": "a", "price": 1, "secret": "pw"})
    assert created.status_code == 201 and "secret" not in created.json()
    assert_problem(api.get("/items/666"), 500, "RESPONSE_INVALID")  # the handler answered a writeOnly field


def test_self_referencing_and_all_of_models(api: Api) -> None:
    tree = {"label": "a", "children": [{"label": "b", "children": [{"label": "c"}]}]}
    assert api.post("/trees", json=tree).json() == tree
    bad = {"label": "a", "children": [{"label": "b", "children": [{"label": 3}]}]}
    assert_problem(api.post("/trees", json=bad), 400, "VALIDATION_ERROR", paths=["/body/children/0/children/0/label"])
    assert api.get("/dogs/rex").json() == {"name": "rex", "good": True, "collar": None}
    assert_problem(api.get("/dogs/r"), 400, "VALIDATION_ERROR", paths=["/path/name"])


def test_errors_and_statuses_as_for_2_0(api: Api) -> None:
    assert_problem(api.get("/items/404"), 404, "ITEM_NOT_FOUND")
    assert_problem(api.get("/faults/teapot"), 418, "I_AM_A_TEAPOT")
    assert_problem(api.get("/faults/bad-body"), 500, "RESPONSE_INVALID")
    assert_problem(api.get("/faults/crash"), 500, "INTERNAL_ERROR")
    assert api.delete("/items/3").status_code == 204


def test_cookies_header_arrays_and_object_styles(api: Api) -> None:
    where = json.dumps({"city": "Oslo"})
    seen = api.get("/session", params={"filter[min]": "2", "filter[max]": "9", "point": "x,1.5,y,2", "where": where},
                   headers={"X-Flags": "1,2,3", "Cookie": "sid=abcd; theme=dark"})
    assert seen.status_code == 200, seen.text
    assert seen.json() == {"sid": "abcd", "theme": "dark", "flags": [1, 2, 3], "filter": {"min": 2, "max": 9},
                           "point": {"x": 1.5, "y": 2}, "where": {"city": "Oslo"}}
    assert_problem(api.get("/session"), 400, "VALIDATION_ERROR", paths=["/cookie/sid"])
    bad = api.get("/session", params={"filter[min]": "two", "point": "x,1,y", "where": "{"},
                  headers={"X-Flags": "1,a", "Cookie": "sid=ab; theme=pink"})
    assert_problem(bad, 400, "VALIDATION_ERROR",
                   paths=["/cookie/sid", "/cookie/theme", "/header/X-Flags", "/query/filter/min", "/query/point",
                          "/query/where"])
    assert_problem(api.get("/session", params={"where": '{"town": 1}'}, headers={"Cookie": "sid=abcd"}), 400,
                   "VALIDATION_ERROR", paths=["/query/where/city"])


def test_label_path_pipe_query_and_a_discriminated_union(api: Api) -> None:
    shapes = api.get("/shapes/.1.2", params={"colour": "red|blue"})
    assert shapes.json() == [{"kind": "circle", "radius": 1.0}, {"kind": "square", "side": 2.0}], shapes.text
    assert_problem(api.get("/shapes/1,2"), 400, "VALIDATION_ERROR", paths=["/path/ids"])  # no label dot
    circle = api.post("/shapes", json={"kind": "circle", "radius": 2})
    assert circle.status_code == 201 and circle.headers["X-Model"] == "Circle"
    assert float(circle.headers["X-Shape-Area"]) == pytest.approx(12.566)
    assert api.post("/shapes", json={"kind": "square", "side": 3}).headers["X-Model"] == "Square"
    # the tag decides which member validates: a circle's errors, not "valid under none of oneOf"
    assert_problem(api.post("/shapes", json={"kind": "circle", "radius": 0}), 400, "VALIDATION_ERROR",
                   paths=["/body/radius"])
    assert_problem(api.post("/shapes", json={"kind": "circle"}), 400, "VALIDATION_ERROR", paths=["/body/radius"])
    assert_problem(api.post("/shapes", json={"kind": "hexagon"}), 400, "VALIDATION_ERROR", paths=["/body/kind"])
    assert_problem(api.post("/shapes", json={"side": 1}), 400, "VALIDATION_ERROR", paths=["/body/kind"])


def test_declared_response_headers_are_checked(api: Api) -> None:
    square = {"kind": "square", "side": 2}
    missing = api.post("/shapes", json=square, headers={"X-Break-Header": "missing"})
    assert_problem(missing, 500, "RESPONSE_INVALID")
    assert_problem(api.post("/shapes", json=square, headers={"X-Break-Header": "text"}), 500, "RESPONSE_INVALID")
    assert api.post("/shapes", json={"kind": "square", "side": 2}).status_code == 201


def test_served_spec_is_the_document_in_its_version(api: Api) -> None:
    served = api.get("/api.json").json()
    version = "3.1" if "3.1" in served["info"]["title"] else "3.0"
    assert served["openapi"].startswith(version) and "swagger" not in served
    assert "definitions" not in served and "Problem" in served["components"]["schemas"]
    responses = served["paths"]["/items"]["post"]["responses"]
    assert responses["400"]["content"]["application/problem+json"]["schema"] == {
        "$ref": "#/components/schemas/Problem"}
    assert "requestBody" in served["paths"]["/items"]["post"]
    assert "/ping" in served["paths"] and "/auth/version" in served["paths"]
    assert ("webhooks" in served) == (version == "3.1")
    assert api.get("/docs").status_code == 200
