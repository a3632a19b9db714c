"""Spec loading: refs across files, validation errors that name file, place and problem."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from macaron import SpecError, load_spec

FIXTURES = Path(__file__).parent / "fixtures"


def spec_file(tmp_path: Path, doc: dict, name: str = "api.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc))
    return path


def minimal(paths: dict | None = None, **extra) -> dict:
    return {"swagger": "2.0", "info": {"title": "t", "version": "1"}, "paths": paths or {}, **extra}


def op(op_id: str = "getThing", **extra) -> dict:
    return {"operationId": op_id, "responses": {"200": {"description": "ok"}}, **extra}


def test_fixture_spec_resolves_refs_across_files() -> None:
    spec = load_spec(FIXTURES / "shop" / "api.yaml")
    assert {"Person", "Address", "Item", "Node", "Dog"} <= set(spec.definitions)
    assert spec.definitions["Item"]["properties"]["owner"] == {"$ref": "#/definitions/Person"}
    assert spec.definitions["Person"]["properties"]["address"] == {"$ref": "#/definitions/Address"}
    assert (FIXTURES / "shared" / "common.yaml").resolve() in spec.files
    assert {o.operation_id for o in spec.operations} >= {"listItems", "createItem", "getItem", "replaceItem"}


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


def test_missing_operation_id(tmp_path: Path) -> None:
    doc = minimal({"/a": {"get": {"responses": {"200": {"description": "ok"}}}}})
    with pytest.raises(SpecError, match=r"GET /a\): every operation needs an operationId"):
        load_spec(spec_file(tmp_path, doc))


def test_duplicate_operation_id(tmp_path: Path) -> None:
    doc = minimal({"/a": {"get": op("same")}, "/b": {"get": op("same")}})
    with pytest.raises(SpecError, match=r"'same' is also used by GET /a"):
        load_spec(spec_file(tmp_path, doc))


def test_undeclared_path_parameter(tmp_path: Path) -> None:
    doc = minimal({"/a/{id}": {"get": op()}})
    with pytest.raises(SpecError, match=r"operation getThing \(GET /a/\{id\}\): path parameter \{id\} is not declared"):
        load_spec(spec_file(tmp_path, doc))


def test_missing_ref_file_and_unknown_definition(tmp_path: Path) -> None:
    doc = minimal(
        {"/a": {"get": op(responses={"200": {"description": "x", "schema": {"$ref": "other.yaml#/definitions/X"}}})}}
    )
    with pytest.raises(SpecError, match="missing file"):
        load_spec(spec_file(tmp_path, doc))
    doc = minimal(
        {"/a": {"get": op(responses={"200": {"description": "x", "schema": {"$ref": "#/definitions/Nope"}}})}}
    )
    with pytest.raises(SpecError, match="does not exist"):
        load_spec(spec_file(tmp_path, doc))


def test_definition_name_clash_across_files(tmp_path: Path) -> None:
    spec_file(
        tmp_path, {"definitions": {"Thing": {"type": "object", "properties": {"b": {"type": "string"}}}}}, "other.yaml"
    )
    doc = minimal(
        {
            "/a": {
                "get": op(responses={"200": {"description": "x", "schema": {"$ref": "other.yaml#/definitions/Thing"}}})
            }
        },
        definitions={"Thing": {"type": "object"}},
    )
    with pytest.raises(SpecError, match="clashes"):
        load_spec(spec_file(tmp_path, doc))


def test_shared_parameter_refs_are_inlined(tmp_path: Path) -> None:
    spec_file(tmp_path, {"parameters": {"Limit": {"name": "limit", "in": "query", "type": "integer"}}}, "common.yaml")
    doc = minimal({"/a": {"get": op(parameters=[{"$ref": "common.yaml#/parameters/Limit"}])}})
    spec = load_spec(spec_file(tmp_path, doc))
    assert spec.operations[0].parameters == [{"name": "limit", "in": "query", "type": "integer"}]


def test_self_referencing_definition_across_files_terminates(tmp_path: Path) -> None:
    spec_file(
        tmp_path,
        {
            "definitions": {
                "Tree": {
                    "type": "object",
                    "properties": {"kids": {"type": "array", "items": {"$ref": "#/definitions/Tree"}}},
                }
            }
        },
        "tree.yaml",
    )
    doc = minimal(
        {"/t": {"get": op(responses={"200": {"description": "x", "schema": {"$ref": "tree.yaml#/definitions/Tree"}}})}}
    )
    spec = load_spec(spec_file(tmp_path, doc))
    assert spec.definitions["Tree"]["properties"]["kids"]["items"] == {"$ref": "#/definitions/Tree"}


def test_not_swagger_2(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"only Swagger 2\.0"):
        load_spec(spec_file(tmp_path, {"openapi": "3.0.0", "info": {}, "paths": {}}))


def test_invalid_yaml_names_file(tmp_path: Path) -> None:
    path = tmp_path / "api.yaml"
    path.write_text("swagger: '2.0'\npaths: [\n")
    with pytest.raises(SpecError, match=r"api.yaml: not valid YAML"):
        load_spec(path)


def test_definition_alias_imports_the_target_under_its_name(tmp_path: Path) -> None:
    spec_file(tmp_path, {"definitions": {"Problem": {"type": "object", "properties": {"code": {"type": "string"}}}}},
              "common.yaml")
    doc = minimal(
        {"/a": {"get": op(responses={"400": {"description": "x", "schema": {"$ref": "#/definitions/Problem"}}})}},
        definitions={"Problem": {"$ref": "common.yaml#/definitions/Problem"}},
    )
    spec = load_spec(spec_file(tmp_path, doc))
    assert spec.definitions["Problem"] == {"type": "object", "properties": {"code": {"type": "string"}}}
