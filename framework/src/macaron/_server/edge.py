"""What gunicorn refuses before the app sees a request — an overlong request line (414), a
header too large or too many of them (431), a malformed request (400) — answered as
problem+json like every other error, instead of gunicorn's own text/html page.

:class:`ProblemThreadWorker` is the gthread worker ``macaron serve`` runs; it lets gunicorn
decide the status, then replaces the page. The detail is fixed per status: nothing the
client sent is echoed back.
"""

from __future__ import annotations

from typing import Any

from gunicorn import util  # type: ignore[import-untyped]
from gunicorn.workers.gthread import ThreadWorker  # type: ignore[import-untyped]

from .._core.errors import PROBLEM_JSON, ApiError, problem_body
from .._core.observability import request_id_from

_DETAILS = {
    400: "the request is not valid HTTP",
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
    reason = reason or "Bad Request"
    error = ApiError(_DETAILS.get(status, reason.lower()), status=status, title=reason,
                     code=reason.upper().replace(" ", "_").replace("-", "_"))
    request_id = request_id_from(None)
    body = problem_body(error, request_id)
    head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: {PROBLEM_JSON}\r\n"
            f"Content-Length: {len(body)}\r\nX-Request-ID: {request_id}\r\n\r\n")
    return head.encode("latin-1") + body


class ProblemThreadWorker(ThreadWorker):  # type: ignore[misc]
    """gunicorn's gthread worker whose own error answers are problem+json."""

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        capture = _Capture(client)
        super().handle_error(req, capture, addr, exc)
        if capture.data:
            try:
                util.write_nonblock(client, problem_response(capture.data))
            except Exception:  # the client is gone: nothing to tell it
                self.log.debug("failed to send the error response")
