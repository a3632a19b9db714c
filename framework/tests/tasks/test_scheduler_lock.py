"""The scheduler lock across hosts (``tasks/_scheduler.py``): a short lease renewed by heartbeat,
and standby workers that take it over when its holder's host dies.

Before: rq's lease was 61 s, renewed every second, and another worker tried to take it only on a
maintenance pass, so a SIGKILLed host left retries and delayed jobs waiting 61 s plus up to a
maintenance interval. Two worker "hosts" here are two ``macaron worker`` processes with distinct
``MACARON_HOSTNAME``: neither can see the other's processes, as on two machines.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from macaron.tasks._redis import connect
from macaron.tasks._scheduler import DEFAULT_LOCK_TTL, MacaronScheduler
from rq import Queue
from rq.serializers import JSONSerializer

from .test_worker import FAST, System, make_system, wait_until

LOCK = "rq:scheduler-lock:jobs.default"


@pytest.fixture
def system(tmp_path: Path, clean_redis: str) -> Iterator[System]:
    yield from make_system(tmp_path, clean_redis)


def host_worker(system: System, host: str, *args: str) -> Any:
    from macaron.testing import worker_process

    from ..conftest import FIXTURES

    return worker_process(FIXTURES / "jobs", "--queues", "default", *args,
                          env={**system.env, "MACARON_HOSTNAME": host}, log_path=system.tmp / f"{host}.log")


def holder(conn: Any) -> str:
    value = conn.get(LOCK)
    return value.decode() if value else ""


def test_the_lock_is_a_short_lease_that_the_scheduler_renews(system: System) -> None:
    conn = connect(system.env["REDIS_URL"])
    with host_worker(system, "host-a", *FAST, "--scheduler-lock-ttl", "4"):
        wait_until(lambda: "@host-a:" in holder(conn), "host-a's scheduler to hold the lock")
        first = holder(conn)
        assert 0 < conn.ttl(LOCK) <= 4  # rq's own lease: 61 s
        time.sleep(6)  # longer than the lease: only renewals keep it
        assert holder(conn) == first and 0 < conn.ttl(LOCK) <= 4
    with host_worker(system, "host-a"):
        wait_until(lambda: "@host-a:" in holder(conn), "the lock")
        assert 0 < conn.ttl(LOCK) <= DEFAULT_LOCK_TTL == 10


def test_a_worker_on_another_host_takes_over_the_lock_of_a_sigkilled_host(system: System) -> None:
    """host-b runs with the default maintenance interval (60 s): it takes the lock in standby, from
    its heartbeat, once host-a's lease lapses; it cannot free it earlier (host-a's pids are not its
    own to check), and a delayed job enqueued after the kill runs on host-b's scheduler."""
    conn = connect(system.env["REDIS_URL"])
    first = host_worker(system, "host-a", *FAST).start()
    try:
        wait_until(lambda: "@host-a:" in holder(conn), "host-a's scheduler to hold the lock")
        with host_worker(system, "host-b") as second:
            assert "@host-a:" in holder(conn)  # host-b waits in standby
            assert 0 < conn.ttl(LOCK) <= DEFAULT_LOCK_TTL
            killed = time.monotonic()
            first.kill()  # the worker and its scheduler: the host is gone
            job_id = system.enqueue("/delayed", {"message": "after the kill", "seconds": 1})
            wait_until(lambda: "@host-b:" in holder(conn), "host-b's scheduler to take the lock", timeout=120)
            took_over = time.monotonic() - killed
            state, _ = system.wait(job_id, {"finished", "failed"}, timeout=120)
            ran = time.monotonic() - killed
            assert state["state"] == "finished"
            assert not any("released the scheduler lock" in e.get("message", "") for e in second.logs())
            assert any("Acquired scheduler lock" in e.get("message", "") for e in second.logs())
    finally:
        first.terminate()
    print(f"host-b took the lock {took_over:.1f} s after host-a's SIGKILL; the delayed job ran after {ran:.1f} s")


def test_a_scheduler_whose_lock_was_taken_over_stops_scheduling_that_queue(system: System) -> None:
    """A scheduler paused past its lease (and replaced) learns it at its next heartbeat."""
    conn = connect(system.env["REDIS_URL"])
    queue = Queue("jobs.default", connection=conn, serializer=JSONSerializer)
    scheduler = MacaronScheduler([queue], conn, name="a" * 32 + "@host-a:1", lock_ttl=5)
    assert scheduler.acquire_locks() == {"jobs.default"} and 0 < conn.ttl(LOCK) <= 5
    scheduler.heartbeat()
    assert scheduler.acquired_locks == {"jobs.default"}
    conn.set(LOCK, "b" * 32 + "@host-b:1", ex=5)  # host-b took over while host-a stalled
    scheduler.heartbeat()
    assert scheduler.acquired_locks == set() and holder(conn).endswith("@host-b:1")
    assert scheduler.should_reacquire_locks is False  # not at once: after a standby interval
    scheduler.lock_acquisition_time = None
    assert scheduler.should_reacquire_locks is True
