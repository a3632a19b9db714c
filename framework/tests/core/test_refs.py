"""``$ref`` resolution: definitions imported from other files under their names, other refs
inlined, self-references terminating, and errors naming the file and the ref."""

from __future__ import annotations

from pathlib import Path

import pytest
from macaron import SpecError, load_spec
from macaron._core.refs import RefResolver, pointer_get

from .test_spec import FIXTURES, minimal, op, spec_file


def test_json_pointer_escapes_and_missing_targets() -> None:
    doc = {"paths": {"/a/b": {"get": {"x~y": [10, 20]}}}}
    assert pointer_get(doc, "/paths/~1a~1b/get/x~0y/1", "api.yaml") == 20
    with pytest.raises(SpecError, match=r"api.yaml: \$ref target '#/paths/nope' does not exist"):
        pointer_get(doc, "/paths/nope", "api.yaml")


def test_a_circular_inlined_ref_is_an_error_naming_it(tmp_path: Path) -> None:
    spec_file(tmp_path, {"parameters": {"A": {"$ref": "common.yaml#/parameters/B"},
                                        "B": {"$ref": "common.yaml#/parameters/A"}}}, "common.yaml")
    root = spec_file(tmp_path, minimal({"/a": {"get": op(parameters=[{"$ref": "common.yaml#/parameters/A"}])}}))
    with pytest.raises(SpecError, match="is circular"):
        RefResolver(root).resolve()


def test_fixture_spec_resolves_refs_across_files() -> None:
    spec = load_spec(FIXTURES / "shop" / "api.yaml")
    assert {"Person", "Address", "Item", "Node", "Dog"} <= set(spec.definitions)
    assert spec.definitions["Item"]["properties"]["owner"] == {"$ref": "#/definitions/Person"}
    assert spec.definitions["Person"]["properties"]["address"] == {"$ref": "#/definitions/Address"}
    assert (FIXTURES / "shared" / "common.yaml").resolve() in spec.files
    assert {o.operation_id for o in spec.operations} >= {"listItems", "createItem", "getItem", "replaceItem"}


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


def test_refs_inside_vendor_extensions_are_left_as_written(tmp_path: Path) -> None:
    """bravado-core's multi-file fixture: a base schema lists its subtypes in ``x-derived-objects``,
    and each subtype's ``allOf`` refers back to it. ``$ref`` means nothing inside an extension, so
    that is no cycle; a *property* called ``x-rate`` is a name, and its ``$ref`` is resolved."""
    spec_file(tmp_path, {
        "Error": {"type": "object", "properties": {"code": {"type": "string"}},
                  "x-derived-objects": [{"$ref": "./objects.yaml#/Special"}]},
        "Rate": {"type": "integer"},
    }, "shared.yaml")
    spec_file(tmp_path, {"Special": {"allOf": [{"$ref": "shared.yaml#/Error"},
                                               {"properties": {"x-rate": {"$ref": "shared.yaml#/Rate"}}}]}},
              "objects.yaml")
    root = spec_file(tmp_path, minimal({"/a": {"get": op(responses={
        "200": {"description": "ok", "schema": {"$ref": "objects.yaml#/Special"}}})}}))
    schema = load_spec(root).operations[0].responses["200"]["schema"]
    base, extra = schema["allOf"]
    assert base["x-derived-objects"] == [{"$ref": "./objects.yaml#/Special"}]  # as written
    assert extra["properties"]["x-rate"] == {"type": "integer"}  # resolved


def test_definitions_may_be_one_ref_to_a_file_of_schemas(tmp_path: Path) -> None:
    """``definitions: {$ref: ./definitions.yaml}`` (bravado-core's fixture; bravado reads it): the
    file's schemas become the definitions, their own relative refs starting from that file."""
    (tmp_path / "models").mkdir()
    spec_file(tmp_path, {"Pet": {"type": "object", "properties": {"tag": {"$ref": "tags.yaml#/Tag"}}}},
              "models/definitions.yaml")
    spec_file(tmp_path, {"Tag": {"type": "string", "maxLength": 10}}, "models/tags.yaml")
    root = spec_file(tmp_path, minimal({"/pets": {"get": op(responses={
        "200": {"description": "ok", "schema": {"$ref": "#/definitions/Pet"}}})}},
        definitions={"$ref": "./models/definitions.yaml"}))
    spec = load_spec(root)
    assert spec.definitions["Pet"]["properties"]["tag"] == {"type": "string", "maxLength": 10}
