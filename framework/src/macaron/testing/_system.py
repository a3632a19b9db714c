"""A whole local system on free ports: Redis, a fake per external API, every service,
a worker per service with tasks. For acceptance and chaos tests, and anything else
that must not collide with a running ``nox -s dev``.

Wiring is done through the environment each process gets, exactly as an operator would:
``MACARON_<SVC>_PORT`` (siblings find each other through it),
``MACARON_<SVC>_CLIENTS__<API>__URL`` for the fakes, ``MACARON_<SVC>_STORE__PATH`` for a
private SQLite file, ``REDIS_URL``, and the dev secrets.

``instances=N`` (N > 1) runs the production shape in miniature (:mod:`macaron._local.fleet`): N
``macaron serve`` processes per service behind nginx round robin on the service's port, N
workers per service with tasks, one Redis, and the store on DynamoDB (moto server) for all.
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
from .._core.errors import ConfigError
from .._local.balancer import Balancer
from .._local.dev import Proc, Supervisor, discover_services
from .._local.devenv import dev_environ
from .._local.fleet import BALANCED_TRUST, Scale, serve_procs, store_environ, worker_procs
from .._local.motoserver import FAKE_AWS, MotoServer
from .._local.ports import free_port
from .._local.redis import RedisServer
from .._local.siblings import check_apart
from ..clients._config import _shared_api
from ..tasks._queue import declares_tasks


class LocalSystem:
    """Start with :meth:`start` (or ``with``); ``urls`` maps service and fake names to base URLs."""

    def __init__(self, root: Path, *, host: str = "127.0.0.1", env: dict[str, str] | None = None,
                 redis_url: str | None = None, out: Any = None, without: Collection[str] = (),
                 instances: int = 1, workers: int | None = None, store: str | None = None,
                 worker_args: dict[str, list[str]] | None = None) -> None:
        """``without``: services that get their port and wiring but no process (nor worker): a
        stand-in serves them there, as the deploy's smoke test does with a bundle. ``instances``,
        ``workers`` (default: as many as instances) and ``store`` (``sqlite`` or ``dynamodb``;
        default: DynamoDB with several instances): see :class:`macaron._local.fleet.Scale`.
        ``worker_args``: extra ``macaron worker`` arguments per service (``{"mail": [...]}``)."""
        self.root = root.resolve()
        self.without = frozenset(without)
        self.host = host
        self.scale = Scale(instances=instances, workers=workers, store=store)
        self.worker_args = {k: list(v) for k, v in (worker_args or {}).items()}
        self.extra_env = dict(env or {})
        self.redis_url = redis_url or os.environ.get("REDIS_URL")
        self.urls: dict[str, str] = {}
        self.procs: dict[str, Proc] = {}
        self.env: dict[str, str] = {}
        self.data_dir = Path(tempfile.mkdtemp(prefix="macaron-system-"))
        self.supervisor = Supervisor(out=out or io.StringIO())
        self._redis: Any = None
        self.balancer: Balancer | None = None  # with instances > 1: nginx in front of each service
        self.dynamodb: MotoServer | None = None  # with the DynamoDB store: the moto server all share
        self.upstreams: dict[str, list[str]] = {}  # service -> its instances' host:port
        self.groups: dict[str, list[str]] = {}  # service (or "<svc>-worker") -> the names of its processes

    def _plan(self) -> tuple[list[Proc], list[Proc], list[Proc], bool]:
        """The fakes, services and workers to start, and whether any service (started or not) needs Redis."""
        services = discover_services(self.root)
        configs = {d: load_config(d, environ={**dev_environ(self.root), **os.environ}) for d in services}
        check_apart(configs.values())
        env = {**dev_environ(self.root), "MACARON_ENV": os.environ.get("MACARON_ENV", "dev")}
        if self.scale.store_backend == "dynamodb" and any(isinstance(c.get("store"), dict) for c in configs.values()):
            self.dynamodb = MotoServer(log_path=self.data_dir / "moto.out")  # not in logs(): not ours
            env.update(FAKE_AWS)
        if self.scale.balanced:
            env["MACARON_TRUSTED_PROXIES"] = BALANCED_TRUST
        env.update(self.extra_env)
        public: dict[str, int] = {}
        for config in configs.values():
            port = public[config.name] = free_port(self.host)
            self.urls[config.name] = f"http://{self.host}:{port}"
            env[f"MACARON_{env_key(config.name)}_PORT"] = str(port)
            if isinstance(config.get("store"), dict):
                env.update(store_environ(config.name, self.scale, self.data_dir,
                                         self.dynamodb.url if self.dynamodb else None))
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
        service_procs: list[Proc] = []
        for d, config in configs.items():
            if config.name not in self.without:
                procs, upstreams = serve_procs(config.name, d, self.scale, self.host, public[config.name])
                service_procs += procs
                self.groups[config.name] = [p.name for p in procs]
                if upstreams:
                    self.upstreams[config.name] = upstreams
        if self.upstreams:
            self.balancer = Balancer(self.upstreams, ports={n: public[n] for n in self.upstreams}, host=self.host,
                                     directory=self.data_dir / "nginx")
        with_tasks = {d: c for d, c in configs.items() if declares_tasks(d)}
        workers: list[Proc] = []
        for d, c in with_tasks.items():
            if c.name not in self.without:
                workers += (group := worker_procs(c.name, d, self.scale, self.worker_args.get(c.name, [])))
                self.groups[f"{c.name}-worker"] = [p.name for p in group]
        return fake_procs, service_procs, workers, bool(with_tasks)

    def start(self) -> LocalSystem:
        fakes, services, workers, needs_redis = self._plan()
        try:
            if self.redis_url is None and needs_redis:
                self._redis = RedisServer(self.data_dir / "redis").start()
                self.redis_url = self._redis.url
            if self.redis_url:
                self.env["REDIS_URL"] = self.redis_url
            if self.dynamodb is not None:
                self.dynamodb.start()
            if self.balancer is not None:  # first: instances that start call siblings through it
                self.balancer.start()
            for group in (fakes, services, workers):  # each group started at once, then awaited
                for proc in group:
                    proc.env.update(self.env)
                    proc.log_path = self.data_dir / f"{proc.name}.log"
                    self.procs[proc.name] = proc
                    ready, proc.ready_url = proc.ready_url, None
                    self.supervisor.start(proc)
                    proc.ready_url = ready
                for proc in group:
                    if proc.ready_url:
                        self._await(proc)
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

    def _await(self, proc: Proc) -> None:
        """Wait until ``proc`` answers; an instance behind the balancer whose port another process
        took meanwhile moves to a new one (the balancer is told), up to twice."""
        for attempt in range(3):
            try:
                self.supervisor._wait_ready(proc, timeout=60)
                return
            except ConfigError as exc:
                service = next((s for s, names in self.groups.items() if proc.name in names), None)
                if "already in use" not in str(exc) or attempt == 2 or service not in self.upstreams:
                    raise
            old = proc.argv[proc.argv.index("--port") + 1]
            port = str(free_port(self.host))
            proc.argv[proc.argv.index("--port") + 1] = port
            proc.ready_url = f"http://{self.host}:{port}/ping"
            self.upstreams[service] = [u.replace(f":{old}", f":{port}") for u in self.upstreams[service]]
            if self.balancer is not None:
                self.balancer.reload({service: self.upstreams[service]})
            self.supervisor.procs = [p for p in self.supervisor.procs if p is not proc]
            ready, proc.ready_url = proc.ready_url, None
            self.supervisor.start(proc)
            proc.ready_url = ready

    def instances(self, service: str) -> list[Proc]:
        """The processes serving ``service`` (one, or the balancer's N instances)."""
        return [self.procs[name] for name in self.groups.get(service, [])]

    def workers(self, service: str) -> list[Proc]:
        """The ``macaron worker`` processes of ``service``."""
        return [self.procs[name] for name in self.groups.get(f"{service}-worker", [])]

    def stop(self) -> None:
        self.supervisor.stop()
        if self.balancer is not None:
            self.balancer.stop()
        if self.dynamodb is not None:
            self.dynamodb.stop()
        if self._redis is not None:
            self._redis.stop()
            self._redis = None

    def __enter__(self) -> LocalSystem:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
