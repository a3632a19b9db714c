"""``macaron serve``'s front (``_server/front.py``, the default server) live: slow clients cost a
socket, not a thread; heads and bodies have read deadlines (408 problem+json); pipelined requests
are answered in order; SIGTERM finishes the requests in hand and refuses new ones; ``--server
gunicorn`` still serves. The promises shared with gunicorn's gthread are tested in test_serve.py
and test_hardening_http.py, which run against the default."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml
from macaron._local.ports import free_port
from macaron._server.docs import assets_dir

from ..conftest import FIXTURES
from .test_hardening_http import assert_problem_bytes
from .test_serve import macaron, wait_for

BODY_TIMEOUT = 2


def _shop(root: Path) -> Path:
    shutil.copytree(FIXTURES / "shop", root / "shop")
    shutil.copytree(FIXTURES / "shared", root / "shared")
    config = root / "shop" / "service.yaml"
    config.write_text(config.read_text() + f"body_timeout: {BODY_TIMEOUT}\n")
    return root / "shop"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The shop on the front with 2 threads and a 2 s header deadline, so a few slow sockets
    would hold every thread if they held threads at all."""
    directory = _shop(tmp_path_factory.mktemp("front"))
    port = free_port()
    with macaron("serve", str(directory), "--port", str(port), "--threads", "2", "--header-timeout", "2") as proc:
        url = f"http://127.0.0.1:{port}"
        wait_for(f"{url}/ping", proc)
        yield url


def _port(base: str) -> int:
    return int(base.rsplit(":", 1)[1])


def _read_answer(sock: socket.socket, pending: bytearray | None = None) -> tuple[int, dict[str, str], bytes]:
    """One answer read from ``sock``; bytes read past it (pipelined answers) stay in ``pending``."""
    received = pending if pending is not None else bytearray()
    while b"\r\n\r\n" not in received:
        piece = sock.recv(65536)
        assert piece, f"closed without an answer: {bytes(received[:200])!r}"
        received += piece
    end = received.index(b"\r\n\r\n")
    lines = received[:end].decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", 0))
    while len(received) < end + 4 + length:
        piece = sock.recv(65536)
        assert piece, "closed in the middle of the body"
        received += piece
    body = bytes(received[end + 4 : end + 4 + length])
    del received[: end + 4 + length]
    return int(lines[0].split(" ")[1]), headers, body


SLOW_HEAD = b"GET /items/1 HTTP/1.1\r\nHost: x\r\nX-Slow: "
SLOW_BODY = b"POST /items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"


def test_slow_sockets_beyond_the_threads_do_not_stop_other_clients(base: str) -> None:
    """Regression (issue 18): under gthread, as many sockets trickling headers or a body as the
    worker had threads stopped it answering anyone. Here 20 of each against 2 threads."""
    slow = [socket.create_connection(("127.0.0.1", _port(base)), timeout=30) for _ in range(40)]
    try:
        for i, sock in enumerate(slow):
            sock.sendall(SLOW_HEAD if i % 2 else SLOW_BODY)
        for _ in range(10):
            answer = requests.get(f"{base}/items/1", timeout=10)
            assert answer.status_code == 200 and answer.headers["X-Request-ID"]
        created = requests.post(f"{base}/items", json={"name": "lamp", "price": 2}, timeout=10)
        assert created.status_code == 201
    finally:
        for sock in slow:
            sock.close()


def test_a_head_that_never_ends_is_a_408_problem(base: str) -> None:
    with socket.create_connection(("127.0.0.1", _port(base)), timeout=30) as sock:
        sock.sendall(SLOW_HEAD)
        for byte in b"abc":  # trickled, each byte well inside the deadline: the deadline is for the head
            time.sleep(0.5)
            sock.sendall(bytes([byte]))
        status, headers, body = _read_answer(sock)
    assert_problem_bytes(status, headers, body, 408, "REQUEST_TIMEOUT")
    assert headers["x-request-id"] and headers["connection"] == "close"


def test_a_body_trickled_or_stalled_is_a_408_and_holds_no_thread(base: str) -> None:
    """A declared length of 1,000 and 2 bytes sent held a gthread thread for 70 s; here the body
    has its deadline (body_timeout, 2 s in this fixture) and the threads stay free meanwhile."""
    with socket.create_connection(("127.0.0.1", _port(base)), timeout=30) as sock:
        sock.sendall(SLOW_BODY + b'"')
        assert requests.get(f"{base}/items/1", timeout=10).status_code == 200
        status, headers, body = _read_answer(sock)
    assert_problem_bytes(status, headers, body, 408, "REQUEST_TIMEOUT")


def test_pipelined_requests_are_answered_in_order_on_one_connection(base: str) -> None:
    item = b'{"name": "lamp", "price": 2}'
    requests_ = (b"GET /items/1 HTTP/1.1\r\nHost: x\r\n\r\n"
                 b"POST /items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n%b" % (len(item), item)
                 + b"GET /items/3 HTTP/1.1\r\nHost: x\r\nX-Request-ID: pipelined-3\r\n\r\n")
    with socket.create_connection(("127.0.0.1", _port(base)), timeout=30) as sock:
        sock.sendall(requests_)
        pending = bytearray()
        answers = [_read_answer(sock, pending) for _ in range(3)]
    assert [a[0] for a in answers] == [200, 201, 200]
    assert json.loads(answers[0][2])["id"] == 1 and json.loads(answers[1][2])["name"] == "lamp"
    assert json.loads(answers[2][2])["id"] == 3 and answers[2][1]["x-request-id"] == "pipelined-3"


def test_a_client_that_closes_its_side_gets_every_answer_then_the_close(base: str) -> None:
    with socket.create_connection(("127.0.0.1", _port(base)), timeout=30) as sock:
        sock.sendall(b"GET /items/1 HTTP/1.1\r\nHost: x\r\n\r\nGET /items/2 HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.shutdown(socket.SHUT_WR)
        pending = bytearray()
        assert [_read_answer(sock, pending)[0] for _ in range(2)] == [200, 200]
        assert not pending and sock.recv(100) == b""  # then the server closes too


def test_expect_100_continue_gets_its_interim_answer(base: str) -> None:
    item = b'{"name": "lamp", "price": 2}'
    with socket.create_connection(("127.0.0.1", _port(base)), timeout=30) as sock:
        sock.sendall(b"POST /items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(item))
        pending = bytearray()
        while len(pending) < len(b"HTTP/1.1 100 Continue\r\n\r\n"):
            pending += sock.recv(100)
        assert pending.startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        del pending[: len(b"HTTP/1.1 100 Continue\r\n\r\n")]
        sock.sendall(item)
        assert _read_answer(sock, pending)[0] == 201


def test_an_answer_past_a_megabyte_is_streamed_whole_and_head_gets_no_body(base: str) -> None:
    """swagger-ui-bundle.js (1.68 MB, Swagger UI 5) is past the front's STREAM_AT: sent as the app produces it."""
    expected = (assets_dir() / "swagger-ui-bundle.js").read_bytes()
    assert len(expected) > 1024 * 1024
    with requests.Session() as session:
        got = session.get(f"{base}/docs/static/swagger-ui-bundle.js", timeout=30)
        assert got.status_code == 200 and got.content == expected
        head = session.head(f"{base}/docs/static/swagger-ui-bundle.js", timeout=30)
        assert head.status_code == 200 and head.content == b""
        assert int(head.headers["Content-Length"]) == len(expected)
        assert session.get(f"{base}/items/1", timeout=10).status_code == 200  # the connection is still in step


def test_connections_past_the_limit_get_a_503_problem(tmp_path: Path) -> None:
    port = free_port()
    with macaron("serve", str(_shop(tmp_path)), "--port", str(port), "--max-connections", "3") as proc:
        wait_for(f"http://127.0.0.1:{port}/ping", proc)
        held = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(3)]
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=30) as extra:
                status, headers, body = _read_answer(extra)
            assert_problem_bytes(status, headers, body, 503)
        finally:
            for sock in held:
                sock.close()


NAP_SPEC = {
    "swagger": "2.0", "info": {"title": "nap", "version": "1"}, "produces": ["application/json"],
    "paths": {"/nap": {"get": {"operationId": "nap", "parameters": [
        {"name": "seconds", "in": "query", "type": "number", "required": True}],
        "responses": {"200": {"description": "slept", "schema": {"type": "object"}}}}}},
}


def test_sigterm_finishes_the_requests_in_hand_and_refuses_new_ones(tmp_path: Path) -> None:
    directory = tmp_path / "nap"
    directory.mkdir()
    (directory / "service.yaml").write_text("port: 1\n")
    (directory / "api.yaml").write_text(yaml.safe_dump(NAP_SPEC))
    (directory / "handlers.py").write_text("import time\n\n\ndef nap(seconds):\n    time.sleep(seconds)\n"
                                           "    return {'slept': seconds}\n")
    port = free_port()
    with macaron("serve", str(directory), "--port", str(port)) as proc:
        url = f"http://127.0.0.1:{port}"
        wait_for(f"{url}/ping", proc)
        answers: list[requests.Response] = []
        sleeper = threading.Thread(target=lambda: answers.append(requests.get(f"{url}/nap?seconds=2", timeout=30)))
        sleeper.start()
        time.sleep(0.5)  # the request is in the handler
        os.kill(proc.pid, signal.SIGTERM)  # to the arbiter alone, as docker stop does to PID 1
        refused = False
        for _ in range(100):  # new connections are refused while the nap finishes
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
            except ConnectionRefusedError:
                refused = True
                break
            time.sleep(0.02)
        sleeper.join(timeout=30)
        assert refused and answers and answers[0].status_code == 200 and answers[0].json() == {"slept": 2}
        assert proc.wait(timeout=30) == 0


def test_the_gunicorn_server_stays_an_option(tmp_path: Path) -> None:
    port = free_port()
    with macaron("serve", str(_shop(tmp_path)), "--port", str(port), "--server", "gunicorn") as proc:
        url = f"http://127.0.0.1:{port}"
        assert wait_for(f"{url}/ping", proc).status_code == 200
        refused = requests.get(f"{url}/items/1", headers={"X-Huge": "h" * 65_536}, timeout=5)
        assert refused.status_code == 431 and refused.headers["Content-Type"] == "application/problem+json"
