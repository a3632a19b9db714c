"""The HTTP layer: retries, backoff, Retry-After, the time budget, timeouts (real HTTP, no clock asserts).

Waits are observed through the injected ``sleep`` (what the transport *decided* to wait),
never by timing the test.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Iterator

import pytest
import requests
from flask import Flask, Response
from macaron._local.ports import free_port
from macaron.clients._http import CallFailed, RetryPolicy, Timeouts, Transport, new_session, retry_after
from macaron.testing import serve_app


class Script:
    """A server answering with the next scripted (status, headers) and counting hits."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, dict[str, str]]] = []
        self.hits = 0
        self.app = Flask("script")
        self.app.add_url_rule("/x", "x", self.answer, methods=["GET", "POST"])
        self.app.add_url_rule("/slow", "slow", self.slow)

    def answer(self) -> Response:
        self.hits += 1
        status, headers = self.answers.pop(0) if self.answers else (200, {})
        return Response("{}", status=status, headers=headers, mimetype="application/json")

    def slow(self) -> Response:
        self.hits += 1
        time.sleep(1.0)
        return Response("{}", mimetype="application/json")


@pytest.fixture
def script() -> Iterator[tuple[Script, str]]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    s = Script()
    with serve_app(s.app) as url:
        yield s, url


def transport(waits: list[float]) -> Transport:
    return Transport(rng=random.Random(7), sleep=waits.append)


def send(t: Transport, url: str, *, repeatable: bool = True, policy: RetryPolicy | None = None,
         method: str = "GET", path: str = "/x", timeouts: Timeouts | None = None) -> int:
    outcome = t.send(method, url + path, headers={}, timeouts=timeouts or Timeouts(1, 5),
                     policy=policy or RetryPolicy(retries=3, backoff=0.05), repeatable=repeatable)
    return outcome.attempts


def test_retryable_statuses_are_retried_with_jittered_exponential_backoff(script: tuple[Script, str]) -> None:
    s, url = script
    s.answers = [(503, {}), (502, {}), (504, {})]
    waits: list[float] = []
    assert send(transport(waits), url) == 4 and s.hits == 4
    assert len(waits) == 3
    assert all(0 <= w <= cap for w, cap in zip(waits, (0.05, 0.1, 0.2), strict=True))


def test_other_statuses_are_final(script: tuple[Script, str]) -> None:
    s, url = script
    s.answers = [(500, {}), (503, {})]
    waits: list[float] = []
    assert send(transport(waits), url) == 1 and waits == []


def test_not_repeatable_means_one_attempt(script: tuple[Script, str]) -> None:
    s, url = script
    s.answers = [(503, {})]
    assert send(transport([]), url, repeatable=False, method="POST") == 1 and s.hits == 1


def test_retry_after_seconds_is_a_lower_bound_of_the_wait(script: tuple[Script, str]) -> None:
    s, url = script
    s.answers = [(429, {"Retry-After": "2"})]
    waits: list[float] = []
    assert send(transport(waits), url) == 2
    assert waits[0] >= 2


def test_retry_after_beyond_the_budget_gives_up_with_the_answer(script: tuple[Script, str]) -> None:
    s, url = script
    s.answers = [(503, {"Retry-After": "120"})]
    waits: list[float] = []
    assert send(transport(waits), url, policy=RetryPolicy(retries=3, total=5)) == 1 and waits == []


def test_retry_after_http_date() -> None:
    future = email.utils.formatdate(time.time() + 30, usegmt=True)
    response = requests.Response()
    response.headers["Retry-After"] = future
    assert 25 < (retry_after(response) or 0) <= 30
    response.headers["Retry-After"] = "soon"
    assert retry_after(response) is None


def test_connection_refused_is_retried_then_fails() -> None:
    waits: list[float] = []
    with pytest.raises(CallFailed) as caught:
        send(transport(waits), f"http://127.0.0.1:{free_port()}")
    assert caught.value.kind == "connect" and caught.value.attempts == 4 and len(waits) == 3


def test_connection_refused_not_retried_when_not_repeatable() -> None:
    with pytest.raises(CallFailed) as caught:
        send(transport([]), f"http://127.0.0.1:{free_port()}", repeatable=False)
    assert caught.value.attempts == 1


def test_read_timeout_is_not_retried(script: tuple[Script, str]) -> None:
    s, url = script
    with pytest.raises(CallFailed) as caught:
        send(transport([]), url, path="/slow", timeouts=Timeouts(1, 0.2))
    assert caught.value.kind == "timeout" and s.hits == 1


def test_per_call_timeouts() -> None:
    default = Timeouts(3, 10)
    assert Timeouts.of(None, default) == default
    assert Timeouts.of(2, default) == Timeouts(3, 2)
    assert Timeouts.of((1, 4), default) == Timeouts(1, 4)


def test_session_keeps_no_cookies_and_ignores_the_environment(script: tuple[Script, str]) -> None:
    s, url = script
    s.answers = [(200, {"Set-Cookie": "sid=abc; Path=/"})]
    session = new_session()
    session.get(url + "/x", timeout=5)
    assert len(session.cookies) == 0 and session.trust_env is False
