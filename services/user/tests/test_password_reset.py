"""A password reset answers the same whether or not the account exists: same status, body and
headers, after the same work (one hand-off, to the task queue or, with it down, to the outbox);
the reset itself (Auth0, then the reset mail) happens after the answer, for existing accounts
only. The timing is measured by ``benchmarks/reset_timing.py``, not here."""

from __future__ import annotations

import importlib
import time
import uuid
from typing import Any

from macaron.testing import Api, free_port

from .conftest import PASSWORD, UserApp

VARYING = {"Date", "X-Request-ID"}


def _answer(response: Any) -> tuple[int, bytes, dict[str, str]]:
    return response.status_code, response.get_data(), {k: v for k, v in response.headers.items() if k not in VARYING}


def _signup(client: Any, name: str = "Reset") -> dict[str, Any]:
    email = f"r-{uuid.uuid4().hex[:10]}@example.com"
    answer = client.post("/v1/users", json={"email": email, "password": PASSWORD, "name": name})
    assert answer.status_code == 201
    return dict(answer.get_json()["user"])


def test_existing_and_missing_accounts_get_the_same_answer_and_only_existing_ones_a_reset(
    user_app: UserApp, mail_service: tuple[str, Any], auth0_url: str
) -> None:
    _, mail = mail_service
    app, service = user_app()
    client = app.test_client()
    user = _signup(client)
    missing = f"nobody-{uuid.uuid4().hex[:8]}@example.com"
    answers = [_answer(client.post("/v1/password-reset", json={"email": email}))
               for email in (user["email"], missing, user["email"].upper(), missing)]
    assert answers[0][0] == 202 and answers[0][1] == b""
    assert answers.count(answers[0]) == 4, answers  # status, body and headers alike

    reset = service.resolve("tasks.start_password_reset", where="test")  # what the worker runs after the answer
    with app.test_request_context("/v1/password-reset", method="POST"):
        assert reset.run_now(missing, "202401010000") is False
        assert reset.run_now(user["email"], "202401010000") is True
    resets = Api(auth0_url).get("/__fake__/state").json()["password_resets"]
    assert [r["email"] for r in resets].count(user["email"]) == 1 and missing not in str(resets)
    sent = mail.models.Mail.find_by("idempotency_key", f"reset:{user['user_id']}:202401010000")
    assert sent.template == "password_reset" and sent.to == user["email"]
    assert sent.data == {"name": "there"}  # unconfirmed address: none of the signer's text


def test_with_the_queue_down_both_answers_are_still_alike_and_the_reset_happens_later(
    user_app: UserApp, mail_service: tuple[str, Any], auth0_url: str
) -> None:
    _, mail = mail_service
    app, service = user_app(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    outbox = importlib.import_module(f"{service.package}.outbox")
    client = app.test_client()
    user = _signup(client)
    outbox.drain(service)  # the signup's confirmation mail
    missing = f"nobody-{uuid.uuid4().hex[:8]}@example.com"
    first = _answer(client.post("/v1/password-reset", json={"email": user["email"]}))
    second = _answer(client.post("/v1/password-reset", json={"email": missing}))
    assert first == second and first[0] == 202
    assert outbox.pending(service) == 2  # one hand-off each, whatever the account
    deadline = time.monotonic() + 30
    while outbox.pending(service) and time.monotonic() < deadline:
        outbox.drain(service)
        time.sleep(0.2)
    assert outbox.pending(service) == 0
    resets = Api(auth0_url).get("/__fake__/state").json()["password_resets"]
    assert user["email"] in str(resets) and missing not in str(resets)
    mails = [mail.models.Mail.find_by("idempotency_key", f"reset:{user['user_id']}:{s}") for s in _stamps()]
    assert [m.template for m in mails if m is not None] == ["password_reset"]


def _stamps() -> list[str]:
    """The minute stamps of the last two minutes (the reset mail's key carries the minute)."""
    now = time.time()
    return [time.strftime("%Y%m%d%H%M", time.gmtime(now - d)) for d in (0, 60, 120)]
