"""The front (``front.py``) as a gunicorn worker, and alone for the reloading dev server.

:class:`FrontWorker` is what ``macaron serve`` runs by default: gunicorn's arbiter still binds the
socket, forks and supervises the workers, restarts a dead one and turns SIGTERM into a graceful
stop (no new connection, the requests in hand finished within ``graceful_timeout``, idle
keep-alive connections closed), and each worker runs one uvloop event loop and a pool of
``threads`` for the app. :func:`serve_forever` runs the same front on a given socket in the
current thread (``macaron serve --reload``).

Rule: the front's settings come from :data:`OPTIONS`, set by ``serve.py`` in the arbiter before it
forks (gunicorn's settings have no place for them); limits that belong to the service
(``max_body_bytes``, ``body_timeout``) are read from the app itself.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable
from typing import Any

from gunicorn.workers.base import Worker  # type: ignore[import-untyped]

from .body import BODY_TIMEOUT
from .front import DEFAULT_MAX_CONNECTIONS, Front, Limits

#: Set by ``serve.py`` before gunicorn forks: ``header_timeout`` (``max_connections`` is gunicorn's
#: ``worker_connections``).
OPTIONS: dict[str, Any] = {}


def new_loop() -> asyncio.AbstractEventLoop:
    """A uvloop event loop (asyncio's own when uvloop is not installed)."""
    try:
        import uvloop  # the fast loop; optional so that the front still runs without it
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()  # type: ignore[no-any-return]


def limits_for(app: Any, *, threads: int, keepalive: float, graceful_timeout: float,
               header_timeout: float | None = None, max_connections: int | None = None) -> Limits:
    """The front's limits for ``app`` (its ``max_body_bytes`` and ``body_timeout`` when it is a service's)."""
    service = getattr(app, "extensions", {}).get("macaron")
    body_timeout = service.config.get("body_timeout", BODY_TIMEOUT) if service is not None else BODY_TIMEOUT
    max_body = getattr(app, "config", {}).get("MAX_CONTENT_LENGTH")
    return Limits(threads=threads, keepalive=keepalive, graceful_timeout=graceful_timeout,
                  header_timeout=header_timeout if header_timeout is not None else OPTIONS.get("header_timeout", 10.0),
                  max_connections=max_connections or OPTIONS.get("max_connections", DEFAULT_MAX_CONNECTIONS),
                  body_timeout=float(body_timeout), max_body=int(max_body) if max_body else None)


async def _run(front: Front, sockets: list[Any], stopped: asyncio.Event,
               tick: Callable[[], bool] | None = None) -> None:
    """Serve until ``stopped`` is set (or ``tick``, called every second, says to stop), then stop gracefully."""
    await front.start(sockets)
    while not stopped.is_set():
        try:
            await asyncio.wait_for(stopped.wait(), timeout=1.0)
        except TimeoutError:
            pass
        front.sweep()
        if tick is not None and not tick():
            break
    await front.stop()


class FrontWorker(Worker):  # type: ignore[misc]
    """A gunicorn worker running the front (see the module's docstring)."""

    def init_signals(self) -> None:
        for sig in self.SIGNALS:
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGUSR1, self.handle_usr1)
        signal.signal(signal.SIGWINCH, signal.SIG_IGN)
        signal.siginterrupt(signal.SIGUSR1, False)

    def run(self) -> None:
        loop = new_loop()
        asyncio.set_event_loop(loop)
        stopped = asyncio.Event()
        cfg = self.cfg
        limits = limits_for(self.wsgi, threads=cfg.threads, keepalive=cfg.keepalive,
                            graceful_timeout=cfg.graceful_timeout,
                            max_connections=cfg.worker_connections)
        front = Front(self.wsgi, limits, multiprocess=cfg.workers > 1, log=self.log)

        def graceful() -> None:
            self.alive = False
            stopped.set()

        def quick(sig: int) -> None:
            self.alive = False
            cfg.worker_int(self)
            os._exit(0 if sig != signal.SIGABRT else 1)

        loop.add_signal_handler(signal.SIGTERM, graceful)
        for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGABRT):
            loop.add_signal_handler(sig, quick, sig)

        def tick() -> bool:
            self.notify()  # the arbiter's heartbeat
            if self.ppid != os.getppid():
                self.log.info("Parent changed, shutting down: %s", self)
                return False
            if front.served >= self.max_requests:
                self.log.info("Autorestarting worker after current request.")
                return False
            return bool(self.alive)

        try:
            loop.run_until_complete(_run(front, [getattr(s, "sock", s) for s in self.sockets], stopped, tick))
        finally:
            loop.close()


def serve_forever(app: Any, sock: socket.socket, *, threads: int = 8, keepalive: float = 5.0,
                  header_timeout: float | None = None) -> None:
    """Serve ``app`` on the listening ``sock`` with the front, in this thread, until SIGTERM or
    SIGINT (when this is the main thread) or the process ends."""
    loop = new_loop()
    asyncio.set_event_loop(loop)
    stopped = asyncio.Event()
    front = Front(app, limits_for(app, threads=threads, keepalive=keepalive, graceful_timeout=5.0,
                                  header_timeout=header_timeout), log=logging.getLogger("macaron.front"))
    if threading.current_thread() is threading.main_thread():  # elsewhere (the dev reloader's thread) the
        # process's end ends the front
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopped.set)
    try:
        loop.run_until_complete(_run(front, [sock], stopped))
    finally:
        loop.close()
