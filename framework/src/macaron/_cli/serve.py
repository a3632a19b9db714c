"""``macaron serve``: a service directory served by gunicorn's arbiter with the front's workers
(``--server front``, the default) or its gthread workers (``--server gunicorn``), or by a reloading
dev server (``--reload``: the same front, in a process werkzeug's reloader restarts on changes).

The Service is loaded in the parent before gunicorn forks, so a bad spec or config stops
``macaron serve`` with one clear message, and workers start already warm. A copied service
whose port is its original's gets a free one (``_local.siblings``).

In dev (``--reload``, or ``--on-load-error 503`` as ``macaron dev`` runs it) a service whose code,
spec or config does not load does not leave its port hanging: every request is answered at once
with a 503 problem+json naming the load error (and ``X-Macaron-Load-Error``), until a change of
its files reloads it. A service that declares tasks, served without ``REDIS_URL``, says at start
that its task endpoints will answer 503 and which command runs it with a Redis and a worker.
"""

from __future__ import annotations

import os
import socket
import sys
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from werkzeug._reloader import run_with_reloader
from werkzeug.serving import make_server, run_simple

from .._core.config import load_config
from .._core.errors import ConfigError, ServiceUnavailable, problem_body
from .._core.lifeline import bind_to_parent
from .._core.observability import request_id_from, route_werkzeug
from .._core.service import Service
from .._local.siblings import serve_port
from .._local.supervisor import LOAD_ERROR_HEADER, snapshot
from .._server.app import create_app
from .._server.frontworker import serve_forever
from .._server.serve import DEFAULT_HEADER_TIMEOUT, DEFAULT_KEEPALIVE, DEFAULT_SERVER, check_port_free, run
from .._server.underscores import KeepAside
from ..tasks._queue import declares_tasks


def _watched(directory: Path) -> list[Path]:
    return [directory, directory.resolve().parent.parent / "shared_apis"]


def load_error_app(message: str) -> Callable[..., Iterable[bytes]]:
    """A WSGI app answering every request with a 503 problem naming ``message`` (the load error)."""
    header = " ".join(message.split())[:400].encode("latin-1", "replace").decode("latin-1")

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        error = ServiceUnavailable(f"the service does not load: {message}", code="SERVICE_DOES_NOT_LOAD")
        body = problem_body(error, request_id_from(environ.get("HTTP_X_REQUEST_ID")))
        start_response("503 SERVICE UNAVAILABLE", [("Content-Type", "application/problem+json"),
                                                   ("Content-Length", str(len(body))), (LOAD_ERROR_HEADER, header),
                                                   ("Retry-After", "1")])
        return [body]

    return app


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConfigError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


class _Quiet(KeepAside):
    """werkzeug's request handler without its access line (the service logs each request itself)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def _serve_load_error(exc: BaseException, directory: Path, host: str, port: int | None, reloader: bool) -> None:
    message = _describe(exc)
    if not isinstance(exc, ConfigError):
        traceback.print_exception(exc, file=sys.stderr)
    print(f"macaron serve: error: {message}\nevery request answers 503 until a change reloads it",
          file=sys.stderr, flush=True)
    app = load_error_app(message)
    if port is None:
        try:
            port = load_config(directory).port
        except ConfigError:
            raise exc from None  # no port to answer on
    if reloader:  # the werkzeug reloader restarts the child when a watched file changes
        files = [str(p) for p in snapshot(_watched(directory))]
        run_simple(host, port, app, use_reloader=True, extra_files=files, request_handler=_Quiet)
        return
    server = make_server(host, port, app, threaded=True, request_handler=_Quiet)
    server.serve_forever()


def _say_about_tasks(service: Service) -> None:
    if declares_tasks(service.directory) and not os.environ.get("REDIS_URL"):
        print(f"macaron serve: {service.name} declares tasks but REDIS_URL is not set: its task endpoints will "
              f"answer 503 QUEUE_UNAVAILABLE. For a private Redis and a worker, run "
              f"`nox -s dev -- --only {service.name}` instead (or set REDIS_URL and run `macaron worker`).",
              file=sys.stderr, flush=True)


_FD_ENV = "WERKZEUG_SERVER_FD"  # the listening socket the reloader's parent passes to each child


def _reloading(app: Any, host: str, port: int, watched: list[str], threads: int, header_timeout: float) -> None:
    """The front on a socket the reloader's parent holds (so a restart refuses no connection),
    restarted by werkzeug's reloader when a watched file changes."""
    if os.environ.get("WERKZEUG_RUN_MAIN") == "true":
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM, fileno=int(os.environ[_FD_ENV]))
    else:
        sock = socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET,
                                    backlog=2048)
        sock.set_inheritable(True)
        os.environ[_FD_ENV] = str(sock.fileno())
    sock.setblocking(False)
    run_with_reloader(lambda: serve_forever(app, sock, threads=threads, header_timeout=header_timeout),
                      extra_files=watched)


def serve(
    directory: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    workers: int = 1,
    threads: int = 8,
    reload: bool = False,
    on_load_error: str = "exit",
    keepalive: int | None = None,
    server: str = DEFAULT_SERVER,
    header_timeout: float = DEFAULT_HEADER_TIMEOUT,
    max_connections: int = 4096,
) -> None:
    """Serve the service in ``directory`` until interrupted."""
    reloader_child = reload and os.environ.get("WERKZEUG_RUN_MAIN") == "true"
    if reloader_child:
        bind_to_parent()  # the reloader's parent holds the socket; we never outlive it
    try:
        service = Service.load(directory)
    except Exception as exc:
        if reload or on_load_error == "503":
            _serve_load_error(exc, Path(directory), host, port, reload)
            return
        raise
    if port is None:  # the configured port; a copy whose port is its original's gets a free one
        port = serve_port(service.config, host)
    if not reloader_child:  # the reloader's parent already holds the socket
        check_port_free(host, port, f"service {service.name!r}")
        _say_about_tasks(service)
    if reload:
        route_werkzeug(service.name)
        watched = [str(p) for p in snapshot(_watched(service.directory))]
        _reloading(create_app(service), host, port, watched, threads, header_timeout)
        return
    run(service, host=host, port=port, workers=workers, threads=threads,
        keepalive=DEFAULT_KEEPALIVE if keepalive is None else keepalive, server=server,
        header_timeout=header_timeout, max_connections=max_connections)
