"""Loading OpenAPI 3.0 and 3.1: the version read once, meta-validation naming the place, refs across
files under components/schemas, normalisation into the one model (parameters, bodies, responses,
security, servers), 3.x schemas compiled in their dialect, models and the style rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from macaron import SpecError, SpecWarning, load_spec
from macaron._core.models import ModelRegistry
from macaron._core.schema import REQUEST, RESPONSE, SchemaCompiler
from macaron._core.styles import encode, query_pairs, split


def write(tmp_path: Path, doc: dict[str, Any], name: str = "api.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def doc(version: str = "3.0.3", **extra: Any) -> dict[str, Any]:
    return {"openapi": version, "info": {"title": "t", "version": "1"}, "paths": {}, **extra}


@pytest.mark.parametrize(("written", "version", "dialect"), [
    ("3.0.0", "3.0", "draft7"), ("3.0.3", "3.0", "draft7"), ("3.1.0", "3.1", "2020-12"), ("3.1.1", "3.1", "2020-12"),
])
def test_the_version_is_read_once(tmp_path: Path, written: str, version: str, dialect: str) -> None:
    spec = load_spec(write(tmp_path, doc(written)))
    assert (spec.version, spec.dialect) == (version, dialect)
    assert spec.source["openapi"] == written and "swagger" not in spec.source


def test_unknown_versions_and_dialects_are_refused_naming_the_field(tmp_path: Path) -> None:
    for written in ("3.2.0", "2.0", "4", "3"):
        with pytest.raises(SpecError, match=r"at 'openapi': .* is not a supported version; supported: "):
            load_spec(write(tmp_path, doc(written)))
    with pytest.raises(SpecError, match=r"no 'swagger' or 'openapi' field"):
        load_spec(write(tmp_path, {"info": {}, "paths": {}}))
    with pytest.raises(SpecError, match=r"at 'jsonSchemaDialect': 'https://json-schema.org/draft/2019-09/schema'"):
        load_spec(write(tmp_path, doc("3.1.0", jsonSchemaDialect="https://json-schema.org/draft/2019-09/schema")))
    assert load_spec(write(tmp_path, doc("3.1.0", jsonSchemaDialect="https://spec.openapis.org/oas/3.1/dialect/base")))


def test_meta_validation_names_file_and_pointer(tmp_path: Path) -> None:
    bad = doc(paths={"/a": {"get": {"responses": {"200": {"descriptio": "x"}}}}})
    where = r"api\.yaml: at '/paths/~1a/get/responses/200': "
    with pytest.raises(SpecError, match=where + r"a response needs a 'description'"):
        load_spec(write(tmp_path, bad))
    bad = doc("3.1.0", paths={"/a": {"get": {"parameters": [{"name": "a", "in": "body", "schema": {}}],
                                             "responses": {"200": {"description": "d"}}}}})
    with pytest.raises(SpecError, match=r"at '/paths/~1a/get/parameters/0"):
        load_spec(write(tmp_path, bad))
    undeclared = doc(paths={"/a/{id}": {"get": {"responses": {"200": {"description": "d"}}}}})
    with pytest.warns(SpecWarning, match=r"path parameter \{id\} is not declared; taken as a required string"):
        assert [p["name"] for p in load_spec(write(tmp_path, undeclared)).operations[0].parameters] == ["id"]


def test_servers_give_the_base_path(tmp_path: Path) -> None:
    servers = [{"url": "https://{region}.example.com/{v}/api/", "variables": {"region": {"default": "eu"},
                                                                           "v": {"default": "v2"}}}]
    assert load_spec(write(tmp_path, doc(servers=servers))).base_path == "/v2/api"
    assert load_spec(write(tmp_path, doc(servers=[{"url": "/relative"}]))).base_path == "/relative"
    assert load_spec(write(tmp_path, doc())).base_path == ""


def test_refs_across_files_land_in_components_schemas(tmp_path: Path) -> None:
    write(tmp_path, {"components": {"schemas": {"Pet": {"type": "object", "properties": {
        "tag": {"$ref": "#/$defs/Tag"}}}}}, "$defs": {"Tag": {"type": "string"}},
        "definitions": {"Legacy": {"type": "integer"}}}, "common.yaml")
    root = doc("3.1.0", paths={"/p": {"get": {"responses": {"200": {"description": "d", "content": {
        "application/json": {"schema": {"type": "array", "items": {"$ref": "common.yaml#/components/schemas/Pet",
                                                                   "description": "a sibling, kept"}}}}}}}}},
               components={"schemas": {"Old": {"$ref": "common.yaml#/definitions/Legacy"}}})
    spec = load_spec(write(tmp_path, root))
    assert set(spec.source["components"]["schemas"]) == {"Old", "Legacy", "Pet", "Tag"}
    assert spec.source["components"]["schemas"]["Pet"]["properties"]["tag"] == {"$ref": "#/components/schemas/Tag"}
    items = spec.operations[0].responses["200"]["schema"]["items"]
    assert items == {"description": "a sibling, kept", "$ref": "#/definitions/Pet"}
    assert spec.definitions["Pet"]["properties"]["tag"] == {"$ref": "#/definitions/Tag"}


def test_the_normalised_model(tmp_path: Path) -> None:
    root = doc(paths={"/items/{id}": {
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"$ref": "#/components/schemas/Id"}}],
        "post": {
            "parameters": [{"name": "sid", "in": "cookie", "schema": {"type": "string"}},
                           {"name": "tags", "in": "query", "schema": {"type": "array", "items": {"type": "string"}}},
                           {"name": "f", "in": "query", "style": "deepObject", "explode": True,
                            "schema": {"type": "object", "properties": {"a": {"type": "integer"}}}}],
            "requestBody": {"required": True, "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Item"}},
                "application/x-www-form-urlencoded": {"schema": {"$ref": "#/components/schemas/Item"}}}},
            "responses": {"201": {"description": "made", "headers": {"X-N": {"required": True,
                                                                             "schema": {"type": "integer"}}},
                                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Item"},
                                                                   "example": {"name": "n"}},
                                              "image/png": {"schema": {"type": "string", "format": "binary"}}}}},
            "security": [{"bearer": []}]}}},
        components={"schemas": {"Id": {"type": "integer", "minimum": 1},
                                "Item": {"type": "object", "properties": {"name": {"type": "string",
                                                                                   "nullable": True}}}},
                    "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                        "basic": {"type": "http", "scheme": "basic"},
                                        "digest": {"type": "http", "scheme": "digest"},
                                        "oidc": {"type": "openIdConnect", "openIdConnectUrl": "https://x.io/"}}})
    spec = load_spec(write(tmp_path, root))
    op = spec.operations[0]
    by_name = {p["name"]: p for p in op.parameters}
    assert by_name["id"]["type"] == "integer" and by_name["id"]["x-style"] == "simple"
    assert by_name["sid"]["in"] == "cookie" and by_name["sid"]["x-explode"] is True
    assert by_name["tags"]["collectionFormat"] == "multi"  # form, exploded
    assert by_name["f"]["x-style"] == "deepObject" and by_name["f"]["type"] == "object"
    body = by_name["body"]
    assert body["in"] == "body" and body["required"] and body["schema"] == {"$ref": "#/definitions/Item"}
    assert list(body["x-content"]) == ["application/json", "application/x-www-form-urlencoded"]
    assert op.consumes == ["application/json", "application/x-www-form-urlencoded"]
    assert op.produces == ["application/json", "image/png"]
    created = op.responses["201"]
    assert created["examples"] == {"application/json": {"name": "n"}}
    assert created["headers"]["X-N"]["type"] == "integer" and created["headers"]["X-N"]["x-required"]
    assert spec.definitions["Item"]["properties"]["name"] == {"type": "string", "x-nullable": True}
    kinds = {n: s["type"] for n, s in spec.document["securityDefinitions"].items()}
    assert kinds == {"bearer": "oauth2", "basic": "basic", "digest": "http-digest", "oidc": "oauth2"}


def compiler_for(tmp_path: Path, version: str, schemas: dict[str, Any]) -> tuple[SchemaCompiler, Any]:
    spec = load_spec(write(tmp_path, doc(version, components={"schemas": schemas})))
    compiler = SchemaCompiler(spec.definitions, spec.dialect)
    return compiler, spec


def errors(compiler: SchemaCompiler, name: str, value: Any, direction: str | None = REQUEST) -> list[str]:
    _, errs = compiler.validator({"$ref": f"#/definitions/{name}"}, direction=direction)(value, ["body"])
    return sorted(f"{e.path} {e.message}" for e in errs)


def test_3_1_schemas_are_json_schema_2020_12(tmp_path: Path) -> None:
    compiler, _ = compiler_for(tmp_path, "3.1.0", {"T": {
        "type": "object", "required": ["kind"], "unevaluatedProperties": False,
        "properties": {"kind": {"const": "t"}, "n": {"type": ["integer", "null"], "exclusiveMinimum": 0},
                       "pair": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}],
                                "items": False},
                       "card": {"type": "boolean"}, "cvc": {"type": "string"}, "id": {"type": "string",
                                                                                        "readOnly": True}},
        "dependentRequired": {"card": ["cvc"]},
        "if": {"properties": {"kind": {"const": "t"}}}, "then": {"properties": {"n": {"maximum": 5}}}}})
    assert errors(compiler, "T", {"kind": "t", "n": None, "pair": ["a", 1]}) == []
    found = errors(compiler, "T", {"kind": "u", "n": 0, "pair": ["a", "b", 3], "card": True, "x": 1, "id": "1"})
    assert found == ["/body/cvc is required", "/body/id is read-only: the server sets it, a request must not send it",
                     '/body/kind "t" was expected', "/body/n is less than or equal to the minimum of 0",
                     "/body/pair/1 must be an integer", "/body/pair/2 False schema does not allow 3",
                     "/body/x is not a known field"]
    assert errors(compiler, "T", {"kind": "t", "n": 9}) == ["/body/n is greater than the maximum of 5"]  # then


def test_3_0_discriminator_mapping_and_write_only(tmp_path: Path) -> None:
    compiler, spec = compiler_for(tmp_path, "3.0.3", {
        "Pet": {"type": "object", "required": ["kind"], "properties": {"kind": {"type": "string"}},
                "discriminator": {"propertyName": "kind", "mapping": {"cat": "#/components/schemas/Cat"}}},
        "Cat": {"allOf": [{"$ref": "#/components/schemas/Pet"},
                          {"type": "object", "required": ["claws"], "properties": {"claws": {"type": "boolean"},
                                                                                   "pin": {"type": "string",
                                                                                           "writeOnly": True}}}]},
        "Shape": {"oneOf": [{"$ref": "#/components/schemas/Sq"}], "discriminator": {"propertyName": "k"}},
        "Sq": {"type": "object", "properties": {"k": {"type": "string"}, "side": {"type": "number"}}}})
    assert errors(compiler, "Pet", {"kind": "cat"}) == ["/body/claws is required"]  # the tag, through the mapping
    assert errors(compiler, "Pet", {"kind": "cat", "claws": True}) == []
    assert errors(compiler, "Cat", {"kind": "cat", "claws": True, "pin": "1"}, RESPONSE) == [
        "/body/pin is write-only: a client sends it, a response must not carry it"]
    assert errors(compiler, "Shape", {"k": "Sq", "side": "x"}) == ["/body/side must be a number"]
    assert errors(compiler, "Shape", {"k": "Tri"}) == ["/body/k is not one of \"Sq\""]
    models = ModelRegistry(spec.definitions, compiler)
    assert type(models.build(models.Pet, {"kind": "cat", "claws": True})).__name__ == "Cat"
    assert type(models.build(models.Shape, {"k": "Sq", "side": 1})).__name__ == "Sq"


@pytest.mark.parametrize(("style", "explode", "kind", "text", "parts"), [
    ("simple", False, "array", "3,4,5", ["3", "4", "5"]),
    ("simple", False, "object", "role,admin,name,Alex", {"role": "admin", "name": "Alex"}),
    ("simple", True, "object", "role=admin,name=Alex", {"role": "admin", "name": "Alex"}),
    ("label", False, "array", ".3,4,5", ["3", "4", "5"]),
    ("label", True, "array", ".3.4.5", ["3", "4", "5"]),
    ("label", True, "object", ".role=admin.name=Alex", {"role": "admin", "name": "Alex"}),
    ("matrix", False, None, ";id=5", "5"),
    ("matrix", False, "array", ";id=3,4,5", ["3", "4", "5"]),
    ("matrix", True, "array", ";id=3;id=4;id=5", ["3", "4", "5"]),
    ("matrix", True, "object", ";role=admin;name=Alex", {"role": "admin", "name": "Alex"}),
    ("form", False, "object", "role,admin,name,Alex", {"role": "admin", "name": "Alex"}),
    ("spaceDelimited", False, "array", "3 4 5", ["3", "4", "5"]),
    ("pipeDelimited", False, "array", "3|4|5", ["3", "4", "5"]),
])
def test_styles_cut_and_write_text(style: str, explode: bool, kind: str | None, text: str, parts: Any) -> None:
    assert split(style, explode, kind, "id", text) == parts
    assert encode(style, explode, "id", parts) == text


def test_malformed_styled_text_says_what_was_expected() -> None:
    with pytest.raises(ValueError, match=r"must start with '\.'"):
        split("label", False, "array", "id", "3,4")
    with pytest.raises(ValueError, match="key,value pairs"):
        split("simple", False, "object", "id", "a,1,b")
    assert query_pairs("deepObject", True, "f", {"a": 1}) == [("f[a]", "1")]
    assert query_pairs("form", True, "ids", [1, 2]) == [("ids", "1"), ("ids", "2")]
