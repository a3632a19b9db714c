"""A whole local system on free ports: Redis, a fake per external API, every service,
a worker per service with tasks. For acceptance and chaos tests, and anything else
that must not collide with a running ``nox -s dev``.

Wiring is done through the environment each process gets, exactly as an operator would:
``MACARON_<SVC>_PORT`` (siblings find each other through it),
``MACARON_<SVC>_CLIENTS__<API>__URL`` for the fakes, ``MACARON_<SVC>_STORE__PATH`` for a
private SQLite file, ``REDIS_URL``, and the dev secrets.
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
from collections.abc import Collection
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .._core.config import env_key, load_config
from .._local.dev import Proc, Supervisor, discover_services
from .._local.devenv import dev_environ
from .._local.ports import free_port
from .._local.redis import RedisServer
from .._local.siblings import check_apart
from ..clients._config import _shared_api
from ..tasks._queue import declares_tasks


class LocalSystem:
    """Start with :meth:`start` (or ``with``); ``urls`` maps service and fake names to base URLs."""

    def __init__(self, root: Path, *, host: str = "127.0.0.1", env: dict[str, str] | None = None,
                 redis_url: str | None = None, out: Any = None, without: Collection[str] = ()) -> None:
        """``without``: services that get their port and wiring but no process (nor worker): a
        stand-in serves them there, as the deploy's smoke test does with a bundle."""
        self.root = root.resolve()
        self.without = frozenset(without)
        self.host = host
        self.extra_env = dict(env or {})
        self.redis_url = redis_url or os.environ.get("REDIS_URL")
        self.urls: dict[str, str] = {}
        self.procs: dict[str, Proc] = {}
        self.env: dict[str, str] = {}
        self.data_dir = Path(tempfile.mkdtemp(prefix="macaron-system-"))
        self.supervisor = Supervisor(out=out or io.StringIO())
        self._redis: Any = None

    def _plan(self) -> tuple[list[Proc], list[Proc], list[Proc], bool]:
        """The fakes, services and workers to start, and whether any service (started or not) needs Redis."""
        services = discover_services(self.root)
        configs = {d: load_config(d, environ={**dev_environ(self.root), **os.environ}) for d in services}
        check_apart(configs.values())
        env = {**dev_environ(self.root), "MACARON_ENV": os.environ.get("MACARON_ENV", "dev"), **self.extra_env}
        for config in configs.values():
            port = free_port(self.host)
            self.urls[config.name] = f"http://{self.host}:{port}"
            env[f"MACARON_{env_key(config.name)}_PORT"] = str(port)
            if isinstance(config.get("store"), dict):
                env[f"MACARON_{env_key(config.name)}_STORE__PATH"] = str(self.data_dir / f"{config.name}.sqlite3")
        fakes: dict[Path, int] = {}
        for directory, config in configs.items():
            for name, entry in (config.get("clients") or {}).items():
                url = urlsplit(str((entry or {}).get("url") or ""))
                spec = _shared_api(directory, name)
                if spec is None or url.hostname not in ("127.0.0.1", "localhost"):
                    continue
                port = fakes.setdefault(spec, free_port(self.host))
                self.urls[f"fake-{spec.stem}"] = f"http://{self.host}:{port}"
                env[f"MACARON_{env_key(config.name)}_CLIENTS__{env_key(name)}__URL"] = f"http://{self.host}:{port}"
        self.env = env
        py = [sys.executable, "-m", "macaron"]
        fake_procs = [
            Proc(name=f"fake-{spec.stem}", argv=[*py, "fake", str(spec), "--host", self.host, "--port", str(port)],
                 ready_url=f"http://{self.host}:{port}/__fake__/ping")
            for spec, port in fakes.items()
        ]
        service_procs = [
            Proc(name=config.name, argv=[*py, "serve", str(d), "--host", self.host, "--workers", "1"],
                 ready_url=f"{self.urls[config.name]}/ping")
            for d, config in configs.items() if config.name not in self.without
        ]
        with_tasks = {d: c for d, c in configs.items() if declares_tasks(d)}
        workers = [Proc(name=f"{c.name}-worker", argv=[*py, "worker", str(d)])
                   for d, c in with_tasks.items() if c.name not in self.without]
        return fake_procs, service_procs, workers, bool(with_tasks)

    def start(self) -> LocalSystem:
        fakes, services, workers, needs_redis = self._plan()
        try:
            if self.redis_url is None and needs_redis:
                self._redis = RedisServer(self.data_dir / "redis").start()
                self.redis_url = self._redis.url
            if self.redis_url:
                self.env["REDIS_URL"] = self.redis_url
            for proc in [*fakes, *services, *workers]:
                proc.env.update(self.env)
                proc.log_path = self.data_dir / f"{proc.name}.log"
                self.procs[proc.name] = proc
                self.supervisor.start(proc, timeout=60)
        except BaseException:
            self.stop()
            raise
        return self

    @property
    def redis(self) -> Any:
        """The private :class:`macaron._local.redis.RedisServer` (``stop()``/``start()`` to take Redis away and
        bring it back on the same port and data), or None when ``REDIS_URL`` pointed elsewhere."""
        return self._redis

    def test_environ(self) -> dict[str, str]:
        """What acceptance tests need to find this system: ``MACARON_TEST_URL_<SVC>`` per service,
        ``MACARON_TEST_FAKE_<API>`` per fake (read by :class:`macaron.testing.SystemUnderTest`)."""
        out = {}
        for name, url in self.urls.items():
            kind, key = ("FAKE", name.removeprefix("fake-")) if name.startswith("fake-") else ("URL", name)
            out[f"MACARON_TEST_{kind}_{env_key(key)}"] = url
        return out

    def logs(self) -> str:
        """Everything the system's processes have written so far."""
        return "".join(p.read_text(errors="replace") for p in sorted(self.data_dir.glob("*.log")))

    def stop(self) -> None:
        self.supervisor.stop()
        if self._redis is not None:
            self._redis.stop()
            self._redis = None

    def __enter__(self) -> LocalSystem:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
