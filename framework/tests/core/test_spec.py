"""Spec loading: refs across files, validation errors that name file, place and problem."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from macaron import SpecError, load_spec

FIXTURES = Path(__file__).parents[1] / "fixtures"


def spec_file(tmp_path: Path, doc: dict, name: str = "api.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc))
    return path


def minimal(paths: dict | None = None, **extra) -> dict:
    return {"swagger": "2.0", "info": {"title": "t", "version": "1"}, "paths": paths or {}, **extra}


def op(op_id: str = "getThing", **extra) -> dict:
    return {"operationId": op_id, "responses": {"200": {"description": "ok"}}, **extra}


def test_path_level_parameters_are_merged() -> None:
    spec = load_spec(FIXTURES / "shop" / "api.yaml")
    get_item = next(o for o in spec.operations if o.operation_id == "getItem")
    assert [p["name"] for p in get_item.parameters] == ["item_id", "verbose", "X-Trace"]


def test_invalid_parameter_type_is_named(tmp_path: Path) -> None:
    doc = minimal(
        {"/a/{id}": {"get": op(parameters=[{"name": "id", "in": "path", "required": True, "type": "integr"}])}}
    )
    with pytest.raises(SpecError) as info:
        load_spec(spec_file(tmp_path, doc))
    message = str(info.value)
    assert str(tmp_path / "api.yaml") in message
    assert "'id'" in message and "integr" in message
    assert "paths//a/{id}/get/parameters/0" in message


def test_missing_operation_id(tmp_path: Path) -> None:
    doc = minimal({"/a": {"get": {"responses": {"200": {"description": "ok"}}}}})
    with pytest.raises(SpecError, match=r"GET /a\): every operation needs an operationId"):
        load_spec(spec_file(tmp_path, doc))


def test_duplicate_operation_id(tmp_path: Path) -> None:
    doc = minimal({"/a": {"get": op("same")}, "/b": {"get": op("same")}})
    with pytest.raises(SpecError, match=r"'same' is also used by GET /a"):
        load_spec(spec_file(tmp_path, doc))


def test_undeclared_path_parameter(tmp_path: Path) -> None:
    doc = minimal({"/a/{id}": {"get": op()}})
    with pytest.raises(SpecError, match=r"operation getThing \(GET /a/\{id\}\): path parameter \{id\} is not declared"):
        load_spec(spec_file(tmp_path, doc))


def test_not_swagger_2(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"only Swagger 2\.0"):
        load_spec(spec_file(tmp_path, {"openapi": "3.0.0", "info": {}, "paths": {}}))
