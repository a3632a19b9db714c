"""macaron.store._sqlite specifics: the file appears on first use, WAL mode, a connection
per thread, tables that follow the spec's indexes as it changes."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import pytest
from macaron.store import AlreadyExists, Index, StoreError, TableSpec
from macaron.store._sqlite import SqliteStore

from .._storekit import PERSIST, load, store_environ

PLAIN = TableSpec(model="Thing", table="things", key="id", key_type="string")
COLOUR = Index("colour", "string", unique=False)


def test_file_and_directory_created_on_first_use(tmp_path: Path) -> None:
    env = store_environ("sqlite", tmp_path, None)
    path = tmp_path / "deep" / "dir" / "user.sqlite3"
    env["MACARON_PERSIST_STORE__PATH"] = str(path)
    service = load(PERSIST, env)
    assert service.store().path == path and not path.parent.exists()  # loading and opening touch nothing
    service.models.User(user_id="u1", email="a@example.com").create()
    assert path.is_file()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        row = conn.execute('SELECT k, item, ix_email FROM "dev-persist-users"').fetchone()
    assert row[0] == "u1" and json.loads(row[1]) == {"user_id": "u1", "email": "a@example.com"}
    assert row[2] == "a@example.com"
    service.store().close()


def test_relative_path_is_under_the_repo_root(tmp_path: Path) -> None:
    service = load(PERSIST, {"MACARON_PERSIST_STORE__PATH": "var/x.sqlite3"})
    root = Path(__file__).resolve().parents[3]
    assert (root / "noxfile.py").is_file() and service.store().path == root / "var" / "x.sqlite3"
    default = load(PERSIST, {"MACARON_ENV": "ci"}).store()
    assert default.path == root / ".data" / "ci-persist.sqlite3" and default.prefix == "ci-persist-"


def test_each_thread_has_its_own_connection(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.sqlite3")
    seen: list[int] = []
    lock = threading.Lock()

    def work(n: int) -> None:
        for i in range(20):
            store.put(PLAIN, {"id": f"{n}-{i}", "n": n})
        with lock:
            seen.append(id(store._connect()))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(seen)) == 5 and len(store._connections) == 5
    assert store.get(PLAIN, "4-19") == {"id": "4-19", "n": 4}
    store.close()
    assert store._connections == [] and store.get(PLAIN, "0-0") == {"id": "0-0", "n": 0}  # reopens
    store.close()


def test_indexes_added_later_are_created_and_filled(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    old = SqliteStore(path)
    old.put(PLAIN, {"id": "a", "colour": "red"})
    old.put(PLAIN, {"id": "b", "colour": "red"})
    old.close()
    indexed = TableSpec("Thing", "things", "id", "string", (COLOUR,))
    new = SqliteStore(path)
    assert [i["id"] for i in new.find(indexed, "colour", "red")] == ["a", "b"]
    new.close()
    unique = TableSpec("Thing", "things", "id", "string", (Index("colour", "string", unique=True),))
    with pytest.raises(StoreError, match="cannot make 'colour' unique"):  # existing duplicates
        SqliteStore(path).get(unique, "a")


def test_a_field_made_non_unique_drops_its_unique_index(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    unique = TableSpec("Thing", "things", "id", "string", (Index("colour", "string", unique=True),))
    first = SqliteStore(path)
    first.put(unique, {"id": "a", "colour": "red"})
    with pytest.raises(AlreadyExists):
        first.put(unique, {"id": "b", "colour": "red"})
    first.close()
    relaxed = TableSpec("Thing", "things", "id", "string", (COLOUR,))
    second = SqliteStore(path)
    second.put(relaxed, {"id": "b", "colour": "red"})
    assert len(second.find(relaxed, "colour", "red")) == 2
    second.close()


def test_two_prefixes_share_a_file_without_sharing_rows(tmp_path: Path) -> None:
    one, two = SqliteStore(tmp_path / "s.sqlite3", "a-"), SqliteStore(tmp_path / "s.sqlite3", "b-")
    one.create(PLAIN, {"id": "x"})
    two.create(PLAIN, {"id": "x"})
    assert one.get(PLAIN, "x") == two.get(PLAIN, "x") == {"id": "x"}
    assert one.delete(PLAIN, "x") and two.get(PLAIN, "x") == {"id": "x"}
    one.close()
    two.close()
