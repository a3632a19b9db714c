"""OpenAPI Overlay 1.0: the examples of the Overlay Specification 1.0.0 (written from its text),
the merge rules, errors naming the overlay file and the action, the ``X.overlay.yaml`` convention,
and a SendGrid-like vendor file corrected by its overlay at load time."""

from __future__ import annotations

import copy
import json
import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml
from macaron import SpecError, load_spec
from macaron._core.overlay import OverlayError, OverlayWarning, apply_overlay, overlays_for

from .test_spec import minimal, spec_file


def overlay(*actions: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"overlay": "1.0.0", "info": {"title": "t", "version": "1"}, "actions": list(actions), **extra}


def ok(description: str = "OK") -> dict[str, Any]:
    return {"responses": {"200": {"description": description}}}


PETS: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "Pets", "version": "1.0.0"},
    "tags": [{"name": "pets"}],
    "paths": {
        "/": {"get": ok()},
        "/pets": {"get": {**ok(), "parameters": [
            {"name": "filter", "in": "query", "schema": {"type": "string"}},
            {"name": "dummy", "in": "query", "schema": {"type": "string"}},
            {"name": "filter", "in": "header", "schema": {"type": "string"}}]}},
        "/foo": {"get": {**ok(), "description": "old"}},
        "/bar": {"get": ok(), "post": {**ok(), "x-safe": True}},
    },
    "components": {"schemas": {"Pet": {"type": "object"}}},
}


def test_structured_overlay_example() -> None:
    structured = yaml.safe_load("""
overlay: 1.0.0
info:
  title: Structured Overlay
  version: 1.0.0
actions:
  - target: '$' # Root of document
    update:
      info:
        x-overlay-applied: structured-overlay
      paths:
        '/':
          summary: 'The root resource'
          get:
            summary: 'Retrieve the root resource'
            x-rate-limit: 100
        '/pets':
          get:
            summary: 'Retrieve a list of pets'
            x-rate-limit: 100
      components:
      tags:
""")
    out = apply_overlay(PETS, structured)
    assert out["info"] == {**PETS["info"], "x-overlay-applied": "structured-overlay"}
    assert out["paths"]["/"]["summary"] == "The root resource"
    assert out["paths"]["/"]["get"] == {**ok(), "summary": "Retrieve the root resource", "x-rate-limit": 100}
    assert out["paths"]["/pets"]["get"]["x-rate-limit"] == 100 and len(out["paths"]["/pets"]["get"]["parameters"]) == 3
    assert out["components"] == PETS["components"] and out["tags"] == PETS["tags"]  # null: placeholders
    assert "components" not in apply_overlay({"paths": {}}, structured)


def test_targeted_overlay_example() -> None:
    out = apply_overlay(PETS, overlay(
        {"target": "$.paths['/foo'].get", "update": {"description": "This is the new description"}},
        {"target": "$.paths['/bar'].get", "update": {"description": "This is the updated description"}},
        {"target": "$.paths['/bar']", "update": {"post": {
            "description": "This is an updated description of a child object", "x-safe": False}}},
    ))
    assert out["paths"]["/foo"]["get"]["description"] == "This is the new description"
    assert out["paths"]["/bar"]["get"]["description"] == "This is the updated description"
    assert out["paths"]["/bar"]["post"] == {**ok(), "x-safe": False,
                                           "description": "This is an updated description of a child object"}


def test_wildcard_overlay_example() -> None:
    out = apply_overlay(PETS, overlay(
        {"target": "$.paths.*.get", "update": {"x-safe": True}},
        {"target": "$.paths.*.get.parameters[?@.name=='filter' && @.in=='query']",
         "update": {"schema": {"$ref": "/components/schemas/filterSchema"}}},
    ))
    assert all(item["get"]["x-safe"] is True for item in out["paths"].values())
    query, dummy, header = out["paths"]["/pets"]["get"]["parameters"]
    assert query["schema"] == {"type": "string", "$ref": "/components/schemas/filterSchema"}  # merged
    assert dummy["schema"] == header["schema"] == {"type": "string"}


def test_array_modification_examples() -> None:
    added = apply_overlay(PETS, overlay({"target": "$.paths.*.get.parameters",
                                         "update": {"name": "newParam", "in": "query"}}))
    assert added["paths"]["/pets"]["get"]["parameters"][-1] == {"name": "newParam", "in": "query"}
    assert "parameters" not in added["paths"]["/foo"]["get"]  # nothing selected there
    removed = apply_overlay(PETS, overlay({"target": "$.paths.*.get.parameters[?@.name == 'dummy']", "remove": True}))
    assert [p["name"] for p in removed["paths"]["/pets"]["get"]["parameters"]] == ["filter", "filter"]


TRAITS = yaml.safe_load("""
openapi: 3.1.0
info: {title: API with a paged collection, version: 1.0.0}
paths:
  /items:
    get:
      x-oai-traits: ['paged']
      responses: {'200': {description: OK}}
  /items/{id}/subitems:
    get:
      x-oai-traits: ['paged']
      parameters: [{name: id, in: path, required: true}]
      responses: {'200': {description: OK}}
  /other:
    get:
      responses: {'200': {description: OK}}
""")
PAGING = {"parameters": [{"name": "top", "in": "query"}, {"name": "skip", "in": "query"}]}


def test_traits_example() -> None:
    """1.0.0's Traits target (``$.paths.*.get[?@.x-oai-traits.paged]``) is no RFC 9535 query (a
    ``-`` cannot stand in a dotted name): it is refused naming the action. Written as RFC 9535
    (Overlay 1.1 corrected it so), it applies the trait; arrays in ``update`` are concatenated."""
    with pytest.raises(OverlayError, match=r"traits.overlay.yaml: actions\[0\] .*not an RFC 9535 JSONPath query"):
        apply_overlay(TRAITS, overlay({"target": "$.paths.*.get[?@.x-oai-traits.paged]", "update": PAGING}),
                      source="traits.overlay.yaml")
    out = apply_overlay(TRAITS, overlay({"target": "$.paths[?(@.get['x-oai-traits'][?(@ == 'paged')])].get",
                                         "update": PAGING}))
    assert out["paths"]["/items"]["get"]["parameters"] == PAGING["parameters"]
    assert [p["name"] for p in out["paths"]["/items/{id}/subitems"]["get"]["parameters"]] == ["id", "top", "skip"]
    assert out["paths"]["/other"] == TRAITS["paths"]["/other"]


def test_actions_apply_in_order_and_the_input_is_left_as_it_was() -> None:
    before = copy.deepcopy(PETS)
    out = apply_overlay(PETS, overlay(
        {"target": "$.paths['/foo']", "remove": True},
        {"target": "$.paths", "update": {"/foo": {"get": ok("recreated")}}},
        {"target": "$.paths['/bar'].post", "remove": True, "update": {"ignored": 1}},
    ))
    assert out["paths"]["/foo"] == {"get": ok("recreated")} and "post" not in out["paths"]["/bar"]
    assert PETS == before


def test_a_target_selecting_nothing_warns_naming_the_file_and_action() -> None:
    with pytest.warns(OverlayWarning, match=r"vendor.overlay.yaml: actions\[1\] \(target \$.paths\['/gone'\]\)"):
        out = apply_overlay(PETS, overlay({"target": "$.info", "update": {"x-a": 1}},
                                          {"target": "$.paths['/gone']", "update": {"x-b": 1}}),
                            source="vendor.overlay.yaml")
    assert out["info"]["x-a"] == 1 and "/gone" not in out["paths"]


@pytest.mark.parametrize(("actions", "message"), [
    ([{"target": "$.info.title", "update": {"a": 1}}], r"actions\[0\].*selects \$\['info'\]\['title'\], a string"),
    ([{"target": "$.info", "update": "text"}], r"actions\[0\].*'update' must be an object"),
    ([{"target": "$", "remove": True}], r"actions\[0\].*root"),
    ([{"target": "$.info", "update": {}}, {"target": "$.tags", "update": {}}, {"target": "$", "update": {"tags": {}}}],
     r"actions\[2\].*'tags' is a array in the document and a object"),
    ([{"target": "$.info", "update": {"title": ["x"]}}], r"actions\[0\].*'title' is a string"),
    ([{"target": "info", "update": {}}], r"actions\[0\]: 'target' must be a JSONPath query starting with '\$'"),
    ([{"target": "$.info"}], r"actions\[0\]: the action does nothing"),
    ([{"target": "$.info", "remove": "yes"}], r"actions\[0\]: 'remove' must be true or false"),
    ([{"target": "$.info", "updates": {}}], r"actions\[0\]: unknown field\(s\) \['updates'\]"),
    ([], r"'actions' must be a list of at least one action"),
])
def test_errors_name_the_overlay_file_and_the_action(actions: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(OverlayError, match=r"^fix.overlay.yaml: .*" + message):
        apply_overlay(PETS, overlay(*actions), source="fix.overlay.yaml")


@pytest.mark.parametrize(("document", "message"), [
    ({"overlay": "1.1.0", "info": {"title": "t", "version": "1"}, "actions": [{"target": "$", "update": {}}]},
     "version 1.0.x"),
    ({"overlay": "1.0.0", "info": {"title": "t"}, "actions": [{"target": "$", "update": {}}]}, "'info' must have"),
    ({"overlay": "1.0.0", "info": {"title": "t", "version": "1"}, "actions": [{"target": "$", "update": {}}],
      "action": []}, r"unknown field\(s\) \['action'\]"),
    (["not", "a", "mapping"], "must be a mapping"),
])
def test_an_invalid_overlay_document_is_refused(document: Any, message: str) -> None:
    with pytest.raises(OverlayError, match=message):
        apply_overlay(PETS, document, source="x.overlay.yaml")
    assert issubclass(OverlayError, SpecError)


def test_extends_must_name_the_file_when_relative(tmp_path: Path) -> None:
    spec, other = tmp_path / "api.yaml", tmp_path / "other.yaml"
    source = tmp_path / "api.overlay.yaml"
    update = {"target": "$.info", "update": {"x-a": 1}}
    assert apply_overlay(PETS, overlay(update, extends="./api.yaml"), source=source, target=spec)["info"]["x-a"] == 1
    assert apply_overlay(PETS, overlay(update, extends="https://vendor.example/api.yaml"), source=source, target=spec)
    with pytest.raises(OverlayError, match=r"api.overlay.yaml: 'extends: \./api.yaml' names .*api.yaml, but the "
                                           r"overlay is applied to .*other.yaml"):
        apply_overlay(PETS, overlay(update, extends="./api.yaml"), source=source, target=other)


def test_overlays_are_found_beside_the_spec_by_name(tmp_path: Path) -> None:
    for name in ("api.yaml", "api.overlay.yaml", "api.overlay.b-types.yaml", "api.overlay.a-docs.json",
                 "api.overlay.notes.txt", "apiary.overlay.yaml", "other.overlay.yaml"):
        (tmp_path / name).write_text("{}")
    assert [p.name for p in overlays_for(tmp_path / "api.yaml")] == [
        "api.overlay.yaml", "api.overlay.a-docs.json", "api.overlay.b-types.yaml"]
    assert overlays_for(tmp_path / "api.overlay.yaml") == [] and overlays_for(tmp_path / "none.yaml") == []


VENDOR = minimal(
    {"/v3/mail/send": {"post": {
        "operationId": "sendMail",
        "parameters": [{"name": "body", "in": "body", "required": True, "schema": {"$ref": "#/definitions/Mail"}}],
        "responses": {"202": {"description": "Accepted"},
                      "400": {"description": "Bad", "schema": {"$ref": "#/definitions/Errors"}}}}}},
    definitions={
        "Mail": {"type": "object", "properties": {
            "subject": {"type": "string"},
            "custom_args": {"type": "string", "description": "Values carried into event data."},  # the vendor's bug
            "personalizations": {"type": "array", "items": {"type": "object", "properties": {
                "custom_args": {"type": "object", "additionalProperties": {"type": "string"}}}}}}},
        "Errors": {"type": "object", "properties": {"errors": {"type": "array", "items": {
            "type": "object", "properties": {"message": {"type": "string"}, "field": {"type": "string"},
                                             "help": {"type": "object"}}}}}},  # the vendor's bug: a URL or null
    },
)
SENDGRID_FIX = """\
overlay: 1.0.0
info: {title: What the live SendGrid API does that its file says otherwise, version: 1.0.0}
extends: ./sendgrid.yaml
actions:
  - target: $.definitions.Mail.properties.custom_args
    description: 'the live API rejects a string custom_args ("Invalid type. Expected: object")'
    remove: true
  - target: $.definitions.Mail.properties
    update:
      custom_args: {type: object, additionalProperties: {type: string}, description: Values carried into event data.}
  - target: $.definitions.Errors.properties.errors.items.properties.help
    remove: true
  - target: $.definitions.Errors.properties.errors.items.properties
    update:
      help: {type: string, x-nullable: true, description: "A link to documentation about the error, or null."}
"""


def test_a_vendor_file_is_corrected_by_its_overlay_at_load_time(tmp_path: Path) -> None:
    vendor = spec_file(tmp_path, VENDOR, "sendgrid.yaml")
    assert load_spec(vendor).definitions["Mail"]["properties"]["custom_args"]["type"] == "string"  # as written
    (tmp_path / "sendgrid.overlay.yaml").write_text(SENDGRID_FIX)
    spec = load_spec(vendor)
    mail, error = spec.definitions["Mail"], spec.definitions["Errors"]["properties"]["errors"]["items"]
    assert mail["properties"]["custom_args"] == {"type": "object", "additionalProperties": {"type": "string"},
                                                 "description": "Values carried into event data."}
    assert error["properties"]["help"]["type"] == "string" and error["properties"]["help"]["x-nullable"] is True
    assert set(mail["properties"]) == {"subject", "personalizations", "custom_args"}
    assert (tmp_path / "sendgrid.overlay.yaml").resolve() in spec.files  # deploy bundles carry it
    assert yaml.safe_load(vendor.read_text()) == json.loads(json.dumps(VENDOR))  # the vendor's file is untouched


def test_the_same_correction_applies_to_an_openapi_3_document() -> None:
    vendor = {"openapi": "3.1.0", "info": {"title": "SendGrid", "version": "3"}, "paths": {}, "components": {
        "schemas": {k: v for k, v in VENDOR["definitions"].items()}}}
    fix = yaml.safe_load(SENDGRID_FIX.replace("$.definitions", "$.components.schemas"))
    del fix["extends"]
    out = apply_overlay(vendor, fix)
    assert out["components"]["schemas"]["Mail"]["properties"]["custom_args"]["type"] == "object"


def test_a_broken_overlay_fails_the_load_naming_its_file_and_action(tmp_path: Path) -> None:
    vendor = spec_file(tmp_path, VENDOR, "sendgrid.yaml")
    broken = SENDGRID_FIX.replace("object\")'\n    remove: true", "object\")'\n    update: 1")
    (tmp_path / "sendgrid.overlay.yaml").write_text(broken)
    with pytest.raises(SpecError, match=r"sendgrid.overlay.yaml: actions\[0\] \(target \$.definitions.Mail.properties"
                                        r".custom_args\): selects the object .* 'update' must be an object"):
        load_spec(vendor)
    stale = SENDGRID_FIX.replace("Errors.properties.errors.items.properties.help", "Nope.help")
    (tmp_path / "sendgrid.overlay.yaml").write_text(stale)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OverlayWarning)
        load_spec(vendor)  # a stale target changes nothing: a warning, not a failure
