"""Tasks as declared: ``@task``, a :class:`Task`, and a task bound to a service; and ``status()``.

Rule: the declaration side of tasks; it enqueues through the runtime (``_runtime.attach``) and
never the other way round (the runtime recognises a task by ``Task.__macaron_task__``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, overload

from .._core.context import origin, running_task, service_here
from ._base import TaskContext, TaskHandle, TaskOptions, TaskStatus, decode, encode
from ._queue import task_name
from ._runtime import attach

if TYPE_CHECKING:
    from .._core.service import Service


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
        models = self.service.models.get
        args, kwargs = decode(encode(list(args)), models), decode(encode(kwargs, "kwargs"), models)
        request_id, claims = origin()
        ctx = TaskContext(service=self.service, task=task_name(self.service, self.task.fn), request_id=request_id,
                          claims=claims, idempotency_key=self.options.key_for(self.task.fn, tuple(args), kwargs))
        with running_task(ctx):
            return self.task.fn(*args, **kwargs)


class Task:
    """A function declared with :func:`task`; call ``.delay()``, ``.run_now()`` or ``.bind()``."""

    __macaron_task__ = True  # how the runtime recognises a task among a module's values

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
    service = service or service_here()
    if service is None:
        raise RuntimeError("status() needs a service: call it inside a request or a task, or pass service=")
    return attach(service).status(job_id)
