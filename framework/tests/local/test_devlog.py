"""Readable logs: one aligned line per request behind the process's name, real tracebacks, every
process in one format, JSON for files, and no ANSI codes where no terminal is."""

from __future__ import annotations

import io
import json
import logging
import logging.config
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from macaron import Service
from macaron._core.logtext import TextFormatter, WerkzeugLines, chosen_format, render
from macaron._core.observability import JsonFormatter, service_logger
from macaron._local.devlog import PROBE_ID, Output
from macaron._local.ports import free_port
from macaron._server.serve import _log_config

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _boom() -> BaseException:
    try:
        raise KeyError("missing")
    except KeyError as exc:
        return exc


def test_a_request_is_one_aligned_line_and_a_traceback_is_its_own_lines() -> None:
    entry = {"time": "2026-01-02T03:04:05.678Z", "level": "INFO", "message": "GET /v1/users 201", "method": "GET",
             "path": "/v1/users", "status": 201, "duration_ms": 12.34, "user": "alice", "request_id": "r1"}
    line = render(entry)
    assert line.startswith("03:04:05 GET    /v1/users") and " 201 " in line and "12.3 ms" in line
    assert "user=alice" in line and line.endswith("r1") and "\n" not in line
    exc = _boom()
    record = logging.LogRecord("x", logging.ERROR, "", 0, "handler failed", (), (KeyError, exc, exc.__traceback__))
    text = TextFormatter("user").format(record)
    assert text.splitlines()[0].endswith("ERROR   handler failed")
    assert "Traceback (most recent call last):" in text.splitlines()[1]
    assert text.splitlines()[-1] == "KeyError: 'missing'"
    assert "\x1b[" not in text
    assert "\x1b[32m201\x1b[0m" in render(entry, color=True)


def test_text_output_prefixes_every_line_of_every_process_and_json_stays_json() -> None:
    out = io.StringIO()
    output = Output(out, "text")
    output.align(["user", "mail-worker", "fake-sendgrid"])
    exc = _boom()
    record = logging.LogRecord("x", logging.ERROR, "", 0, "failed", (), (KeyError, exc, exc.__traceback__))
    output.line("user", JsonFormatter("user").format(record))
    output.line("fake-sendgrid", "\x1b[1mplain text\x1b[0m from a fake\n")
    output.line("user", json.dumps({"request_id": PROBE_ID, "message": "GET /ping 200"}))  # our own probe: hidden
    lines = out.getvalue().splitlines()
    assert all(line.startswith(("user          ", "fake-sendgrid ")) for line in lines), lines
    assert lines[-1] == "fake-sendgrid plain text from a fake"
    assert any(line.endswith("KeyError: 'missing'") for line in lines)
    assert "\x1b[" not in out.getvalue() and "GET /ping" not in out.getvalue()
    out = io.StringIO()
    output = Output(out, "json")
    output.line("mail", '{"service": "mail", "message": "hi"}')
    output.line("fake-sendgrid", "\x1b[31mnot json\x1b[0m")
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert first == {"service": "mail", "message": "hi"}
    assert second["service"] == "fake-sendgrid" and second["message"] == "not json"


def test_werkzeug_access_lines_become_request_lines_without_ansi() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("fake-sendgrid"))
    handler.addFilter(WerkzeugLines())
    logger = logging.Logger("werkzeug")
    logger.addHandler(handler)
    logger.info('127.0.0.1 - - [01/Jan/2026 10:00:00] "\x1b[32mPOST /v3/mail/send HTTP/1.1\x1b[0m" 202 -')
    entry = json.loads(stream.getvalue())
    assert entry["method"] == "POST" and entry["path"] == "/v3/mail/send" and entry["status"] == 202
    assert "\x1b" not in stream.getvalue()


def test_the_format_follows_the_terminal_unless_told() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert chosen_format(Tty(), {}) == "text" and chosen_format(io.StringIO(), {}) == "json"
    assert chosen_format(Tty(), {"MACARON_LOG_FORMAT": "json"}) == "json"
    stream = io.StringIO()
    service_logger("user", [], stream=stream).info("hello")
    assert json.loads(stream.getvalue())["message"] == "hello"  # not a terminal: JSON, as production


def test_reload_logs_each_request_once(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "macaron", "serve", str(FIXTURES / "shop"), "--port", str(port),
                                 "--reload", "--log-format", "text"], stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, "SHOP_API_KEY": "s3cr3t-shop-key"})
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                requests.get(f"http://127.0.0.1:{port}/ping", headers={"X-Request-ID": "first-one"}, timeout=2)
                break
            except requests.RequestException:
                time.sleep(0.2)
        requests.get(f"http://127.0.0.1:{port}/items", headers={"X-Request-ID": "the-request"}, timeout=5)
        deadline = time.monotonic() + 10
        while "the-request" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)  # a second line, if any, would follow right after
        lines = [line for line in log.read_text().splitlines() if "/items" in line]
        assert len(lines) == 1, lines
        assert "GET    /items" in lines[0] and "\x1b[" not in lines[0]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_gunicorns_own_lines_come_in_the_processs_format(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    service = Service.load(FIXTURES / "shop", environ={"SHOP_API_KEY": "s3cr3t-shop-key"})
    logging.config.dictConfig(_log_config(service))
    try:
        logging.getLogger("gunicorn.error").warning("Worker (pid:%s) was sent SIGKILL!", 42)
    finally:
        logging.getLogger("gunicorn.error").handlers.clear()
    entry = json.loads(stream.getvalue())
    assert entry["service"] == "shop" and entry["message"] == "Worker (pid:42) was sent SIGKILL!"
