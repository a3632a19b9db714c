"""The scheduler lock: which worker's scheduler moves delayed jobs and retries onto their queues.

rq's scheduler takes a lock per queue (``rq:scheduler-lock:<queue>``) for ``interval + 60`` = 61 s
and renews it every second; other workers try to take it only on a maintenance pass. A host that
dies holding it leaves every retry and delayed job of the queue waiting for the lease to lapse
and for another worker's next pass: 61 s plus up to a maintenance interval (60 s here). Here:

* **A short lease, renewed by heartbeat.** :class:`MacaronScheduler` holds the lock ``lock_ttl``
  seconds (default 10) and its heartbeat (every second, as rq's) renews it: a live scheduler
  keeps its lock, a dead one loses it ``lock_ttl`` seconds after its last heartbeat.
* **Standby.** Every worker whose scheduler does not run tries to take the lock every ``standby``
  seconds (``lock_ttl / 2``), from its heartbeat, not once per maintenance pass; a scheduler process
  that lost its lock (another took it over) tries again as often, not after rq's 10 minutes.

So a dead holder is replaced within about ``lock_ttl + standby`` seconds, from any host. On the
holder's own host, a restarted worker frees a dead holder's lock at once
(:func:`release_dead_scheduler_locks`). A host is ``MACARON_HOSTNAME`` when set (a local system
runs several 'hosts' on one machine), else the machine's hostname (a container's id).

A stalled scheduler (paused longer than ``lock_ttl``) may see another take over; its heartbeat
then notices the lock is not its own and it stops scheduling that queue, so two schedulers never
both move one queue's jobs for longer than one heartbeat.
"""

from __future__ import annotations

import os
import socket
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from rq.scheduler import SCHEDULER_KEY_TEMPLATE, RQScheduler
from rq.scripts import ACQUIRE_OR_REFRESH_LOCK_SCRIPT, acquire_or_refresh_lock
from rq.utils import now, utcformat

DEFAULT_LOCK_TTL = 10
_RELEASE_IF_HELD_BY = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


def host_name() -> str:
    """This worker's host: ``MACARON_HOSTNAME``, else the machine's (a container's) hostname."""
    return os.environ.get("MACARON_HOSTNAME") or socket.gethostname()


def standby_interval(lock_ttl: int) -> float:
    return max(1.0, lock_ttl / 2)


class MacaronScheduler(RQScheduler):
    """rq's scheduler with a lease of ``lock_ttl`` seconds instead of 61 (rq 3.0's ``acquire_locks``
    and ``heartbeat``, with that lease; ``contracts``-style guard: tests/tasks/test_scheduler_lock.py)."""

    def __init__(self, *args: Any, lock_ttl: int = DEFAULT_LOCK_TTL, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lock_ttl = max(2, int(lock_ttl))
        self.hostname = host_name()

    @property
    def should_reacquire_locks(self) -> bool:
        if self._queue_names == self.acquired_locks:
            return False
        if not self.lock_acquisition_time:
            return True
        return (datetime.now() - self.lock_acquisition_time).total_seconds() > standby_interval(self.lock_ttl)

    def acquire_locks(self, auto_start: bool = False) -> set[str]:
        owned = set()
        for name in self._queue_names:
            outcome = acquire_or_refresh_lock(self.connection, self.get_locking_key(name), self.name, self.lock_ttl)
            if outcome == "acquired":
                self.log.info("Acquired scheduler lock for %s", name)
            if outcome in ("acquired", "refreshed"):
                owned.add(name)
        self._scheduled_job_registries = []
        self._acquired_locks = owned
        self.lock_acquisition_time = datetime.now()
        if owned and auto_start and (not self._process or not self._process.is_alive()):
            self.start()
        return owned

    def heartbeat(self) -> None:
        self.last_heartbeat = now()
        names = sorted(self._acquired_locks)
        script = self.connection.register_script(ACQUIRE_OR_REFRESH_LOCK_SCRIPT)
        with self.connection.pipeline() as pipeline:
            pipeline.hset(self.key, "last_heartbeat", utcformat(self.last_heartbeat))
            pipeline.expire(self.key, self.interval + 60)
            for name in names:
                script(keys=[self.get_locking_key(name)], args=[self.name, self.lock_ttl], client=pipeline)
            results = pipeline.execute()
        lost = {name for name, outcome in zip(names, results[2:], strict=True) if outcome == 0}
        if lost:
            self.log.warning("Scheduler locks for %s were taken over by another scheduler", ", ".join(sorted(lost)))
            self._acquired_locks -= lost
            self._scheduled_job_registries = []


class Standby:
    """A worker's side of the lock: every ``interval`` seconds, when its scheduler does not run, try
    to take the lock (and start the scheduler). Called from the worker process's heartbeats only."""

    def __init__(self, lock_ttl: int) -> None:
        self.interval = standby_interval(lock_ttl)
        self.pid = os.getpid()  # the worker's; its forked work horses must not start schedulers
        self._next = time.monotonic() + self.interval
        self.enabled = True

    def tick(self, scheduler: RQScheduler | None) -> None:
        if not self.enabled or scheduler is None or os.getpid() != self.pid or time.monotonic() < self._next:
            return
        self._next = time.monotonic() + self.interval
        process = scheduler._process
        if process is not None and process.is_alive():
            return
        scheduler.acquire_locks(auto_start=True)


def release_dead_scheduler_locks(connection: Any, queue_names: list[str], service: Any) -> list[str]:
    """Free the scheduler locks of ``queue_names`` held by a scheduler that died on this host; the
    queues freed.

    A holder whose process is gone from this host is dead for sure; any other holder keeps its
    lock (one on another host lapses within its lease)."""
    freed = []
    for queue in queue_names:
        key = RQScheduler.get_locking_key(queue)
        holder = connection.get(key)
        if holder is None:
            continue
        holder = holder.decode() if isinstance(holder, bytes) else str(holder)
        host, pids = _holder_processes(connection, holder)
        # a pid equal to ours belongs to an earlier life of this container (PIDs restart at 1 there)
        if host != host_name() or not pids or any(p != os.getpid() and _alive(p) for p in pids):
            continue
        if connection.eval(_RELEASE_IF_HELD_BY, 1, key, holder):
            freed.append(queue)
            service.log.warning("released the scheduler lock of %s held by dead worker/scheduler %s", queue,
                        ", ".join(map(str, pids)))
    return freed


def _holder_processes(connection: Any, holder: str) -> tuple[str, list[int]]:
    """The host and pids (worker, then its scheduler once registered) behind a scheduler lock
    ``holder``; no pids when the holder is not one of macaron's named schedulers."""
    _, at, place = holder.rpartition("@")
    host, _, worker_pid = place.rpartition(":")
    if not at or not worker_pid.isdigit():
        return host, []
    pids = [int(worker_pid)]
    scheduler_pid = connection.hget(SCHEDULER_KEY_TEMPLATE % holder, "pid")
    if scheduler_pid and scheduler_pid.isdigit() and int(scheduler_pid) > 0:
        pids.append(int(scheduler_pid))
    return host, pids


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs on this host (a zombie, killed but not yet reaped, does not)."""
    try:
        if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
            return False
    except (OSError, IndexError):
        pass  # no /proc (macOS), or it is gone: ask the kernel
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
