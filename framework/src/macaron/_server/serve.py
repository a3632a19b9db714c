"""Serving: gunicorn's arbiter with the front's workers (``frontworker.FrontWorker``, the default:
a uvloop event loop reads each request within deadlines, a thread pool runs the app), or with
gunicorn's own gthread workers (``server="gunicorn"``, ``edge.ProblemThreadWorker``).

docs/benchmarks.md ("Choosing the server") has the measurements behind the default: as fast per
core as gthread or faster, and slow clients cost a socket instead of a thread. The
Service is loaded in the parent before gunicorn forks, so a bad spec or config
stops ``macaron serve`` with one clear message, and workers start already warm. A worker never
outlives its arbiter (the kernel kills it when the arbiter dies, ``_core.lifeline``), and
gunicorn's own lines are written in the process's log format (JSON, or text at a terminal).
"""

from __future__ import annotations

import errno
import signal
import socket
from typing import Any

from flask import Flask

from .._core.errors import ConfigError
from .._core.lifeline import bind_to_parent
from .._core.service import Service
from ..clients._api import warm as build_clients
from .app import create_app


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


def _warm_in_background(service: Service) -> None:
    """Build the service's clients and its store's client in a gunicorn worker without delaying
    its first requests (a cold boto3 client cost the first signup seconds on a busy machine)."""
    clients, store = bool(service.config.get("clients")), isinstance(service.config.get("store"), dict)
    if not (clients or store):
        return
    import threading

    def warm() -> None:
        try:
            if store:
                service.store().warm()
            if clients:
                build_clients(service)
        except Exception as exc:  # what cannot be built fails again, loudly, on first use
            service.log.warning("could not prepare clients or store: %s", exc)

    threading.Thread(target=warm, name="macaron-warm-clients", daemon=True).start()


def _worker_forked(server: Any, worker: Any) -> None:
    """In a new gunicorn worker: die with the arbiter (SIGKILL: a stuck worker may ignore SIGTERM)."""
    bind_to_parent(signal.SIGKILL, parent=server.pid)


def _log_config(service: Service) -> dict[str, Any]:
    """gunicorn's loggers through the process's own handler (``observability.process_handler``)."""
    handler = {"()": "macaron._core.observability.process_handler", "service": service.name}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "root": {"level": "WARNING", "handlers": []},
        "loggers": {
            "gunicorn.error": {"level": "WARNING", "handlers": ["macaron"], "propagate": False,
                               "qualname": "gunicorn.error"},
            "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": False,
                                "qualname": "gunicorn.access"},
        },
        "handlers": {"macaron": handler},
        "formatters": {},
    }


def _gunicorn(app: Flask, options: dict[str, Any]) -> None:
    from gunicorn.app.base import BaseApplication

    class Application(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Flask:
            return app

    Application().run()


#: Seconds an idle client connection stays open. Behind a load balancer that keeps connections to
#: its targets (the ALB: 60 s idle timeout), this must be longer than the balancer's, or the balancer
#: sends a request on a connection gunicorn is closing and answers it with a 502 (AWS's guidance for
#: ALB targets); infra/defaults sets WEB_KEEPALIVE=75. Both servers park idle connections (the front
#: on its event loop, gthread in a selector), so a long keep-alive costs no thread.
DEFAULT_KEEPALIVE = 5


#: ``macaron serve --server``: the worker class gunicorn's arbiter runs.
SERVERS = {
    "front": "macaron._server.frontworker.FrontWorker",  # uvloop front, app on a thread pool (default)
    "gunicorn": "macaron._server.edge.ProblemThreadWorker",  # gthread; its own refusals as problem+json
}
DEFAULT_SERVER = "front"
DEFAULT_HEADER_TIMEOUT = 10.0  # seconds a request head may take from its first byte (the front only)


def run(service: Service, *, host: str, port: int, workers: int = 1, threads: int = 8,
        keepalive: int = DEFAULT_KEEPALIVE, server: str = DEFAULT_SERVER,
        header_timeout: float = DEFAULT_HEADER_TIMEOUT, max_connections: int = 4096) -> None:
    """Serve a loaded ``service`` under gunicorn's arbiter with ``server``'s workers until interrupted."""
    if server not in SERVERS:
        raise ConfigError(f"unknown server {server!r}; choose from {', '.join(SERVERS)}")
    if server == "front":
        from . import frontworker  # imported only when chosen: it pulls in asyncio and uvloop

        frontworker.OPTIONS.update(header_timeout=header_timeout)
    _gunicorn(
        create_app(service),
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "worker_class": SERVERS[server],
            "worker_connections": max_connections,
            "threads": threads,
            "timeout": 60,
            "graceful_timeout": 30,
            "keepalive": keepalive,
            "accesslog": None,
            "errorlog": "-",
            "loglevel": "warning",
            "logconfig_dict": _log_config(service),
            "post_fork": _worker_forked,
            "proc_name": f"macaron-{service.name}",
            "post_worker_init": lambda worker: _warm_in_background(service),
        },
    )
