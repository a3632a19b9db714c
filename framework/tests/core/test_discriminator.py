"""Discriminators: an object is validated (requests and responses alike), built and sampled as
the subtype its discriminator names."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from flask import Flask
from macaron._core.discriminator import concrete, descendants, family_property
from macaron._core.errors import ResponseInvalid
from macaron._core.models import ModelRegistry
from macaron._core.samples import sample
from macaron._core.schema import SchemaCompiler
from macaron._core.spec import Operation
from macaron._server.responses import ResponseValidator

#: A base (``Animal``), two subtypes, and a subtype of a subtype (``Lion`` is a ``Cat``).
ZOO: dict[str, Any] = {
    "Animal": {"type": "object", "discriminator": "kind", "required": ["name", "kind"],
               "properties": {"name": {"type": "string"}, "kind": {"type": "string"}}},
    "Cat": {"allOf": [{"$ref": "#/definitions/Animal"},
                      {"type": "object", "required": ["huntingSkill"],
                       "properties": {"huntingSkill": {"type": "string", "enum": ["lazy", "keen"]}}}]},
    "Dog": {"allOf": [{"$ref": "#/definitions/Animal"},
                      {"type": "object", "required": ["packSize"],
                       "properties": {"packSize": {"type": "integer", "minimum": 0}}}]},
    "Lion": {"allOf": [{"$ref": "#/definitions/Cat"},
                       {"type": "object", "required": ["prideSize"],
                        "properties": {"prideSize": {"type": "integer"}}}]},
    "Enclosure": {"type": "object",
                  "properties": {"animals": {"type": "array", "items": {"$ref": "#/definitions/Animal"}}}},
}
ANIMAL = {"$ref": "#/definitions/Animal"}


def errors(schema: dict[str, Any], value: Any) -> list[tuple[str, str]]:
    validator = SchemaCompiler(ZOO).validator(schema)
    _, found = validator(value, ["body"])
    assert validator.is_valid(value) is not found  # the fast check and the error walk agree
    return [(e.path, e.message) for e in found]


def test_an_object_is_validated_against_the_subtype_its_discriminator_names() -> None:
    assert errors(ANIMAL, {"name": "Tom", "kind": "Cat", "huntingSkill": 42}) == [
        ("/body/huntingSkill", "must be a string")]
    assert errors(ANIMAL, {"name": "Tom", "kind": "Cat"}) == [("/body/huntingSkill", "is required")]
    assert errors(ANIMAL, {"name": "Tom", "kind": "Cat", "huntingSkill": "keen"}) == []
    assert errors(ANIMAL, {"name": "Rex", "kind": "Dog", "packSize": -1}) == [
        ("/body/packSize", "must be bigger than or equal to 0")]


def test_subtypes_of_subtypes_nesting_and_types_outside_the_family() -> None:
    assert errors(ANIMAL, {"name": "Leo", "kind": "Lion", "huntingSkill": "keen"}) == [
        ("/body/prideSize", "is required")]
    cat = {"$ref": "#/definitions/Cat"}
    assert errors(cat, {"name": "Leo", "kind": "Lion", "huntingSkill": "keen"}) == [("/body/prideSize", "is required")]
    assert errors(cat, {"name": "Rex", "kind": "Dog", "huntingSkill": "keen", "packSize": 2}) == [
        ("/body/kind", "names Dog, which is not a Cat")]
    pen = {"animals": [{"name": "a", "kind": "Dog", "packSize": 1}, {"name": "b", "kind": "Cat", "huntingSkill": 1}]}
    assert errors({"$ref": "#/definitions/Enclosure"}, pen) == [("/body/animals/1/huntingSkill", "must be a string")]


def test_the_base_itself_and_values_naming_no_definition_are_left_to_the_base() -> None:
    assert errors(ANIMAL, {"name": "Generic", "kind": "Animal"}) == []
    assert errors(ANIMAL, {"name": "Nessie", "kind": "Plesiosaur"}) == []
    assert errors(ANIMAL, {"name": "Nessie"}) == [("/body/kind", "is required")]


def test_the_family_is_read_from_the_definitions() -> None:
    assert family_property("Lion", ZOO) == "kind" and family_property("Enclosure", ZOO) is None
    assert descendants("Animal", ZOO) == ["Cat", "Dog", "Lion"]
    assert concrete("Animal", ZOO) == "Dog" and concrete("Cat", ZOO) == "Lion" and concrete("Dog", ZOO) == "Dog"


def test_a_model_read_as_the_base_is_built_as_the_subtype_it_names() -> None:
    compiler = SchemaCompiler(ZOO)
    models = ModelRegistry(ZOO, compiler)
    lion = models.Animal.from_json({"name": "Leo", "kind": "Lion", "huntingSkill": "keen", "prideSize": 4})
    assert type(lion) is models.Lion and isinstance(lion, models.Cat) and lion.prideSize == 4
    pen = models.Enclosure.from_json({"animals": [{"name": "Rex", "kind": "Dog", "packSize": 3}]})
    assert type(pen.animals[0]) is models.Dog and pen.animals[0].packSize == 3
    assert type(models.Animal.from_json({"name": "Nessie", "kind": "Plesiosaur"})) is models.Animal
    with pytest.raises(Exception, match="not a valid Animal"):
        models.Animal.from_json({"name": "Tom", "kind": "Cat", "huntingSkill": 42})


def test_generated_bodies_name_a_real_subtype_and_are_valid_for_it() -> None:
    validator = SchemaCompiler(ZOO).validator
    for name in ZOO:
        value = sample({"$ref": f"#/definitions/{name}"}, ZOO)
        assert validator({"$ref": f"#/definitions/{name}"}).is_valid(value), (name, value)
    assert sample(ANIMAL, ZOO) == {"name": "string", "kind": "Dog", "packSize": 0}
    assert sample({"$ref": "#/definitions/Cat"}, ZOO)["kind"] == "Lion"


def test_a_handler_answering_a_subtype_that_breaks_it_is_a_response_invalid() -> None:
    op = Operation("getAnimal", "get", "/animals/{name}", {}, [], {"200": {"description": "it", "schema": ANIMAL}},
                   [], ["application/json"], None)
    responses = ResponseValidator(op, SchemaCompiler(ZOO), logging.getLogger("test"))
    assert responses.render({"name": "Tom", "kind": "Cat", "huntingSkill": "keen"})[1] == 200
    with Flask(__name__).app_context(), pytest.raises(ResponseInvalid):
        responses.render({"name": "Tom", "kind": "Cat", "huntingSkill": 42})


def test_a_family_member_keeps_its_own_parts_one_resolve_away() -> None:
    """What readers of compiled definitions (the no-store check of token responses) rely on."""
    compiler = SchemaCompiler(ZOO)
    for name, own in (("Cat", "huntingSkill"), ("Lion", "prideSize"), ("Animal", "name")):
        schema = compiler.resolve({"$ref": f"#/definitions/{name}"})
        parts = [schema, *(compiler.resolve(s) for s in schema.get("allOf", []))]
        assert any(own in (part.get("properties") or {}) for part in parts), name
