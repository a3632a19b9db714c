"""Errors written into a spec's own error schema: the common field names, kept only where valid."""

from __future__ import annotations

from typing import Any

from macaron._core.errorbodies import ErrorShape
from macaron._core.errors import ApiError, FieldError, NotFound, ValidationFailed
from macaron._core.schema import SchemaCompiler

BAD = ValidationFailed("2 fields of the request break the spec", errors=[
    FieldError("/body/user/email", "must be email"), FieldError("/query/limit", "is required")])


def written(schema: dict[str, Any], error: ApiError = BAD, example: Any = None) -> Any:
    shape = ErrorShape(schema, {}, SchemaCompiler({}), example)
    body = shape.render(error, "rid-7")
    assert shape.accepts(body) and shape.renderable is None
    return body


def obj(required: list[str], **props: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": props}


def test_oauth_style_error_and_description() -> None:
    schema = obj(["error"], error={"type": "string"}, error_description={"type": "string"}, uri={"type": "string"})
    assert written(schema, NotFound("no such client")) == {"error": "not_found", "error_description": "no such client"}


def test_a_lone_error_string_is_the_message_and_enums_keep_their_value() -> None:
    assert written(obj(["error"], error={"type": "string"}), NotFound("gone")) == {"error": "gone"}
    schema = obj(["code", "message"], code={"type": "string", "enum": ["E_INPUT", "E_OTHER"]},
                 message={"type": "string"})
    assert written(schema)["code"] == "E_INPUT"


def test_status_as_text_request_ids_and_string_lists() -> None:
    schema = obj(["statusCode", "requestId", "messages"], statusCode={"type": "string", "pattern": "^[0-9]{3}$"},
                 requestId={"type": "string"}, errors={"type": "array", "items": {"type": "string"}},
                 messages={"type": "string"})
    body = written(schema)
    assert body["statusCode"] == "400" and body["requestId"] == "rid-7"
    assert body["errors"] == ["/body/user/email must be email", "/query/limit is required"]


def test_field_entries_name_fields_pointers_and_locations() -> None:
    entry = obj(["name", "reason"], name={"type": "string"}, pointer={"type": "string"}, source={"type": "string"},
                reason={"type": "string"})
    body = written(obj(["violations"], violations={"type": "array", "minItems": 1, "items": entry}))
    assert body["violations"] == [
        {"name": "user.email", "pointer": "/body/user/email", "source": "body", "reason": "must be email"},
        {"name": "limit", "pointer": "/query/limit", "source": "query", "reason": "is required"}]


def test_a_valid_example_is_the_starting_point_and_values_the_schema_refuses_are_left_out() -> None:
    schema = obj(["code", "message", "help"], code={"type": "integer", "maximum": 99}, message={"type": "string"},
                 help={"type": "string"})
    body = written(schema, example={"code": 7, "message": "x", "help": "https://example.com/errors"})
    assert body == {"code": 7, "message": BAD.detail + ": /body/user/email must be email; /query/limit is required",
                    "help": "https://example.com/errors"}  # 400 is above the code's maximum: the example's stays


def test_a_schema_no_body_can_be_made_for_says_so() -> None:
    shape = ErrorShape({"type": "string", "pattern": "^[^a-z]+$"}, {}, SchemaCompiler({}))
    assert shape.renderable is not None and not shape.accepts(BAD.to_problem("r"))
