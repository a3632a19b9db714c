"""One client connection of the front (``front.py``): its request heads and bodies read on the
event loop within limits and deadlines, each complete request handed to the app's threads, the
answer written, then keep-alive, a bounded drain, or a lingering close.

Rule: everything here runs on the loop thread and never blocks; the app's threads reach a
connection only through ``loop.call_soon_threadsafe`` (:meth:`Connection.answered`,
:meth:`Connection.write`). Deadlines are plain numbers that the front's one-second sweep reads
(:meth:`Connection.expire`), so a request costs no timer. What a state waits for, and for how long:

- ``HEAD`` — a request head: ``header_timeout`` from its first byte (408 when it runs out), or
  ``keepalive`` of silence between requests (closed without a word);
- ``BODY`` — the declared body: no pause longer than ``body_timeout``, and all of it within
  ``body_timeout`` + its length at :data:`MIN_BODY_RATE` (408 otherwise);
- ``BUSY`` — the app's answer (no deadline here: gunicorn's worker timeout watches a stuck app);
- ``LINGER`` — the unread rest of a refused body, drained up to ``LINGER_BYTES`` within
  ``LINGER_SECONDS`` before the connection is reused or closed (so the client reads the 413
  instead of a reset).
"""

from __future__ import annotations

import asyncio
import io
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import RequestEntityTooLarge

from .http11 import MAX_HEAD, MAX_REQUEST_LINE, ChunkedDecoder, Head, HttpRefusal, parse_head, refusal

if TYPE_CHECKING:
    from .front import Front

HEAD, BODY, BUSY, LINGER = 0, 1, 2, 3
LINGER_BYTES = 64 * 1024 * 1024  # at most this much of an unread body is drained after the answer
LINGER_SECONDS = 5.0  # ... within this long
MIN_BODY_RATE = 16 * 1024  # bytes/s a body must average once its first body_timeout has passed
PIPELINE_BYTES = 256 * 1024  # bytes of pipelined requests buffered while one is answered
SEND_TIMEOUT = 30.0  # seconds an answer may wait for a client that does not read it
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class _RefusedBody(io.RawIOBase):
    """``wsgi.input`` of a request whose body is over the limit: reading it is a 413 (the app's own,
    with its log line and the spec's error format); an app that never reads it answers as usual."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        raise RequestEntityTooLarge()


class Connection(asyncio.Protocol):
    """The state of one client connection (the module's docstring)."""

    def __init__(self, front: Front) -> None:
        self.front = front
        self.transport: Any = None
        self.buf = bytearray()
        self.scanned = 0  # bytes of buf already searched for the end of a head
        self.state = HEAD
        self.deadline: float | None = time.monotonic() + front.limits.header_timeout
        self.loud = False  # whether running out of time is answered with a 408 (a request was started)
        self.head: Head | None = None
        self.body = bytearray()
        self.decoder: ChunkedDecoder | None = None
        self.body_started = self.progress = 0.0
        self.discard = 0  # body bytes still to throw away (-1: everything, until the close)
        self.drained = 0  # bytes thrown away while closing
        self.closing: float | None = None
        self.paused = False
        self.eof = False  # the client has closed its side
        self.writable = threading.Event()
        self.writable.set()
        self.environ: dict[str, Any] = front.base
        self.trusted = False  # whether the peer may say the original scheme (a proxy on this host)

    # -- the transport's callbacks --------------------------------------------------------------

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        self.transport = transport
        front = self.front
        front.connections.add(self)
        sock = transport.get_extra_info("socket")
        peer = transport.get_extra_info("peername") or ("", 0)
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.environ = front.environ_for(peer, transport.get_extra_info("sockname"))
        self.trusted = isinstance(peer, tuple) and front.trusted(peer[0])
        if len(front.connections) > front.limits.max_connections or front.stopping:
            self.refuse(HttpRefusal(503, code="SERVICE_UNAVAILABLE"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.front.connections.discard(self)
        self.closing = self.closing or time.monotonic()
        self.writable.set()  # a thread streaming to this connection stops waiting

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()

    def eof_received(self) -> bool:
        if self.closing is not None:  # the client read our last answer and is done too
            self.transport.close()
        elif self.state in (HEAD, LINGER):  # nothing, or only the start of a head, that could still be answered
            self.close()
        elif self.state == BODY:
            self.refuse(HttpRefusal(400, "the request body was cut short", "MALFORMED_BODY"))
        self.eof = True
        return True  # keep our side open: an answer being prepared still goes out

    def data_received(self, data: bytes) -> None:
        if self.discard:
            data = self._discarded(data)
            if not data:
                return
        state = self.state
        if state == HEAD:
            if not self.buf:
                if not self.loud:
                    self.loud = True
                    self.deadline = time.monotonic() + self.front.limits.header_timeout
                self.buf = bytearray(data)
            else:
                self.buf += data
            self._head()
        elif state == BODY:
            self._body(data)
        elif state == BUSY or state == LINGER:
            self.buf += data
            if len(self.buf) > PIPELINE_BYTES and not self.paused:
                self.paused = True
                self.transport.pause_reading()

    # -- reading a request ----------------------------------------------------------------------

    def _head(self) -> None:
        buf = self.buf
        while buf[:2] == b"\r\n":  # empty lines before a request line are ignored (RFC 9112 2.2)
            del buf[:2]
        end = buf.find(b"\r\n\r\n", max(0, self.scanned - 3))
        if end < 0:
            self.scanned = len(buf)
            if len(buf) > MAX_HEAD:
                self.refuse(HttpRefusal(431))
            elif len(buf) > MAX_REQUEST_LINE and buf.find(b"\r\n", 0, MAX_REQUEST_LINE + 2) < 0:
                self.refuse(HttpRefusal(414))
            return
        if end > MAX_HEAD:
            self.refuse(HttpRefusal(431))
            return
        try:
            head = parse_head(bytes(buf[: end + 2]), self.environ)
        except HttpRefusal as exc:
            self.refuse(exc)
            return
        rest = bytes(buf[end + 4 :])
        self.buf, self.scanned, self.head = bytearray(), 0, head
        limit = self.front.limits.max_body
        if head.chunked:
            self.decoder = ChunkedDecoder(limit)
            self._start_body(rest)
        elif head.length:
            if limit is not None and head.length > limit:  # refused from the length alone, before a read
                # (a client that waits for 100 Continue may never send it; one past the drain's bound is cut off)
                self.discard = -1 if head.expect_continue or head.length > LINGER_BYTES else head.length
                if rest:
                    rest = self._discarded(rest)
                self.buf = bytearray(rest)
                self._dispatch(_RefusedBody(), head.length)
            elif len(rest) >= head.length:  # the usual POST: head and body in one read
                self.buf = bytearray(rest[head.length :])
                self._dispatch(io.BytesIO(rest[: head.length]), head.length)
            else:
                self.body = bytearray()
                self._start_body(rest)
        else:
            self.buf = bytearray(rest)
            self._dispatch(io.BytesIO(b""), None)

    def _start_body(self, rest: bytes) -> None:
        self.state = BODY
        self.body_started = self.progress = time.monotonic()
        self._body_deadline()
        if self.head is not None and self.head.expect_continue and not rest:
            self.transport.write(CONTINUE)
        if rest:
            self._body(rest)

    def _body_deadline(self) -> None:
        limits = self.front.limits
        expected = self.head.length if self.head and self.head.length else len(self.body)
        total = self.body_started + limits.body_timeout + expected / MIN_BODY_RATE
        self.deadline = min(self.progress + limits.body_timeout, total)

    def _body(self, data: bytes) -> None:
        self.progress = time.monotonic()
        decoder = self.decoder
        if decoder is not None:
            try:
                rest = decoder.feed(data)
            except HttpRefusal as exc:
                if exc.status != 413:
                    self.refuse(exc)
                    return
                self.decoder, self.discard = None, -1  # over the limit: the app says 413, the rest is drained
                self._dispatch(_RefusedBody(), None)
                return
            if rest is None:
                self._body_deadline()
                return
            self.decoder, body = None, bytes(decoder.body)
            self.buf = bytearray(rest)
            self._dispatch(io.BytesIO(body), len(body))
            return
        assert self.head is not None and self.head.length is not None
        need = self.head.length - len(self.body)
        if len(data) < need:
            self.body += data
            self._body_deadline()
            return
        self.body += data[:need]
        self.buf = bytearray(data[need:])
        body, self.body = bytes(self.body), bytearray()
        self._dispatch(io.BytesIO(body), len(body))

    def _discarded(self, data: bytes) -> bytes:
        """``data`` less what is left of a refused body; a drain past its bounds closes."""
        if self.discard < 0:
            self.drained += len(data)
            if self.closing is not None and self.drained > LINGER_BYTES:
                self.transport.close()
            return b""
        if len(data) <= self.discard:
            self.discard -= len(data)
            if self.discard == 0 and self.state == LINGER:
                self._next()
            return b""
        data, self.discard = data[self.discard :], 0
        if self.state == LINGER:
            self._next()
        return data

    def _dispatch(self, stream: Any, length: int | None) -> None:
        assert self.head is not None
        environ = self.head.environ
        environ["wsgi.input"] = stream
        if self.trusted and environ.get("HTTP_X_FORWARDED_PROTO", "").lower() == "https":
            environ["wsgi.url_scheme"] = "https"
        if length is not None:
            environ["CONTENT_LENGTH"] = str(length)
        self.state, self.deadline = BUSY, None
        self.front.submit(self, environ)

    # -- answering -------------------------------------------------------------------------------

    def keep_alive(self) -> bool:
        return bool(self.head and self.head.keep_alive) and not self.front.stopping and self.discard >= 0

    def write(self, data: bytes) -> None:
        if self.closing is None:
            self.transport.write(data)

    def answered(self, data: bytes, keep_alive: bool) -> None:
        """On the loop: the app's answer (or its first part) is ``data``; then the next request."""
        if self.closing is not None:
            return
        if data:
            self.transport.write(data)
        self.head = None
        if not keep_alive:
            self.close(linger=True)
        elif self.discard:
            self.state, self.deadline, self.loud = LINGER, time.monotonic() + LINGER_SECONDS, False
        else:
            self._next()

    def _next(self) -> None:
        if self.eof and not self.buf:  # the client is done sending, and every request it sent is answered
            self.close()
            return
        self.state, self.loud = HEAD, False
        self.deadline = time.monotonic() + self.front.limits.keepalive
        if self.paused:
            self.paused = False
            self.transport.resume_reading()
        if self.buf:
            self.loud = True
            self.deadline = time.monotonic() + self.front.limits.header_timeout
            self._head()

    def refuse(self, exc: HttpRefusal) -> None:
        """Answer the front's own refusal and close (lingering, so the client reads it)."""
        if self.closing is not None:
            return
        rid = self.head.environ.get("HTTP_X_REQUEST_ID") if self.head is not None else None
        self.transport.write(refusal(exc, rid))
        self.close(linger=True)

    def close(self, linger: bool = False) -> None:
        if self.closing is not None:
            return
        self.closing = time.monotonic()
        if linger and self.transport.can_write_eof():
            self.transport.write_eof()  # our side is done; the client's bytes are read and dropped
            self.state, self.discard, self.deadline = LINGER, -1, self.closing + LINGER_SECONDS
            if self.paused:
                self.paused = False
                self.transport.resume_reading()
            return
        self.transport.close()

    def expire(self, now: float) -> None:
        """Called by the sweep: act on a deadline that has passed."""
        if self.closing is not None:  # closing: the linger ends, then a client that reads nothing is cut off
            if now - self.closing > SEND_TIMEOUT:
                self.transport.abort()
            elif self.deadline is not None and now >= self.deadline:
                self.deadline = None
                self.transport.close()
            return
        if self.deadline is None or now < self.deadline:
            return
        if self.state == LINGER:  # a drain that did not finish in time
            self.discard = -1
            self.close()
        elif self.loud:
            self.refuse(HttpRefusal(408, code="REQUEST_TIMEOUT"))
        else:
            self.close()
