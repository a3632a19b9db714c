"""What gunicorn refuses before the app sees a request — an overlong request line (414), a
header too large or too many of them (431), a malformed request (400) — answered as
problem+json like every other error, instead of gunicorn's own text/html page.

:class:`ProblemThreadWorker` is the gthread worker ``macaron serve --server gunicorn`` runs (the
default, the front of ``front.py``, keeps the same promises without gunicorn's parser); it lets gunicorn
decide the status, then replaces the page. The detail is fixed per status: nothing the
client sent is echoed back, and the title is the status's own (gunicorn labels a 501 "Bad Request").

The worker also keeps a request from hanging or from being reset:

- reading the request body times out after ``body_timeout`` seconds without progress (service.yaml,
  default 30): a client that declares a body (or a chunk) and stops sending gets a 408
  (``_body.body_error``) instead of holding a thread for ever;
- a chunked body is refused (413) at the chunk-size line that takes its declared length past
  ``max_body_bytes``, not after waiting for the bytes it announces (``SizedChunkedReader``);
- after the answer, the unread rest of a body is drained, up to ``LINGER_BYTES`` within
  ``LINGER_SECONDS`` (nginx's lingering close), before the connection is reused or closed. gunicorn
  alone drains 64 KiB, then closes with the rest unread: the kernel answers the client's next bytes
  with a reset, and a client still sending a refused 10 MB body (``http.client``, ``requests`` on
  some platforms) sees ``BrokenPipeError``/``ConnectionResetError`` instead of the 413.
"""

from __future__ import annotations

import time
from typing import Any

from gunicorn import util  # type: ignore[import-untyped]
from gunicorn.http import message  # type: ignore[import-untyped]
from gunicorn.http.body import ChunkedReader  # type: ignore[import-untyped]
from gunicorn.workers.gthread import ThreadWorker  # type: ignore[import-untyped]
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.http import HTTP_STATUS_CODES

from .._core.errors import PROBLEM_JSON, ApiError, problem_body
from .._core.observability import request_id_from
from .body import BODY_TIMEOUT

LINGER_BYTES = 64 * 1024 * 1024  # at most this much of an unread body is drained after the answer
LINGER_SECONDS = 5.0  # ... within this long
_DETAILS = {
    400: "the request is not valid HTTP",
    501: "the request's transfer coding is not supported",
    414: "the request line (method, path and query) is too long",
    431: "the request's header fields are too large or too many",
}


class _Capture:
    """Stands in for the client socket while gunicorn writes its error page."""

    def __init__(self, sock: Any) -> None:
        self.sock = sock
        self.data = b""

    def gettimeout(self) -> Any:
        return self.sock.gettimeout()

    def setblocking(self, flag: bool) -> None:
        self.sock.setblocking(flag)

    def sendall(self, data: bytes) -> None:
        self.data += data


def problem_response(page: bytes) -> bytes:
    """The problem+json HTTP response for gunicorn's error ``page`` (its status line is kept)."""
    status_line = page.split(b"\r\n", 1)[0].decode("latin-1")
    _, code, reason = [*status_line.split(" ", 2), "", ""][:3]
    status = int(code) if code.isdigit() else 400
    reason = HTTP_STATUS_CODES.get(status) or reason or "Bad Request"
    error = ApiError(_DETAILS.get(status, reason.lower()), status=status, title=reason,
                     code=reason.upper().replace(" ", "_").replace("-", "_"))
    request_id = request_id_from(None)
    body = problem_body(error, request_id)
    head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: {PROBLEM_JSON}\r\n"
            f"Content-Length: {len(body)}\r\nX-Request-ID: {request_id}\r\n\r\n")
    return head.encode("latin-1") + body


class SizedChunkedReader(ChunkedReader):  # type: ignore[misc]
    """gunicorn's chunked-body reader, refusing a body whose chunk sizes add up past ``limit`` as
    soon as the size line says so (gunicorn would wait for the announced bytes first)."""

    limit: int | None = None  # the app's max_body_bytes, set once per worker process
    _declared = 0

    def parse_chunk_size(self, unreader: Any, data: Any = None) -> Any:
        size, rest = super().parse_chunk_size(unreader, data)
        self._declared += size
        if self.limit is not None and self._declared > self.limit:
            raise RequestEntityTooLarge(f"the body's chunks declare more than the limit of {self.limit} bytes")
        return size, rest


class ProblemThreadWorker(ThreadWorker):  # type: ignore[misc]
    """gunicorn's gthread worker whose own error answers are problem+json (and whose requests
    neither hang on a stalled body nor end in a reset: see the module's docstring)."""

    _body_timeout: float | None = None

    def body_timeout(self) -> float:
        if self._body_timeout is None:
            service = getattr(self.wsgi, "extensions", {}).get("macaron")
            value = service.config.get("body_timeout", BODY_TIMEOUT) if service is not None else BODY_TIMEOUT
            self._body_timeout = float(value)
        return self._body_timeout

    def load_wsgi(self) -> None:
        super().load_wsgi()
        limit = getattr(self.wsgi, "config", {}).get("MAX_CONTENT_LENGTH")
        SizedChunkedReader.limit = int(limit) if limit else None
        message.ChunkedReader = SizedChunkedReader  # this process serves this one app

    def handle_request(self, req: Any, conn: Any) -> Any:
        conn.sock.settimeout(self.body_timeout())  # gunicorn reads the body from a blocking socket
        return super().handle_request(req, conn)

    def _keepalive_after(self, conn: Any, keepalive: bool) -> bool:
        """Drain what the app left of the body (bounded), whether or not the connection is kept."""
        drained = conn.parser.finish_body(deadline=time.monotonic() + LINGER_SECONDS, max_bytes=LINGER_BYTES)
        return bool(keepalive and drained)

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        capture = _Capture(client)
        super().handle_error(req, capture, addr, exc)
        if capture.data:
            try:
                util.write_nonblock(client, problem_response(capture.data))
            except Exception:  # the client is gone: nothing to tell it
                self.log.debug("failed to send the error response")
