"""The task runtime of one service (``service.extensions["tasks"]``): its tasks, its queues,
its Redis connection, enqueueing, queue counts and the ``/ping`` check (status lookup and the
``/metrics`` collector are in ``_taskwatch.py``).

Queue names are ``<service>.<queue>`` (``mail.default``), so a copied service under another
name never shares a queue with its original. The web tier's connection uses short timeouts
(:func:`macaron.tasks._redis.connect` ``fast=True``): when Redis is down an enqueue raises
:class:`QueueUnavailable` (503) within about a second, and the next enqueue after Redis returns
simply reconnects.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._core.context import origin
from .._core.errors import ConfigError
from ._base import QueueUnavailable, TaskHandle, TaskNotFound, TaskOptions, TaskStatus, decode, encode, state_key
from ._redis import connect

if TYPE_CHECKING:
    from .._core.service import Service
    from ._task import Task

RUN_JOB = "macaron.tasks._run.run_job"  # what queued jobs name (the old path: macaron._taskrun)
HEALTH_TTL = 2.0

# Job states a client sees: queued (waiting, or delayed), started, finished, failed (retries
# exhausted, or stopped), retrying (waiting again after a failed or abandoned attempt).
_JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,100}\Z")
_STATES = {"queued": "queued", "deferred": "queued", "scheduled": "queued", "started": "started",
           "finished": "finished", "failed": "failed", "stopped": "failed", "canceled": "failed"}


def redis_down_errors() -> tuple[type[Exception], ...]:
    from redis import exceptions as e

    return (e.ConnectionError, e.TimeoutError, e.OutOfMemoryError, e.ReadOnlyError)


def task_name(service: Service, fn: Any) -> str:
    """``module.qualname`` relative to the service directory (``tasks.send_welcome``)."""
    module = getattr(fn, "__module__", "") or ""
    if not module.startswith(service.package + "."):
        raise ConfigError(f"task {fn.__qualname__!r} is not defined in a module of service {service.name!r}")
    return f"{module[len(service.package) + 1:]}.{fn.__qualname__}"


def declares_tasks(directory: Path) -> bool:
    """A service declares tasks by having a ``tasks`` module (``tasks.py`` or ``tasks/``)."""
    return (directory / "tasks.py").is_file() or (directory / "tasks" / "__init__.py").is_file()


def discover(service: Service) -> dict[str, Task]:
    """Import the service's ``tasks`` module (when it has one) and collect every ``@task`` defined
    in the service's loaded modules (``tasks``, handlers and what they import)."""
    directory = service.directory
    if declares_tasks(directory):
        try:
            importlib.import_module(f"{service.package}.tasks")
        except Exception as exc:
            raise ConfigError(f"{directory}: importing the tasks module failed: {type(exc).__name__}: {exc}") from exc
    found: dict[str, Task] = {}
    prefix = service.package + "."
    for mod_name, module in list(sys.modules.items()):
        if not mod_name.startswith(prefix) or module is None:
            continue
        for value in list(vars(module).values()):
            is_task = getattr(type(value), "__macaron_task__", False)
            if is_task and getattr(value.fn, "__module__", "").startswith(prefix):
                found.setdefault(task_name(service, value.fn), value)
    return found


class TaskRuntime:
    """Tasks, queues and Redis of one service. Create it with ``macaron.tasks.attach(service)``."""

    def __init__(self, service: Service, redis_url: str | None = None) -> None:
        self.service = service
        self.redis_url = redis_url
        self.tasks = discover(service)
        self._conn: Any = None
        self._queues: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._health_lock = threading.Lock()
        self._health: tuple[float, bool] = (-HEALTH_TTL, True)

    # -- names and connections ---------------------------------------------------------
    def queue_name(self, short: str) -> str:
        return f"{self.service.name}.{short}"

    def queue_names(self, only: list[str] | None = None) -> list[str]:
        """Full names of the service's queues (``default`` first), or of ``only``."""
        shorts = only or ["default", *sorted({t.options.queue for t in self.tasks.values()} - {"default"})]
        return [self.queue_name(s) for s in shorts]

    def url(self) -> str | None:
        """``redis_url`` given to ``attach``, else the config's, else ``REDIS_URL`` of the environment the
        service was loaded with (then the process's)."""
        environ = self.service.config.environ
        return (self.redis_url or self.service.config.get("redis_url") or environ.get("REDIS_URL")
                or os.environ.get("REDIS_URL") or None)

    def connection(self) -> Any:
        """The web tier's Redis client (short timeouts), created on first use."""
        if self._conn is None:
            url = self.url()
            if not url:
                raise QueueUnavailable("no Redis is configured for tasks (set REDIS_URL)")
            with self._lock:
                if self._conn is None:
                    self._conn = connect(url, fast=True)
        return self._conn

    def queue(self, short: str) -> Any:
        queue = self._queues.get(short)
        if queue is None:
            from rq import Queue
            from rq.serializers import JSONSerializer

            queue = Queue(self.queue_name(short), connection=self.connection(), serializer=JSONSerializer)
            self._queues[short] = queue
        return queue

    def lookup(self, name: str) -> Task:
        """The task named ``name``; found by import when it was not discovered at start."""
        found = self.tasks.get(name)
        if found is None:
            value = self.service.resolve(name, where=f"task {name!r}")
            if not getattr(type(value), "__macaron_task__", False):
                raise LookupError(f"{name!r} in service {self.service.name!r} is not a @task")
            found = self.tasks[name] = value
        return found

    # -- enqueueing ----------------------------------------------------------------------
    def enqueue(self, task: Task, args: tuple[Any, ...], kwargs: dict[str, Any], options: TaskOptions) -> TaskHandle:
        from rq import Retry

        name = task_name(self.service, task.fn)
        request_id, claims = origin()
        payload = {
            "v": 1,
            "service": self.service.name,
            "task": name,
            "args": encode(list(args)),
            "kwargs": encode(kwargs, "kwargs"),
            "request_id": request_id,
            "claims": claims,
            "key": options.key_for(task.fn, args, kwargs),
            "key_ttl": options.idempotency_ttl,
            "timeout": options.timeout,
            "retries": options.retries,
        }
        rq_options = {
            "result_ttl": options.result_ttl,
            "failure_ttl": options.failure_ttl,
            "description": f"{self.service.name}:{name}",  # never the arguments: rq logs it
            "retry": Retry(max=options.retries, interval=options.intervals()) if options.retries else None,
        }
        try:
            queue = self.queue(options.queue)
            if options.delay > 0:
                from rq.utils import now

                run_at = now() + timedelta(seconds=options.delay)
                job = queue.enqueue_at(run_at, RUN_JOB, payload, job_timeout=options.timeout, **rq_options)
            else:
                job = queue.enqueue_call(RUN_JOB, args=(payload,), timeout=options.timeout, **rq_options)
        except redis_down_errors() as exc:
            self.service.log.warning(
                "cannot enqueue task %s: Redis unavailable (%s)", name, type(exc).__name__,
                extra={"request_id": request_id, "task": name},
            )
            raise QueueUnavailable(f"the task queue is unavailable; task {name!r} was not accepted") from None
        return TaskHandle(id=job.id, task=name, queue=queue.name, service=self.service)

    # -- job status -----------------------------------------------------------------------
    def status(self, job_id: str) -> TaskStatus:
        """Where job ``job_id`` of this service is; TaskNotFound (404) when unknown or expired."""
        from rq.exceptions import NoSuchJobError
        from rq.job import Job
        from rq.serializers import JSONSerializer

        if not isinstance(job_id, str) or not _JOB_ID.match(job_id):
            raise TaskNotFound(f"no task {job_id!r}")
        conn = self.connection()
        try:
            job = Job.fetch(job_id, connection=conn, serializer=JSONSerializer)
            record = {k.decode(): v.decode() for k, v in conn.hgetall(state_key(job_id)).items()}
            rq_state = job.get_status(refresh=False).value
            latest = job.latest_result() if rq_state in ("finished", "failed", "stopped") else None
            payload = job.args[0] if job.args and isinstance(job.args[0], dict) else {}
        except NoSuchJobError:
            raise TaskNotFound(f"no task {job_id!r} (unknown, or its result has expired)") from None
        except redis_down_errors():
            raise QueueUnavailable("the task queue is unavailable; cannot read the task's status") from None
        if not (job.origin or "").startswith(self.service.name + "."):
            raise TaskNotFound(f"no task {job_id!r}")
        state = _STATES.get(rq_state, rq_state)
        retries = int(payload.get("retries") or 0)
        left = job.retries_left if job.retries_left is not None else retries
        attempts = retries - left + (0 if state == "queued" else 1)  # see _taskrun.attempt_of
        if state == "queued" and attempts:
            state = "retrying"
        last_error = record.get("last_error")
        exc_string = getattr(latest, "exc_string", None)
        if exc_string and exc_string.strip():
            last_error = exc_string.strip().splitlines()[-1]
        result = None
        if state == "finished" and latest is not None:
            result = decode(latest.return_value, self.service.models.get)
        return TaskStatus(
            id=job.id, task=str(payload.get("task", "")), queue=job.origin, state=state, attempts=attempts,
            last_error=last_error if state != "finished" else None, result=result,
            enqueued_at=job.enqueued_at, ended_at=job.ended_at,
        )

    # -- health and metrics --------------------------------------------------------------
    def healthy(self) -> bool:
        """Redis answers PING (cached for a couple of seconds; never blocks two callers)."""
        checked_at, ok = self._health
        if time.monotonic() - checked_at < HEALTH_TTL or not self._health_lock.acquire(blocking=False):
            return ok
        try:
            try:
                ok = bool(self.connection().ping())
            except Exception:
                ok = False
            self._health = (time.monotonic(), ok)
            return ok
        finally:
            self._health_lock.release()

    def counts(self) -> dict[str, dict[str, int]]:
        """Per queue: depth, started, failed and scheduled jobs (one pipeline, no cleanup)."""
        from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry

        conn = self.connection()
        names = self.queue_names()
        with conn.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.llen(f"rq:queue:{name}")
                for registry in (StartedJobRegistry, FailedJobRegistry, ScheduledJobRegistry):
                    pipe.zcard(registry(name, connection=conn).key)
            values = pipe.execute()
        out = {}
        for i, name in enumerate(names):
            depth, started, failed, scheduled = values[i * 4 : i * 4 + 4]
            out[name] = {"depth": depth, "started": started, "failed": failed, "scheduled": scheduled}
        return out
