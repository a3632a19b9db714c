"""Samples: valid instances of schemas, including what a pattern or ``readOnly`` asks for."""

from __future__ import annotations

import logging

import pytest
from flask import Flask
from macaron._core.errors import ResponseInvalid
from macaron._core.samples import from_pattern, sample
from macaron._core.schema import SchemaCompiler
from macaron._core.spec import Operation
from macaron._server.responses import ResponseValidator

CODES = {"type": "object", "required": ["id", "sku", "created"], "properties": {
    "id": {"type": "integer", "readOnly": True},
    "sku": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{4}$"},
    "created": {"type": "string", "format": "date-time", "readOnly": True},
    "lot": {"type": "string", "pattern": r"^(north|south)\d{2,}$", "minLength": 7},
    "note": {"type": "string", "readOnly": True},
}}


def test_strings_are_generated_to_match_their_pattern() -> None:
    value = sample(CODES, {})
    assert value["sku"] == "AAA-0000" and value["lot"] == "north00"
    assert SchemaCompiler({}).validator(CODES).is_valid(value)


def test_read_only_properties_are_in_a_sample_and_required_in_a_response_when_listed() -> None:
    value = sample(CODES, {})
    assert {"id", "created", "note"} <= set(value)
    op = Operation("getCode", "get", "/codes", {}, [], {"200": {"description": "it", "schema": CODES}}, [],
                   ["application/json"], None)
    responses = ResponseValidator(op, SchemaCompiler({}), logging.getLogger("test"))
    assert responses.render(value)[1] == 200
    with Flask(__name__).app_context(), pytest.raises(ResponseInvalid):
        responses.render({k: v for k, v in value.items() if k != "id"})


def test_patterns_the_walk_does_not_know_give_none() -> None:
    assert from_pattern("[^a-z]+") is None and from_pattern("(") is None
    assert from_pattern("ab|cd") == "ab" and from_pattern(r"^\w+@\w+\.com$") == "a@a.com"


def test_an_all_of_with_properties_of_its_own_samples_both() -> None:
    part = {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}}
    schema = {"type": "object", "allOf": [part], "required": ["name"], "properties": {"name": {"type": "string"}}}
    value = sample(schema, {})
    assert value == {"id": 1, "name": "string"}
    assert SchemaCompiler({}).validator(schema).is_valid(value)


def test_a_one_of_picks_the_member_no_other_member_accepts() -> None:
    """Cat's sample is a valid Dog too (Dog only needs ``kind``): ``oneOf`` refuses a value two
    members accept, so the sample is the Dog's, which a Cat refuses (no ``name``)."""
    definitions = {
        "Cat": {"type": "object", "required": ["kind", "name"], "properties": {"kind": {"type": "string"},
                                                                           "name": {"type": "string"}}},
        "Dog": {"type": "object", "required": ["kind"], "properties": {"kind": {"type": "string"},
                                                                      "bark": {"type": "boolean"}}},
    }
    schema = {"oneOf": [{"$ref": "#/definitions/Cat"}, {"$ref": "#/definitions/Dog"}]}
    compiler = SchemaCompiler(definitions)
    assert set(sample(schema, definitions)) == {"kind", "name"}  # no check: the first member
    value = sample(schema, definitions, check=lambda s, v: compiler.validator(s).is_valid(v))
    assert set(value) == {"kind", "bark"} and compiler.validator(schema).is_valid(value)


def test_an_inline_discriminator_names_the_member_in_its_tag() -> None:
    from macaron._core.oas3schemas import convert

    inline = convert({"oneOf": [{"$ref": "#/components/schemas/Cat"}, {"$ref": "#/components/schemas/Dog"}],
                      "discriminator": {"propertyName": "kind", "mapping": {"kitty": "#/components/schemas/Cat"}}},
                     "3.0")
    assert inline["x-union"] == {"property": "kind", "mapping": {"kitty": "Cat", "Dog": "Dog"}}
    definitions = {"Cat": {"type": "object", "properties": {"kind": {"type": "string"}}},
                   "Dog": {"type": "object", "properties": {"kind": {"type": "string"}}}}
    assert sample(inline, definitions)["kind"] == "kitty"
