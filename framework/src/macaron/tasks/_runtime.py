"""``attach(service)``: the task runtime of one service, created once and kept on the Service,
with its ``/ping`` check and ``/metrics`` gauges registered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._queue import TaskRuntime
from ._watch import QueueCollector

if TYPE_CHECKING:
    from .._core.service import Service


def attach(service: Service, *, redis_url: str | None = None) -> TaskRuntime:
    """The task runtime of ``service`` (created once, kept in ``service.extensions["tasks"]``).

    ``create_app`` and the worker call it: it discovers the service's tasks and, when there are
    any, adds the ``redis`` check to ``/ping`` and the queue gauges to ``/metrics``. ``redis_url``
    overrides ``REDIS_URL`` (tests).
    """
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
