"""Spec loading: refs across files, validation errors that name file, place and problem."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from macaron import SpecError, SpecWarning, load_spec

FIXTURES = Path(__file__).parents[1] / "fixtures"


def spec_file(tmp_path: Path, doc: dict, name: str = "api.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc))
    return path


def minimal(paths: dict | None = None, **extra) -> dict:
    return {"swagger": "2.0", "info": {"title": "t", "version": "1"}, "paths": paths or {}, **extra}


def op(op_id: str = "getThing", **extra) -> dict:
    return {"operationId": op_id, "responses": {"200": {"description": "ok"}}, **extra}


def test_path_level_parameters_are_merged() -> None:
    spec = load_spec(FIXTURES / "shop" / "api.yaml")
    get_item = next(o for o in spec.operations if o.operation_id == "getItem")
    assert [p["name"] for p in get_item.parameters] == ["item_id", "verbose", "X-Trace"]


def test_invalid_parameter_type_is_named(tmp_path: Path) -> None:
    doc = minimal(
        {"/a/{id}": {"get": op(parameters=[{"name": "id", "in": "path", "required": True, "type": "integr"}])}}
    )
    with pytest.raises(SpecError) as info:
        load_spec(spec_file(tmp_path, doc))
    message = str(info.value)
    assert str(tmp_path / "api.yaml") in message
    assert "'id'" in message and "integr" in message
    assert "paths//a/{id}/get/parameters/0" in message


def unnamed() -> dict:
    return {"responses": {"200": {"description": "ok"}}}


def test_an_operation_without_operation_id_gets_a_name_from_method_and_path(tmp_path: Path) -> None:
    id_param = [{"name": "id", "in": "path", "required": True, "type": "string"}]
    sid_param = [{"name": "AccountSid", "in": "path", "required": True, "type": "string"}]
    doc = minimal({
        "/users/{id}/profile": {"get": {**unnamed(), "parameters": id_param}},
        "/Accounts/{AccountSid}/IncomingPhoneNumbers": {"post": {**unnamed(), "parameters": sid_param}},
        "/user-groups": {"delete": unnamed()},
        "/": {"get": unnamed()},
        "/named": {"get": op("listNamed")},
    })
    spec = load_spec(spec_file(tmp_path, doc))
    names = {(o.method, o.path): (o.operation_id, o.declared) for o in spec.operations}
    assert names == {
        ("get", "/users/{id}/profile"): ("get_users_id_profile", False),
        ("post", "/Accounts/{AccountSid}/IncomingPhoneNumbers"): ("post_accounts_account_sid_incoming_phone_numbers",
                                                                  False),
        ("delete", "/user-groups"): ("delete_user_groups", False),
        ("get", "/"): ("get_root", False),
        ("get", "/named"): ("listNamed", True),
    }
    assert "operationId" not in spec.document["paths"]["/"]["get"]  # the document stays as written


def test_derived_names_that_collide_are_told_apart_whatever_the_order_in_the_file(tmp_path: Path) -> None:
    paths = {
        "/a_b": {"get": unnamed()},
        "/a/b": {"get": unnamed(), "put": unnamed()},
        "/a-b": {"get": unnamed()},
        "/a/b/2": {"get": unnamed()},  # derives get_a_b_2 itself: a suffix never takes it
        "/x": {"get": op("get_y")},
        "/y": {"get": unnamed()},  # its derived name is a written operationId
    }
    expected = {
        ("get", "/a-b"): "get_a_b",
        ("get", "/a/b"): "get_a_b_3",
        ("get", "/a/b/2"): "get_a_b_2",
        ("get", "/a_b"): "get_a_b_4",
        ("put", "/a/b"): "put_a_b",
        ("get", "/x"): "get_y",
        ("get", "/y"): "get_y_2",
    }
    for order in (list(paths), list(reversed(paths))):
        spec = load_spec(spec_file(tmp_path, minimal({k: paths[k] for k in order})))
        assert {(o.method, o.path): o.operation_id for o in spec.operations} == expected


def test_duplicate_operation_id(tmp_path: Path) -> None:
    doc = minimal({"/a": {"get": op("same")}, "/b": {"get": op("same")}})
    with pytest.raises(SpecError, match=r"'same' is also used by GET /a"):
        load_spec(spec_file(tmp_path, doc))


def test_undeclared_path_parameter_is_taken_as_a_required_string_with_a_warning(tmp_path: Path) -> None:
    """connexion's relative_refs fixture and many hand-written specs leave ``{id}`` undeclared: the
    spec loads, the parameter is a required string in the operation and in the served document."""
    doc = minimal({"/a/{id}": {"get": op()}})
    with pytest.warns(SpecWarning, match=r"/a/\{id\}: path parameter \{id\} is not declared; taken as a required"):
        spec = load_spec(spec_file(tmp_path, doc))
    [param] = spec.operations[0].parameters
    assert (param["name"], param["in"], param["required"], param["type"]) == ("id", "path", True, "string")
    assert spec.document["paths"]["/a/{id}"]["get"]["parameters"] == [param]


def test_not_swagger_2(tmp_path: Path) -> None:
    # OpenAPI 3.0 and 3.1 load since issue 17 (tests/core/test_oas3_loading.py); what is neither
    # 2.0 nor 3.0.x/3.1.x is refused naming the field and the supported values
    with pytest.raises(SpecError, match=r"at 'openapi': '3\.2\.0' is not a supported version; supported: "
                                        r"swagger: \"2\.0\", openapi: 3\.0\.x or openapi: 3\.1\.x"):
        load_spec(spec_file(tmp_path, {"openapi": "3.2.0", "info": {}, "paths": {}}))
    with pytest.raises(SpecError, match=r"at 'swagger': '1\.2' is not a supported version"):
        load_spec(spec_file(tmp_path, {"swagger": "1.2", "info": {}, "paths": {}}))
    with pytest.raises(SpecError, match=r"at '/info': "):  # a 3.0 document is meta-validated, naming the place
        load_spec(spec_file(tmp_path, {"openapi": "3.0.0", "info": {}, "paths": {}}))


def write(tmp_path: Path, text: str, name: str = "api.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


HEAD = 'swagger: "2.0"\ninfo: {title: t, version: "1"}\n'


def test_integer_status_keys_load_as_strings(tmp_path: Path) -> None:
    """``200:`` is an int to YAML; Swagger means the status "200" (and a header or a property
    named by a number is that text too)."""
    spec = load_spec(write(tmp_path, HEAD + """\
paths:
  /a:
    get:
      operationId: getA
      responses:
        200:
          description: ok
          schema: {$ref: '#/definitions/A'}
          headers: {404: {type: string}}
        default: {description: other}
definitions:
  A:
    type: object
    properties: {1: {type: string}, on: {type: boolean}, 1.5: {type: string}}
"""))
    (get_a,) = spec.operations
    assert list(get_a.responses) == ["200", "default"]
    assert list(get_a.responses["200"]["headers"]) == ["404"]
    assert list(spec.definitions["A"]["properties"]) == ["1", "on", "1.5"]  # as written, not 1 / True / 1.5


def test_dates_in_a_spec_stay_the_text_written(tmp_path: Path) -> None:
    """JSON has no date: ``example: 2024-05-01`` is that string, so /api.json and fakes can serve it."""
    spec = load_spec(write(tmp_path, HEAD + """\
paths:
  /a:
    get:
      operationId: getA
      responses:
        "200": {description: ok, schema: {type: string, format: date, example: 2024-05-01}}
"""))
    assert spec.operations[0].responses["200"]["schema"]["example"] == "2024-05-01"


def test_a_key_that_is_not_a_plain_value_names_file_and_line(tmp_path: Path) -> None:
    text = "paths:\n  /a:\n    get:\n      responses:\n        ? [200, 201]\n        : {description: ok}\n"
    path = write(tmp_path, HEAD + text)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert str(path) in str(info.value) and "line 7" in str(info.value) and "mapping key" in str(info.value)


@pytest.mark.parametrize(
    "paths",
    [
        "paths: {/a: {get: {responses: {200: 7}}}}",
        "paths: {/a: {get: {responses: [ok]}}}",
        "paths: {/a: {get: {parameters: x, responses: {200: {description: ok}}}}}",
        "paths: {/a: {parameters: [{$ref: '#/parameters/nope'}], get: {responses: {200: {description: ok}}}}}",
        "paths: {/a: [get]}",
        "paths: {/a: {get: {responses: {200: {description: ok}}, security: {x: []}}}}",
        "paths: {/a: {get: {responses: {200: {description: ok, headers: {1: 2}}}}}}",
        "paths: {/a: {get: {parameters: [{name: q, in: [query], type: string}], responses: {200: {description: ok}}}}}",
        "paths: {/a: {get: {parameters: [{name: q, in: query, type: {a: 1}}], responses: {200: {description: ok}}}}}",
    ],
)
def test_every_loader_error_names_the_file_and_the_place(tmp_path: Path, paths: str) -> None:
    path = write(tmp_path, HEAD + paths + "\n")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert str(path) in str(info.value) and "paths" in str(info.value)


@pytest.mark.parametrize("definitions", ["definitions: 7", "definitions: [A]"])
def test_definitions_that_are_not_a_mapping_are_named(tmp_path: Path, definitions: str) -> None:
    path = write(tmp_path, HEAD + "paths: {}\n" + definitions + "\n")
    with pytest.raises(SpecError, match=r"at 'definitions'") as info:
        load_spec(path)
    assert str(path) in str(info.value)


def path_param(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "type": "string"}


def test_templates_inside_a_segment_are_path_parameters(tmp_path: Path) -> None:
    doc = minimal({
        "/users/{id}.json": {"get": op("a", parameters=[path_param("id")])},
        "/apps/{sid}{ext}": {"get": op("b", parameters=[path_param("sid"), path_param("ext")])},
    })
    assert {o.path for o in load_spec(spec_file(tmp_path, doc)).operations} == {"/users/{id}.json", "/apps/{sid}{ext}"}


def test_an_undeclared_template_inside_a_segment_is_taken_as_a_string_too(tmp_path: Path) -> None:
    doc = minimal({"/apps/{sid}{ext}": {"get": op("b", parameters=[path_param("sid")])}})
    with pytest.warns(SpecWarning, match=r"/apps/\{sid\}\{ext\}: path parameter \{ext\} is not declared"):
        spec = load_spec(spec_file(tmp_path, doc))
    assert [p["name"] for p in spec.operations[0].parameters] == ["sid", "ext"]


def test_a_path_parameter_missing_from_the_template_is_still_refused(tmp_path: Path) -> None:
    doc = minimal({"/apps": {"get": op("b", parameters=[path_param("sid")])}})
    with pytest.raises(SpecError, match=r"parameter 'sid' is 'in: path' but /apps has no \{sid\}"):
        load_spec(spec_file(tmp_path, doc))
