"""Sample data from specs: examples first, then values generated to satisfy the schema."""

from __future__ import annotations

from pathlib import Path

from macaron._core.schema import SchemaCompiler
from macaron._core.spec import load_spec
from macaron._local.fakedata import response_example, sample

ROOT = Path(__file__).resolve().parents[3]


def test_every_definition_of_the_shared_apis_samples_to_a_valid_value() -> None:
    for path in sorted((ROOT / "shared_apis").glob("*.yaml")):
        spec = load_spec(path)
        compiler = SchemaCompiler(spec.definitions)
        for name in spec.definitions:
            value = sample({"$ref": f"#/definitions/{name}"}, spec.definitions)
            _, errors = compiler.validator({"$ref": f"#/definitions/{name}"})(value, [name])
            assert errors == [], (path.name, name, errors)


def test_generated_values_respect_formats_bounds_and_enums() -> None:
    schema = {"type": "object", "required": ["n"], "properties": {
        "n": {"type": "integer", "minimum": 5, "multipleOf": 3},
        "s": {"type": "string", "minLength": 10, "maxLength": 12},
        "e": {"type": "string", "format": "email"},
        "k": {"type": "string", "enum": ["b", "a"]},
        "tags": {"type": "array", "minItems": 2, "items": {"type": "boolean"}},
        "self": {"$ref": "#/definitions/Loop"},
    }}
    value = sample(schema, {"Loop": {"type": "object", "properties": {"next": {"$ref": "#/definitions/Loop"}}}})
    assert value["n"] == 6 and 10 <= len(value["s"]) <= 12 and value["e"] == "user@example.com"
    assert value["k"] == "b" and value["tags"] == [True, True] and value["self"] == {}


def test_response_examples_win_and_media_types_follow_them() -> None:
    response = {"schema": {"type": "string"}, "examples": {"text/plain": "Unauthorized"}}
    assert response_example(response, {}, ["application/json", "text/plain"]) == (True, "Unauthorized", "text/plain")
    assert response_example({"description": "none"}, {}, ["application/json"]) == (False, None, "application/json")
    assert response_example({"schema": {"type": "integer", "example": 7}}, {}, []) == (True, 7, "application/json")
