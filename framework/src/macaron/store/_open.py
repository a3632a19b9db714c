"""Opening a service's store from the ``store:`` block of its ``service.yaml``.

```yaml
store:
  backend: sqlite          # or dynamodb
  path: null               # sqlite file; default .data/<env>-<service>.sqlite3 under the repo root
                           # ($MACARON_DATA_DIR/<env>-<service>.sqlite3 when set: tests get their own)
  table_prefix: null       # default "<env>-<service>-": copied services never share a table
  endpoint_url: null       # dynamodb only: a local DynamoDB or moto
  region: null             # dynamodb only: else AWS_REGION / AWS_DEFAULT_REGION
```

Keys written in the file (even as ``null``) can be overridden from the environment,
e.g. ``MACARON_USER_STORE__BACKEND=dynamodb``. Opening is cheap and lazy: no file,
connection or ``boto3`` import happens before the first read or write.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._core import plugins
from .._core.config import Config
from .._core.errors import ConfigError
from ._base import Store
from ._binding import bind_persistence

BACKENDS = ("sqlite", "dynamodb")
_KEYS = {"backend", "path", "table_prefix", "endpoint_url", "region"}
_PREFIX = re.compile(r"[A-Za-z0-9_.-]{0,100}")
_ROOT_MARKERS = ("noxfile.py", ".git")


def store_for(service: Any) -> Store:
    """The store of ``service``, created on first use and kept in ``service.extensions``."""
    store = service.extensions.get("store")
    if store is None:
        # Opening has no side effects, so two racing threads may both build one;
        # setdefault keeps exactly one of them.
        store = service.extensions.setdefault("store", open_store(service.config))
    return store  # type: ignore[no-any-return]


def default_prefix(env: str, service: str) -> str:
    """``dev-user-``: the environment and service name, so no two share a table."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{env}-{service}-")


def repo_root(directory: Path) -> Path:
    """The nearest ancestor holding ``noxfile.py`` or ``.git``; else the service directory."""
    for candidate in (directory, *directory.parents):
        if any((candidate / marker).exists() for marker in _ROOT_MARKERS):
            return candidate
    return directory


def open_store(config: Config) -> Store:
    """Build (without connecting) the store ``config`` describes."""
    where = f"{config.directory / 'service.yaml'}: store"
    settings = config.get("store") or {}
    if not isinstance(settings, Mapping):
        raise ConfigError(f"{where} must be a mapping (backend, path, table_prefix, endpoint_url, region)")
    if unknown := sorted(set(settings) - _KEYS):
        raise ConfigError(f"{where}: unknown keys {unknown} (allowed: {sorted(_KEYS)})")
    backend = settings.get("backend") or "sqlite"
    prefix = settings.get("table_prefix")
    prefix = default_prefix(config.env, config.name) if prefix is None else str(prefix)
    if not _PREFIX.fullmatch(prefix):
        raise ConfigError(f"{where}: table_prefix {prefix!r} must be letters, digits, '_', '.' or '-'")
    if backend == "sqlite":
        from ._sqlite import SqliteStore  # deferred: a backend is imported only when chosen

        data_dir = config.environ.get("MACARON_DATA_DIR") or ".data"  # the test plugin sets one of its own
        raw = settings.get("path") or f"{data_dir}/{config.env}-{config.name}.sqlite3"
        if not isinstance(raw, str) or raw == ":memory:" or raw.startswith("file:"):
            raise ConfigError(f"{where}: path must be a file path (each thread opens its own connection)")
        path = Path(raw).expanduser()
        if not path.is_absolute():
            path = repo_root(config.directory) / path
        return SqliteStore(path, prefix)
    if backend == "dynamodb":
        from ._dynamodb import DynamoStore  # deferred: heavy (boto3), imported only when chosen

        endpoint = settings.get("endpoint_url")
        region = settings.get("region")
        return DynamoStore(prefix, region=str(region) if region else None, endpoint_url=endpoint or None)
    raise ConfigError(f"{where}: backend {backend!r} is not one of {', '.join(BACKENDS)}")


def provide() -> None:
    """Fill the core's persistence extension point (``_core.plugins``) with this package."""
    plugins.provide_persistence(plugins.Persistence(bind=bind_persistence, open=store_for))
