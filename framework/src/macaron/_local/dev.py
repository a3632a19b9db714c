"""``macaron dev``: run every service under ``services/`` at once, print their URLs,
and stop them all on Ctrl-C (or when one of them dies).

Services are discovered (every ``services/*/service.yaml``), never listed by hand.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

from .._core.config import env_key, load_config
from .._core.errors import ConfigError
from .._local.ports import free_port
from .._local.redis import RedisServer
from .._server.serve import check_port_free
from ..clients._config import _shared_api
from ..tasks._queue import declares_tasks
from .siblings import Claim, check_apart, moved_note, yielding


def discover_services(root: Path) -> list[Path]:
    """Service directories under ``root/services`` (those holding a ``service.yaml``)."""
    return sorted(p.parent for p in (root / "services").glob("*/service.yaml"))


@dataclass
class Proc:
    """One process of the dev system and how to tell it is ready."""

    name: str
    argv: list[str]
    ready_url: str | None = None
    urls: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    log_path: Path | None = None  # stdout and stderr go here when set
    popen: subprocess.Popen[bytes] | None = None


class Supervisor:
    """Starts processes in order, waits for each to be ready, stops them all in reverse."""

    def __init__(self, out: object = None) -> None:
        self.procs: list[Proc] = []
        self.out = out or sys.stdout
        self._stopping = False

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)  # type: ignore[call-overload]

    def start(self, proc: Proc, timeout: float = 30.0) -> None:
        env = {**os.environ, **proc.env}
        if proc.log_path is not None:
            with open(proc.log_path, "ab") as log:
                proc.popen = subprocess.Popen(proc.argv, env=env, start_new_session=True, stdout=log, stderr=log)
        else:
            proc.popen = subprocess.Popen(proc.argv, env=env, start_new_session=True)
        self.procs.append(proc)
        if proc.ready_url:
            self._wait_ready(proc, timeout)

    def _wait_ready(self, proc: Proc, timeout: float) -> None:
        assert proc.popen is not None and proc.ready_url is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.popen.poll() is not None:
                where = "see above"
                if proc.log_path is not None and proc.log_path.exists():
                    where = "its output ends:\n" + proc.log_path.read_text(errors="replace")[-2000:]
                raise ConfigError(f"{proc.name} exited with status {proc.popen.returncode} while starting ({where})")
            try:
                with urllib.request.urlopen(proc.ready_url, timeout=1) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise ConfigError(f"{proc.name} did not answer {proc.ready_url} within {timeout:.0f} s")

    def stop(self, grace: float = 10.0) -> None:
        self._stopping = True
        for proc in reversed(self.procs):
            if proc.popen and proc.popen.poll() is None:
                try:
                    os.killpg(proc.popen.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + grace
        for proc in reversed(self.procs):
            if proc.popen is None:
                continue
            try:
                proc.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.popen.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.popen.wait()

    def wait(self) -> int:
        """Block until a signal arrives or a process exits; return the exit status to use."""
        stop = {"signal": 0}

        def on_signal(signum: int, frame: FrameType | None) -> None:
            stop["signal"] = signum

        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            while not stop["signal"]:
                for proc in self.procs:
                    if proc.popen and proc.popen.poll() is not None:
                        self.say(f"{proc.name} exited with status {proc.popen.returncode}; stopping everything")
                        return 1
                time.sleep(0.2)
            return 0
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)


def service_procs(root: Path, host: str) -> list[Proc]:
    """One ``macaron serve`` process per discovered service, on its configured port.

    A copy whose port is its original's gets a free one, with a ``note`` in the printed table
    and ``MACARON_<SVC>_PORT`` in its ``env`` (:func:`moved_ports` gives it to every process,
    so siblings find it); two services that would share a table or an audience stop here.
    """
    configs = [load_config(directory) for directory in discover_services(root)]
    check_apart(configs)
    claims = {c.name: Claim(c.name, c.directory, c.port) for c in configs}
    moved = yielding(claims.values())
    procs = []
    for config in configs:
        port, extra, env = config.port, {}, {}
        if config.name in moved:
            port = free_port(host)
            extra["note"] = moved_note(claims[config.name], moved[config.name], port)
            env[f"MACARON_{env_key(config.name)}_PORT"] = str(port)
        else:
            check_port_free(host, port, f"service {config.name!r}")
        base = f"http://{host}:{port}"
        argv = [sys.executable, "-m", "macaron", "serve", str(config.directory), "--host", host, "--port", str(port)]
        procs.append(Proc(name=config.name, argv=argv, ready_url=f"{base}/ping",
                          urls={"url": base, "docs": f"{base}/docs", **extra}, env=env))
    return procs


def moved_ports(procs: list[Proc]) -> dict[str, str]:
    """The ``MACARON_<SVC>_PORT`` of every service moved off its configured port, for all processes."""
    return {k: v for proc in procs for k, v in proc.env.items() if k.startswith("MACARON_") and k.endswith("_PORT")}


def worker_procs(root: Path) -> list[Proc]:
    """One ``macaron worker`` per service that declares tasks (has a ``tasks`` module)."""
    return [
        Proc(name=f"{load_config(d).name}-worker", argv=[sys.executable, "-m", "macaron", "worker", str(d)])
        for d in discover_services(root)
        if declares_tasks(d)
    ]


def fake_procs(root: Path, host: str = "127.0.0.1") -> list[Proc]:
    """The fakes the dev system needs: one ``macaron fake`` per external API that a service's
    ``clients:`` points at a local port (``url: http://127.0.0.1:8025``), on that port."""
    wanted: dict[int, Path] = {}
    for directory in discover_services(root):
        config = load_config(directory)
        clients = config.get("clients") or {}
        for name, entry in clients.items() if isinstance(clients, dict) else ():
            url = urlsplit(str((entry or {}).get("url") or ""))
            spec = _shared_api(directory, name) if not (entry or {}).get("spec") else None
            if spec is None or url.hostname not in ("127.0.0.1", "localhost") or not url.port:
                continue  # a sibling service, a remote API, or an explicit spec: not faked here
            if wanted.setdefault(url.port, spec) != spec:
                raise ConfigError(f"{directory / 'service.yaml'}: clients.{name}.url uses port {url.port}, "
                                  f"which another client's fake ({wanted[url.port].stem}) already uses")
    return [
        Proc(name=f"fake-{spec.stem}",
             argv=[sys.executable, "-m", "macaron", "fake", str(spec), "--host", host, "--port", str(port)],
             ready_url=f"http://{host}:{port}/__fake__/ping",
             urls={"url": f"http://{host}:{port}", "log": f"http://{host}:{port}/__fake__/requests"})
        for port, spec in sorted(wanted.items())
    ]


def run_dev(root: Path, host: str = "127.0.0.1") -> int:
    """Start the whole dev system under ``root`` and supervise it until Ctrl-C.

    With services that declare tasks: a private Redis first (unless ``REDIS_URL`` is set; its
    data stays in ``.dev/redis``), its URL in every process's ``REDIS_URL``, and one worker per
    such service after the servers; Redis is stopped last.
    """
    supervisor = Supervisor()
    procs = service_procs(root, host)
    if not procs:
        raise ConfigError(f"no services found under {root / 'services'} (each needs a service.yaml)")
    workers = worker_procs(root)
    procs = [*fake_procs(root, host), *procs]
    redis = None
    try:
        if workers and not os.environ.get("REDIS_URL"):
            redis = RedisServer(root / ".dev" / "redis").start()
            supervisor.say(f"  redis        {redis.url} (private; data in .dev/redis)")
        ports = moved_ports(procs)
        for proc in [*procs, *workers]:
            proc.env.update(ports)
            if redis is not None:
                proc.env["REDIS_URL"] = redis.url
            supervisor.start(proc)
        supervisor.say("\nmacaron dev system is up:")
        for proc in supervisor.procs:
            for label, url in proc.urls.items():
                supervisor.say(f"  {proc.name:<12} {label:<6} {url}")
        supervisor.say("Ctrl-C stops everything.\n")
        return supervisor.wait()
    finally:
        supervisor.stop()
        if redis is not None:
            redis.stop()
        supervisor.say("macaron dev system stopped.")
