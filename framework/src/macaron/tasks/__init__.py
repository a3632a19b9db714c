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

Rule: imports ``_core``, ``store``, ``auth`` and ``clients`` only. Inside, by direction:
``_base`` ← ``_queue`` ← ``_watch``/``_runtime`` ← ``_run``/``_task`` ← ``_worker`` (with ``_scheduler``,
the scheduler lock, and ``_metrics``, queue metrics to CloudWatch); this module re-exports.
"""

from __future__ import annotations

from ._base import (
    QueueUnavailable,
    TaskBusy,
    TaskContext,
    TaskHandle,
    TaskNotFound,
    TaskOptions,
    TaskStatus,
    current_context,
)
from ._run import once
from ._task import BoundTask, Task, status, task

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
    "current_context",
    "once",
    "status",
    "task",
]
