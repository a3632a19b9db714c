"""Serving: gunicorn with threaded workers, or a reloading dev server.

The Service is loaded in the parent before gunicorn forks, so a bad spec or config
stops ``macaron serve`` with one clear message, and workers start already warm.
"""

from __future__ import annotations

import errno
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

from flask import Flask

from ._app import create_app
from ._errors import ConfigError
from ._service import Service


def check_port_free(host: str, port: int, what: str) -> None:
    """Raise :class:`ConfigError` saying who should change what when ``port`` is taken."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ConfigError(
                    f"{what}: port {port} on {host} is already in use; stop whatever holds it "
                    f"or pick another with --port (or 'port:' in service.yaml)"
                ) from None
            raise ConfigError(f"{what}: cannot bind {host}:{port}: {exc.strerror}") from None


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (for tests and dev tooling)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _wait_for_change(directory: Path) -> None:
    """Block until a file under the service directory or shared_apis/ changes."""
    roots = [directory, directory.resolve().parent.parent / "shared_apis"]

    def snapshot() -> dict[Path, float]:
        return {p: p.stat().st_mtime for root in roots if root.is_dir() for p in root.rglob("*") if p.is_file()}

    before = snapshot()
    while snapshot() == before:
        time.sleep(0.5)


def _warm_in_background(service: Service) -> None:
    """Build the service's clients in a gunicorn worker without delaying its first requests."""
    if not service.config.get("clients"):
        return
    import threading

    def warm() -> None:
        from .clients import warm as build_clients

        try:
            build_clients(service)
        except Exception as exc:  # a client that cannot be built fails again, loudly, on first use
            service.log.warning("could not prepare clients: %s", exc)

    threading.Thread(target=warm, name="macaron-warm-clients", daemon=True).start()


def _gunicorn(app: Flask, options: dict[str, Any]) -> None:
    from gunicorn.app.base import BaseApplication

    class Application(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Flask:
            return app

    Application().run()


def serve(
    directory: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    workers: int = 1,
    threads: int = 8,
    reload: bool = False,
) -> None:
    """Serve the service in ``directory`` until interrupted."""
    reloader_child = reload and os.environ.get("WERKZEUG_RUN_MAIN") == "true"
    try:
        service = Service.load(directory)
    except ConfigError as exc:
        if not reloader_child:
            raise
        print(f"macaron serve: error: {exc}\nwaiting for a change to reload...", file=sys.stderr, flush=True)
        _wait_for_change(Path(directory))
        sys.exit(3)  # the werkzeug reloader restarts a child that exits with 3
    if port is None:  # the configured port; a copy whose port is its original's gets a free one
        from ._siblings import serve_port

        port = serve_port(service.config, host)
    if not reloader_child:  # the reloader's parent already holds the socket
        check_port_free(host, port, f"service {service.name!r}")
    if reload:
        from werkzeug.serving import run_simple

        watched = [str(p) for p in service.spec.files] + [str(p) for p in service.directory.glob("service*.yaml")]
        run_simple(host, port, create_app(service), use_reloader=True, extra_files=watched, threaded=True)
        return
    _gunicorn(
        create_app(service),
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "worker_class": "macaron._edge.ProblemThreadWorker",  # gthread; its own refusals as problem+json
            "threads": threads,
            "timeout": 60,
            "graceful_timeout": 30,
            "keepalive": 5,
            "accesslog": None,
            "errorlog": "-",
            "loglevel": "warning",
            "proc_name": f"macaron-{service.name}",
            "post_worker_init": lambda worker: _warm_in_background(service),
        },
    )
