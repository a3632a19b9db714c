"""Stub types of the JSON Schema constructs of OpenAPI 3.0 and 3.1, fed as schemas: unions,
nullability, literals, tuples, ``$defs``; a 3.1 stub module that mypy accepts and checks; and
Swagger 2.0 typing as it was (the committed stubs: ``test_stubs.test_committed_stubs_are_current``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from macaron._cli.stubs import module_text
from macaron._cli.stubtypes import SchemaTypes
from macaron._core.spec import Spec

from .test_stubs import STUBS, mypy

DEFINITIONS: dict[str, Any] = {
    "Cat": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}},
    "Dog": {"type": "object", "properties": {"bark": {"type": "boolean"}}},
    "Colour": {"type": "string", "enum": ["red", "green"]},
    "Order": {"type": "object", "properties": {"total": {"$ref": "#/components/schemas/Order/$defs/Money"}},
              "$defs": {"Money": {"type": "object", "required": ["amount"], "properties": {
                  "amount": {"type": "integer"}, "currency": {"const": "EUR"}}},
                        "Code": {"type": "string", "pattern": "^[A-Z]{3}$"}}},
}
TYPES = SchemaTypes(DEFINITIONS, {"Id": {"type": ["string", "integer"]}})


@pytest.mark.parametrize(("schema", "output", "argument"), [
    ({"oneOf": [{"$ref": "#/components/schemas/Cat"}, {"$ref": "#/components/schemas/Dog"}]},
     "Cat | Dog", "Cat | CatDict | Dog | DogDict"),
    ({"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "string"}]}, "str | int", "str | int"),
    ({"anyOf": [{"type": "string"}, {"type": "null"}]}, "str | None", "str | None"),
    ({"oneOf": [{"type": "string"}, {}]}, "Any", "Any"),
    ({"type": "string", "nullable": True}, "str | None", "str | None"),  # 3.0
    ({"type": ["string", "null"]}, "str | None", "str | None"),  # 3.1
    ({"type": ["array", "null"], "items": {"type": "integer"}}, "list[int] | None", "Sequence[int] | None"),
    ({"type": "null"}, "None", "None"),
    ({"$ref": "#/components/schemas/Cat", "nullable": True}, "Cat | None", "Cat | CatDict | None"),
    ({"enum": ["a", "b"]}, "Literal['a', 'b']", "Literal['a', 'b']"),
    ({"enum": [1, 2, 3]}, "Literal[1, 2, 3]", "Literal[1, 2, 3]"),
    ({"enum": ["a", None]}, "Literal['a'] | None", "Literal['a'] | None"),
    ({"type": ["string", "null"], "enum": ["a", None]}, "Literal['a'] | None", "Literal['a'] | None"),
    ({"enum": [1.5, 2.5], "type": "number"}, "float", "float"),  # floats are no literals
    ({"const": "EUR"}, "Literal['EUR']", "Literal['EUR']"),
    ({"const": True}, "Literal[True]", "Literal[True]"),
    ({"const": None}, "None", "None"),
    ({"$ref": "#/components/schemas/Colour"}, "Literal['red', 'green']", "Literal['red', 'green']"),
    ({"type": "array", "prefixItems": [{"type": "number"}, {"type": "number"}], "items": False},
     "tuple[float, float]", "tuple[float, float]"),
    ({"type": "array", "prefixItems": [{"type": "string"}]}, "tuple[str, *tuple[Any, ...]]",
     "tuple[str, *tuple[Any, ...]]"),
    ({"type": "array", "prefixItems": [{"type": "string"}], "items": {"type": "integer"}},
     "tuple[str, *tuple[int, ...]]", "tuple[str, *tuple[int, ...]]"),
    ({"$ref": "#/components/schemas/Order/$defs/Money"}, "Money", "Money"),
    ({"$ref": "#/$defs/Code"}, "Code", "Code"),  # a $defs name, wherever it is held, when unambiguous
    ({"$ref": "#/$defs/Id"}, "Id", "Id"),
    ({"$ref": "#/$defs/Nowhere"}, "Any", "Any"),
    ({"$ref": "#/definitions/Cat"}, "Cat", "Cat | CatDict"),  # 2.0 refs as before
    ({"type": "object", "additionalProperties": {"type": ["integer", "null"]}},
     "dict[str, int | None]", "Mapping[str, int | None]"),
])
def test_schema_types(schema: dict[str, Any], output: str, argument: str) -> None:
    assert (TYPES.of(schema, False), TYPES.of(schema, True)) == (output, argument)


def test_defs_are_named_types_and_clashes_take_their_owner() -> None:
    assert list(TYPES.aliases()) == [
        "Id: TypeAlias = str | int",
        "Money = TypedDict('Money', {'amount': Required[int], 'currency': Literal['EUR']}, total=False)",
        "Code: TypeAlias = str",
    ]
    clash = SchemaTypes({"Money": {"type": "string"},
                         "Order": {"type": "object", "$defs": {"Money": {"type": "integer"}}}})
    assert list(clash.aliases()) == ["Order_Money: TypeAlias = int"]
    assert clash.of({"$ref": "#/components/schemas/Order/$defs/Money"}, False) == "Order_Money"


def test_swagger_2_typing_is_unchanged() -> None:
    types = SchemaTypes({"A": {"type": "object", "properties": {"x": {"type": "string", "x-nullable": True}}}})
    assert types.of({"type": "file"}, True) == "bytes | IO[bytes]"
    assert types.of({"type": ["string", "number", "boolean"]}, False) == "str | float | bool"
    assert types.of({"type": "integer", "enum": [1, 2]}, False) == "Literal[1, 2]"  # no 2.0 spec here has one
    assert types.of({"$ref": "#/definitions/A", "x-nullable": True}, True) == "A | ADict | None"
    assert types.of({"allOf": [{"$ref": "#/definitions/A"}]}, False) == "A"
    assert types.properties("A")[0] == {"x": {"type": "string", "x-nullable": True}}


OAS31: dict[str, Any] = {
    "openapi": "3.1.0", "info": {"title": "Shapes", "version": "1"}, "paths": {},
    "components": {"schemas": {
        **DEFINITIONS,
        "Pet": {"type": "object", "required": ["kind", "pet"], "properties": {
            "kind": {"enum": ["cat", "dog"]},
            "pet": {"oneOf": [{"$ref": "#/components/schemas/Cat"}, {"$ref": "#/components/schemas/Dog"}]},
            "nickname": {"type": ["string", "null"]},
            "position": {"type": "array", "prefixItems": [{"type": "number"}, {"type": "number"}], "items": False},
            "order": {"$ref": "#/components/schemas/Order"},
        }},
    }},
}
USES = """
    from macaron_stubs.shapes import Cat, Dog, Money, Order, Pet

    def make(money: Money) -> str:
        pet = Pet(kind="cat", pet=Cat(name="Tom"), position=(1.0, 2.5), nickname=None)
        other = Pet(kind="dog", pet={"bark": True}, order={"total": money})
        first: float = pet.position[0] if pet.position else 0.0
        name = pet.pet.name if isinstance(pet.pet, Cat) else ""
        return name + str(first) + str(money["amount"]) + str(isinstance(other.pet, Dog)) + str(Order)
"""
MISUSES = """
    from macaron_stubs.shapes import Cat, Money, Pet

    def make(money: Money) -> None:
        Pet(kind="cow", pet=Cat(name="Tom"))
        Pet(kind="cat", pet=Cat(name="Tom"), position=(1.0, 2.0, 3.0))
        Pet(kind="cat", pet=Cat(name="Tom"), nickname=3)
        Pet(kind="cat", pet=money)
        wrong: str = money["amount"]
"""


def test_mypy_accepts_a_3_1_stub_and_checks_calls_against_it(tmp_path: Path) -> None:
    text = module_text("shapes", Spec(path=tmp_path / "shapes.yaml", document=OAS31), "shapes.yaml")
    assert "class Pet(_Model):" in text and "    kind: Literal['cat', 'dog']" in text
    assert "    pet: Cat | Dog" in text and "    nickname: str | None" in text
    assert "    position: tuple[float, float] | None" in text and "Money = TypedDict('Money'" in text
    assert "from typing import IO, Any, Literal, Protocol, Required, TypeAlias, TypedDict" in text
    package = tmp_path / "stubs" / "macaron_stubs"
    package.mkdir(parents=True)
    for existing in STUBS.glob("*.pyi"):
        (package / existing.name).write_text(existing.read_text())
    (package / "shapes.pyi").write_text(text)
    code, output = mypy(tmp_path, USES, stubs=package.parent)
    assert code == 0, output
    code, output = mypy(tmp_path, MISUSES, stubs=package.parent)
    failing = sorted({int(line.split(":")[1]) for line in output.splitlines() if ": error:" in line})
    assert failing == [5, 6, 7, 8, 9], output


def test_3x_parameters_and_responses_are_typed_from_their_schemas() -> None:
    """A 3.x parameter holds its type in ``schema``; a 3.x response in ``content``. Read from
    the operation's fields as the 2.0 ones are (a stand-in for the normalised operation)."""
    from types import SimpleNamespace

    from macaron._cli.stubs import _result, _signature

    op = SimpleNamespace(
        parameters=[{"name": "limit", "in": "query", "schema": {"type": "integer"}},
                    {"name": "X-Trace", "in": "header", "required": True, "schema": {"type": ["string", "null"]}}],
        responses={"200": {"description": "ok", "content": {"application/json": {"schema": {
            "oneOf": [{"$ref": "#/components/schemas/Cat"}, {"$ref": "#/components/schemas/Dog"}]}}}},
                   "204": {"description": "none"}, "404": {"description": "no", "content": {
                       "application/problem+json": {"schema": {"type": "object"}}}}})
    assert _result(TYPES, op) == "Cat | Dog | None"  # type: ignore[arg-type]
    assert _signature(TYPES, op).startswith(  # type: ignore[arg-type]
        "self, *, x_trace: str | None, limit: int | None = ...")
