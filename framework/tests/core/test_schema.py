"""Schemas: conversion to JSON Schema, compiled validators, complete error lists."""

from __future__ import annotations

from macaron._core.schema import SchemaCompiler, to_json_schema


def test_nullable_and_int_ranges() -> None:
    assert to_json_schema({"type": "string", "x-nullable": True}) == {"type": ["string", "null"]}
    assert to_json_schema({"$ref": "#/definitions/A", "x-nullable": True}) == {
        "anyOf": [{"type": "null"}, {"$ref": "#/definitions/A"}]
    }
    converted = to_json_schema({"type": "integer", "format": "int32"})
    assert converted["maximum"] == 2**31 - 1
    assert to_json_schema({"type": "string", "example": "x", "readOnly": True, "x-any": 1}) == {"type": "string"}


def test_every_error_reported_with_paths() -> None:
    compiler = SchemaCompiler({"P": {"type": "object", "required": ["a"], "properties": {"a": {"type": "integer"}}}})
    validator = compiler.validator(
        {
            "type": "object",
            "required": ["name", "p"],
            "properties": {
                "name": {"type": "string", "minLength": 2},
                "list": {"type": "array", "items": {"$ref": "#/definitions/P"}},
                "p": {"$ref": "#/definitions/P"},
            },
        }
    )
    _, errors = validator({"name": "x", "list": [{"a": 1}, {"a": "no"}, {}]}, ["body"])
    assert [(e.path, e.message) for e in errors] == [
        ("/body/p", "is required"),
        ("/body/name", "must be longer than or equal to 2 characters"),
        ("/body/list/1/a", "must be an integer"),
        ("/body/list/2/a", "is required"),
    ]


def test_valid_document_passes_and_is_returned() -> None:
    compiler = SchemaCompiler({})
    validator = compiler.validator({"type": "object", "properties": {"a": {"type": "integer"}}})
    assert validator({"a": 1}, []) == ({"a": 1}, [])


def test_identical_schemas_compile_once() -> None:
    compiler = SchemaCompiler({})
    compiler.validator({"type": "string"})
    compiler.validator({"type": "string"})
    assert compiler.compilations == 1


def test_pointer_escaping() -> None:
    compiler = SchemaCompiler({})
    validator = compiler.validator({"type": "object", "properties": {"a/b": {"type": "integer"}}})
    _, errors = validator({"a/b": "x"}, ["body"])
    assert errors[0].path == "/body/a~1b"


READ_ONLY = {
    "User": {
        "type": "object",
        "required": ["id", "name"],
        "properties": {
            "id": {"type": "integer", "readOnly": True},
            "name": {"type": "string"},
            "team": {"$ref": "#/definitions/Team"},
        },
    },
    "Team": {
        "type": "object",
        "required": ["slug"],
        "properties": {"slug": {"type": "string", "readOnly": True}, "title": {"type": "string"}},
    },
}


def test_in_the_request_direction_read_only_properties_are_neither_required_nor_accepted() -> None:
    compiler = SchemaCompiler(READ_ONLY)
    request = compiler.validator({"$ref": "#/definitions/User"}, direction="request")
    assert request({"name": "ada", "team": {"title": "t"}}, ["body"]) == ({"name": "ada", "team": {"title": "t"}}, [])
    _, errors = request({"id": 7, "name": "ada", "team": {"slug": "s"}}, ["body"])
    assert [(e.path, e.message) for e in errors] == [
        ("/body/id", "is read-only: the server sets it, a request must not send it"),
        ("/body/team/slug", "is read-only: the server sets it, a request must not send it"),
    ]
    written = compiler.validator({"$ref": "#/definitions/User"})  # any other direction: as written
    assert [e.path for e in written({"name": "ada"}, ["body"])[1]] == ["/body/id"]
    assert written({"id": 7, "name": "ada"}, ["body"])[1] == []


def test_a_spec_without_read_only_shares_validators_between_directions() -> None:
    compiler = SchemaCompiler({"A": {"type": "object", "properties": {"a": {"type": "integer"}}}})
    compiler.validator({"$ref": "#/definitions/A"})
    compiler.validator({"$ref": "#/definitions/A"}, direction="request")
    assert compiler.compilations == 1
