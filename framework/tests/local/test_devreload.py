"""``macaron dev`` reloads by default, one service at a time; ``--only`` runs one service with what
it needs; a service that does not load answers 503 naming the error at once; ``macaron serve``
says plainly when task endpoints cannot work."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml
from macaron._core.config import load_config
from macaron._local.dev import discover_services, needed
from macaron._local.ports import free_port

SPEC = {"swagger": "2.0", "info": {"title": "t", "version": "1"},
        "paths": {"/hello": {"get": {"operationId": "hello",
                                     "responses": {"200": {"description": "ok", "schema": {"type": "object"}}}}}}}


def _service(root: Path, name: str, answer: str, **config: object) -> Path:
    directory = root / "services" / name
    directory.mkdir(parents=True)
    (directory / "service.yaml").write_text(yaml.safe_dump({"port": free_port(), **config}))
    (directory / "api.yaml").write_text(yaml.safe_dump(SPEC))
    (directory / "handlers.py").write_text(f"def hello():\n    return {{'answer': '{answer}'}}\n")
    return directory


@pytest.fixture
def root(tmp_path: Path) -> Path:
    _service(tmp_path, "alpha", "a1", clients={"beta": {"url": None}})
    beta = _service(tmp_path, "beta", "b1")
    (beta / "tasks.py").write_text("from macaron.tasks import task\n\n\n@task()\ndef noop():\n    return None\n")
    _service(tmp_path, "gamma", "g1")
    return tmp_path


def _port(root: Path, name: str) -> int:
    return int(yaml.safe_load((root / "services" / name / "service.yaml").read_text())["port"])


def _get(url: str) -> requests.Response | None:
    try:
        return requests.get(url, timeout=5)
    except requests.RequestException:
        return None


def _until(check, seconds: float = 90) -> object:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"not within {seconds} s")


@pytest.fixture
def dev(root: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    log = root / "dev.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "macaron", "dev", "--root", str(root), "--log-format", "text"],
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _until(lambda: "Ctrl-C stops everything" in log.read_text() or proc.poll() is not None)
        assert proc.poll() is None, log.read_text()
        yield proc, log
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_an_edit_restarts_that_service_only_and_a_broken_one_answers_503_at_once(
        root: Path, dev: tuple[subprocess.Popen[bytes], Path]) -> None:
    _proc, log = dev
    alpha, gamma = (f"http://127.0.0.1:{_port(root, n)}" for n in ("alpha", "gamma"))
    assert requests.get(f"{alpha}/hello", timeout=5).json() == {"answer": "a1"}
    gamma_id = requests.get(f"{gamma}/hello", timeout=5).headers["X-Request-ID"]
    handlers = root / "services" / "alpha" / "handlers.py"
    handlers.write_text("def hello():\n    return {'answer': 'a2'}\n")
    _until(lambda: (r := _get(f"{alpha}/hello")) is not None and r.status_code == 200 and r.json() == {"answer": "a2"})
    _until(lambda: "alpha: restarted in" in log.read_text())  # said once the new process answered /ping
    assert "gamma: " not in log.read_text()
    assert gamma_id in log.read_text()  # gamma kept running: its earlier request is in its own log
    handlers.write_text("def hello(:\n")  # a syntax error
    (broken,) = _until(lambda: (r := _get(f"{alpha}/hello")) is not None and r.status_code == 503 and (r,))
    assert broken.headers["Content-Type"] == "application/problem+json"
    assert broken.json()["code"] == "SERVICE_DOES_NOT_LOAD" and "SyntaxError" in broken.json()["detail"]
    handlers.write_text("def hello():\n    return {'answer': 'a3'}\n")
    _until(lambda: (r := _get(f"{alpha}/hello")) is not None and r.status_code == 200)
    text = log.read_text()
    assert "\x1b[" not in text  # a file: no colours
    assert any(line.startswith("alpha ") and "GET    /hello" in line for line in text.splitlines())


def test_only_runs_a_service_with_the_siblings_it_calls(root: Path) -> None:
    configs = {c.name: c for c in (load_config(d) for d in discover_services(root))}
    assert needed(configs, ["alpha"]) == ["alpha", "beta"]
    assert needed(configs, ["gamma"]) == ["gamma"]
    with pytest.raises(Exception, match="--only nope: no such service"):
        needed(configs, ["nope"])
    log = root / "only.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "macaron", "dev", "--root", str(root), "--only", "alpha"],
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _until(lambda: "Ctrl-C stops everything" in log.read_text() or proc.poll() is not None)
        text = log.read_text()
        assert "redis " in text and "alpha " in text and "beta " in text  # beta has tasks: Redis, its worker
        assert "gamma" not in text
        assert _get(f"http://127.0.0.1:{_port(root, 'gamma')}/hello") is None
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=60)
    assert "beta-worker" in log.read_text()


def test_serve_says_task_endpoints_answer_503_without_redis(root: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    proc = subprocess.Popen([sys.executable, "-m", "macaron", "serve", str(root / "services" / "beta"), "--port",
                             str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
    try:
        _until(lambda: _get(f"http://127.0.0.1:{port}/ping") is not None)
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=30)
    assert "task endpoints will answer 503" in output and "nox -s dev -- --only beta" in output
