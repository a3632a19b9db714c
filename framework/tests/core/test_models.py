"""Models: attribute access, JSON round trips, nesting, allOf, nullable, validation."""

from __future__ import annotations

import pytest
from macaron import Model, Service, ValidationFailed


def test_attribute_access_and_round_trip(shop_service: Service) -> None:
    Item = shop_service.models.Item
    item = Item.from_json({"name": "lamp", "price": 2, "owner": {"email": "a@b.co", "address": {"city": "Oslo"}}})
    assert isinstance(item, Model)
    assert item.name == "lamp" and item.tags is None
    assert type(item.owner).__name__ == "Person" and item.owner.address.city == "Oslo"
    item.tags = ["x"]
    assert item.to_json() == {
        "name": "lamp",
        "price": 2,
        "tags": ["x"],
        "owner": {"email": "a@b.co", "address": {"city": "Oslo"}},
    }
    assert Item.from_json(item.to_json()) == item


def test_required_and_types_validated(shop_service: Service) -> None:
    with pytest.raises(ValidationFailed) as info:
        shop_service.models.Item.from_json({"price": "free"})
    assert sorted(e.path for e in info.value.errors) == ["/name", "/price"]
    item = shop_service.models.Item(name="x")
    with pytest.raises(ValidationFailed):
        item.validate()


def test_unknown_attribute_raises(shop_service: Service) -> None:
    item = shop_service.models.Item(name="x", price=1)
    with pytest.raises(AttributeError, match="no property 'colour'"):
        _ = item.colour


def test_all_of_makes_a_subclass(shop_service: Service) -> None:
    Dog, Pet = shop_service.models.Dog, shop_service.models.Pet
    assert issubclass(Dog, Pet)
    dog = Dog.from_json({"name": "rex", "good": True, "owner": {"email": "o@x.io"}})
    assert type(dog.owner).__name__ == "Person"
    with pytest.raises(ValidationFailed):
        Dog.from_json({"name": "rex"})


def test_nullable_kept_non_nullable_none_dropped(shop_service: Service) -> None:
    Item = shop_service.models.Item
    assert Item(name="a", price=1, note=None, tags=None).to_json() == {"name": "a", "price": 1, "note": None}


def test_self_referencing_model(shop_service: Service) -> None:
    Node = shop_service.models.Node
    tree = Node.from_json({"label": "a", "children": [{"label": "b", "children": []}]})
    assert type(tree.children[0]) is Node
    assert repr(tree).startswith("Node(label='a'")


def test_registry_lookup(shop_service: Service) -> None:
    assert "Item" in shop_service.models
    assert shop_service.models.get("Nope") is None
    with pytest.raises(AttributeError):
        _ = shop_service.models.Nope


TREE = {"label": "a", "children": [{"label": "b", "children": [{"label": "c"}]}, {"label": "d"}]}


def _tree() -> dict:
    return {"label": "a", "children": [{"label": "b", "children": [{"label": "c"}]}, {"label": "d"}]}


def test_a_model_from_json_is_serialised_without_building_its_nested_models(shop_service: Service) -> None:
    Node, registry = shop_service.models.Node, shop_service.models
    source = _tree()
    tree = registry.build(Node, source)
    assert tree._dump(False) is source  # what a response renders: the JSON as it came, no walk
    copy = tree.to_json()
    assert copy == TREE and copy is not source and copy["children"][0] is not source["children"][0]
    copy["children"].clear()  # the public JSON form is the caller's to change
    assert tree.to_json() == TREE


def test_nested_models_are_built_on_first_use_and_the_source_json_never_changes(shop_service: Service) -> None:
    Node, registry = shop_service.models.Node, shop_service.models
    source = _tree()
    tree = registry.build(Node, source)
    assert tree.label == "a" and tree._raw  # a scalar read builds nothing
    child = tree.children[0]
    assert type(child) is Node and type(child.children[0]) is Node
    child.children[0].label = "changed"
    tree.children.append(Node(label="e"))
    assert source == TREE  # the JSON the model came from is untouched
    assert tree.to_json() == {
        "label": "a",
        "children": [{"label": "b", "children": [{"label": "changed"}]}, {"label": "d"}, {"label": "e"}],
    }
    assert tree._dump(False) == tree.to_json()


def test_setting_or_deleting_on_a_model_from_json_keeps_its_nested_models(shop_service: Service) -> None:
    Node, registry = shop_service.models.Node, shop_service.models
    tree = registry.build(Node, _tree())
    tree.label = "root"
    assert type(tree.children[1]) is Node
    del tree.children
    assert tree.to_json() == {"label": "root"} and tree.children is None
    again = registry.build(Node, _tree())
    assert again == Node.from_json(TREE) and dict(again)["label"] == "a"
    assert repr(registry.build(Node, _tree())).startswith("Node(label='a', children=[Node(label='b'")


def test_from_json_copies_what_it_is_given(shop_service: Service) -> None:
    Node = shop_service.models.Node
    source = _tree()
    tree = Node.from_json(source)
    source["children"][0]["label"] = "mutated"
    source["label"] = "mutated"
    assert tree.to_json() == TREE
