"""The front's HTTP/1.1 parsing (``_server/http11.py``) without sockets: the environ a head becomes,
every head a smuggler or a broken client sends refused with the right status, chunked bodies
decoded, refused at the size line past the limit, and framing errors caught."""

from __future__ import annotations

import json

import pytest
from macaron._server.http11 import ChunkedDecoder, HttpRefusal, parse_head, refusal, response_head

BASE = {"wsgi.url_scheme": "http", "REMOTE_ADDR": "127.0.0.1"}


def head(*lines: str) -> bytes:
    return "".join(f"{line}\r\n" for line in lines).encode("latin-1")


def test_a_head_becomes_a_wsgi_environ() -> None:
    parsed = parse_head(head("POST /a%20b/c?x=1&y=%20 HTTP/1.1", "Host: example", "Content-Type: application/json",
                             "Content-Length: 12", "X-Many: 1", "X-Many: 2", "X-Trail:  padded \t"), BASE)
    env = parsed.environ
    assert (env["REQUEST_METHOD"], env["PATH_INFO"], env["QUERY_STRING"]) == ("POST", "/a b/c", "x=1&y=%20")
    assert env["RAW_URI"] == "/a%20b/c?x=1&y=%20" and env["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert (env["CONTENT_TYPE"], env["CONTENT_LENGTH"], env["HTTP_HOST"]) == ("application/json", "12", "example")
    assert env["HTTP_X_MANY"] == "1,2" and env["HTTP_X_TRAIL"] == "padded"
    assert parsed.length == 12 and parsed.keep_alive and not parsed.chunked
    assert "REQUEST_METHOD" not in BASE  # the base is copied, never changed


def test_keep_alive_follows_the_version_and_connection_header() -> None:
    assert not parse_head(head("GET / HTTP/1.0"), BASE).keep_alive
    assert parse_head(head("GET / HTTP/1.0", "Connection: Keep-Alive"), BASE).keep_alive
    assert not parse_head(head("GET / HTTP/1.1", "Connection: close"), BASE).keep_alive


def test_a_name_with_an_underscore_is_kept_aside_not_merged() -> None:
    """Only the app knows which ``_`` names its spec declares (``_server/underscores.py``)."""
    env = parse_head(head("GET / HTTP/1.1", "X-Forwarded-For: 1.2.3.4", "X_Forwarded_For: 6.6.6.6"), BASE).environ
    assert env["HTTP_X_FORWARDED_FOR"] == "1.2.3.4"
    assert env["macaron.underscore_headers"] == [("X_Forwarded_For", "6.6.6.6")]


def test_absolute_form_and_asterisk_targets() -> None:
    assert parse_head(head("GET http://example/x?q=1 HTTP/1.1"), BASE).environ["PATH_INFO"] == "/x"
    assert parse_head(head("OPTIONS * HTTP/1.1"), BASE).environ["PATH_INFO"] == "*"


@pytest.mark.parametrize(("lines", "status"), [
    (["GET / HTTP/1.1", "Content-Length: 5", "Transfer-Encoding: chunked"], 400),  # CL.TE smuggling
    (["GET / HTTP/1.1", "Content-Length: 5", "Content-Length: 6"], 400),
    (["GET / HTTP/1.1", "Content-Length: 5, 5"], 400),
    (["GET / HTTP/1.1", "Content-Length: -1"], 400),
    (["GET / HTTP/1.1", "Transfer-Encoding: gzip"], 501),
    (["GET / HTTP/1.1", "Transfer-Encoding: chunked, gzip"], 400),  # chunked must come last
    (["GET / HTTP/1.1", "Transfer-Encoding: gzip, chunked"], 501),
    (["GET / HTTP/1.1", "Transfer-Encoding: chunked", "Transfer-Encoding: chunked"], 400),
    (["GET / HTTP/1.1", "X-Folded: a", " continued"], 400),  # obs-fold
    (["GET / HTTP/1.1", "Bad Name: x"], 400),
    (["GET / HTTP/1.1", "X-Nul: a\x00b"], 400),
    (["GET / HTTP/1.1", ": no name"], 400),
    (["GET /  HTTP/1.1"], 400),
    (["GET / HTTP/2.0"], 505),
    (["GET / HTTP/3.0"], 505),
    (["BREW / HTTP/1.1"], 501),  # a method llhttp does not know
    (["G@T / HTTP/1.1"], 400),  # a version llhttp itself refuses is still a 505, not a 400
    (["GET / HTTP/0.9"], 505),
    (["GET / HTTP/1.1 "], 400),
    (["GET\t/ HTTP/1.1"], 400),
    (["GET / HTTP/1.1", "Host : x"], 400),  # whitespace before the colon
    (["GET / HTTP/1.1", "X-Ctl: a\x7fb"], 400),
    (["CONNECT example:443 HTTP/1.1"], 400),  # authority-form: no tunnels here
    (["HTTP/1.0 Transfer-Encoding gzip"], 400),
    (["POST / HTTP/1.0", "Transfer-Encoding: gzip"], 400),
    (["GET / FTP/1.1"], 400),
    (["GET ftp://example/x HTTP/1.1"], 400),
    (["GET /" + "a" * 9000 + " HTTP/1.1"], 414),
    (["GET / HTTP/1.1", "X-Big: " + "b" * 9000], 431),
    (["GET / HTTP/1.1", *[f"X-H{i}: 1" for i in range(101)]], 431),
])
def test_heads_that_are_refused(lines: list[str], status: int) -> None:
    with pytest.raises(HttpRefusal) as refused:
        parse_head(head(*lines), BASE)
    assert refused.value.status == status


def test_the_smuggling_shapes_are_refused_with_their_own_detail() -> None:
    for lines, detail in ((["POST / HTTP/1.1", "Content-Length: 5", "Transfer-Encoding: chunked"], "both"),
                          (["POST / HTTP/1.1", "Transfer-Encoding: chunked", "Content-Length: 5"], "both"),
                          (["POST / HTTP/1.1", "Content-Length: 5", "Content-Length: 5"], "twice")):
        with pytest.raises(HttpRefusal) as refused:
            parse_head(head(*lines), BASE)
        assert refused.value.status == 400 and detail in refused.value.detail, lines


def test_an_upgrade_head_is_handed_on_as_an_ordinary_request() -> None:
    parsed = parse_head(head("GET /ws HTTP/1.1", "Connection: Upgrade", "Upgrade: websocket"), BASE)
    assert parsed.environ["HTTP_UPGRADE"] == "websocket" and parsed.length is None and not parsed.chunked


def test_a_bare_lf_is_not_a_line_end() -> None:
    with pytest.raises(HttpRefusal):
        parse_head(b"GET / HTTP/1.1\r\nHost: x\nX-Other: y\r\n", BASE)


def test_a_refusal_is_problem_json_with_a_request_id_and_no_echo() -> None:
    answer = refusal(HttpRefusal(431), "caller-id-1")
    head_, _, body = answer.partition(b"\r\n\r\n")
    assert head_.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")
    assert b"Content-Type: application/problem+json" in head_ and b"X-Request-ID: caller-id-1" in head_
    problem = json.loads(body)
    assert (problem["status"], problem["code"], problem["request_id"]) == (431, "REQUEST_HEADER_FIELDS_TOO_LARGE",
                                                                           "caller-id-1")
    assert json.loads(refusal(HttpRefusal(408, code="REQUEST_TIMEOUT")).partition(b"\r\n\r\n")[2])["request_id"]


def test_chunks_are_decoded_whatever_the_pieces() -> None:
    wire = b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\nNEXT"
    for size in (1, 2, 7, len(wire)):
        decoder, pieces, rest = ChunkedDecoder(limit=100), [wire[i : i + size] for i in range(0, len(wire), size)], None
        for i, piece in enumerate(pieces):
            rest = decoder.feed(piece)
            if rest is not None:  # the body ended: what follows is the next request's
                rest += b"".join(pieces[i + 1 :])
                break
        assert bytes(decoder.body) == b"hello world" and rest == b"NEXT", size


def test_the_size_line_past_the_limit_is_a_413_before_its_bytes() -> None:
    for wire in (b"fffffffff\r\n", b"65\r\n", b"32\r\n" + b"x" * 50 + b"\r\n33\r\n", b"f" * 40 + b"\r\n"):
        with pytest.raises(HttpRefusal) as refused:
            ChunkedDecoder(limit=100).feed(wire)
        assert refused.value.status == 413


@pytest.mark.parametrize("framing", [b"zz\r\nabc\r\n0\r\n\r\n", b"-5\r\nabc\r\n0\r\n\r\n", b"3\r\nabcXX0\r\n\r\n",
                                     b"3;" + b"e" * 5000 + b"\r\nabc\r\n0\r\n\r\n", b"3;\x01\r\nabc\r\n0\r\n\r\n",
                                     b"3\r\nabc\r\n0\r\nX-Trailer: \x00\r\n\r\n"])
def test_bad_chunked_framing_is_a_400(framing: bytes) -> None:
    with pytest.raises(HttpRefusal) as refused:
        ChunkedDecoder(limit=None).feed(framing)
    assert refused.value.status == 400 and refused.value.code == "MALFORMED_BODY"


def test_a_response_head_refuses_a_header_with_a_line_break() -> None:
    good = response_head("200 OK", [("X-A", "1")], keep_alive=True, length=2, chunked=False, date="d")
    assert good == b"HTTP/1.1 200 OK\r\nDate: d\r\nX-A: 1\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n"
    with pytest.raises(ValueError):
        response_head("200 OK", [("X-A", "1\r\nSet-Cookie: x")], keep_alive=True, length=0, chunked=False, date="d")
