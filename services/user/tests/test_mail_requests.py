"""The mails this service asks for: queued as a task that retries through a mail-service outage,
ends on a refusal it would repeat, and, owed in the outbox, is asked for once directly when the
queue is down (the drainer then retries it: test_outbox.py).

The mail service here is a scripted stand-in (``http.server`` on 127.0.0.1) answering what the
mail service's spec allows, so each answer is chosen by the test.
"""

from __future__ import annotations

import importlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from macaron import create_app
from macaron.clients import UpstreamError
from macaron.testing import ThisService, capture_logs, free_port

PROBLEM = {"type": "about:blank", "title": "Service Unavailable", "status": 503, "code": "QUEUE_UNAVAILABLE",
           "detail": "the queue cannot take the mail now"}


@contextmanager
def mail_service(answers: list[tuple[int, dict[str, Any]]]) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A stand-in mail service answering ``answers`` in turn (the last one repeats)."""
    seen: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen.append({"path": self.path, "body": json.loads(self.rfile.read(int(self.headers["Content-Length"]))),
                         "idempotency_key": self.headers.get("Idempotency-Key")})
            status, body = answers[min(len(seen), len(answers)) - 1]
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json" if status < 400 else "application/problem+json")
            self.send_header("Content-Length", str(len(data)))
            if status == 503:
                self.send_header("Retry-After", "5")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def app_of(this_service: ThisService, mail_url: str, redis_url: str, store: Path | None = None) -> Any:
    environ = {"MACARON_USER_CLIENTS__MAIL__URL": mail_url, "REDIS_URL": redis_url,
               "MACARON_USER_OUTBOX__DRAIN_INTERVAL": "0"}
    if store is not None:
        environ["MACARON_USER_STORE__PATH"] = str(store / "user.sqlite3")
    return create_app(this_service.load(environ))


def test_an_outage_raises_so_the_task_is_retried_then_the_same_mail_goes_through(
    this_service: ThisService, redis_url: str
) -> None:
    queued = {"id": "m-1", "status": "queued"}
    with mail_service([(503, PROBLEM), (202, queued)]) as (url, seen):
        app = app_of(this_service, url, redis_url)
        task = app.extensions["macaron"].resolve("tasks.request_mail", where="test")
        with app.test_request_context("/v1/users", method="POST"):
            with pytest.raises(UpstreamError) as outage:
                task.run_now("a@example.com", "welcome", {"name": "A"}, "welcome:u-1")
            assert outage.value.upstream_status == 503 and outage.value.retry_after == 5
            assert task.run_now("a@example.com", "welcome", {"name": "A"}, "welcome:u-1") == "m-1"
    assert [s["idempotency_key"] for s in seen] == ["welcome:u-1", "welcome:u-1"]
    assert seen[1]["body"] == {"to": "a@example.com", "template": "welcome", "data": {"name": "A"},
                               "idempotency_key": "welcome:u-1"}


def test_a_refusal_it_would_repeat_ends_the_task_and_is_logged(this_service: ThisService, redis_url: str) -> None:
    refused = {**PROBLEM, "status": 400, "title": "Bad Request", "code": "UNKNOWN_TEMPLATE", "detail": "no template"}
    with mail_service([(400, refused)]) as (url, seen):
        app = app_of(this_service, url, redis_url)
        task = app.extensions["macaron"].resolve("tasks.request_mail", where="test")
        with capture_logs(app.extensions["macaron"]) as logs, app.test_request_context("/v1/users", method="POST"):
            assert task.run_now("a@example.com", "nope", {}, "k-1") is None
    assert len(seen) == 1 and any("refused the nope mail" in r["message"] for r in logs.records)


def _owed(app: Any, key: str) -> tuple[Any, Any]:
    service = app.extensions["macaron"]
    outbox = importlib.import_module(f"{service.package}.outbox")
    return outbox, outbox.add(service, "mail", "b@example.com", key=key, template="welcome", data={"name": "B"})


def test_an_owed_mail_is_queued_when_the_queue_is_up(this_service: ThisService, redis_url: str,
                                                     tmp_path: Path) -> None:
    with mail_service([(202, {"id": "m-2", "status": "queued"})]) as (url, seen):
        app = app_of(this_service, url, redis_url, tmp_path)
        outbox, owed = _owed(app, "welcome:u-2")
        with app.test_request_context("/v1/users", method="POST"):
            outbox.send_soon(app.extensions["macaron"], owed.id)
    assert seen == []  # the worker (not running here) makes the request; the entry waits for it
    assert outbox.pending(app.extensions["macaron"]) == 1


def test_with_the_queue_down_an_owed_mail_is_asked_for_once_directly(this_service: ThisService,
                                                                     tmp_path: Path) -> None:
    with mail_service([(202, {"id": "m-3", "status": "queued"})]) as (url, seen):
        app = app_of(this_service, url, f"redis://127.0.0.1:{free_port()}/0", tmp_path)
        outbox, owed = _owed(app, "welcome:u-3")
        with capture_logs(app.extensions["macaron"]) as logs, app.test_request_context("/v1/users", method="POST"):
            outbox.send_soon(app.extensions["macaron"], owed.id)
    assert [(s["body"]["to"], s["idempotency_key"]) for s in seen] == [("b@example.com", "welcome:u-3")]
    assert any("task queue is unavailable" in r["message"] for r in logs.records)
    assert outbox.pending(app.extensions["macaron"]) == 0  # taken: no longer owed
