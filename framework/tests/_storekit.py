"""Test kit for macaron.store: the persist fixture service on either backend, and a
moto DynamoDB server in server mode on 127.0.0.1 (never AWS)."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from macaron import Service
from macaron._local.motoserver import FAKE_AWS, MotoServer

PERSIST = Path(__file__).parent / "fixtures" / "persist"


@contextmanager
def moto_dynamodb() -> Iterator[str]:
    """A moto server on 127.0.0.1 with fake credentials in the environment; yields its URL.

    The local system's :class:`MotoServer` (a process serving one request at a time), not moto's
    ``ThreadedMotoServer``: threaded, moto's TransactWriteItems copies a table while other threads
    write to it, and a concurrent-writers test lost one of 60 committed items that way."""
    server = MotoServer()
    with pytest.MonkeyPatch.context() as patch:
        for name, value in FAKE_AWS.items():
            patch.setenv(name, value)
        server.start()
        try:
            yield server.url
        finally:
            server.stop()


def store_environ(backend: str, tmp_path: Path, moto_url: str | None, service: str = "persist") -> dict[str, str]:
    """Environment selecting ``backend`` for ``service``: a fresh SQLite file or fresh tables."""
    var = f"MACARON_{service.upper()}_STORE__"
    if backend == "sqlite":
        return {f"{var}BACKEND": "sqlite", f"{var}PATH": str(tmp_path / "store.sqlite3")}
    assert moto_url is not None and moto_url.startswith("http://127.0.0.1:")
    return {
        f"{var}BACKEND": "dynamodb",
        f"{var}ENDPOINT_URL": moto_url,
        f"{var}REGION": "us-east-1",
        f"{var}TABLE_PREFIX": f"t{uuid.uuid4().hex[:12]}-",
    }


def copy_service(tmp_path: Path, name: str) -> Path:
    """The persist fixture copied to ``tmp_path/name``: a second service, same models."""
    target = tmp_path / name
    shutil.copytree(PERSIST, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def load(directory: Path, environ: dict[str, str]) -> Service:
    return Service.load(directory, environ=environ)
