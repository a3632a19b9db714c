"""Request validation over real HTTP: every parameter location and type, coerced and checked."""

from __future__ import annotations

import io

from macaron.testing import Api, assert_problem


def test_query_parameters_are_coerced(api: Api) -> None:
    response = api.get(
        "/items",
        params=[
            ("limit", "5"),
            ("tags", "a,b"),
            ("ids", "1"),
            ("ids", "2"),
            ("sort", "name"),
            ("price_min", "1.5"),
            ("in_stock", "true"),
        ],
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "items": [],
        "limit": 5,
        "query": {"tags": ["a", "b"], "ids": [1, 2], "sort": "name", "price_min": 1.5, "in_stock": True},
    }


def test_query_default_applies(api: Api) -> None:
    assert api.get("/items").json()["limit"] == 10


def test_every_bad_query_parameter_is_named(api: Api) -> None:
    response = api.get(
        "/items", params={"limit": "500", "ids": "x", "sort": "zz", "price_min": "-1", "in_stock": "maybe"}
    )
    assert_problem(
        response,
        400,
        "VALIDATION_ERROR",
        paths=["/query/limit", "/query/ids", "/query/sort", "/query/price_min", "/query/in_stock"],
    )


def test_integer_query_rejects_float_text(api: Api) -> None:
    assert_problem(api.get("/items", params={"limit": "2.5"}), 400, "VALIDATION_ERROR", paths=["/query/limit"])


def test_path_parameter_type_and_minimum(api: Api) -> None:
    assert api.get("/items/3").json() == {"id": 3, "name": "thing", "price": 1.5}
    assert_problem(api.get("/items/abc"), 400, "VALIDATION_ERROR", paths=["/path/item_id"])
    assert_problem(api.get("/items/0"), 400, "VALIDATION_ERROR", paths=["/path/item_id"])


def test_header_parameter_pattern(api: Api) -> None:
    ok = api.get("/items/3", params={"verbose": "true"}, headers={"X-Trace": "abcd1234"})
    assert ok.json()["name"] == "thing traced abcd1234"
    assert_problem(api.get("/items/3", headers={"X-Trace": "NO!"}), 400, "VALIDATION_ERROR", paths=["/header/X-Trace"])


def test_form_data_and_file(api: Api) -> None:
    ok = api.post("/forms", data={"title": "hello", "count": "3"})
    assert ok.json() == {"title": "hello", "count": 3}
    with_file = api.post(
        "/forms", data={"title": "f", "count": "1"}, files={"attachment": ("a.txt", io.BytesIO(b"12345"))}
    )
    assert with_file.json() == {"title": "f", "count": 1, "attachment_size": 5}
    bad = api.post("/forms", data={"title": "x" * 30, "count": "many"})
    assert_problem(bad, 400, "VALIDATION_ERROR", paths=["/formData/title", "/formData/count"])
    assert_problem(api.post("/forms", data={"count": "1"}), 400, "VALIDATION_ERROR", paths=["/formData/title"])


def test_form_rejects_undeclared_fields(api: Api) -> None:
    """Regression (fuzzing, negative_data_rejection): a form field the spec does not declare was
    silently ignored, as unknown JSON body fields are not (``additionalProperties: false``)."""
    bad = api.post("/forms", data={"title": "t", "count": "1", "admin": "yes"})
    assert_problem(bad, 400, "VALIDATION_ERROR", paths=["/formData/admin"])
    extra_file = api.post("/forms", data={"title": "t", "count": "1"}, files={"other": ("a.txt", io.BytesIO(b"1"))})
    assert_problem(extra_file, 400, "VALIDATION_ERROR", paths=["/formData/other"])


def test_form_endpoint_rejects_json_content_type(api: Api) -> None:
    assert_problem(api.post("/forms", json={"title": "x", "count": 1}), 415, "UNSUPPORTED_MEDIA_TYPE")


def test_body_required(api: Api) -> None:
    assert_problem(
        api.post("/items", headers={"Content-Type": "application/json"}), 400, "VALIDATION_ERROR", paths=["/body"]
    )


def test_body_with_nested_model_from_another_file(api: Api) -> None:
    item = {"name": "lamp", "price": 3, "owner": {"email": "a@b.co", "address": {"city": "Paris", "zip": "75001"}}}
    response = api.post("/items", json=item)
    assert response.status_code == 201
    assert response.json() == {**item, "id": 7}


def test_nested_errors_have_paths(api: Api) -> None:
    item = {"name": "x", "price": 1, "tags": ["ok", 3], "owner": {"email": "a@b.co", "address": {"zip": "1"}}}
    assert_problem(
        api.post("/items", json=item),
        400,
        "VALIDATION_ERROR",
        paths=["/body/tags/1", "/body/owner/address/city", "/body/owner/address/zip"],
    )


def test_body_of_wrong_type(api: Api) -> None:
    assert_problem(api.post("/items", json=[1, 2]), 400, "VALIDATION_ERROR", paths=["/body"])


def test_unknown_fields_rejected_when_schema_says_so(api: Api) -> None:
    assert_problem(api.put("/items/3", json={"name": "a", "bogus": 1}), 400, "VALIDATION_ERROR", paths=["/body/bogus"])


def test_unknown_fields_kept_when_schema_allows_them(api: Api) -> None:
    response = api.post("/items", json={"name": "a", "price": 1, "colour": "red"})
    assert response.json()["colour"] == "red"


def test_nullable_field(api: Api) -> None:
    assert api.post("/items", json={"name": "a", "price": 1, "note": None}).status_code == 201
    assert_problem(
        api.post("/items", json={"name": "a", "price": None}), 400, "VALIDATION_ERROR", paths=["/body/price"]
    )


def test_self_referencing_model(api: Api) -> None:
    tree = {"label": "a", "children": [{"label": "b", "children": [{"label": "c"}]}]}
    assert api.post("/trees", json=tree).json() == tree
    bad = {"label": "a", "children": [{"label": "b", "children": [{"label": 3}]}]}
    assert_problem(api.post("/trees", json=bad), 400, "VALIDATION_ERROR", paths=["/body/children/0/children/0/label"])


def test_all_of_model(api: Api) -> None:
    assert api.get("/dogs/rex").json() == {"name": "rex", "good": True, "collar": None}
    assert_problem(api.get("/dogs/r"), 400, "VALIDATION_ERROR", paths=["/path/name"])


def test_python_name() -> None:
    from macaron._server.validation import python_name

    assert python_name("X-Trace-Id") == "x_trace_id"
    assert python_name("class") == "class_"
    assert python_name("item_id") == "item_id"
