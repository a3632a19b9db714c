"""The whole system inside one process: every service's Flask app, a fake per external API,
and a private Redis, each app also served over HTTP on 127.0.0.1 so siblings can call it.

What :class:`macaron.testing._system.LocalSystem` does with processes, done with threads: for tests
that want the WSGI apps themselves (fuzzing through the app, inspecting a service's store)
with their clients wired exactly as in production. Wiring goes through the environment each
service is loaded with (``MACARON_<SVC>_PORT``, ``MACARON_<SVC>_CLIENTS__<API>__URL``,
``MACARON_<SVC>_STORE__PATH``, ``REDIS_URL``), never through ``os.environ``. No worker runs:
tasks stay queued in Redis.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .._core.config import env_key, load_config
from .._core.service import Service
from .._local.dev import discover_services
from .._local.devenv import dev_environ
from .._local.fakes import create_fake_app
from .._local.redis import RedisServer
from .._server.app import create_app
from ..clients._config import _shared_api
from ..tasks._queue import declares_tasks
from ._http import serve_app


class _Slot:
    """A WSGI app filled in later: the server (and so the URL) exists before the app is built."""

    def __init__(self) -> None:
        self.app: Callable[..., Iterable[bytes]] | None = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if self.app is None:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"starting"]
        return self.app(environ, start_response)


class InProcessSystem:
    """Use as a context manager; ``services``/``apps`` map names to Service/Flask app, ``urls``
    maps service and fake names (``fake-sendgrid``) to base URLs."""

    def __init__(self, root: Path, *, env: dict[str, str] | None = None, host: str = "127.0.0.1") -> None:
        self.root = root.resolve()
        self.host = host
        self.extra_env = dict(env or {})
        self.services: dict[str, Any] = {}
        self.apps: dict[str, Any] = {}
        self.urls: dict[str, str] = {}
        self.fakes: dict[str, Any] = {}
        self.environ: dict[str, str] = {}
        self.data_dir = Path(tempfile.mkdtemp(prefix="macaron-inprocess-"))
        self._stack = ExitStack()

    def start(self) -> InProcessSystem:
        try:
            directories = discover_services(self.root)
            env = {**dev_environ(self.root), **os.environ, **self.extra_env}
            if any(declares_tasks(d) for d in directories) and not env.get("REDIS_URL"):
                redis = self._stack.enter_context(RedisServer(self.data_dir / "redis"))
                env["REDIS_URL"] = redis.url
            configs = {d: load_config(d, environ=env) for d in directories}
            slots: dict[str, _Slot] = {}
            for config in configs.values():
                slots[config.name] = _Slot()
                url = self._stack.enter_context(serve_app(slots[config.name], self.host))
                self.urls[config.name] = url
                env[f"MACARON_{env_key(config.name)}_PORT"] = str(urlsplit(url).port)
                if isinstance(config.get("store"), dict):
                    env[f"MACARON_{env_key(config.name)}_STORE__PATH"] = str(self.data_dir / f"{config.name}.sqlite3")
            for directory, config in configs.items():
                for name, entry in (config.get("clients") or {}).items():
                    spec = _shared_api(directory, name)
                    if spec is None or urlsplit(str((entry or {}).get("url") or "")).hostname not in (
                        "127.0.0.1", "localhost"):
                        continue
                    key = f"fake-{spec.stem}"
                    if key not in self.urls:
                        self.fakes[spec.stem] = create_fake_app(spec)
                        self.urls[key] = self._stack.enter_context(serve_app(self.fakes[spec.stem], self.host))
                    env[f"MACARON_{env_key(config.name)}_CLIENTS__{env_key(name)}__URL"] = self.urls[key]
            self.environ = env
            for directory, config in configs.items():
                service = Service.load(directory, environ=env)
                self.services[config.name] = service
                self.apps[config.name] = slots[config.name].app = create_app(service)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        self._stack.close()
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> InProcessSystem:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
