"""The system the scenarios shake: a :class:`macaron.testing.LocalSystem` (Redis, the Auth0 and
SendGrid fakes, every service, the mail worker, all on 127.0.0.1) and its levers."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from macaron.testing import Api, LocalSystem, SystemUnderTest

PASSWORD = "correct horse 42"
#: Abandoned jobs noticed within seconds: heartbeat 1 s, grace 2 s, maintenance every second.
FAST_WORKER = ("--maintenance-interval", "1", "--heartbeat-interval", "1", "--abandon-grace", "2")


class ScenarioFailed(AssertionError):
    """A scenario's promise did not hold; the message says which and with what figures."""


def require(condition: bool, message: str) -> None:
    if not condition:
        raise ScenarioFailed(message)


@dataclass(frozen=True)
class Scale:
    """How hard each scenario pushes: ``THOROUGH`` is the issue's numbers, ``SHORT`` the test suite's."""

    name: str
    load_requests: int
    concurrency: int
    outage_seconds: float
    burst_mails: int
    kills: int
    injection_rounds: int
    fault_repeats: int  # how many 429s, then 503s, SendGrid answers in a row (scenario 4)
    slow_sockets: int = 500  # sockets trickling headers (half) or bodies (half) at once (scenario 14)
    slow_seconds: float = 10.0  # ... held this long


THOROUGH = Scale("thorough", load_requests=10_000, concurrency=50, outage_seconds=10, burst_mails=200, kills=5,
                 injection_rounds=3, fault_repeats=2, slow_sockets=1000, slow_seconds=60)
SHORT = Scale("short", load_requests=600, concurrency=20, outage_seconds=3, burst_mails=40, kills=5,
              injection_rounds=1, fault_repeats=1)


#: The user service's password-reset limit per client address in the chaos system (scenario 11);
#: an hour's window, so a burst seldom straddles two (the scenario re-runs once if it does).
RESET_LIMIT, RESET_WINDOW = 20, 3600


class Chaos:
    """Start with ``with Chaos(root) as chaos``; every lever waits until it took effect.

    ``instances`` > 1: each service as that many instances behind a local nginx, as many mail and
    user workers, one Redis and DynamoDB (moto) for all (:class:`macaron.testing.LocalSystem`)."""

    def __init__(self, root: Path, scale: Scale = SHORT, instances: int = 1, store: str | None = None) -> None:
        self.scale = scale
        self.instances = instances
        # SendGrid's read timeout down from 10 s to 2 s: scenario 4's timeouts come sooner
        env = {"MACARON_LOG_LEVEL": "INFO", "MACARON_MAIL_CLIENTS__SENDGRID__TIMEOUT": "2",
               "MACARON_USER_RATE_LIMITS__PASSWORD_RESET__PER_ADDRESS__LIMIT": str(RESET_LIMIT),
               "MACARON_USER_RATE_LIMITS__PASSWORD_RESET__PER_ADDRESS__PER": str(RESET_WINDOW)}
        self.local = LocalSystem(root, env=env, instances=instances, store=store,
                                 worker_args={"mail": list(FAST_WORKER)})
        self.system: SystemUnderTest | None = None
        self.tokens: set[str] = set()  # every token handed out, for the log audit
        self._mail_token: str | None = None

    def __enter__(self) -> Chaos:
        self.local.start()
        self.system = SystemUnderTest(self.local.root, self.local.urls, local=self.local)
        return self

    def __exit__(self, *exc: object) -> None:
        self.local.stop()

    # -- who to talk to ------------------------------------------------------------------
    def url(self, name: str) -> str:
        return self.local.urls[name]

    def instance_urls(self, service: str) -> list[str]:
        """Each instance's own URL (past the balancer), or the one service URL."""
        return [f"http://{u}" for u in self.local.upstreams.get(service, [])] or [self.url(service)]

    def api(self, name: str, token: str | None = None) -> Api:
        return Api(self.url(name), token=token)

    def mail_token(self) -> str:
        """A service token for the mail service, as the user service holds one (scope ``mail:send``)."""
        assert self.system is not None
        if self._mail_token is None:
            self._mail_token = self.system.token("mail", "chaos", scopes=["mail:send"], ttl=3600)
            self.tokens.add(self._mail_token)
        return self._mail_token

    def signup(self, session: requests.Session | None = None, name: str = "Chaos") -> tuple[str, str]:
        """A new account: ``(email, session token)``."""
        email = f"c-{uuid.uuid4().hex[:12]}@example.com"
        answer = (session or requests).post(f"{self.url('user')}/v1/users", timeout=60,
                                            json={"email": email, "password": PASSWORD, "name": name})
        require(answer.status_code == 201, f"signup answered {answer.status_code}: {answer.text[:300]}")
        token = str(answer.json()["token"])
        self.tokens.add(token)
        return email, token

    # -- levers --------------------------------------------------------------------------
    def kill_worker(self, index: int = 0, service: str = "mail") -> int:
        """SIGKILL a worker (the ``index``-th of ``service``'s) with everything it started (its
        scheduler, and the work horse running a job, which has a session of its own), as when its
        container dies; how many processes died."""
        workers = self.local.workers(service)
        popen = workers[index % len(workers)].popen
        assert popen is not None
        victims = [popen.pid, *_descendants(popen.pid)]
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        popen.wait(timeout=10)
        return len(victims)

    def start_worker(self, index: int = 0, service: str = "mail") -> None:
        workers = self.local.workers(service)
        proc = workers[index % len(workers)]
        supervisor = self.local.supervisor
        supervisor.procs = [p for p in supervisor.procs if p is not proc]
        supervisor.start(proc)

    def stop_redis(self) -> None:
        self.local.redis.stop()

    def start_redis(self) -> None:
        self.local.redis.start()

    def fault(self, fake: str, **fault: Any) -> None:
        answer = self.api(f"fake-{fake}").post("/__fake__/faults", json=fault)
        require(answer.status_code == 201, f"fault not injected: {answer.text}")

    def clear_faults(self, fake: str) -> None:
        self.api(f"fake-{fake}").delete("/__fake__/faults")

    # -- what happened -------------------------------------------------------------------
    def sendgrid_calls(self) -> list[dict[str, Any]]:
        calls: list[dict[str, Any]] = self.api("fake-sendgrid").get("/__fake__/requests",
                                                                    params={"operation": "sendMail"}).json()
        return calls

    def delivered(self) -> Counter[str]:
        """Mail ids SendGrid accepted (answered 2xx), with how many times each."""
        return Counter(str(c["body"]["custom_args"]["mail_id"]) for c in self.sendgrid_calls()
                       if c["status"] is not None and 200 <= c["status"] < 300)

    def mail_pipeline_idle(self) -> bool:
        """No mail on its way: nothing waiting or running in the user service's queue (welcome and
        reset mails are requested by its worker) nor in the mail queue."""
        gauges = ("macaron_task_queue_depth{", "macaron_task_started{")
        for service in ("user", "mail"):
            queue = f'queue="{service}.default"'
            for line in self.api(service).get("/metrics").text.splitlines():
                if line.startswith(gauges) and queue in line and float(line.rsplit(" ", 1)[1]) != 0:
                    return False
        return True

    def mail_status(self, mail_id: str) -> dict[str, Any]:
        status: dict[str, Any] = self.api("mail", self.mail_token()).get(f"/v1/mails/{mail_id}").json()
        return status


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def wait_for(predicate: Callable[[], bool], timeout: float, poll: float = 0.2) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` seconds pass; whether it held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(poll)
    return predicate()
