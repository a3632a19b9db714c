"""``macaron dev``: run the services under ``services/`` at once (or one, ``--only``, with what it
needs), print their URLs, restart a service when its code or spec changes, and stop everything
on Ctrl-C, SIGTERM or SIGHUP, leaving no process behind (``_local.supervisor``).

Services are discovered (every ``services/*/service.yaml``), never listed by hand. Their data
stays in ``.data/`` (the store's SQLite files, the fakes' state in ``.data/fakes/``) and the
private Redis's in ``.dev/redis``; ``--reset`` wipes all three first.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
from collections.abc import Collection
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

from .._core.config import Config, env_key, load_config
from .._core.errors import ConfigError
from .._core.logtext import chosen_format, use_color
from .._local.ports import free_port
from .._local.redis import RedisServer
from .._server.serve import check_port_free
from ..clients._config import _shared_api
from ..tasks._queue import declares_tasks
from .devlog import Output
from .fakestate import STATE_DIR_ENV
from .siblings import Claim, check_apart, moved_note, yielding
from .supervisor import Proc, Supervisor

__all__ = ["Proc", "Supervisor", "discover_services", "fake_procs", "run_dev", "service_procs", "worker_procs"]


def discover_services(root: Path) -> list[Path]:
    """Service directories under ``root/services`` (those holding a ``service.yaml``)."""
    return sorted(p.parent for p in (root / "services").glob("*/service.yaml"))


def _clients(config: Config) -> dict[str, Any]:
    clients = config.get("clients") or {}
    return clients if isinstance(clients, dict) else {}


def needed(configs: dict[str, Config], only: Collection[str]) -> list[str]:
    """The services ``only`` names and the siblings they call (``clients:``), transitively."""
    unknown = sorted(set(only) - set(configs))
    if unknown:
        raise ConfigError(f"--only {', '.join(unknown)}: no such service under services/ "
                          f"(there are: {', '.join(sorted(configs))})")
    todo, out = list(only), set()
    while todo:
        name = todo.pop()
        if name not in out:
            out.add(name)
            todo += [c for c, entry in _clients(configs[name]).items() if c in configs and not (entry or {}).get("url")]
    return sorted(out)


def service_procs(root: Path, host: str, names: Collection[str] | None = None, reload: bool = False) -> list[Proc]:
    """One ``macaron serve`` process per discovered service (or per one of ``names``), on its port.

    A copy whose port is its original's gets a free one, with a ``note`` in the printed table
    and ``MACARON_<SVC>_PORT`` in its ``env`` (:func:`moved_ports` gives it to every process,
    so siblings find it); two services that would share a table or an audience stop here.
    With ``reload``, a service that does not load answers 503 naming the error until it is fixed.
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
        if names is not None and config.name not in names:
            procs.append(Proc(name=config.name, argv=[], env=env))  # not run; its moved port still counts
            continue
        if config.name not in moved:
            check_port_free(host, port, f"service {config.name!r}")
        base = f"http://{host}:{port}"
        argv = [sys.executable, "-m", "macaron", "serve", str(config.directory), "--host", host, "--port", str(port)]
        if reload:
            argv += ["--on-load-error", "503"]
        procs.append(Proc(name=config.name, argv=argv, ready_url=f"{base}/ping", group=config.name,
                          urls={"url": base, "docs": f"{base}/docs", **extra}, env=env,
                          watch=[config.directory, root / "shared_apis"]))
    return procs


def moved_ports(procs: list[Proc]) -> dict[str, str]:
    """The ``MACARON_<SVC>_PORT`` of every service moved off its configured port, for all processes."""
    return {k: v for proc in procs for k, v in proc.env.items() if k.startswith("MACARON_") and k.endswith("_PORT")}


def worker_procs(root: Path, names: Collection[str] | None = None) -> list[Proc]:
    """One ``macaron worker`` per service that declares tasks (has a ``tasks`` module)."""
    out = []
    for d in discover_services(root):
        name = d.name  # a service is named by its directory (no config read: a worker-less one may lack secrets)
        if declares_tasks(d) and (names is None or name in names):
            out.append(Proc(name=f"{name}-worker", argv=[sys.executable, "-m", "macaron", "worker", str(d)],
                            group=name, watch=[d, root / "shared_apis"], urls={"runs": f"the tasks of {name}"},
                            death_signal=signal.SIGKILL))  # Redis dies with us too: a worker would wait for it
    return out


def fake_procs(root: Path, host: str = "127.0.0.1", names: Collection[str] | None = None) -> list[Proc]:
    """The fakes the dev system needs: one ``macaron fake`` per external API that a service's
    ``clients:`` points at a local port (``url: http://127.0.0.1:8025``), on that port."""
    wanted: dict[int, Path] = {}
    for directory in discover_services(root):
        config = load_config(directory)
        if names is not None and config.name not in names:
            continue
        for name, entry in _clients(config).items():
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
             ready_url=f"http://{host}:{port}/__fake__/ping", group=f"fake-{spec.stem}", watch=[spec.parent],
             urls={"url": f"http://{host}:{port}", "log": f"http://{host}:{port}/__fake__/requests"})
        for port, spec in sorted(wanted.items())
    ]


def reset_data(root: Path, say: Any) -> None:
    """Wipe the dev system's data: ``.data/`` (stores, fakes' state) and the private Redis's."""
    for path in (root / ".data", root / ".dev" / "redis"):
        if path.exists():
            shutil.rmtree(path)
            say(f"  reset        removed {path.relative_to(root)}/")


def _table(supervisor: Supervisor) -> list[str]:
    rows = [(p.name, label, url) for p in supervisor.procs for label, url in p.urls.items()]
    rows += [(p.name, "error", f"does not load (503 until fixed): {p.broken}") for p in supervisor.procs if p.broken]
    width = max([12, *(len(r[0]) + 1 for r in rows)])
    label = max([6, *(len(r[1]) + 1 for r in rows)])
    return [f"  {name:<{width}} {what:<{label}} {url}" for name, what, url in rows]


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run_dev(root: Path, host: str = "127.0.0.1", *, only: Collection[str] = (), reload: bool = True,
            log_format: str = "auto", reset: bool = False, out: Any = None) -> int:
    """Start the dev system under ``root`` and supervise it until Ctrl-C (or SIGTERM, SIGHUP).

    With services that declare tasks: a private Redis first (unless ``REDIS_URL`` is set; its
    data stays in ``.dev/redis``), its URL in every process's ``REDIS_URL``, and one worker per
    such service after the servers; Redis is stopped last.
    """
    out = out or sys.stdout
    fmt = chosen_format(out, {"MACARON_LOG_FORMAT": log_format})
    supervisor = Supervisor(output=Output(out, fmt, color=fmt == "text" and use_color(out)))
    stops = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.getsignal(sig) for sig in stops}
    for sig in stops:  # while starting; Supervisor.wait takes over after
        signal.signal(sig, _raise_interrupt)
    redis = None
    try:
        if reset:
            reset_data(root, supervisor.say)
        configs = {c.name: c for c in (load_config(d) for d in discover_services(root))}
        if not configs:
            raise ConfigError(f"no services found under {root / 'services'} (each needs a service.yaml)")
        names = needed(configs, only) if only else None
        all_procs = service_procs(root, host, names, reload=reload)
        ports = moved_ports(all_procs)
        procs = [p for p in all_procs if p.argv]
        workers = worker_procs(root, names)
        procs = [*fake_procs(root, host, names), *procs]
        supervisor.output.align(p.name for p in [*procs, *workers])
        if workers and not os.environ.get("REDIS_URL"):
            redis = RedisServer(root / ".dev" / "redis").start()
            supervisor.say(f"  redis        {redis.url} (private; data in .dev/redis)")
        for proc in [*procs, *workers]:
            proc.env.update(ports)
            proc.env.update({"MACARON_LOG_FORMAT": "json", "MACARON_LOG_COLOR": "0",
                             "MACARON_ENV": os.environ.get("MACARON_ENV", "dev"),  # service.dev.yaml, dev 500s
                             STATE_DIR_ENV: str(root / ".data" / "fakes")})
            if redis is not None:
                proc.env["REDIS_URL"] = redis.url
            supervisor.start(proc)
        supervisor.say("\nmacaron dev system is up:")
        for line in _table(supervisor):
            supervisor.say(line)
        supervisor.say(f"{'Reloading on code and spec changes; ' if reload else ''}Ctrl-C stops everything.\n")
        return supervisor.wait(reload=reload)
    except KeyboardInterrupt:
        return 130
    finally:
        for sig in stops:
            signal.signal(sig, signal.SIG_IGN)  # stopping is not to be cut short by a second Ctrl-C
        try:
            supervisor.stop()
            if redis is not None:
                redis.stop()
            supervisor.say("macaron dev system stopped.")
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
