"""HTTP a stranger can send to ``macaron serve`` (gunicorn, ``_edge.ProblemThreadWorker``): every
refusal a 4xx problem+json, never a 500, an HTML page, a hung request or a connection reset
(issue "Hardening: every 500 a stranger can cause")."""

from __future__ import annotations

import http.client
import json
import shutil
import socket
from collections.abc import Iterator

import pytest
import requests
from macaron._local.ports import free_port

from ..conftest import FIXTURES
from .test_serve import macaron, wait_for

BODY_TIMEOUT = 2  # service.yaml's body_timeout for these tests


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("hardening")
    shutil.copytree(FIXTURES / "shop", root / "shop")
    shutil.copytree(FIXTURES / "shared", root / "shared")
    config = root / "shop" / "service.yaml"
    config.write_text(config.read_text() + f"body_timeout: {BODY_TIMEOUT}\n")
    port = free_port()
    with macaron("serve", str(root / "shop"), "--port", str(port)) as proc:
        url = f"http://127.0.0.1:{port}"
        wait_for(f"{url}/ping", proc)
        yield url


def exchange(base: str, data: bytes, *, then_hold: bool = False) -> tuple[int, dict[str, str], bytes]:
    """Send ``data`` on a fresh connection (keeping it open when ``then_hold``); the answer read."""
    port = int(base.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(data)
        received = b""
        while b"\r\n\r\n" not in received:
            piece = sock.recv(65536)
            assert piece, f"closed without an answer: {received[:200]!r}"
            received += piece
        head, _, body = received.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        while len(body) < int(headers.get("content-length", 0)):
            piece = sock.recv(65536)
            if not piece:
                break
            body += piece
    return int(lines[0].split(" ")[1]), headers, body


def assert_problem_bytes(status: int, headers: dict[str, str], body: bytes, want: int, code: str | None = None) -> None:
    assert status == want, (status, body[:300])
    assert headers["content-type"] == "application/problem+json", (headers, body[:200])
    problem = json.loads(body)
    assert problem["status"] == want and (code is None or problem["code"] == code), problem


CHUNKED = b"POST /items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"


@pytest.mark.parametrize(
    "framing",
    [
        b"zz\r\nabc\r\n0\r\n\r\n",  # not hex
        b"-5\r\nabc\r\n0\r\n\r\n",  # negative
        b"3\r\nabcXX0\r\n\r\n",  # no CRLF after the chunk
        b"3;" + b"e" * 10_000 + b"\r\nabc\r\n0\r\n\r\n",  # an over-long chunk extension
        b"3;\x01\r\nabc\r\n0\r\n\r\n",  # an invalid chunk extension
        b"3\r\nabc\r\n0\r\nX-Trailer: \x00\r\n\r\n",  # a bad trailer
    ],
)
def test_malformed_chunked_framing_is_a_400_problem(base: str, framing: bytes) -> None:
    assert_problem_bytes(*exchange(base, CHUNKED + framing), 400)


def test_a_body_that_stops_arriving_is_a_408_not_a_hung_request(base: str) -> None:
    """A chunk (within the limit: past it is a 413 at once) or a declared length, then nothing: the
    thread waited for ever (and held the connection) before; now ``body_timeout`` ends it."""
    for stalled in (
        CHUNKED + b"ff\r\n" + b'{"name": ',
        b"POST /items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
    ):
        assert_problem_bytes(*exchange(base, stalled, then_hold=True), 408, "REQUEST_TIMEOUT")
    assert requests.get(f"{base}/items/1", timeout=5).status_code == 200


TEN_MB = b'{"name": "' + b"x" * 10_000_000 + b'"}'


@pytest.mark.parametrize("chunks", [b"fffffffff\r\n", b"10001\r\n", b"8000\r\n" + b"x" * 0x8000 + b"\r\n8001\r\n"],
                         ids=["68 GB in one chunk", "one chunk over the limit", "two chunks over it together"])
def test_a_chunk_size_past_the_limit_is_a_413_at_once(base: str, chunks: bytes) -> None:
    """Regression: a chunk announcing more than max_body_bytes (65,536 for shop) held the request
    until body_timeout, then answered 408; it is refused at its size line (then_hold: the client
    sends none of the announced bytes, so only an answer from the size alone passes)."""
    status, headers, body = exchange(base, b"POST /items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                     b"Transfer-Encoding: chunked\r\n\r\n" + chunks, then_hold=True)
    assert_problem_bytes(status, headers, body, 413, "PAYLOAD_TOO_LARGE")


def test_a_refused_10_mb_body_reaches_ordinary_clients_as_a_413(base: str) -> None:
    """gunicorn drained 64 KiB of the refused body and closed: http.client got BrokenPipeError
    (requests, through urllib3, sometimes ConnectionResetError) instead of the 413."""
    connection = http.client.HTTPConnection("127.0.0.1", int(base.rsplit(":", 1)[1]), timeout=30)
    try:
        connection.request("POST", "/items", body=TEN_MB, headers={"Content-Type": "application/json"})
        answer = connection.getresponse()
        assert answer.status == 413 and answer.getheader("Content-Type") == "application/problem+json"
        assert json.loads(answer.read())["code"] == "PAYLOAD_TOO_LARGE"
    finally:
        connection.close()
    for data in (TEN_MB, iter([TEN_MB[i : i + 1_000_000] for i in range(0, len(TEN_MB), 1_000_000)])):
        refused = requests.post(f"{base}/items", data=data, headers={"Content-Type": "application/json"}, timeout=30)
        assert refused.status_code == 413 and refused.json()["code"] == "PAYLOAD_TOO_LARGE"
    with requests.Session() as session:  # the connection stays usable after the drain
        for _ in range(2):
            answer = session.post(
                f"{base}/items", data=TEN_MB, headers={"Content-Type": "application/json"}, timeout=30
            )
            assert answer.status_code == 413
        assert session.get(f"{base}/items/1", timeout=5).status_code == 200


def test_an_unsupported_transfer_coding_is_a_501_titled_as_such(base: str) -> None:
    status, headers, body = exchange(base, b"POST /items HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: br\r\n\r\n")
    assert_problem_bytes(status, headers, body, 501)
    problem = json.loads(body)
    assert (problem["title"], problem["code"]) == ("Not Implemented", "NOT_IMPLEMENTED")


def test_an_http_1_1_request_without_host_is_a_400(base: str) -> None:
    for request in (b"GET /ping HTTP/1.1\r\n\r\n", b"GET /items/1 HTTP/1.1\r\n\r\n", b"GET /nowhere HTTP/1.1\r\n\r\n"):
        assert_problem_bytes(*exchange(base, request), 400, "HOST_MISSING")
    assert exchange(base, b"GET /ping HTTP/1.0\r\n\r\n")[0] == 200  # HTTP/1.0 has no Host requirement


def test_no_redirect_is_built_from_the_host_header(base: str) -> None:
    for path in (b"/docs/static//x", b"/docs/static//swagger-ui.css", b"/items//1", b"/docs/static/../x"):
        status, headers, body = exchange(base, b"GET " + path + b" HTTP/1.1\r\nHost: evil.example\r\n\r\n")
        assert "location" not in headers and b"evil.example" not in body
        assert_problem_bytes(status, headers, body, 404)


def test_only_the_assets_docs_needs_are_served(base: str) -> None:
    for page in ("index.html", "oauth2-redirect.html", "swagger-initializer.js", "index.j2", "swagger-ui.js"):
        refused = requests.get(f"{base}/docs/static/{page}", timeout=5)
        assert refused.status_code == 404 and refused.headers["Content-Type"] == "application/problem+json", page
    docs = requests.get(f"{base}/docs", timeout=5).text
    for asset in ("swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png"):
        assert f"/docs/static/{asset}" in docs and requests.get(f"{base}/docs/static/{asset}", timeout=5).ok
