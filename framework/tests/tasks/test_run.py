"""Running jobs in a worker: attempts, last error, idempotency keys, once(), abandoned re-runs.

An in-process SimpleWorker (burst) runs the jobs here, on the real Redis; test_worker.py runs
real worker processes.
"""

from __future__ import annotations

import io
import json
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from macaron import Service
from macaron.tasks import Task, TaskHandle, once, status
from macaron.tasks._base import state_key
from macaron.tasks._redis import connect
from macaron.tasks._runtime import attach
from macaron.tasks._worker import build_worker, configure_logging
from macaron.testing import capture_logs
from rq import Queue
from rq.job import Job
from rq.serializers import JSONSerializer

from ..conftest import FIXTURES


@pytest.fixture
def jobs(tmp_path: Path, clean_redis: str) -> Iterator[Service]:
    service = Service.load(FIXTURES / "jobs", environ={"MACARON_JOBS_OUT_DIR": str(tmp_path)})
    attach(service, redis_url=clean_redis)
    yield service


def task_of(service: Service, name: str) -> Task:
    return attach(service).tasks[f"tasks.{name}"]


def work(service: Service, queues: list[str] | None = None) -> list[dict]:
    """Run every queued job in this process; return the JSON log lines."""
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    stream = io.StringIO()
    configure_logging(service, stream)
    try:
        with capture_logs(service) as captured:
            worker = build_worker(service, connect(attach(service).url()), queues=queues, simple=True)
            worker.work(burst=True)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    rq_lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]
    return captured.records + rq_lines


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_a_job_runs_with_its_context_and_records_its_attempt(jobs: Service) -> None:
    handle: TaskHandle = task_of(jobs, "echo").bind(jobs).delay("hi")
    logs = work(jobs, ["default"])
    state = status(handle.id, service=jobs)
    assert (state.state, state.attempts, state.last_error) == ("finished", 1, None)
    assert state.result["echo"] == "hi"
    started = [e for e in logs if e["message"] == "task tasks.echo started (attempt 1)"]
    assert started and started[0]["job_id"] == handle.id and started[0]["request_id"] == state.result["request_id"]
    assert not any("arguments" in e for e in logs)


def test_same_idempotency_key_twice_runs_the_side_effect_once(jobs: Service, tmp_path: Path) -> None:
    charge = task_of(jobs, "charge")
    first, second = charge.bind(jobs).delay("o-1"), charge.bind(jobs).delay("o-1")
    other = charge.bind(jobs).delay("o-2")
    logs = work(jobs, ["crash"])
    assert lines(tmp_path / "charges.log") == ["o-1", "o-2"]
    assert len(lines(tmp_path / "charge-attempts.log")) == 2  # the second o-1 job never ran the body
    for handle, order in ((first, "o-1"), (second, "o-1"), (other, "o-2")):
        state = status(handle.id, service=jobs)
        assert (state.state, state.result) == ("finished", {"charged": order})
    assert any(e["message"].startswith("skipped macaron:idem:jobs:charge:o-1") for e in logs)


def test_a_failed_run_releases_its_key_so_the_retry_runs(jobs: Service, tmp_path: Path) -> None:
    echo = task_of(jobs, "echo").with_options(idempotency_key="e:{message}", backoff=())
    handle = echo.bind(jobs).delay("m", fail_times=1)
    work(jobs, ["default"])
    state = status(handle.id, service=jobs)
    assert (state.state, state.attempts) == ("finished", 2)
    echo.bind(jobs).delay("m")
    work(jobs, ["default"])
    assert len(lines(tmp_path / "echo.log")) == 2  # failed attempt + successful retry; the repeat skipped


def test_a_key_held_by_another_running_job_makes_this_one_busy(jobs: Service) -> None:
    runtime = attach(jobs)
    runtime.connection().set("macaron:idem:jobs:busy-key", "run:some-other-job", ex=60)
    handle = task_of(jobs, "echo").with_options(idempotency_key="busy-key", retries=0).bind(jobs).delay("m")
    work(jobs, ["default"])
    state = status(handle.id, service=jobs)
    assert state.state == "failed" and state.last_error is not None
    assert state.last_error.endswith(
        "TaskBusy: another job (some-other-job) is running under macaron:idem:jobs:busy-key"
    )


def test_a_job_whose_previous_attempt_died_runs_again_and_says_so(jobs: Service, tmp_path: Path) -> None:
    charge = task_of(jobs, "charge")
    handle = charge.bind(jobs).delay("o-9")
    conn = attach(jobs).connection()
    # What a SIGKILLed attempt leaves behind once rq has requeued it: its claim on the key, and
    # one retry used up (test_worker.py kills a real worker).
    conn.set("macaron:idem:jobs:charge:o-9", f"run:{handle.id}", ex=60)
    job = Job.fetch(handle.id, connection=conn, serializer=JSONSerializer)
    job.retries_left = 0
    job.save()
    logs = work(jobs, ["crash"])
    state = status(handle.id, service=jobs)
    assert (state.state, state.attempts) == ("finished", 2)
    messages = [e["message"] for e in logs]
    assert "attempt 1 of task tasks.charge was abandoned (its worker stopped mid-job)" in messages
    assert any(m.startswith("re-running macaron:idem:jobs:charge:o-9") for m in messages)
    assert conn.hget(state_key(handle.id), "last_error") == b"attempt 1 was abandoned: its worker stopped mid-job"
    assert lines(tmp_path / "charges.log") == ["o-9"]  # no step marker yet: the step ran (at-least-once)


def test_once_needs_a_task_and_just_calls_under_run_now(jobs: Service) -> None:
    with pytest.raises(RuntimeError, match="inside a running task"):
        once("x", lambda: 1)
    assert task_of(jobs, "charge").bind(jobs).run_now("o-inline") == {"charged": "o-inline"}


def test_a_job_for_another_service_is_refused(jobs: Service) -> None:
    queue = Queue("jobs.default", connection=attach(jobs).connection(), serializer=JSONSerializer)
    job = queue.enqueue_call("macaron.tasks._run.run_job", args=({"service": "other", "task": "tasks.echo"},))
    work(jobs, ["default"])
    job.refresh()
    assert job.get_status().value == "failed"
    assert "reached a worker of 'jobs'" in job.latest_result().exc_string


def test_an_upstream_retry_after_is_a_floor_for_the_next_attempt(jobs: Service) -> None:
    """Regression (chaos scenario 4): a task failing on a 429/503 with Retry-After was retried after
    its own backoff (2 s, then 10 s...), sooner than the callee asked; rq also schedules to the second."""
    from macaron.clients import UpstreamError
    from macaron.tasks._run import respect_retry_after
    from rq import Retry

    queue = Queue("jobs.default", connection=connect(attach(jobs).url()), serializer=JSONSerializer)
    job = queue.enqueue_call("macaron.tasks._run.run_job", args=({},), retry=Retry(max=3, interval=[2, 10, 30]))
    asked = UpstreamError("sendgrid", "sendMail", upstream_status=429, retry_after=7.0)
    respect_retry_after(job, asked)
    assert job.get_retry_interval() == 8  # 7 s, rounded up, plus the scheduler's second
    respect_retry_after(job, UpstreamError("sendgrid", "sendMail", upstream_status=503))
    respect_retry_after(job, ValueError("no header"))
    assert job.retry_intervals == [8, 10, 30]
    short = queue.enqueue_call("macaron.tasks._run.run_job", args=({},), retry=Retry(max=3, interval=[30]))
    respect_retry_after(short, asked)
    assert short.get_retry_interval() == 30  # a longer backoff stands
    immediate = queue.enqueue_call("macaron.tasks._run.run_job", args=({},), retry=Retry(max=2))
    respect_retry_after(immediate, asked)
    assert immediate.get_retry_interval() == 8
