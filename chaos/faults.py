"""Scenarios on faults: (3) the mail worker SIGKILLed during a burst, (4) SendGrid answering 429,
503s and timing out, (5) the Auth0 fake down.

Each takes the running :class:`Chaos` and returns its figures; a broken promise raises
:class:`ScenarioFailed` with the figures that show it.
"""

from __future__ import annotations

import functools
import itertools
import os
import signal
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from .harness import PASSWORD, Chaos, require, wait_for


def _send(chaos: Chaos, name: str) -> str:
    answer = chaos.api("mail", chaos.mail_token()).post(
        "/v1/mails", json={"to": f"{name}@example.com", "template": "welcome", "data": {"name": name}})
    require(answer.status_code == 202, f"mail {name}: {answer.status_code} {answer.text[:200]}")
    return str(answer.json()["id"])


def worker_kills(chaos: Chaos) -> dict[str, Any]:
    """(3) A burst of mails while the worker is SIGKILLed (and restarted) ``kills`` times: every mail
    delivered, none twice."""
    total, kills = chaos.scale.burst_mails, chaos.scale.kills
    before = time.monotonic()
    done_killing = threading.Event()
    killed: list[int] = []

    def killer() -> None:
        for kill in range(kills):  # with several workers, each in turn: the others work on meanwhile
            time.sleep(1.0)
            killed.append(chaos.kill_worker(kill))
            chaos.start_worker(kill)
        done_killing.set()

    lever = threading.Thread(target=killer, name="chaos-worker-killer")
    lever.start()
    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(lambda i: _send(chaos, f"burst-{i}"), range(total)))
    lever.join()
    drained = wait_for(lambda: set(ids) <= set(chaos.delivered()), timeout=180, poll=0.5)
    seconds = time.monotonic() - before
    # a job killed after its send is re-run once noticed (heartbeat + grace): it records 'sent', sends nothing
    wait_for(lambda: all(chaos.mail_status(m)["status"] == "sent" for m in ids), timeout=60, poll=1.0)
    delivered = chaos.delivered()
    statuses = [chaos.mail_status(m) for m in ids]
    figures = {"mails": total, "kills": kills, "processes_killed": sum(killed),
               "delivered_once": sum(1 for m in ids if delivered[m] == 1),
               "delivered_twice": sum(1 for m in ids if delivered[m] > 1),
               "missing": sum(1 for m in ids if delivered[m] == 0),
               "rerun_after_a_kill": sum(1 for s in statuses if s["attempts"] > 1),
               "status_sent": sum(1 for s in statuses if s["status"] == "sent"),
               "seconds_to_deliver_all": round(seconds, 1)}
    require(done_killing.is_set() and drained, f"not every mail was delivered: {figures}")
    require(figures["delivered_twice"] == 0, f"a mail went out twice: {figures}")
    require(figures["status_sent"] == total, f"a mail is not 'sent' at GET /v1/mails/{{id}}: {figures}")
    return figures


def _sent(chaos: Chaos, mail_id: str) -> bool:
    return chaos.delivered()[mail_id] >= 1


def _attempt_gaps(chaos: Chaos, mail_id: str) -> list[float]:
    times = sorted(c["at"] for c in chaos.sendgrid_calls() if c["body"]["custom_args"]["mail_id"] == mail_id)
    return [round(b - a, 2) for a, b in itertools.pairwise(times)]


def sendgrid_faults(chaos: Chaos) -> dict[str, Any]:
    """(4) SendGrid answers 429 with Retry-After, then 503s, then times out: the retries (one send per
    task attempt: a mail send is not idempotent) wait at least what the headers ask and the mail goes
    out once; a permanent refusal ends ``failed`` with its reason at GET /v1/mails/{id}."""
    # a fault hits whichever mail comes next: let the signups' welcome mails of earlier scenarios pass
    require(wait_for(chaos.mail_pipeline_idle, timeout=120), "the user and mail queues do not drain")
    figures: dict[str, Any] = {}
    times = chaos.scale.fault_repeats
    for label, fault, min_gap in (("429_retry_after_2", {"status": 429, "retry_after": 2, "times": times}, 2.0),
                                  ("503_retry_after_1", {"status": 503, "retry_after": 1, "times": times}, 1.0),
                                  ("timeout_then_503", {"status": 503, "delay_ms": 3000, "times": 1}, 2.0)):
        chaos.clear_faults("sendgrid")
        chaos.fault("sendgrid", operation="sendMail", **fault)
        mail_id = _send(chaos, label)
        require(wait_for(functools.partial(_sent, chaos, mail_id), timeout=60, poll=0.3), f"{label}: not sent")
        time.sleep(0.5)
        gaps, status = _attempt_gaps(chaos, mail_id), chaos.mail_status(mail_id)
        figures[label] = {"calls": len(gaps) + 1, "gaps_s": gaps, "delivered": chaos.delivered()[mail_id],
                          "status": status["status"], "attempts": status["attempts"]}
        require(len(gaps) >= fault["times"] and min(gaps) >= min_gap and chaos.delivered()[mail_id] == 1
                and status["status"] == "sent", f"{label}: {figures[label]}")
    chaos.clear_faults("sendgrid")
    chaos.fault("sendgrid", operation="sendMail", status=400, times=1)
    mail_id = _send(chaos, "permanent")
    require(wait_for(lambda: chaos.mail_status(mail_id)["status"] == "failed", timeout=30), "not failed")
    status = chaos.mail_status(mail_id)
    figures["permanent_400"] = {"status": status["status"], "attempts": status["attempts"],
                                "last_error": status["last_error"], "delivered": chaos.delivered()[mail_id]}
    require("400" in str(status["last_error"]) and chaos.delivered()[mail_id] == 0, f"{figures['permanent_400']}")
    chaos.clear_faults("sendgrid")
    return figures


def _signup(chaos: Chaos, email: str) -> tuple[requests.Response, float]:
    started = time.perf_counter()
    answer = requests.post(f"{chaos.url('user')}/v1/users", timeout=30,
                           json={"email": email, "password": PASSWORD, "name": "Outage"})
    return answer, time.perf_counter() - started


def _unavailable(answer: requests.Response) -> bool:
    return (answer.status_code == 503 and answer.headers.get("Content-Type", "").startswith("application/problem+json")
            and answer.json().get("code") == "AUTH_UNAVAILABLE")


def auth0_down(chaos: Chaos) -> dict[str, Any]:
    """(5) Auth0 answering 503, then its process stopped: signup and login answer 503 problem+json
    AUTH_UNAVAILABLE promptly, no partial user is stored (the same signup succeeds once it is back)."""
    email, _ = chaos.signup()
    figures: dict[str, Any] = {}
    for how in ("answers_503", "process_stopped"):
        fresh = f"a-{uuid.uuid4().hex[:12]}@example.com"
        if how == "answers_503":
            chaos.fault("auth0", status=503, times=1000)
        else:
            chaos.clear_faults("auth0")
            proc = chaos.local.procs["fake-auth0"]
            assert proc.popen is not None
            os.killpg(proc.popen.pid, signal.SIGTERM)
            proc.popen.wait(timeout=10)
        signup, signup_s = _signup(chaos, fresh)
        started = time.perf_counter()
        login = requests.post(f"{chaos.url('user')}/v1/login", json={"email": email, "password": PASSWORD}, timeout=30)
        login_s = time.perf_counter() - started
        figures[how] = {"signup": signup.status_code, "signup_ms": round(1000 * signup_s, 1),
                        "login": login.status_code, "login_ms": round(1000 * login_s, 1),
                        "retry_after": signup.headers.get("Retry-After")}
        require(_unavailable(signup) and _unavailable(login) and max(signup_s, login_s) < 2.0, f"{how}: {figures}")
        if how == "answers_503":
            chaos.clear_faults("auth0")
        else:
            supervisor = chaos.local.supervisor
            supervisor.procs = [p for p in supervisor.procs if p is not proc]
            supervisor.start(proc, timeout=30)
        again, _ = _signup(chaos, fresh)
        figures[how]["same_signup_after_recovery"] = again.status_code
        require(again.status_code == 201, f"{how}: a partial user blocks the signup: {again.status_code} {again.text}")
        chaos.tokens.add(again.json()["token"])
    return figures
