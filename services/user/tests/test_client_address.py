"""Behind the load balancer: with ``trusted_proxies`` set, the rate limits and Auth0's brute-force
block (per user and address) key on each client's own address from ``X-Forwarded-For``, not the
balancer's; a forged header from an untrusted peer, or in front of the proxy's entry, changes
nothing. (The same through a real nginx and several instances: chaos/test_scale.py.)"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import redis

from .conftest import PASSWORD, UserApp, problem_of

BALANCER = "10.0.0.7"  # REMOTE_ADDR of every request through the balancer
TRUSTED = {"TRUSTED_PROXIES": "{cidrs: [10.0.0.0/8]}"}


@pytest.fixture(autouse=True)
def fresh_counters(redis_url: str) -> None:
    conn = redis.Redis.from_url(redis_url)
    for key in conn.scan_iter("*:ratelimit:*"):
        conn.delete(key)
    conn.close()


def via_balancer(app: Any, client_address: str, peer: str = BALANCER) -> Any:
    """A test client whose requests arrive from ``peer`` carrying ``X-Forwarded-For: client_address``
    (what the balancer appends; a client's own entries come before it)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = peer
    client.environ_base["HTTP_X_FORWARDED_FOR"] = client_address
    return client


def login(client: Any, email: str | None = None, password: str = "not the password 1") -> Any:
    return client.post("/v1/login", json={"email": email or f"{uuid.uuid4().hex[:10]}@example.com",
                                          "password": password})


def test_each_client_behind_the_balancer_has_its_own_rate_limit(user_app: UserApp) -> None:
    app, _ = user_app(RATE_LIMITS__LOGIN__PER_ADDRESS__LIMIT="2", **TRUSTED)
    first, second = via_balancer(app, "203.0.113.5"), via_balancer(app, "203.0.113.6")
    assert [login(first).status_code for _ in range(2)] == [401, 401]
    problem_of(login(first), 429, "RATE_LIMITED")
    assert login(second).status_code == 401  # another client: its own count
    # the first client forging entries before the balancer's own does not get a fresh count
    problem_of(login(via_balancer(app, "198.51.100.1, 203.0.113.5")), 429, "RATE_LIMITED")
    # a peer the service does not trust is counted as itself, whatever it says
    direct = via_balancer(app, "203.0.113.7", peer="198.51.100.50")
    assert [login(direct).status_code for _ in range(2)] == [401, 401]
    problem_of(login(via_balancer(app, "203.0.113.8", peer="198.51.100.50")), 429, "RATE_LIMITED")


def test_without_trusted_proxies_the_balancer_is_everyone(user_app: UserApp) -> None:
    """What happened before trusted_proxies, and still happens with the default (trust nothing)."""
    app, _ = user_app(RATE_LIMITS__LOGIN__PER_ADDRESS__LIMIT="2")
    assert [login(via_balancer(app, f"203.0.113.{i}")).status_code for i in (1, 2)] == [401, 401]
    problem_of(login(via_balancer(app, "203.0.113.3")), 429, "RATE_LIMITED")


def test_auth0s_brute_force_block_is_per_client_behind_the_balancer(user_app: UserApp) -> None:
    app, _ = user_app(**TRUSTED)
    email = f"b-{uuid.uuid4().hex[:10]}@example.com"
    assert app.test_client().post("/v1/users", json={"email": email, "password": PASSWORD,
                                                     "name": "B"}).status_code == 201
    attacker, owner = via_balancer(app, "203.0.113.66"), via_balancer(app, "198.51.100.20")
    for _ in range(10):
        problem_of(login(attacker, email), 401, "LOGIN_FAILED")
    problem_of(login(attacker, email, PASSWORD), 429, "TOO_MANY_ATTEMPTS")
    assert login(owner, email, PASSWORD).status_code == 200  # the owner, from elsewhere, is not locked out
