"""Queue metrics to CloudWatch from the worker tier, so workers can scale on their queue.

``macaron worker --metrics-namespace macaron`` (or ``MACARON_WORKER_METRICS_NAMESPACE``) publishes,
every ``--metrics-interval`` seconds (60), with ``put_metric_data``:

* ``QueueDepth`` (Count): jobs waiting in the queue (not running, not delayed);
* ``OldestJobAge`` (Seconds): how long the job at the head of the queue has waited (0 when empty),
  which is what a caller feels: a backlog that one worker clears in a second is no backlog;

each with dimensions ``Service`` and ``Queue``, and once for the whole service (``Service`` only:
depths summed, the oldest age) — the series the scaling alarms of ``infra/`` watch. Every worker
of a service publishes the same numbers (they read one Redis); the alarms use the ``Maximum``
statistic, so N publishers count as one and the metric survives any one worker.

The counts are read from Redis with three cheap commands per queue (``LLEN``, ``LINDEX 0``, one
``HGET``), never by loading jobs. A failed publish (no credentials, CloudWatch unreachable) is
logged at most every 10 minutes and never stops the worker. boto3 finds region and credentials
as usual (the instance profile on Beanstalk); ``AWS_ENDPOINT_URL_CLOUDWATCH`` points it at moto
in tests.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from typing import Any

from rq.job import Job
from rq.queue import Queue
from rq.utils import utcparse

ENV_NAMESPACE = "MACARON_WORKER_METRICS_NAMESPACE"
_REPORT_EVERY = 600.0


def sample(connection: Any, queue_names: list[str]) -> dict[str, tuple[int, float]]:
    """``{queue: (depth, oldest job age in seconds)}`` for ``queue_names``, read from Redis."""
    out: dict[str, tuple[int, float]] = {}
    now = datetime.now(UTC)
    for name in queue_names:
        key = Queue.redis_queue_namespace_prefix + name
        with connection.pipeline(transaction=False) as pipe:
            depth, head = pipe.llen(key).lindex(key, 0).execute()
        age = 0.0
        if head:
            job_id = head.decode() if isinstance(head, bytes) else str(head)
            enqueued = connection.hget(Job.redis_job_namespace_prefix + job_id, "enqueued_at")
            if enqueued:
                text = enqueued.decode() if isinstance(enqueued, bytes) else str(enqueued)
                age = max(0.0, (now - utcparse(text)).total_seconds())
        out[name] = (int(depth), round(age, 3))
    return out


def metric_data(service: str, counts: dict[str, tuple[int, float]]) -> list[dict[str, Any]]:
    """The ``MetricData`` of one publish: per queue, then for the service as a whole."""
    data: list[dict[str, Any]] = []

    def add(dimensions: list[dict[str, str]], depth: int, age: float) -> None:
        data.append({"MetricName": "QueueDepth", "Dimensions": dimensions, "Value": float(depth), "Unit": "Count"})
        data.append({"MetricName": "OldestJobAge", "Dimensions": dimensions, "Value": age, "Unit": "Seconds"})

    for queue, (depth, age) in sorted(counts.items()):
        add([{"Name": "Service", "Value": service}, {"Name": "Queue", "Value": queue}], depth, age)
    add([{"Name": "Service", "Value": service}], sum(d for d, _ in counts.values()),
        max((a for _, a in counts.values()), default=0.0))
    return data


class QueueMetrics:
    """The publisher of one worker: ``tick()`` from its heartbeat publishes when one is due."""

    def __init__(self, service: Any, queue_names: list[str], namespace: str, *, interval: float = 60.0,
                 client: Any = None) -> None:
        self.service = service
        self.queue_names = list(queue_names)
        self.namespace = namespace
        self.interval = max(1.0, float(interval))
        self.pid = os.getpid()  # the worker's: its work horses do not publish
        self._client = client
        self._next = 0.0
        self._reported = -_REPORT_EVERY
        self.published = 0

    @classmethod
    def from_options(cls, service: Any, queue_names: list[str], namespace: str | None,
                     interval: float = 60.0) -> QueueMetrics | None:
        namespace = namespace or os.environ.get(ENV_NAMESPACE) or service.config.environ.get(ENV_NAMESPACE)
        return cls(service, queue_names, namespace, interval=interval) if namespace else None

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3  # deferred: heavy, and only a worker that publishes needs it
            from botocore.config import Config

            self._client = boto3.session.Session().client(
                "cloudwatch", config=Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 2}))
        return self._client

    def publish(self, connection: Any) -> list[dict[str, Any]]:
        """Sample the queues and send one ``put_metric_data``; the data sent."""
        data = metric_data(self.service.name, sample(connection, self.queue_names))
        self.client.put_metric_data(Namespace=self.namespace, MetricData=data)
        self.published += 1
        return data

    def tick(self, connection: Any) -> None:
        now = time.monotonic()
        if now < self._next or os.getpid() != self.pid:
            return
        self._next = now + self.interval
        try:
            self.publish(connection)
        except Exception as exc:  # metrics must never stop the work
            if now - self._reported >= _REPORT_EVERY:
                self._reported = now
                self.service.log.warning("queue metrics not published to CloudWatch: %s: %s", type(exc).__name__,
                                         str(exc)[:200])
