"""macaron.store configuration: the x-persist marker and the store block are checked and
explained; the store opens lazily, and SQLite services never import boto3."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from macaron import ConfigError, ModelRegistry, SpecError
from macaron._core.schema import SchemaCompiler
from macaron.store import StoreError
from macaron.store._binding import table_spec
from macaron.store._open import default_prefix

from .._storekit import PERSIST, load

USER = {
    "type": "object",
    "properties": {
        "user_id": {"type": "string"},
        "email": {"type": "string"},
        "age": {"type": "integer"},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
}


def definitions(persist: object, **extra: object) -> dict[str, object]:
    user = {**USER, "x-persist": persist}
    user["properties"] = {**USER["properties"], **extra}  # type: ignore[dict-item]
    return {"User": user}


def test_x_persist_is_read_into_a_table_spec() -> None:
    spec = table_spec("User", definitions({"key": "user_id", "unique": ["email"], "indexes": ["age", "email"]}))
    assert (spec.table, spec.key, spec.key_type) == ("user", "user_id", "string")
    assert [(i.field, i.type, i.unique) for i in spec.indexes] == [("age", "integer", False), ("email", "string", True)]
    assert spec.unique == ("email",)


@pytest.mark.parametrize(
    ("persist", "extra", "message"),
    [
        ("users", {}, "must be a mapping"),
        ({"key": "user_id", "uniq": ["email"]}, {}, "unknown keys ['uniq']"),
        ({"table": "users"}, {}, "key: None is not a property"),
        ({"key": "nope"}, {}, "key: 'nope' is not a property"),
        ({"key": "tags"}, {}, "'tags' must be of type string or integer"),
        ({"key": "user_id", "unique": ["tags"]}, {}, "'tags' must be of type string or integer or number"),
        ({"key": "user_id", "indexes": "email"}, {}, "indexes must be a list"),
        ({"key": "user_id", "unique": ["user_id"]}, {}, "the key 'user_id' is already unique"),
        ({"key": "user_id", "table": "us ers"}, {}, "table 'us ers'"),
        ({"key": "user_id"}, {"save": {"type": "string"}}, "property named 'save'"),
    ],
)
def test_bad_x_persist_names_the_definition(persist: object, extra: dict[str, object], message: str) -> None:
    with pytest.raises(SpecError) as info:
        ModelRegistry(definitions(persist, **extra), SchemaCompiler({}))
    assert "definition 'User': x-persist" in str(info.value) and message in str(info.value)


def test_a_model_outside_a_service_has_no_store() -> None:
    defs = definitions({"key": "user_id"})
    registry = ModelRegistry(defs, SchemaCompiler(defs))
    with pytest.raises(StoreError, match="not bound to a service"):
        registry.User.get("u1")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("BACKEND", "mongo", "backend 'mongo' is not one of sqlite, dynamodb"),
        ("PATH", "file::memory:?cache=shared", "path must be a file path"),
        ("TABLE_PREFIX", "a b", "table_prefix 'a b'"),
    ],
)
def test_bad_store_config_is_explained(key: str, value: str, message: str) -> None:
    service = load(PERSIST, {f"MACARON_PERSIST_STORE__{key}": value})
    with pytest.raises(ConfigError, match=r"service\.yaml: store") as info:
        service.store()
    assert message in str(info.value)


def test_unknown_store_keys_are_refused(tmp_path: Path) -> None:
    (tmp_path / "svc").mkdir()
    for name in ("api.yaml", "handlers.py"):
        (tmp_path / "svc" / name).write_text((PERSIST / name).read_text())
    (tmp_path / "svc" / "service.yaml").write_text(yaml.safe_dump({"store": {"backend": "sqlite", "file": "x"}}))
    with pytest.raises(ConfigError, match=r"unknown keys \['file'\]"):
        load(tmp_path / "svc", {}).store()


def test_default_prefix_keeps_services_and_envs_apart() -> None:
    assert default_prefix("dev", "user") == "dev-user-"
    assert default_prefix("pr 12/x", "user") == "pr-12-x-user-"


def test_sqlite_services_never_import_boto3(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import sys
        from macaron import Service, create_app
        service = Service.load({str(PERSIST)!r}, environ={{
            "MACARON_PERSIST_STORE__PATH": {str(tmp_path / "s.sqlite3")!r}}})
        create_app(service)
        assert "sqlite3" not in sys.modules and "macaron.store._sqlite" not in sys.modules, "store opened at start"
        service.models.User(user_id="u1", email="a@example.com").create()
        assert service.models.User.get("u1").email == "a@example.com"
        print(sorted(m for m in ("boto3", "botocore", "macaron.store._dynamodb") if m in sys.modules))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
