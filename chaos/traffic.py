"""Scenarios on traffic: (1) load, (2) Redis stopped under load, (6) malformed input, (7) log audit.

Each takes the running :class:`Chaos` and returns its figures; a broken promise raises
:class:`ScenarioFailed` with the figures that show it.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from typing import Any

import requests

from .harness import PASSWORD, Chaos, require, wait_for
from .load import run_load


def _accounts(chaos: Chaos, n: int) -> list[tuple[str, str]]:
    return [chaos.signup() for _ in range(n)]


def _keep_token(chaos: Chaos, answer: requests.Response) -> requests.Response:
    """Note the session token an answer carries, for the log audit."""
    if answer.status_code in (200, 201):
        chaos.tokens.add(answer.json()["token"])
    return answer


def load(chaos: Chaos) -> dict[str, Any]:
    """(1) signups, logins and profile reads (1 : 2 : 7) at the scale's concurrency: zero errors."""
    accounts = _accounts(chaos, 20)
    user = chaos.url("user")

    def call(i: int, session: requests.Session) -> tuple[str, requests.Response]:
        email, token = accounts[i % len(accounts)]
        if i % 10 == 0:
            body = {"email": f"l-{uuid.uuid4().hex[:12]}@example.com", "password": PASSWORD, "name": "Load"}
            return "signup", _keep_token(chaos, session.post(f"{user}/v1/users", json=body, timeout=30))
        if i % 10 in (1, 2):
            return "login", _keep_token(chaos, session.post(f"{user}/v1/login", timeout=30,
                                                            json={"email": email, "password": PASSWORD}))
        return "getMe", session.get(f"{user}/v1/users/me", headers={"Authorization": f"Bearer {token}"}, timeout=30)

    result = run_load(call, total=chaos.scale.load_requests, concurrency=chaos.scale.concurrency, max_seconds=600)
    figures = result.figures()
    require(result.calls == chaos.scale.load_requests, f"only {result.calls} requests ran in time: {figures}")
    require(not result.errors, f"{len(result.errors)} errors, first: {result.errors[:3]}; {figures}")
    return figures


def redis_outage(chaos: Chaos) -> dict[str, Any]:
    """(2) Redis stopped under load: mail requests 503 QUEUE_UNAVAILABLE quickly, the rest answers,
    Redis comes back without any restart, every 202 mail is delivered exactly once."""
    accounts = _accounts(chaos, 5)
    mail, user, mail_token = chaos.url("mail"), chaos.url("user"), chaos.mail_token()
    accepted: list[str] = []
    refused: list[float] = []
    lock = threading.Lock()
    down = threading.Event()

    def call(i: int, session: requests.Session) -> tuple[str, requests.Response]:
        email, token = accounts[i % len(accounts)]
        kind = i % 4
        if kind == 0:
            started = time.perf_counter()
            answer = session.post(f"{mail}/v1/mails", headers={"Authorization": f"Bearer {mail_token}"}, timeout=30,
                                  json={"to": email, "template": "welcome", "data": {"name": f"outage {i}"}})
            with lock:
                if answer.status_code == 202:
                    accepted.append(answer.json()["id"])
                elif answer.status_code == 503 and answer.json().get("code") == "QUEUE_UNAVAILABLE":
                    refused.append(time.perf_counter() - started)
            return "sendMail", answer
        if kind == 1:
            body = {"email": f"o-{uuid.uuid4().hex[:12]}@example.com", "password": PASSWORD, "name": "Outage"}
            return "signup", _keep_token(chaos, session.post(f"{user}/v1/users", json=body, timeout=30))
        if kind == 2:
            return "login", _keep_token(chaos, session.post(f"{user}/v1/login", timeout=30,
                                                            json={"email": email, "password": PASSWORD}))
        return "getMe", session.get(f"{user}/v1/users/me", headers={"Authorization": f"Bearer {token}"}, timeout=30)

    def expected(operation: str, status: int) -> bool:
        return status < 400 or (operation == "sendMail" and status == 503 and down.is_set())

    def outage() -> None:
        time.sleep(1.5)
        down.set()
        chaos.stop_redis()
        time.sleep(chaos.scale.outage_seconds)
        chaos.start_redis()
        time.sleep(1.0)  # answers in flight when Redis returned may still be 503s
        down.clear()

    before = len(chaos.delivered())
    lever = threading.Thread(target=outage, name="chaos-redis-outage")
    lever.start()
    result = run_load(call, total=100_000, concurrency=chaos.scale.concurrency,
                      max_seconds=chaos.scale.outage_seconds + 8, expected=expected)
    lever.join()
    after_recovery = chaos.api("mail", mail_token).post("/v1/mails", json={"to": "after@example.com",
                                                                          "template": "welcome",
                                                                          "data": {"name": "after"}})
    require(after_recovery.status_code == 202, f"no recovery: {after_recovery.status_code} {after_recovery.text}")
    accepted.append(after_recovery.json()["id"])
    waiting = time.monotonic()
    delivered_all = wait_for(lambda: set(accepted) <= set(chaos.delivered()), timeout=120, poll=0.5)
    waited = time.monotonic() - waiting
    delivered = chaos.delivered()
    twice = [m for m in accepted if delivered[m] > 1]
    figures = {**result.figures(), "mail_202": len(accepted), "mail_503": len(refused),
               "mail_503_max_ms": round(1000 * max(refused, default=0), 1),
               "delivered_once": sum(1 for m in accepted if delivered[m] == 1), "delivered_twice": len(twice),
               "sendgrid_total_new": sum(delivered.values()) - before,
               "seconds_to_deliver_after_the_load": round(waited, 1)}
    require(not result.errors, f"{len(result.errors)} unexpected answers, first: {result.errors[:3]}; {figures}")
    require(bool(refused), f"no request saw the outage: {figures}")
    # a signup's welcome mail is best effort (2 s budget): a mail outage (503, Retry-After: 5) must
    # not hold it; the bound sits between that budget and the 5 s a held signup waited
    require(result.percentile(0.99, "signup") < 4000, f"signups waited on the mail outage: {figures}")
    require(max(refused) < 2.0, f"a 503 took {max(refused):.2f} s: {figures}")
    require(delivered_all and not twice, f"mails lost or doubled: {figures}")
    return figures


MALFORMED_HEADERS = {"Content-Type": "application/json"}
INJECTIONS = ["'; DROP TABLE users; --", "\" OR 1=1 --", "{{7*7}}", "${7*7}", "$name", "#{7*7}", "<%= 7*7 %>",
              "<script>alert(1)</script>", "../../etc/passwd", "%00", "\u0000nul"]


def _is_problem(response: requests.Response, statuses: tuple[int, ...] = (400, 404, 405, 413, 414, 415, 431)) -> bool:
    return (response.status_code in statuses
            and response.headers.get("Content-Type", "").startswith("application/problem+json"))


def malformed(chaos: Chaos) -> dict[str, Any]:
    """(6) 10 MB bodies, JSON 10,000 deep, invalid UTF-8, huge headers, path traversal, injection
    strings in every string field: 4xx problem+json (or, where a value is valid, stored verbatim
    and never evaluated), no 500, no crash, nothing stored from a refused request."""
    user, mail = chaos.url("user"), chaos.url("mail")
    mail_auth = {"Authorization": f"Bearer {chaos.mail_token()}"}
    identities_before = len(chaos.api("fake-auth0").get("/__fake__/state").json().get("users", {}))
    sent: list[tuple[str, requests.Response]] = []
    for _ in range(chaos.scale.injection_rounds):
        for url, headers in ((f"{user}/v1/users", {}), (f"{mail}/v1/mails", mail_auth)):
            big = b'{"email": "' + b"a" * 10_000_000 + b'"}'
            sent.append(("10 MB body", requests.post(url, data=big, headers={**headers, **MALFORMED_HEADERS})))
            for deep in ("[" * 10_000 + "]" * 10_000, '{"a":' * 10_000 + "1" + "}" * 10_000):
                sent.append(("nested 10,000 deep", requests.post(url, data=deep,
                                                                 headers={**headers, **MALFORMED_HEADERS})))
            sent.append(("invalid UTF-8", requests.post(url, data=b'{"email": "\xff\xfe\xfa"}',
                                                        headers={**headers, **MALFORMED_HEADERS})))
            sent.append(("huge header", requests.post(url, json={}, headers={**headers, "X-Huge": "h" * 65_536})))
            sent.append(("many headers", requests.post(url, json={}, headers={
                **headers, **{f"X-H{i}": "1" for i in range(200)}})))
        for path in ("..%2F..%2Fetc%2Fpasswd", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "....//....//etc//passwd",
                     "%00", "' OR 1=1 --", "{{7*7}}"):
            sent.append(("path traversal", requests.get(f"{mail}/v1/mails/{path}", headers=mail_auth)))
        for text in INJECTIONS:  # in every string field, where the value breaks the spec
            sent.append(("injection", requests.post(f"{user}/v1/users", json={
                "email": text, "password": text, "name": ""})))
            sent.append(("injection", requests.post(f"{user}/v1/login", json={"email": text, "password": ""})))
            sent.append(("injection", requests.post(f"{user}/v1/password-reset", json={"email": text})))
            sent.append(("injection", requests.post(f"{mail}/v1/mails", headers=mail_auth, json={
                "to": text, "template": text, "data": {"name": text}, "idempotency_key": ""})))
    # Behind the balancer (--instances N), a request it cannot forward at all (a NUL in the path) is
    # refused by the balancer itself, in its own format, as the ALB does: the service never sees it.
    def the_balancers(r: requests.Response) -> bool:
        return (chaos.instances > 1 and r.status_code == 400 and not _is_problem(r)
                and r.headers.get("Server", "").startswith("nginx"))

    by_balancer = [what for what, r in sent if the_balancers(r)]
    bad = [f"{what}: {r.status_code} {r.headers.get('Content-Type')} {r.text[:120]}"
           for what, r in sent if not _is_problem(r) and not the_balancers(r)]
    identities_after = len(chaos.api("fake-auth0").get("/__fake__/state").json().get("users", {}))
    verbatim = _injections_stored_verbatim(chaos)
    figures = {"requests": len(sent), "refused_problem_json": len(sent) - len(bad) - len(by_balancer),
               "refused_by_the_balancer": len(by_balancer), "unexpected": len(bad),
               "identities_created_by_refused": identities_after - identities_before,
               "valid_injection_values_round_tripped": verbatim}
    require(not bad, f"answers that are not a 4xx problem+json: {bad[:5]}; {figures}")
    require(identities_after == identities_before, f"a refused signup left an identity: {figures}")
    require(all(r.status_code < 500 for r in (requests.get(f"{u}/ping") for u in (user, mail))), "a service is down")
    return figures


def _injections_stored_verbatim(chaos: Chaos) -> int:
    """Injection strings where they are valid (a name, template data): stored and answered verbatim,
    rendered escaped in the mail, never evaluated."""
    count = 0
    for text in INJECTIONS:
        if "\u0000" in text:
            continue
        _, token = chaos.signup(name=text)
        me = chaos.api("user", token).get("/v1/users/me").json()
        require(me["name"] == text, f"name {text!r} came back as {me['name']!r}")
        count += 1
    mail_api = chaos.api("mail", chaos.mail_token())
    queued = mail_api.post("/v1/mails", json={"to": "inject@example.com", "template": "welcome",
                                              "data": {"name": "{{7*7}} ${7*7} $name <b>x</b>"}})
    require(queued.status_code == 202, f"mail with injection data: {queued.status_code}")
    mail_id = queued.json()["id"]
    require(wait_for(lambda: chaos.delivered()[mail_id] >= 1, timeout=60), "the injection mail was not sent")
    [call] = [c for c in chaos.sendgrid_calls() if c["body"]["custom_args"]["mail_id"] == mail_id and c["status"]]
    html = next(c["value"] for c in call["body"]["content"] if c["type"] == "text/html")
    require("49" not in html and "&lt;b&gt;x&lt;/b&gt;" in html and "{{7*7}} ${7*7} $name" in html,
            f"template data was evaluated or not escaped: {html[:300]}")
    return count + 1


SECRET_SHAPES = [re.compile(r"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),  # a JWT
                 re.compile(r"(?i)bearer\s+[A-Za-z0-9._~+/=-]{16,}"),
                 re.compile(r"SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}")]  # a SendGrid key


def log_audit(chaos: Chaos) -> dict[str, Any]:
    """(7) No token, password, API key or secret in any log line of any process of the run."""
    logs = chaos.local.logs()
    lines = logs.splitlines()
    secrets = {value for key, value in chaos.local.env.items()
               if key.endswith(("_SECRET", "_KEY", "_PASSWORD", "_TOKEN")) and len(value) >= 8}
    exact = sorted(secrets | chaos.tokens | {PASSWORD, chaos.mail_token()})
    leaks = [f"{name}: line {n}" for n, line in enumerate(lines, 1)
             for name, found in (("a known secret", any(s in line for s in exact)),
                                 *((f"shape {p.pattern[:20]}", bool(p.search(line))) for p in SECRET_SHAPES))
             if found]
    figures = {"log_lines": len(lines), "log_files": len(list(chaos.local.data_dir.glob("*.log"))),
               "known_secrets_checked": len(exact), "leaks": len(leaks)}
    require(len(lines) > 100, f"too few log lines to audit: {figures}")
    require(not leaks, f"secrets in the logs: {leaks[:5]}; {figures}")
    return figures
