"""Scenarios on what several instances and workers share (run on ``--instances N``; they hold on one
too): (9) sessions, (10) idempotency keys, (11) rate limits, (12) Auth0's brute-force block,
(13) the scheduler lock when the worker holding it dies.

Whatever only worked because there was one process (a counter in memory, a cache, a file) shows
here as an instance that disagrees with another. Clients that must be told apart connect from
their own loopback addresses (127.0.0.5 …), through the balancer, which forwards their address
(``trusted_proxies``). Each scenario returns its figures; a broken promise raises ScenarioFailed.
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import redis
import requests
from requests.adapters import HTTPAdapter

from .faults import _send
from .harness import PASSWORD, RESET_LIMIT, RESET_WINDOW, Chaos, require, wait_for


class _FromAddress(HTTPAdapter):
    """Connections from one local source address (a client of its own behind the balancer)."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def client_at(address: str) -> requests.Session:
    session = requests.Session()
    session.mount("http://", _FromAddress(address))
    return session


def sessions(chaos: Chaos) -> dict[str, Any]:
    """(9) A session token from any instance is good on every instance; logins on each give tokens
    the others accept (no per-process session state, one key for all)."""
    _, token = chaos.signup()
    urls = chaos.instance_urls("user")
    email, _ = chaos.signup()
    tokens = [token]
    for url in urls:
        answer = requests.post(f"{url}/v1/login", json={"email": email, "password": PASSWORD}, timeout=60)
        require(answer.status_code == 200, f"login on {url}: {answer.status_code} {answer.text[:200]}")
        tokens.append(answer.json()["token"])
    chaos.tokens.update(tokens)
    answers = [requests.get(f"{url}/v1/users/me", headers={"Authorization": f"Bearer {t}"}, timeout=60).status_code
               for t in tokens for url in urls]
    figures = {"instances": len(urls), "tokens": len(tokens), "checks": len(answers),
               "accepted": answers.count(200)}
    require(answers.count(200) == len(answers), f"a token was refused by an instance: {answers}; {figures}")
    return figures


def idempotency(chaos: Chaos) -> dict[str, Any]:
    """(10) One idempotency key sent at once to every mail instance: one mail, every answer its id,
    SendGrid called once; the key reused for another mail is a 409 on every instance."""
    urls = chaos.instance_urls("mail")
    key = f"chaos-{uuid.uuid4().hex}"
    body = {"to": "idem@example.com", "template": "welcome", "data": {"name": "Idem"}, "idempotency_key": key}
    auth = {"Authorization": f"Bearer {chaos.mail_token()}"}

    def post(i: int) -> requests.Response:
        return requests.post(f"{urls[i % len(urls)]}/v1/mails", json=body, headers=auth, timeout=60)

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(post, range(12)))
    ids = {a.json().get("id") for a in answers if a.status_code == 202}
    require(all(a.status_code == 202 for a in answers) and len(ids) == 1,
            f"concurrent requests with one key: {[a.status_code for a in answers]}, ids {ids}")
    [mail_id] = ids
    delivered = wait_for(lambda: chaos.delivered()[mail_id] >= 1, timeout=60)
    time.sleep(1.0)  # a second mail would be on its way by now
    other = {**body, "data": {"name": "Other"}}
    reused = [requests.post(f"{u}/v1/mails", json=other, headers=auth, timeout=60) for u in urls]
    figures = {"instances": len(urls), "requests": len(answers), "mails": len(ids),
               "sendgrid_calls": chaos.delivered()[mail_id],
               "reused_key_409": sum(r.status_code == 409 for r in reused)}
    require(delivered and chaos.delivered()[mail_id] == 1, f"one key, not one mail: {figures}")
    require(all(r.status_code == 409 and r.json()["code"] == "IDEMPOTENCY_KEY_REUSED" for r in reused), f"{figures}")
    return figures


def rate_limits(chaos: Chaos) -> dict[str, Any]:
    """(11) The per-address limit holds across instances (counted in Redis), per client behind the
    balancer: one client gets exactly ``RESET_LIMIT`` resets however they are spread, a forged
    X-Forwarded-For does not reset its count, another client is not affected."""
    user = chaos.url("user")
    for attempt in range(2):  # a burst straddling two windows is re-run once, from new addresses
        window = int(time.time() // RESET_WINDOW)
        attacker, other = client_at(f"127.0.0.{5 + 2 * attempt}"), client_at(f"127.0.0.{6 + 2 * attempt}")

        def reset(session: requests.Session, **headers: str) -> int:
            return session.post(f"{user}/v1/password-reset", json={"email": f"r-{uuid.uuid4().hex[:8]}@example.com"},
                                headers=headers, timeout=60).status_code

        burst = [reset(attacker) for _ in range(RESET_LIMIT + 10)]
        forged = reset(attacker, **{"X-Forwarded-For": "198.51.100.9"})
        others = reset(other)
        if int(time.time() // RESET_WINDOW) == window:
            break
    figures = {"instances": len(chaos.instance_urls("user")), "limit": RESET_LIMIT, "sent": len(burst),
               "accepted": burst.count(202), "refused_429": burst.count(429), "forged_xff": forged,
               "other_client": others}
    require(burst.count(202) == RESET_LIMIT and burst.count(429) == 10, f"the limit did not hold: {figures}")
    require(forged == 429 and others == 202, f"the limit is not per client: {figures}")
    return figures


def brute_force(chaos: Chaos) -> dict[str, Any]:
    """(12) Ten wrong passwords from one client, spread over the instances, block that client for that
    account (Auth0 keys the block on the address we forward); the owner elsewhere still logs in."""
    email, _ = chaos.signup()
    attacker, owner = client_at("127.0.0.9"), client_at("127.0.0.10")
    user = chaos.url("user")

    def login(session: requests.Session, password: str, **headers: str) -> requests.Response:
        return session.post(f"{user}/v1/login", json={"email": email, "password": password}, headers=headers,
                            timeout=60)

    wrong = [login(attacker, "wrong password 1").status_code for _ in range(10)]
    blocked = login(attacker, PASSWORD)
    forged = login(attacker, PASSWORD, **{"X-Forwarded-For": "198.51.100.10"})
    fine = login(owner, PASSWORD)
    if fine.status_code == 200:
        chaos.tokens.add(fine.json()["token"])
    figures = {"wrong_logins": wrong.count(401), "then_right_password": blocked.status_code,
               "code": blocked.json().get("code"), "forged_xff": forged.status_code,
               "owner_elsewhere": fine.status_code}
    require(wrong == [401] * 10 and blocked.status_code == 429 and figures["code"] == "TOO_MANY_ATTEMPTS",
            f"no block for the attacker: {figures}")
    require(forged.status_code == 429 and fine.status_code == 200, f"the block is not per client: {figures}")
    return figures


def scheduler_failover(chaos: Chaos) -> dict[str, Any]:
    """(13) The mail worker whose scheduler holds the lock is SIGKILLed (its 'host' gone): another
    worker's scheduler takes the lock once it lapses, and a retry waiting on the scheduler (SendGrid
    answered 503 once) is delivered, once."""
    workers = chaos.local.workers("mail")
    if len(workers) < 2:
        return {"skipped": "one mail worker: nobody to take over"}
    require(wait_for(chaos.mail_pipeline_idle, timeout=120), "the user and mail queues do not drain")
    conn = redis.Redis.from_url(str(chaos.local.redis_url))
    key = "rq:scheduler-lock:mail.default"
    require(wait_for(lambda: conn.get(key) is not None, timeout=60), "no scheduler holds the lock")
    holder = conn.get(key).decode()
    names = [w.name for w in workers]
    index = next((i for i, n in enumerate(names) if f"@{n}:" in holder), None)
    require(index is not None, f"the lock's holder {holder!r} is none of {names}")
    lock_ttl = conn.ttl(key)
    chaos.clear_faults("sendgrid")
    chaos.fault("sendgrid", operation="sendMail", status=503, retry_after=1, times=1)
    started = time.monotonic()
    chaos.kill_worker(index)
    mail_id = _send(chaos, "failover")
    moved = wait_for(lambda: (h := conn.get(key)) is not None and h.decode() != holder, timeout=180, poll=0.2)
    moved_s = time.monotonic() - started
    delivered = wait_for(lambda: chaos.delivered()[mail_id] >= 1, timeout=180, poll=0.3)
    delivered_s = time.monotonic() - started
    new_holder = (conn.get(key) or b"").decode()
    chaos.clear_faults("sendgrid")
    chaos.start_worker(index)
    time.sleep(1.0)
    figures = {"workers": len(workers), "killed": names[index], "lock_ttl_s": lock_ttl,
               "new_holder": next((n for n in names if f"@{n}:" in new_holder), new_holder),
               "seconds_to_new_scheduler": round(moved_s, 1), "seconds_to_deliver_the_retry": round(delivered_s, 1),
               "delivered": chaos.delivered()[mail_id]}
    require(moved and delivered and chaos.delivered()[mail_id] == 1, f"no failover: {figures}")
    return figures
