"""Looking at jobs from the web tier: ``status(job_id)`` and the ``/metrics`` queue gauges.

States a client sees: queued (waiting, or delayed), started, finished, failed (retries
exhausted, or stopped), retrying (waiting again after a failed or abandoned attempt).
"""

from __future__ import annotations

import re
from typing import Any

from ._taskbase import QueueUnavailable, TaskNotFound, decode
from ._taskqueue import TaskRuntime, redis_down_errors

_JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,100}\Z")
_STATES = {"queued": "queued", "deferred": "queued", "scheduled": "queued", "started": "started",
           "finished": "finished", "failed": "failed", "stopped": "failed", "canceled": "failed"}


def status_of(runtime: TaskRuntime, job_id: str, make: Any) -> Any:
    """Build ``make(...)`` (a TaskStatus) for ``job_id`` from rq's job and our attempt record."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job
    from rq.serializers import JSONSerializer

    from ._taskrun import state_key

    if not isinstance(job_id, str) or not _JOB_ID.match(job_id):
        raise TaskNotFound(f"no task {job_id!r}")
    conn = runtime.connection()
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
    if not (job.origin or "").startswith(runtime.service.name + "."):
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
        result = decode(latest.return_value, runtime.service.models.get)
    return make(
        id=job.id, task=str(payload.get("task", "")), queue=job.origin, state=state, attempts=attempts,
        last_error=last_error if state != "finished" else None, result=result,
        enqueued_at=job.enqueued_at, ended_at=job.ended_at,
    )


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
