"""HTTP/1.1 on the wire for the front (``front.py``): a request head parsed and judged into a WSGI
environ, a chunked body decoded within a limit, a response head written, and the front's own
refusals as problem+json.

Rule: pure functions over bytes, no I/O, no clock. Every refusal is an :class:`HttpRefusal` with
its status and a fixed detail (nothing the client sent is echoed); :func:`refusal` turns it into
the bytes of a complete answer with ``X-Request-ID``. A head is tokenised by llhttp (``httptools``,
the parser uvicorn and Node use; strict, none of its leniencies on) and then judged here: the
limits, the version, the target, and the framing. Strict where leniency smuggles requests: CRLF
line ends only, no folded lines, a token for every field name, no control bytes in a value, one
``Content-Length`` of digits only, never with ``Transfer-Encoding``, and ``chunked`` the only
transfer coding (anything else is a 501). Chunked bodies stay decoded here: llhttp does not tell
a chunk's declared size, and the 413 is due at the size line, before its bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_to_bytes

import httptools
from werkzeug.http import HTTP_STATUS_CODES

from .._core.errors import PROBLEM_JSON, ApiError, problem_body
from .._core.observability import request_id_from
from .underscores import KEY as UNDERSCORES

MAX_REQUEST_LINE = 8190  # bytes of method, target and version (nginx's large header buffer) -> 414
MAX_FIELD = 8190  # bytes of one header field line -> 431
MAX_FIELDS = 100  # header fields -> 431
MAX_HEAD = 65536  # bytes of the whole head -> 431
MAX_CHUNK_LINE = 4096  # bytes of a chunk-size line with its extensions -> 400
MAX_TRAILER = 8192  # bytes of a chunked body's trailer section -> 400

_TOKEN = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
# a trailer line (discarded, but still held to the field grammar); heads are tokenised by llhttp
_TRAILER_FIELD = re.compile(rb"(" + _TOKEN + rb"):[ \t]*((?:[^\x00-\x20\x7f][^\x00-\x08\x0a-\x1f\x7f]*)?)\r\n")
_METHOD = re.compile(_TOKEN)
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]+)[ \t]*(;[^\x00-\x08\x0a-\x1f\x7f]*)?")
_DETAILS = {
    400: "the request is not valid HTTP",
    408: "the request did not arrive in time",
    413: "the request body is larger than this service accepts",
    414: "the request line (method, path and query) is too long",
    431: "the request's header fields are too large or too many",
    501: "the request's transfer coding is not supported",
    503: "the server is not accepting this connection now; try again",
    505: "only HTTP/1.0 and HTTP/1.1 are served here",
}
_SPECIAL = {b"content-type": "CONTENT_TYPE", b"content-length": "CONTENT_LENGTH"}
_KEYS: dict[bytes, str | None] = {}  # field name -> environ key (None: dropped), filled as names are seen


class HttpRefusal(Exception):
    """The front refuses the request with ``status`` (``code`` defaults to the status's name)."""

    def __init__(self, status: int, detail: str | None = None, code: str | None = None) -> None:
        super().__init__(detail or _DETAILS.get(status, "refused"))
        self.status, self.detail, self.code = status, detail or _DETAILS.get(status, "refused"), code


def refusal(exc: HttpRefusal, request_id: str | None = None) -> bytes:
    """A complete ``Connection: close`` problem+json answer for ``exc``."""
    reason = HTTP_STATUS_CODES.get(exc.status, "Bad Request")
    code = exc.code or reason.upper().replace(" ", "_").replace("-", "_")
    rid = request_id_from(request_id)
    body = problem_body(ApiError(exc.detail, status=exc.status, title=reason, code=code), rid)
    head = (f"HTTP/1.1 {exc.status} {reason}\r\nConnection: close\r\nContent-Type: {PROBLEM_JSON}\r\n"
            f"Content-Length: {len(body)}\r\nX-Request-ID: {rid}\r\n\r\n")
    return head.encode("latin-1") + body


@dataclass(slots=True)
class Head:
    """What the front needs of a parsed request head besides its environ."""

    environ: dict[str, Any]
    keep_alive: bool
    length: int | None  # the declared Content-Length (None: chunked or no body)
    chunked: bool
    expect_continue: bool
    http10: bool


class _Fields:
    """What llhttp hands back while it tokenises one head (its callbacks)."""

    __slots__ = ("complete", "fields", "target")

    def __init__(self) -> None:
        self.fields: list[tuple[bytes, bytes]] = []
        self.target, self.complete = b"", False

    def on_url(self, url: bytes) -> None:
        self.target += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.fields.append((name, value))

    def on_headers_complete(self) -> None:
        self.complete = True


def _key(name: bytes) -> str | None:
    key = _KEYS.get(name)
    if key is None and name not in _KEYS:
        lower = name.lower()
        # a name with "_" would share its environ key with the "-" spelling (spoofing): kept aside
        key = _SPECIAL.get(lower) or (None if b"_" in name else "HTTP_" + name.decode().upper().replace("-", "_"))
        if len(_KEYS) < 4096:
            _KEYS[name] = key
    return key


def _tokenise(block: bytes) -> tuple[bytes, bytes, bool, list[tuple[bytes, bytes]]]:
    """Method, target, whether HTTP/1.0, and the field lines of ``block``, tokenised by llhttp
    (strict: no leniency is turned on); the limits llhttp does not keep are checked first."""
    line_end = block.find(b"\r\n")
    if line_end > MAX_REQUEST_LINE:
        raise HttpRefusal(414)
    if line_end < 0 or block.count(b" ", 0, line_end) != 2:  # llhttp lets "GET /  HTTP/1.1" through
        raise HttpRefusal(400)
    if block[line_end - 8 : line_end - 3] == b"HTTP/" and block[line_end - 3 : line_end - 2] != b"1":
        raise HttpRefusal(505)
    fields_at = line_end + 2
    if len(block) - fields_at > MAX_FIELD and _overlong_field(block, fields_at):
        raise HttpRefusal(431)
    seen = _Fields()
    parser = httptools.HttpRequestParser(seen)
    try:
        parser.feed_data(block + b"\r\n")
    except httptools.HttpParserUpgrade:  # CONNECT or Upgrade: the head is whole; the app answers
        pass
    except httptools.HttpParserInvalidMethodError:  # a token llhttp does not know: RFC 9110 9.1 says 501
        if _METHOD.fullmatch(block, 0, block.find(b" ")) is None:
            raise HttpRefusal(400) from None
        raise HttpRefusal(501, "the request's method is not supported here") from None
    except httptools.HttpParserError:  # a transfer coding llhttp refuses may still be ours to call 501
        _framing(seen.fields, block[line_end - 3 : line_end] == b"1.0")
        raise _malformed(block) from None
    if not seen.complete:
        raise HttpRefusal(400)
    version = parser.get_http_version()
    if version[:2] != "1.":
        raise HttpRefusal(505)
    if len(seen.fields) > MAX_FIELDS:
        raise HttpRefusal(431)
    return parser.get_method(), seen.target, version == "1.0", seen.fields


def _malformed(block: bytes) -> HttpRefusal:
    """The refusal for a head llhttp rejected, named for the smuggling shapes (on this path only)."""
    lower = block.lower()
    if b"\ncontent-length:" in lower:
        if b"\ntransfer-encoding:" in lower:
            return HttpRefusal(400, "the request declares both Content-Length and Transfer-Encoding")
        if lower.count(b"\ncontent-length:") > 1:
            return HttpRefusal(400, "the request declares its Content-Length twice")
    return HttpRefusal(400)


def _framing(fields: list[tuple[bytes, bytes]], http10: bool) -> tuple[bool, int | None]:
    """Whether the body is chunked and its declared length, judged from the field lines."""
    te = cl = None
    for name, value in fields:
        key = _key(name)
        if key == "CONTENT_LENGTH":
            if cl is not None:
                raise HttpRefusal(400, "the request declares its Content-Length twice")
            cl = value.rstrip(b" \t")
        elif key == "HTTP_TRANSFER_ENCODING":
            te = value if te is None else te + b"," + value
    if te is not None:
        if cl is not None:
            raise HttpRefusal(400, "the request declares both Content-Length and Transfer-Encoding")
        codings = [c.strip(b" \t") for c in te.lower().split(b",")]
        if codings != [b"chunked"]:
            raise HttpRefusal(400 if b"chunked" in codings[:-1] or http10 else 501)
        return True, None
    if cl is not None:
        if not cl.isdigit() or len(cl) > 18:
            raise HttpRefusal(400, "the request's Content-Length is not a number of bytes")
        return False, int(cl)
    return False, None


def parse_head(block: bytes, base: dict[str, Any]) -> Head:
    """The request whose head is ``block`` (its request line and field lines, each ending in CRLF,
    without the empty line), as a WSGI environ started from a copy of ``base``."""
    method, target, http10, fields = _tokenise(block)
    chunked, length = _framing(fields, http10)
    environ = base.copy()
    connection = expect = None
    for name, value in fields:
        key = _key(name)
        if key is None:
            if b"_" in name:  # kept aside: the app lets in only the ones its spec declares (.underscores)
                environ.setdefault(UNDERSCORES, []).append((name.decode("latin-1"),
                                                            value.rstrip(b" \t").decode("latin-1")))
            continue
        value = value.rstrip(b" \t")
        if key == "HTTP_CONNECTION":
            connection = value.lower()
        elif key == "HTTP_EXPECT":
            expect = value.lower()
        text = value.decode("latin-1")
        old = environ.get(key) if key.startswith("HTTP_") else None
        environ[key] = text if old is None else f"{old},{text}"
    if chunked:
        environ.pop("HTTP_TRANSFER_ENCODING", None)  # the app is handed the decoded body, with its length
    _target(environ, target)
    environ["REQUEST_METHOD"] = method.decode("latin-1")
    environ["SERVER_PROTOCOL"] = "HTTP/1.0" if http10 else "HTTP/1.1"
    if connection is None:
        keep_alive = not http10
    else:
        tokens = {t.strip() for t in connection.split(b",")}
        keep_alive = b"close" not in tokens and (not http10 or b"keep-alive" in tokens)
    return Head(environ, keep_alive, length, chunked, expect == b"100-continue" and not http10, http10)


def _overlong_field(block: bytes, start: int) -> bool:
    return any(len(line) > MAX_FIELD for line in block[start:].split(b"\r\n"))


def _target(environ: dict[str, Any], target: bytes) -> None:
    raw = target.decode("latin-1")
    environ["RAW_URI"] = environ["REQUEST_URI"] = raw
    if target[:1] != b"/":
        if target == b"*":
            environ["PATH_INFO"], environ["QUERY_STRING"] = "*", ""
            return
        scheme, sep, rest = target.partition(b"://")  # absolute-form, as a proxy sends it
        if not sep or scheme.lower() not in (b"http", b"https"):
            raise HttpRefusal(400)
        slash = rest.find(b"/")
        target = rest[slash:] if slash >= 0 else b"/"
    path, _, query = target.partition(b"?")
    path = path.partition(b"#")[0]
    query = query.partition(b"#")[0]
    environ["PATH_INFO"] = (unquote_to_bytes(path) if b"%" in path else path).decode("latin-1")
    environ["QUERY_STRING"] = query.decode("latin-1")


class ChunkedDecoder:
    """A chunked body decoded as it arrives: :meth:`feed` returns None while more is needed, then
    the bytes after the body (a pipelined request's). Raises :class:`HttpRefusal` 400 on bad framing
    and 413 at the size line that takes the declared total past ``limit``."""

    __slots__ = ("_left", "_pending", "_state", "_trailer", "body", "declared", "limit")

    def __init__(self, limit: int | None) -> None:
        self.limit, self.body, self.declared = limit, bytearray(), 0
        self._pending, self._left, self._state, self._trailer = b"", 0, 0, 0  # state 0 size, 1 data, 2 CRLF, 3 trailer

    def feed(self, data: bytes) -> bytes | None:
        buf = self._pending + data if self._pending else data
        at = 0
        while True:
            if self._state == 1:
                take = min(self._left, len(buf) - at)
                self.body += buf[at : at + take]
                at += take
                self._left -= take
                if self._left:
                    break
                self._state = 2
            end = buf.find(b"\r\n", at)
            if end < 0:
                if len(buf) - at > (2 if self._state == 2 else MAX_CHUNK_LINE):
                    raise HttpRefusal(400, "the request body's chunked framing is malformed", "MALFORMED_BODY")
                break
            line = buf[at:end]
            at = end + 2
            if self._state == 2:
                if line:
                    raise HttpRefusal(400, "the request body's chunked framing is malformed", "MALFORMED_BODY")
                self._state = 0
            elif self._state == 0:
                self._size(line)
            else:  # a trailer line, discarded; the empty line ends the body
                if not line:
                    self._pending = b""
                    return bytes(buf[at:])
                self._trailer += len(line) + 2
                if self._trailer > MAX_TRAILER or _TRAILER_FIELD.fullmatch(line + b"\r\n") is None:
                    raise HttpRefusal(400, "the request body's trailer is malformed", "MALFORMED_BODY")
        self._pending = bytes(buf[at:])
        return None

    def _size(self, line: bytes) -> None:
        match = _CHUNK_SIZE.fullmatch(line)
        if match is None or len(line) > MAX_CHUNK_LINE:
            raise HttpRefusal(400, "the request body's chunked framing is malformed", "MALFORMED_BODY")
        digits = match.group(1).lstrip(b"0")
        size = int(digits, 16) if digits and len(digits) <= 15 else (0 if not digits else 1 << 62)
        self.declared += size
        if self.limit is not None and self.declared > self.limit:
            raise HttpRefusal(413, code="PAYLOAD_TOO_LARGE")
        self._state, self._left = (1, size) if size else (3, 0)


def response_head(status: str, headers: list[tuple[str, str]], *, keep_alive: bool, length: int | None,
                  chunked: bool, date: str) -> bytes:
    """The status line and header fields of an answer (hop-by-hop fields are the front's)."""
    lines = [f"HTTP/1.1 {status}\r\nDate: {date}\r\n"]
    for name, value in headers:
        if "\n" in value or "\r" in value or "\n" in name or "\r" in name:
            raise ValueError(f"header {name!r} has a line break in it")
        lines.append(f"{name}: {value}\r\n")
    if length is not None:
        lines.append(f"Content-Length: {length}\r\n")
    elif chunked:
        lines.append("Transfer-Encoding: chunked\r\n")
    lines.append("Connection: keep-alive\r\n\r\n" if keep_alive else "Connection: close\r\n\r\n")
    return "".join(lines).encode("latin-1")
