"""The SQLite backend: the embedded default, one file per service.

Each persisted model is a table ``"<prefix><table>"`` with the key column ``k``, the
item as JSON in ``item``, and one column ``ix_<field>`` per index (a UNIQUE index
for unique fields, a plain one otherwise), so uniqueness is the database's job.
Each thread has its own connection (gunicorn's gthread workers), the file is in WAL
mode so readers never wait for the writer, and it is created on first use. Columns
and indexes added to ``x-persist`` later are added (and filled) when a table is first
touched.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ._base import (
    AlreadyExists,
    ConditionFailed,
    Item,
    Scalar,
    Store,
    StoreError,
    StoreUnavailable,
    TableSpec,
    expect_mismatch,
)

__all__ = ["SqliteStore"]

_BUSY_TIMEOUT_S = 30.0


def _q(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _dumps(item: Item) -> str:
    return json.dumps(item, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


class SqliteStore(Store):
    """Items in a SQLite file at ``path`` (created with its directory on first use)."""

    backend = "sqlite"

    def __init__(self, path: Path, prefix: str = "") -> None:
        super().__init__(prefix)
        self.path = Path(path)
        self._local = threading.local()
        self._lock = threading.RLock()
        self._connections: list[sqlite3.Connection] = []
        self._ready: set[str] = set()

    def _connect(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        self._local.conn = conn
        with self._lock:
            self._connections.append(conn)
        return conn

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``: a read-then-write no other writer interleaves with."""
        conn = self._connect()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _table(self, spec: TableSpec) -> str:
        name = self.table_name(spec)
        if name not in self._ready:
            with self._lock:
                if name not in self._ready:
                    with _errors(spec), self._transaction() as conn:
                        _ensure_table(conn, name, spec)
                    self._ready.add(name)
        return _q(name)

    def _row(self, spec: TableSpec, item: Item) -> list[Any]:
        return [item[spec.key], _dumps(item), *(item.get(i.field) for i in spec.indexes)]

    def create(self, spec: TableSpec, item: Item) -> None:
        table, row = self._table(spec), self._row(spec, item)
        columns = ", ".join(["k", "item", *(_q(f"ix_{i.field}") for i in spec.indexes)])
        with _errors(spec):
            self._connect().execute(f"INSERT INTO {table} ({columns}) VALUES ({', '.join('?' * len(row))})", row)

    def put(self, spec: TableSpec, item: Item, *, expect: Mapping[str, Scalar] | None = None) -> None:
        table, row = self._table(spec), self._row(spec, item)
        names = ["k", "item", *(_q(f"ix_{i.field}") for i in spec.indexes)]
        updates = ", ".join(f"{c} = excluded.{c}" for c in names[1:])
        sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(row))}) "
        sql += f"ON CONFLICT(k) DO UPDATE SET {updates}"
        with _errors(spec):
            if expect is None:
                self._connect().execute(sql, row)
                return
            with self._transaction() as conn:
                stored = conn.execute(f"SELECT item FROM {table} WHERE k = ?", (item[spec.key],)).fetchone()
                if bad := expect_mismatch(None if stored is None else json.loads(stored[0]), expect):
                    raise ConditionFailed(spec.model, bad)
                conn.execute(sql, row)

    def get(self, spec: TableSpec, key: Any) -> Item | None:
        table = self._table(spec)
        with _errors(spec):
            row = self._connect().execute(f"SELECT item FROM {table} WHERE k = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])  # type: ignore[no-any-return]

    def find(self, spec: TableSpec, field: str, value: Any, *, limit: int | None = None) -> list[Item]:
        spec.index(field)
        table = self._table(spec)
        sql = f"SELECT item FROM {table} WHERE {_q('ix_' + field)} = ? ORDER BY k LIMIT ?"
        with _errors(spec):
            rows = self._connect().execute(sql, (value, -1 if limit is None else limit)).fetchall()
        return [json.loads(r[0]) for r in rows]

    def delete(self, spec: TableSpec, key: Any) -> bool:
        table = self._table(spec)
        with _errors(spec):
            return self._connect().execute(f"DELETE FROM {table} WHERE k = ?", (key,)).rowcount > 0

    def close(self) -> None:
        with self._lock:
            connections, self._connections = self._connections, []
            self._ready.clear()
        for conn in connections:
            conn.close()
        self._local = threading.local()


@contextmanager
def _errors(spec: TableSpec) -> Iterator[None]:
    """SQLite errors as store errors: a UNIQUE violation names the field it is about."""
    try:
        yield
    except sqlite3.IntegrityError as exc:
        message = str(exc)
        if "UNIQUE constraint failed" not in message:
            raise StoreError(f"{spec.model}: {message}") from exc
        column = message.rsplit(".", 1)[-1]
        raise AlreadyExists(spec.model, spec.key if column == "k" else column.removeprefix("ix_")) from None
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise StoreUnavailable(f"the {spec.model} store is busy; retry") from exc
        raise StoreError(f"{spec.model}: {exc}") from exc
    except OverflowError as exc:
        raise StoreError(f"{spec.model}: a key or index value is too large for SQLite: {exc}") from exc


def _ensure_table(conn: sqlite3.Connection, name: str, spec: TableSpec) -> None:
    """Create the table, or bring an older one up to the spec's indexes."""
    table = _q(name)
    conn.execute(f"CREATE TABLE IF NOT EXISTS {table} (k PRIMARY KEY NOT NULL, item TEXT NOT NULL)")
    columns = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
    wanted: dict[str, str] = {}
    for index in spec.indexes:
        column = f"ix_{index.field}"
        if column not in columns:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {_q(column)}")
            conn.execute(f"UPDATE {table} SET {_q(column)} = json_extract(item, ?)", (f'$."{index.field}"',))
        wanted[f"{name}__{'u' if index.unique else 'i'}__{index.field}"] = column
    existing = {
        row[0]
        for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?", (name,))
        if row[0].startswith(f"{name}__")
    }
    for index_name in existing - set(wanted):
        conn.execute(f"DROP INDEX {_q(index_name)}")
    for index_name, column in wanted.items():
        unique = "UNIQUE " if index_name.startswith(f"{name}__u__") else ""
        try:
            conn.execute(f"CREATE {unique}INDEX IF NOT EXISTS {_q(index_name)} ON {table} ({_q(column)})")
        except sqlite3.IntegrityError:
            raise StoreError(
                f"{spec.model}: cannot make {column.removeprefix('ix_')!r} unique in {name}: stored items share values"
            ) from None
