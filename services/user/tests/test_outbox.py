"""Nothing accepted is lost: a signup's mail is kept in the outbox (this service's store) when
Redis and the mail service are down, and delivered exactly once when they are back.

Real parts: the Auth0 fake, the real mail service (served here) and a real Redis, which both
services are cut off from (their Redis URL pointed at a closed port) and then given back.
"""

from __future__ import annotations

import importlib
import time
import uuid
from typing import Any

from macaron.testing import free_port, queue_unreachable

from .conftest import PASSWORD, UserApp


def _outbox(service: Any) -> Any:
    """This service's ``outbox`` module, as the service loaded it."""
    return importlib.import_module(f"{service.package}.outbox")


def drain_until_empty(service: Any, timeout: float = 60) -> int:
    """Drain (as the drainer thread does) until nothing is owed; how many rounds it took."""
    outbox = _outbox(service)
    deadline, rounds = time.monotonic() + timeout, 0
    while outbox.pending(service) and time.monotonic() < deadline:
        outbox.drain(service)
        rounds += 1
        time.sleep(0.25)
    return rounds


def signup(client: Any, name: str = "Ada") -> dict[str, Any]:
    email = f"o-{uuid.uuid4().hex[:10]}@example.com"
    answer = client.post("/v1/users", json={"email": email, "password": PASSWORD, "name": name})
    assert answer.status_code == 201, answer.get_data(as_text=True)
    return dict(answer.get_json()["user"])


def test_signups_while_redis_is_down_lose_no_mail_and_each_goes_out_once_after(
    user_app: UserApp, mail_service: tuple[str, Any], redis_url: str
) -> None:
    _, mail = mail_service
    closed = f"redis://127.0.0.1:{free_port()}/0"
    app, service = user_app(REDIS_URL=closed)  # this service's task queue is down ...
    outbox = _outbox(service)
    with queue_unreachable(mail):  # ... and so is the mail service's: it answers 503
        users = [signup(app.test_client()) for _ in range(5)]
        assert outbox.pending(service) == 5
        outbox.drain(service)
        keys = [f"confirm:{u['user_id']}" for u in users]
        assert [mail.models.Mail.find_by("idempotency_key", k) for k in keys] == [None] * 5  # nothing got through
    # Redis is back (for the mail service)
    drain_until_empty(service)
    assert outbox.pending(service) == 0
    sent = [mail.models.Mail.find_by("idempotency_key", k) for k in keys]
    assert [m.to for m in sent] == [u["email"] for u in users]
    assert {m.template for m in sent} == {"confirm_email"}

    # the mail service's answer lost after it took a mail: the same entry, tried again, is that mail
    again = outbox.add(service, "mail", users[0]["email"], key=keys[0], template="confirm_email",
                       data=sent[0].data, user_id=users[0]["user_id"])
    assert outbox.attempt(service, again.id) == "done"
    assert mail.models.Mail.find_by("idempotency_key", keys[0]).id == sent[0].id


def test_an_entry_without_its_profile_is_void_and_never_sent(
    user_app: UserApp, mail_service: tuple[str, Any]
) -> None:
    _, mail = mail_service
    _, service = user_app(OUTBOX__GRACE="0")
    outbox = _outbox(service)
    ghost = outbox.add(service, "mail", "ghost@example.com", key=f"confirm:{uuid.uuid4().hex}",
                       template="confirm_email", data={"link": "x"}, user_id="no-such-user")
    time.sleep(0.01)  # past the grace of 0 s
    assert outbox.attempt(service, ghost.id) == "void"
    assert outbox.pending(service) == 0 and mail.models.Mail.find_by("idempotency_key", ghost.id) is None


def test_the_drainer_thread_delivers_what_a_signup_left_behind(
    user_app: UserApp, mail_service: tuple[str, Any], redis_url: str
) -> None:
    _, mail = mail_service
    closed = f"redis://127.0.0.1:{free_port()}/0"
    app, service = user_app(REDIS_URL=closed, OUTBOX__DRAIN_INTERVAL="0.2")
    outbox = _outbox(service)
    with queue_unreachable(mail):
        user = signup(app.test_client())
        assert outbox.pending(service) == 1
    try:
        deadline = time.monotonic() + 60  # no drain() here: the thread the signup started does it
        while outbox.pending(service) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert outbox.pending(service) == 0
        assert mail.models.Mail.find_by("idempotency_key", f"confirm:{user['user_id']}").to == user["email"]
    finally:
        outbox.stop_drainer(service)
