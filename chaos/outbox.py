"""Scenario 8: signups under load while Redis is stopped (``outage_seconds``: 10 s thorough, 3 s
short; 8 signup threads thorough, 3 short). Every signup answered 201 owes a confirmation mail,
kept in the user service's outbox while Redis and the mail service's queue are down; after
recovery each one reaches SendGrid exactly once: 0 lost, 0 duplicates.

Uses only what :class:`chaos.harness.Chaos` offers (``stop_redis``/``start_redis``, the SendGrid
fake's request log); returns its figures, raises :class:`ScenarioFailed` on a broken promise.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from typing import Any

import requests

from .harness import PASSWORD, Chaos, require, wait_for
from .load import run_load

TEMPLATE = "confirm_email.v1"


def _confirmations(chaos: Chaos) -> Counter[str]:
    """Confirmation mails SendGrid accepted, per recipient."""
    return Counter(c["body"]["personalizations"][0]["to"][0]["email"] for c in chaos.sendgrid_calls()
                   if c["status"] is not None and 200 <= c["status"] < 300
                   and c["body"]["custom_args"].get("template") == TEMPLATE)


def signup_outage(chaos: Chaos) -> dict[str, Any]:
    """(8) Signups while Redis is down: every accepted signup's mail delivered exactly once after."""
    user = chaos.url("user")
    accepted: list[str] = []
    during: list[str] = []
    lock = threading.Lock()
    down = threading.Event()

    def call(i: int, session: requests.Session) -> tuple[str, requests.Response]:
        email = f"s8-{uuid.uuid4().hex[:12]}@example.com"
        answer = session.post(f"{user}/v1/users", timeout=30, json={"email": email, "password": PASSWORD,
                                                                    "name": "Outage"})
        if answer.status_code == 201:
            chaos.tokens.add(answer.json()["token"])
            with lock:
                accepted.append(email)
                if down.is_set():
                    during.append(email)
        return "signup", answer

    def outage() -> None:
        time.sleep(1.0)
        down.set()
        chaos.stop_redis()
        time.sleep(chaos.scale.outage_seconds)
        chaos.start_redis()
        down.clear()

    lever = threading.Thread(target=outage, name="chaos-signup-outage")
    lever.start()
    # 8 threads thorough, 3 short: the short form's backlog stays small enough for nox -s test
    result = run_load(call, total=100_000, concurrency=max(1, min(8, chaos.scale.concurrency // 6)),
                      max_seconds=chaos.scale.outage_seconds + 3)
    lever.join()
    waiting = time.monotonic()
    wanted = set(accepted)
    delivered_all = wait_for(lambda: wanted <= set(_confirmations(chaos)), timeout=180, poll=1.0)
    waited = time.monotonic() - waiting
    time.sleep(2.0)  # a late duplicate would arrive now
    delivered = _confirmations(chaos)
    figures = {"signups_accepted": len(accepted), "accepted_while_redis_was_down": len(during),
               "signups_refused": result.calls - len(accepted),
               "mails_delivered": sum(1 for e in accepted if delivered[e] >= 1),
               "duplicates": sum(delivered[e] - 1 for e in accepted if delivered[e] > 1),
               "lost": sum(1 for e in accepted if delivered[e] == 0),
               "outage_seconds": chaos.scale.outage_seconds,
               "seconds_to_deliver_all_after_the_load": round(waited, 1),
               "signup_p50_ms": round(result.percentile(0.5, "signup"), 1),
               "signup_p99_ms": round(result.percentile(0.99, "signup"), 1)}
    require(not result.errors, f"{len(result.errors)} signups not accepted, first: {result.errors[:3]}; {figures}")
    require(bool(during), f"no signup was accepted during the outage: {figures}")
    require(delivered_all and figures["lost"] == 0, f"mails lost: {figures}")
    require(figures["duplicates"] == 0, f"a mail went out twice: {figures}")
    return figures
