"""Durable background tasks on rq and Redis.

Declare a task in a service's ``tasks.py``::

    from macaron.tasks import task

    @task(queue="default", retries=3, backoff=[5, 30, 120], timeout=60, idempotency_key="welcome:{user.id}")
    def send_welcome(user):            # user: a spec model, rebuilt in the worker
        ...

and call it from a handler: ``handle = send_welcome.delay(user)`` enqueues it (so does calling
``send_welcome(user)`` inside a request or a task) and returns a :class:`TaskHandle` with the job
id; ``send_welcome.run_now(user)`` runs it inline; ``status(handle.id)`` tells how it went.
``macaron worker services/<name>`` runs the jobs. Durability semantics: ``docs/tasks.md``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, overload

from ._models import to_plain
from ._taskbase import (
    QueueUnavailable,
    TaskBusy,
    TaskContext,
    TaskNotFound,
    TaskOptions,
    current_context,
    decode,
    encode,
    origin,
    running,
    service_here,
)
from ._taskrun import once

if TYPE_CHECKING:
    from ._service import Service
    from ._taskqueue import TaskRuntime

__all__ = [
    "BoundTask",
    "QueueUnavailable",
    "Task",
    "TaskBusy",
    "TaskContext",
    "TaskHandle",
    "TaskNotFound",
    "TaskOptions",
    "TaskStatus",
    "attach",
    "current_context",
    "once",
    "status",
    "task",
]


def attach(service: Service, *, redis_url: str | None = None) -> TaskRuntime:
    """The task runtime of ``service`` (created once, kept in ``service.extensions["tasks"]``).

    ``create_app`` and the worker call it: it discovers the service's tasks and, when there are
    any, adds the ``redis`` check to ``/ping`` and the queue gauges to ``/metrics``. ``redis_url``
    overrides ``REDIS_URL`` (tests).
    """
    from ._taskqueue import TaskRuntime
    from ._taskwatch import QueueCollector

    runtime: TaskRuntime | None = service.extensions.get("tasks")
    if runtime is None:
        runtime = service.extensions["tasks"] = TaskRuntime(service, redis_url)
        if runtime.tasks:
            service.health_checks["redis"] = runtime.healthy
            service.extensions.setdefault("metrics_collectors", []).append(QueueCollector(runtime))
    elif redis_url and redis_url != runtime.redis_url:
        runtime.redis_url, runtime._conn, runtime._queues = redis_url, None, {}
        runtime._health = (-1e9, True)
    return runtime


@dataclass(frozen=True)
class TaskHandle:
    """An enqueued job: ``id`` is what :func:`status` takes."""

    id: str
    task: str
    queue: str
    service: Service

    def status(self) -> TaskStatus:
        return status(self.id, service=self.service)

    def to_json(self) -> dict[str, str]:
        return {"job_id": self.id, "task": self.task, "queue": self.queue}


@dataclass(frozen=True)
class TaskStatus:
    """Where a job is: ``state`` is queued, started, finished, failed or retrying."""

    id: str
    task: str
    queue: str
    state: str
    attempts: int
    last_error: str | None = None
    result: Any = None
    enqueued_at: datetime | None = None
    ended_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        def when(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "job_id": self.id, "task": self.task, "queue": self.queue, "state": self.state,
            "attempts": self.attempts, "last_error": self.last_error, "result": to_plain(self.result),
            "enqueued_at": when(self.enqueued_at), "ended_at": when(self.ended_at),
        }


class BoundTask:
    """A task bound to a service, for code outside a request or task (scripts, benchmarks)."""

    def __init__(self, task: Task, service: Service, options: TaskOptions | None = None) -> None:
        self.task, self.service, self.options = task, service, options or task.options

    def delay(self, *args: Any, **kwargs: Any) -> TaskHandle:
        """Enqueue; raise :class:`QueueUnavailable` (503) when Redis cannot take the job."""
        return attach(self.service).enqueue(self.task, args, kwargs, self.options)

    def run_now(self, *args: Any, **kwargs: Any) -> Any:
        """Run inline, with the arguments through the same JSON as a worker would see them.

        No queue, no retries, no idempotency markers (``once()`` just calls): for tests and scripts.
        """
        from ._taskqueue import task_name

        models = self.service.models.get
        args, kwargs = decode(encode(list(args)), models), decode(encode(kwargs, "kwargs"), models)
        request_id, claims = origin()
        ctx = TaskContext(service=self.service, task=task_name(self.service, self.task.fn), request_id=request_id,
                          claims=claims, idempotency_key=self.options.key_for(self.task.fn, tuple(args), kwargs))
        with running(ctx):
            return self.task.fn(*args, **kwargs)


class Task:
    """A function declared with :func:`task`; call ``.delay()``, ``.run_now()`` or ``.bind()``."""

    def __init__(self, fn: Callable[..., Any], options: TaskOptions) -> None:
        self.fn = fn
        self.options = options
        functools.update_wrapper(self, fn)

    def bind(self, service: Service) -> BoundTask:
        return BoundTask(self, service)

    def with_options(self, **changes: Any) -> Task:
        """The same task with other options for one call site (``queue``, ``delay``, ...)."""
        return Task(self.fn, replace(self.options, **changes))

    def _service(self) -> Service:
        service = service_here()
        if service is None:
            raise RuntimeError(
                f"{self.fn.__qualname__}.delay() needs a service: call it inside a request or a task, "
                "or use .bind(service).delay(...)"
            )
        return service

    def delay(self, *args: Any, **kwargs: Any) -> TaskHandle:
        """Enqueue for a worker; returns the handle with the job id."""
        return BoundTask(self, self._service(), self.options).delay(*args, **kwargs)

    def run_now(self, *args: Any, **kwargs: Any) -> Any:
        """Run inline and return the result (see :meth:`BoundTask.run_now`)."""
        service = service_here()
        if service is None:  # no service at hand: models rebuild from their own registry
            return self.fn(*args, **kwargs)
        return BoundTask(self, service, self.options).run_now(*args, **kwargs)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Inside a request or a task: enqueue (a handle). Elsewhere: run inline (the result)."""
        if service_here() is not None:
            return self.delay(*args, **kwargs)
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<task {self.fn.__module__}.{self.fn.__qualname__} queue={self.options.queue!r}>"


@overload
def task(fn: Callable[..., Any], /) -> Task: ...
@overload
def task(**options: Any) -> Callable[[Callable[..., Any]], Task]: ...
def task(fn: Callable[..., Any] | None = None, /, **options: Any) -> Any:
    """Declare a task: ``@task`` or ``@task(queue=, retries=, backoff=[s, ...], timeout=, delay=,
    idempotency_key="template {arg.field}" or a function of the arguments, result_ttl=, ...)``.

    ``backoff[i]`` is the wait in seconds before retry ``i + 1`` (the last value repeats).
    """
    if "backoff" in options:
        options["backoff"] = tuple(options["backoff"] or ())
    opts = TaskOptions(**options)
    if fn is not None:
        return Task(fn, opts)
    return lambda f: Task(f, opts)


def status(job_id: str, *, service: Service | None = None) -> TaskStatus:
    """The state of job ``job_id`` of this service; TaskNotFound (404) when unknown or expired."""
    from ._taskwatch import status_of

    service = service or service_here()
    if service is None:
        raise RuntimeError("status() needs a service: call it inside a request or a task, or pass service=")
    return status_of(attach(service), job_id, TaskStatus)
