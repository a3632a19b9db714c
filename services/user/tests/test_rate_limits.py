"""Rate limits on signup, login, reset and confirmation: per client address and for everyone,
counted in a real Redis, so they hold across app instances; over a limit 429 problem+json
``RATE_LIMITED`` with ``Retry-After``. The address is the connection's (``REMOTE_ADDR``) unless
the service trusts a proxy in front (``test_client_address.py``); an ``X-Forwarded-For`` from an
untrusted peer is never read."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from macaron.testing import Api, free_port, serve_app

from .conftest import UserApp, problem_of

WRONG = {"password": "not the password 1"}


@pytest.fixture(autouse=True)
def fresh_counters(redis_url: str) -> Iterator[None]:
    """No counts left over from another test (the module's Redis is shared)."""
    conn = redis.Redis.from_url(redis_url)
    for key in conn.scan_iter("*:ratelimit:*"):
        conn.delete(key)
    yield
    conn.close()


def client_at(app: Any, address: str) -> Any:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def login(client: Any, **headers: str) -> Any:
    return client.post("/v1/login", json={"email": f"{uuid.uuid4().hex[:10]}@example.com", **WRONG},
                       headers=headers)


def test_over_the_per_address_limit_logins_get_429_with_retry_after(user_app: UserApp) -> None:
    app, _ = user_app(RATE_LIMITS__LOGIN__PER_ADDRESS__LIMIT="5")
    attacker = client_at(app, "203.0.113.5")
    for _ in range(5):  # five different accounts: let through (and refused by Auth0)
        problem_of(login(attacker), 401, "LOGIN_FAILED")
    refused = login(attacker)
    problem = problem_of(refused, 429, "RATE_LIMITED")
    assert 1 <= int(refused.headers["Retry-After"]) <= 61
    assert "from your address" in problem["detail"]
    # a forged X-Forwarded-For changes nothing: no proxy is trusted, the address is the connection's
    problem_of(login(attacker, **{"X-Forwarded-For": "198.51.100.77"}), 429, "RATE_LIMITED")


def test_the_window_slides_a_burst_across_its_edge_gets_no_second_allowance(user_app: UserApp) -> None:
    """At most N in any ``per`` seconds: with a fixed window, 2 logins at the end of one and 2 at
    the start of the next would all pass; here the third waits until the first leaves the window."""
    app, _ = user_app(RATE_LIMITS__LOGIN__PER_ADDRESS__LIMIT="2", RATE_LIMITS__LOGIN__PER_ADDRESS__PER="4")
    client = client_at(app, "203.0.113.60")
    while not 1.0 <= time.time() % 4 < 1.2:  # a second past the start of a 4-second clock window
        time.sleep(0.02)
    began = time.monotonic()
    assert [login(client).status_code for _ in range(2)] == [401, 401]
    time.sleep(max(0.0, 3.2 - (time.monotonic() - began)))  # a fixed window starts afresh; the first login is < 4 s old
    refused = login(client)
    if time.monotonic() - began < 3.8:  # (a machine this slow says nothing about the window)
        problem_of(refused, 429, "RATE_LIMITED")
        assert 1 <= int(refused.headers["Retry-After"]) <= 4
        time.sleep(int(refused.headers["Retry-After"]) + 0.1)  # the refused login was never counted
    assert login(client).status_code == 401


def test_addresses_are_counted_apart(user_app: UserApp) -> None:
    app, _ = user_app(RATE_LIMITS__SIGNUP__PER_ADDRESS__LIMIT="2")
    first, second = client_at(app, "203.0.113.10"), client_at(app, "203.0.113.11")
    body = {"email": "not-an-email", "password": "x", "name": ""}  # counted before any work: 400s are fine
    good = {"email": f"{uuid.uuid4().hex[:8]}@example.com", "password": "correct horse 42", "name": "A"}
    for _ in range(2):
        assert first.post("/v1/users", json=good | {"email": f"{uuid.uuid4().hex[:8]}@example.com"}).status_code == 201
    problem_of(first.post("/v1/users", json=good | {"email": f"{uuid.uuid4().hex[:8]}@example.com"}), 429,
               "RATE_LIMITED")
    assert second.post("/v1/users", json=good | {"email": f"{uuid.uuid4().hex[:8]}@example.com"}).status_code == 201
    assert first.post("/v1/users", json=body).status_code == 400  # invalid input is refused first, uncounted


def test_the_global_limit_holds_for_every_address_together(user_app: UserApp) -> None:
    app, _ = user_app(RATE_LIMITS__PASSWORD_RESET__GLOBAL__LIMIT="3")
    for i in range(3):
        answer = client_at(app, f"198.51.100.{i}").post("/v1/password-reset", json={"email": "a@example.com"})
        assert answer.status_code == 202
    refused = client_at(app, "198.51.100.200").post("/v1/password-reset", json={"email": "a@example.com"})
    assert "on this service" in problem_of(refused, 429, "RATE_LIMITED")["detail"]
    assert int(refused.headers["Retry-After"]) >= 1


def test_limits_hold_across_two_instances_sharing_one_redis(user_app: UserApp, tmp_path: Any) -> None:
    """Two apps (as two machines would run them), each served over real HTTP on 127.0.0.1."""
    one, _ = user_app(store=tmp_path / "one.sqlite3", RATE_LIMITS__LOGIN__PER_ADDRESS__LIMIT="4")
    two, _ = user_app(store=tmp_path / "two.sqlite3", RATE_LIMITS__LOGIN__PER_ADDRESS__LIMIT="4")
    with serve_app(one) as url_one, serve_app(two) as url_two:
        def attempt(url: str) -> Any:
            return Api(url).post("/v1/login", json={"email": f"{uuid.uuid4().hex[:10]}@example.com", **WRONG})

        assert [attempt(u).status_code for u in (url_one, url_two, url_one, url_two)] == [401] * 4
        for url in (url_one, url_two):
            refused = attempt(url)
            assert refused.status_code == 429 and refused.json()["code"] == "RATE_LIMITED"
            assert refused.headers["Content-Type"].startswith("application/problem+json")
            assert int(refused.headers["Retry-After"]) >= 1


def test_with_redis_down_the_limits_are_not_enforced(user_app: UserApp) -> None:
    """Fail open: a Redis outage must not refuse every login (it is logged instead)."""
    app, _ = user_app(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0", RATE_LIMITS__LOGIN__PER_ADDRESS__LIMIT="1")
    client = client_at(app, "203.0.113.99")
    assert [login(client).status_code for _ in range(3)] == [401] * 3
