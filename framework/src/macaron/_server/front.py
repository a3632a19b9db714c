"""The front: an asyncio (uvloop) HTTP/1.1 server inside the serving process that reads every
request itself, within limits and deadlines, and hands only complete requests to the WSGI app
on a pool of threads.

Why: gunicorn's gthread worker gives a connection a thread from its first byte to its answer, so
eight clients that trickle their headers or bodies held all eight threads and nobody else was
answered. Here a slow client costs a socket and a few kilobytes on the loop; the threads only ever
run the app on a request that has fully arrived (``frontconn.py`` says which deadline bounds each
wait). The promises of ``macaron serve`` hold as under gthread (``edge.py``): the server's own
refusals are problem+json with ``X-Request-ID``, a body over ``max_body_bytes`` is refused from its
declared length (or at the chunk-size line that passes it) before it is buffered, and its unread
rest is drained after the 413 so the client reads the answer.

Rule: the loop thread never runs the app and never blocks; an app thread hands its answer back
with ``call_soon_threadsafe``. :class:`Front` is started by ``frontworker.FrontWorker`` (inside
gunicorn's arbiter, for ``macaron serve``) or by :func:`frontworker.serve_forever` (the reloading
dev server); it knows nothing of gunicorn.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import queue
import resource
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any

from .frontconn import Connection
from .http11 import HttpRefusal, refusal, response_head

DEFAULT_MAX_CONNECTIONS = 4096  # open connections per worker (each a socket and a few KB; slow ones included)
STREAM_AT = 1024 * 1024  # an answer longer than this is sent as it is produced, not gathered first
_NO_BODY = ("1", "204", "304")
_HOP = {"connection", "content-length", "transfer-encoding", "keep-alive"}


@dataclass(frozen=True)
class Limits:
    """How long and how much the front waits for (``macaron serve`` options and ``service.yaml``)."""

    threads: int = 8
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    keepalive: float = 5.0
    max_body: int | None = None
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    graceful_timeout: float = 30.0


def _trusted(peer: str) -> bool:
    """Whether ``peer`` may say the original scheme (gunicorn's ``forwarded_allow_ips``)."""
    allowed = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
    if allowed.strip() == "*":
        return True
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(a.strip(), strict=False) for a in allowed.split(",") if a.strip())


class Front:
    """The server: its connections, its threads and the app they run."""

    def __init__(self, app: Callable[..., Any], limits: Limits, *, multiprocess: bool = False,
                 log: Any = None) -> None:
        self.app, self.limits, self.log = app, limits, log
        self.connections: set[Connection] = set()
        self.stopping = False
        self.served = 0
        self.date = formatdate(usegmt=True)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.base: dict[str, Any] = {
            "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
            "wsgi.multithread": True, "wsgi.multiprocess": multiprocess, "wsgi.run_once": False,
            "wsgi.input_terminated": True, "SCRIPT_NAME": "", "SERVER_SOFTWARE": "macaron",
        }
        self._work: queue.SimpleQueue[tuple[Connection, dict[str, Any]] | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._servers: list[asyncio.AbstractServer] = []
        self._trusted: dict[str, bool] = {}

    def environ_for(self, peer: Any, sockname: Any) -> dict[str, Any]:
        """The environ every request of a connection starts from (its addresses filled in)."""
        environ = self.base.copy()
        if isinstance(peer, tuple):
            environ["REMOTE_ADDR"], environ["REMOTE_PORT"] = peer[0], str(peer[1])
        else:
            environ["REMOTE_ADDR"] = ""
        if isinstance(sockname, tuple):
            environ["SERVER_NAME"], environ["SERVER_PORT"] = str(sockname[0]), str(sockname[1])
        else:
            environ["SERVER_NAME"], environ["SERVER_PORT"] = "localhost", "0"
        return environ

    def trusted(self, peer: str) -> bool:
        """Whether ``peer`` may say the original scheme in ``X-Forwarded-Proto``."""
        trusted = self._trusted.get(peer)
        if trusted is None:
            trusted = self._trusted[peer] = _trusted(peer)
        return trusted

    # -- the app's threads ------------------------------------------------------------------------

    def submit(self, conn: Connection, environ: dict[str, Any]) -> None:
        self._work.put((conn, environ))

    def _worker(self) -> None:
        while (item := self._work.get()) is not None:
            conn, environ = item
            try:
                self._answer(conn, environ)
            except Exception:  # the app or its iterable raised: a 500 problem, the connection closed
                self._failed(environ)
                problem = HttpRefusal(500, "the server failed to answer", "INTERNAL_ERROR")
                self._call(conn.answered, refusal(problem, environ.get("HTTP_X_REQUEST_ID")), False)
            finally:
                self.served += 1

    def _failed(self, environ: dict[str, Any]) -> None:
        if self.log is not None:
            self.log.exception("error handling request %s %s", environ.get("REQUEST_METHOD"), environ.get("RAW_URI"))

    def _call(self, fn: Callable[..., Any], *args: Any) -> None:
        assert self.loop is not None
        self.loop.call_soon_threadsafe(fn, *args)

    def _answer(self, conn: Connection, environ: dict[str, Any]) -> None:
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            started[:] = [status, headers]  # nothing is sent before the app returns, so a later call wins
            return pieces.append  # the legacy write(): its bytes precede the iterable's

        pieces: list[bytes] = []
        result = self.app(environ, start_response)
        try:
            if type(result) is list and len(result) <= 1:
                body = result[0] if result else b""
                if pieces:
                    body = b"".join(pieces) + body
            else:
                body, rest = _gather(pieces, result)
                if rest is not None:
                    self._stream(conn, environ, started, body, rest)
                    return
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        status, headers = started
        keep_alive, out = conn.keep_alive(), []
        length: int | None = len(body)
        for name, value in headers:
            lower = name.lower()
            if lower in _HOP:
                if lower == "connection" and "close" in value.lower():
                    keep_alive = False
                continue
            out.append((name, value))
        no_body = status[:1] == "1" or status[:3] in _NO_BODY
        if environ["REQUEST_METHOD"] == "HEAD":
            body, length = b"", _declared(headers, length)
        head = response_head(status, out, keep_alive=keep_alive, length=None if no_body else length, chunked=False,
                             date=self.date)
        self._call(conn.answered, head + (b"" if no_body else body), keep_alive)

    def _stream(self, conn: Connection, environ: dict[str, Any], started: list[Any], first: bytes, rest: Any) -> None:
        """An answer too long to gather: written as produced, chunked unless its length is declared."""
        status, headers = started
        length = _declared(headers, None)
        http10 = environ["SERVER_PROTOCOL"] == "HTTP/1.0"
        chunked = length is None and not http10
        keep_alive = conn.keep_alive() and (length is not None or chunked)
        out = [(n, v) for n, v in headers if n.lower() not in _HOP]
        try:
            self._send(conn, response_head(status, out, keep_alive=keep_alive, length=length, chunked=chunked,
                                           date=self.date))
            for piece in (first, *rest) if environ["REQUEST_METHOD"] != "HEAD" else ():
                if piece:
                    self._send(conn, b"%x\r\n%b\r\n" % (len(piece), piece) if chunked else piece)
        except ConnectionError:  # the client is gone: nothing to tell it
            self._call(conn.answered, b"", False)
            return
        except Exception:  # the app's iterable failed after the head went out: the answer is cut short
            self._failed(environ)
            self._call(conn.answered, b"", False)
            return
        self._call(conn.answered, b"0\r\n\r\n" if chunked else b"", keep_alive)

    def _send(self, conn: Connection, data: bytes) -> None:
        if not conn.writable.wait(60) or conn.closing is not None:
            raise ConnectionError("the client went away or stopped reading")
        self._call(conn.write, data)

    # -- the loop ---------------------------------------------------------------------------------

    async def start(self, sockets: list[Any]) -> None:
        self.loop = asyncio.get_running_loop()
        raise_fd_limit()
        for _ in range(self.limits.threads):
            thread = threading.Thread(target=self._worker, name="macaron-front", daemon=True)
            thread.start()
            self._threads.append(thread)
        for sock in sockets:
            server = await self.loop.create_server(lambda: Connection(self), sock=sock, backlog=2048)
            self._servers.append(server)

    def sweep(self) -> None:
        """Once a second: the Date header, and every connection whose deadline has passed."""
        self.date = formatdate(usegmt=True)
        now = time.monotonic()
        for conn in list(self.connections):
            conn.expire(now)

    async def stop(self) -> None:
        """Refuse new connections, close idle ones, let the requests in hand finish (within
        ``graceful_timeout``), then stop the threads."""
        self.stopping = True
        for server in self._servers:
            server.close()
        deadline = time.monotonic() + self.limits.graceful_timeout
        while self.connections and time.monotonic() < deadline:
            for conn in list(self.connections):
                if conn.state == 0 and conn.closing is None:  # idle, or a head not yet complete: no request in hand
                    conn.close()
            await asyncio.sleep(0.05)
        for conn in list(self.connections):
            conn.transport.abort()
        for _ in self._threads:
            self._work.put(None)


def _gather(pieces: list[bytes], result: Any) -> tuple[bytes, Any]:
    """The iterable's bytes, or (what came so far, the iterator) once they pass :data:`STREAM_AT`."""
    size = sum(map(len, pieces))
    iterator = iter(result)
    for piece in iterator:
        pieces.append(piece)
        size += len(piece)
        if size > STREAM_AT:
            return b"".join(pieces), iterator
    return b"".join(pieces), None


def _declared(headers: list[tuple[str, str]], default: int | None) -> int | None:
    for name, value in headers:
        if name.lower() == "content-length" and value.strip().isdigit():
            return int(value)
    return default


def raise_fd_limit() -> None:
    """Raise the soft limit of open files to the hard one: every slow client holds a socket."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else 65536, hard))
        except (ValueError, OSError):
            pass
