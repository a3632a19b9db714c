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
