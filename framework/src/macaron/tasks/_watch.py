"""The ``/metrics`` queue gauges of a service's task runtime (job status: ``TaskRuntime.status``).
"""

from __future__ import annotations

from typing import Any

from ._queue import TaskRuntime


class QueueCollector:
    """Prometheus collector for ``/metrics``: queue depth and started/failed/scheduled jobs."""

    _GAUGES = (
        ("depth", "macaron_task_queue_depth", "Jobs waiting in the queue."),
        ("started", "macaron_task_started", "Jobs being run by a worker (StartedJobRegistry)."),
        ("failed", "macaron_task_failed", "Jobs in the failed registry (retries exhausted)."),
        ("scheduled", "macaron_task_scheduled", "Jobs scheduled for later (delayed or retry backoff)."),
    )

    def __init__(self, runtime: TaskRuntime) -> None:
        self.runtime = runtime

    def _families(self) -> dict[str, Any]:
        from prometheus_client.core import GaugeMetricFamily

        families = {key: GaugeMetricFamily(name, doc, labels=["service", "queue"]) for key, name, doc in self._GAUGES}
        families["up"] = GaugeMetricFamily("macaron_task_redis_up", "1 when the task queue's Redis answers.",
                                           labels=["service"])
        return families

    def describe(self) -> Any:
        return list(self._families().values())

    def collect(self) -> Any:
        families = self._families()
        service = self.runtime.service.name
        try:
            counts = self.runtime.counts()
        except Exception:
            counts = None
        families["up"].add_metric([service], 0 if counts is None else 1)
        for queue, values in (counts or {}).items():
            for key, _, _ in self._GAUGES:
                families[key].add_metric([service, queue], values[key])
        return list(families.values())
