"""``macaron serve``: gunicorn from the command line, start-up errors, the reloader."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
import yaml
from macaron._local.ports import free_port

from ..conftest import FIXTURES, SHOP_ENV


@contextmanager
def macaron(*args: str, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "macaron", *args],
        env={**os.environ, **SHOP_ENV, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def wait_for(url: str, proc: subprocess.Popen[str], timeout: float = 30) -> requests.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else "exited"
        try:
            return requests.get(url, timeout=1)
        except (requests.ConnectionError, requests.Timeout):  # not up yet, or slow to answer under load
            time.sleep(0.02)
    raise AssertionError(f"{url} never answered")


def test_serve_with_gunicorn_and_stop_on_sigterm() -> None:
    port = free_port()
    started = time.monotonic()
    with macaron("serve", str(FIXTURES / "shop"), "--port", str(port), "--workers", "2") as proc:
        ping = wait_for(f"http://127.0.0.1:{port}/ping", proc)
        print(f"cold start to first /ping: {time.monotonic() - started:.2f} s")
        assert ping.status_code == 200 and ping.json() == {}
        assert requests.get(f"http://127.0.0.1:{port}/items/4", timeout=5).json()["id"] == 4
        os.killpg(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=30) == 0


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "macaron", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_invalid_spec_stops_with_a_message_not_a_traceback(tmp_path: Path) -> None:
    directory = tmp_path / "svc"
    directory.mkdir()
    (directory / "service.yaml").write_text("port: 1\n")
    (directory / "api.yaml").write_text(
        yaml.safe_dump(
            {
                "swagger": "2.0",
                "info": {"title": "t", "version": "1"},
                "paths": {"/x": {"get": {"operationId": "getX", "responses": {"200": {"description": "ok"}}}}},
            }
        )
    )
    result = run_cli("serve", str(directory), "--port", str(free_port()))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"{directory / 'api.yaml'}: operation getX (GET /x)" in result.stderr
    assert "cannot import module 'handlers'" in result.stderr


def test_missing_secret_stops_naming_the_variable() -> None:
    env = {k: v for k, v in os.environ.items() if k != "SHOP_API_KEY"}
    result = subprocess.run(
        [sys.executable, "-m", "macaron", "serve", str(FIXTURES / "shop")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "SHOP_API_KEY" in result.stderr and "Traceback" not in result.stderr


def test_port_in_use_is_reported_clearly() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = run_cli("serve", str(FIXTURES / "shop"), "--port", str(port), env=SHOP_ENV)
    assert result.returncode == 2
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr


def test_reload_picks_up_a_spec_change(tmp_path: Path) -> None:
    directory = tmp_path / "shop"
    shutil.copytree(FIXTURES / "shop", directory)
    shutil.copytree(FIXTURES / "shared", tmp_path / "shared")
    port = free_port()
    with macaron("serve", str(directory), "--port", str(port), "--reload") as proc:
        base = f"http://127.0.0.1:{port}"
        assert wait_for(f"{base}/ping", proc).status_code == 200
        assert requests.get(f"{base}/items", params={"limit": 500}, timeout=5).status_code == 400
        spec = yaml.safe_load((directory / "api.yaml").read_text())
        spec["paths"]["/items"]["get"]["parameters"][0]["maximum"] = 1000
        time.sleep(1.1)  # the stat reloader compares mtimes with 1 s resolution on some filesystems
        (directory / "api.yaml").write_text(yaml.safe_dump(spec))
        deadline = time.monotonic() + 30
        status = None
        while time.monotonic() < deadline:
            try:
                status = requests.get(f"{base}/items", params={"limit": 500}, timeout=2).status_code
            except requests.RequestException:  # restarting: not answering yet, or an answer cut by the restart
                status = None
            if status == 200:
                break
            time.sleep(0.2)
        assert status == 200


def test_requests_gunicorn_refuses_itself_get_problem_json() -> None:
    """Regression (chaos scenario 6): a huge header, too many headers or an overlong request line
    were refused by gunicorn with its own text/html page (431, 414), not problem+json."""
    port = free_port()
    with macaron("serve", str(FIXTURES / "shop"), "--port", str(port)) as proc:
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/ping", proc)
        refused = [
            requests.get(f"{base}/items/1", headers={"X-Huge": "h" * 65_536}, timeout=5),
            requests.get(f"{base}/items/1", headers={f"X-H{i}": "1" for i in range(200)}, timeout=5),
            requests.get(f"{base}/items/1?q={'a' * 10_000}", timeout=5),
        ]
        for response in refused:
            assert response.status_code in (400, 414, 431), response.status_code
            assert response.headers["Content-Type"] == "application/problem+json", response.text[:200]
            body = response.json()
            assert body["status"] == response.status_code and body["code"] and body["request_id"]
            assert "h" * 100 not in response.text
        assert requests.get(f"{base}/items/1", timeout=5).status_code == 200  # and it keeps serving


def test_bodies_under_gunicorn_are_read_whole_and_capped() -> None:
    """gunicorn ends the body stream itself, so macaron reads it without werkzeug's wrapper
    (``_dispatch.MacaronRequest``): every way of sending a body, and the limit, checked live."""
    port = free_port()
    with macaron("serve", str(FIXTURES / "shop"), "--port", str(port)) as proc:
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/ping", proc)
        item = b'{"name": "lamp", "price": 2}'
        sent = requests.post(f"{base}/items", data=item, headers={"Content-Type": "application/json"}, timeout=5)
        assert sent.status_code == 201 and sent.json()["name"] == "lamp"
        chunked = requests.post(  # a generator body goes out chunked: no Content-Length
            f"{base}/items", data=iter([item[:9], item[9:]]), headers={"Content-Type": "application/json"}, timeout=5
        )
        assert chunked.status_code == 201 and chunked.json()["price"] == 2
        fields = {"title": "t", "count": "2"}
        form = requests.post(f"{base}/forms", data=fields, files={"attachment": b"abc"}, timeout=5)
        assert form.json() == {"title": "t", "count": 2, "attachment_size": 3}
        big = b'{"name": "' + b"x" * 70_000 + b'"}'  # the fixture's max_body_bytes is 65,536
        for data in (big, iter([big[:40_000], big[40_000:]])):
            refused = requests.post(f"{base}/items", data=data, headers={"Content-Type": "application/json"}, timeout=5)
            assert refused.status_code == 413, refused.text[:200]
            assert refused.json()["code"] == "PAYLOAD_TOO_LARGE"


def test_keepalive_outlives_a_load_balancers_idle_timeout_when_asked() -> None:
    """Behind an ALB (60 s idle timeout) gunicorn's 5 s keep-alive made it close connections the
    balancer was about to reuse (a 502 for that request): ``--keepalive`` (WEB_KEEPALIVE=75 in the
    image) keeps an idle connection open longer. Shown here with 8 s against an idle of 6 s."""
    import http.client

    port = free_port()
    with macaron("serve", str(FIXTURES / "shop"), "--port", str(port), "--keepalive", "8") as proc:
        wait_for(f"http://127.0.0.1:{port}/ping", proc)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/ping")
        first = conn.getresponse()
        assert first.status == 200 and first.getheader("Connection") != "close"
        first.read()
        time.sleep(6)  # idle longer than the default keep-alive (5 s)
        conn.request("GET", "/ping")  # the same connection: still open
        assert conn.getresponse().status == 200
        assert conn.sock is not None
        conn.close()
