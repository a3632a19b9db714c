"""Request bodies: read whole, within the service's ``max_body_bytes``, as cheaply as the server allows.

A server such as gunicorn ends a request's body stream itself (``wsgi.input_terminated``).
werkzeug then still wraps it in a ``LimitedStream`` capped at ``MAX_CONTENT_LENGTH`` and reads
it in two rounds; :class:`MacaronRequest` reads a body of known length within the limit
straight from the server. A longer declared body is refused (413) before anything is read, a
longer streamed (chunked) one as soon as it passes the limit; bodies from servers that do not
end the stream take werkzeug's way.

What goes wrong while the body is read is the client's doing, never a 500: gunicorn's refusal of
a chunked body's framing (bad or negative size, missing CRLF, over-long chunk line or extension,
a body cut short) is a 400 ``MALFORMED_BODY``; a body that stops arriving for ``body_timeout``
seconds (the socket timeout ``_edge.ProblemThreadWorker`` sets) is a 408 ``REQUEST_TIMEOUT``.
"""

from __future__ import annotations

import traceback
from typing import IO

from flask import Request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import cached_property
from werkzeug.wsgi import LimitedStream

from .._core.errors import ApiError, BadRequest

BODY_TIMEOUT = 30.0  # default seconds a request body may stall (service.yaml ``body_timeout``)


class _CappedStream(LimitedStream):
    """werkzeug's stream capped at ``MAX_CONTENT_LENGTH``, except that reading it whole refuses a
    longer body (413): werkzeug's ``readall`` stops at the cap and returns the body cut short,
    which a JSON body then reports as malformed."""

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        super().__init__(stream, limit, is_max=True)
        self._source = stream

    def on_disconnect(self, error: Exception | None = None) -> None:
        if isinstance(error, TimeoutError):  # the body stalled: a 408 (body_error), not "disconnected"
            raise error
        super().on_disconnect(error)

    def readall(self) -> bytes:
        data = super().readall()
        if self.is_exhausted and self._source.read(1):
            raise RequestEntityTooLarge()
        return data


class MacaronRequest(Request):
    """Flask's request class for a service's app, with the body stream of the module's docstring."""

    @cached_property
    def stream(self) -> IO[bytes]:  # type: ignore[override]
        environ = self.environ
        limit = self.max_content_length
        if "wsgi.input_terminated" not in environ or self.shallow:
            return super().stream
        length = self.content_length
        if limit is not None and length is not None and length > limit:
            raise RequestEntityTooLarge()
        if length is None and limit is not None:
            return _CappedStream(environ["wsgi.input"], limit)
        return environ["wsgi.input"]  # type: ignore[no-any-return]


def _read_by_server(exc: BaseException) -> bool:
    """Whether ``exc`` was raised inside gunicorn's body reader (its parser or socket reads)."""
    return any(
        str(frame.f_globals.get("__name__", "")).startswith("gunicorn.http")
        for frame, _ in traceback.walk_tb(exc.__traceback__)
    )


def body_error(exc: BaseException) -> ApiError | None:
    """The problem for an exception raised while the server read the request body, else None."""
    if type(exc).__module__ == "gunicorn.http.errors":  # raised only by reading wsgi.input
        return BadRequest("the request body's framing is malformed or cut short", code="MALFORMED_BODY")
    if isinstance(exc, TimeoutError) and _read_by_server(exc):
        return ApiError("the request body stopped arriving", status=408, code="REQUEST_TIMEOUT",
                        title="Request Timeout")
    return None
