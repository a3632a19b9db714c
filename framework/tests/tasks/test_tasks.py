"""The public task API: declaring, delay/run_now/__call__, handles, status, errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from macaron import Service, create_app
from macaron._core.context import running_task as running
from macaron.tasks import QueueUnavailable, Task, TaskHandle, TaskNotFound, current_context, status, task
from macaron.tasks._base import TaskContext
from macaron.tasks._runtime import attach
from rq.job import Job
from rq.serializers import JSONSerializer

from ..conftest import FIXTURES, SHOP_ENV


@pytest.fixture
def jobs(tmp_path: Path, clean_redis: str) -> Iterator[Service]:
    service = Service.load(FIXTURES / "jobs", environ={"MACARON_JOBS_OUT_DIR": str(tmp_path)})
    attach(service, redis_url=clean_redis)
    yield service


def fixture_tasks(service: Service) -> dict[str, Task]:
    return {name.split(".")[-1]: t for name, t in attach(service).tasks.items()}


def test_the_decorator_keeps_the_function_and_its_options() -> None:
    @task(queue="mail", retries=3, backoff=[1, 2], timeout=20)
    def send(to: str) -> str:
        """Send."""
        return to

    assert isinstance(send, Task) and send.__doc__ == "Send." and send.__name__ == "send"
    assert send.options.retries == 3 and send.options.backoff == (1, 2) and send.options.queue == "mail"
    assert send("x") == "x"  # outside a request or a task, calling runs it inline
    assert isinstance(task(send.fn), Task)  # bare @task works too


def test_delay_needs_a_service_outside_requests(jobs: Service) -> None:
    echo = fixture_tasks(jobs)["echo"]
    with pytest.raises(RuntimeError, match=r"bind\(service\)"):
        echo.delay("hi")
    handle = echo.bind(jobs).delay("hi")
    assert isinstance(handle, TaskHandle) and handle.queue == "jobs.default" and handle.task == "tasks.echo"
    assert handle.to_json() == {"job_id": handle.id, "task": "tasks.echo", "queue": "jobs.default"}
    state = handle.status()
    assert (state.state, state.attempts, state.result) == ("queued", 0, None)


def test_calling_a_task_inside_a_request_enqueues_it_with_the_request_context(jobs: Service) -> None:
    app = create_app(jobs)
    echo = fixture_tasks(jobs)["echo"]
    with app.test_request_context("/echo", headers={"X-Request-ID": "req-42"}):
        app.preprocess_request()
        from flask import g

        g.macaron_claims = {"sub": "user-9"}
        handle = echo("hello")
        assert isinstance(handle, TaskHandle)
        assert status(handle.id).state == "queued"
    job = Job.fetch(handle.id, connection=attach(jobs).connection(), serializer=JSONSerializer)
    payload = job.args[0]
    assert (payload["request_id"], payload["claims"], payload["task"]) == ("req-42", {"sub": "user-9"}, "tasks.echo")
    assert payload["args"] == ["hello"] and job.description == "jobs:tasks.echo"  # no arguments in rq's logs
    assert job.retries_left == 2 and job.retry_intervals == [1, 1]


def test_a_task_enqueued_by_a_task_keeps_the_original_request_id(jobs: Service) -> None:
    echo = fixture_tasks(jobs)["echo"]
    with running(TaskContext(service=jobs, task="tasks.slow", request_id="req-parent", claims={"sub": "u"})):
        handle = echo("child")
    payload = Job.fetch(handle.id, connection=attach(jobs).connection(), serializer=JSONSerializer).args[0]
    assert (payload["request_id"], payload["claims"]) == ("req-parent", {"sub": "u"})


def test_run_now_runs_inline_with_json_round_tripped_arguments_and_a_context(jobs: Service, tmp_path: Path) -> None:
    welcome = fixture_tasks(jobs)["welcome"]
    user = jobs.models.User(id="u1", email="a@b.c", address=jobs.models.Address(city="Nantes"))
    result = welcome.bind(jobs).run_now(user)
    assert result == user and result is not user  # rebuilt from JSON, like in a worker
    assert '"address": "Address"' in (tmp_path / "welcome.log").read_text()
    echo = fixture_tasks(jobs)["echo"]
    app = create_app(jobs)
    with app.test_request_context("/", headers={"X-Request-ID": "req-inline"}):
        app.preprocess_request()
        assert echo.run_now("m") == {"echo": "m", "request_id": "req-inline", "user": None}
    assert current_context() is None
    with pytest.raises(TypeError, match=r"^args\[0\]: a set cannot be a task argument"):
        welcome.bind(jobs).run_now({1})


def test_status_of_unknown_malformed_or_foreign_jobs_is_not_found(jobs: Service) -> None:
    from rq import Queue

    for job_id in ("no-such-job", "../../etc", ""):
        with pytest.raises(TaskNotFound) as caught:
            status(job_id, service=jobs)
        assert caught.value.status == 404 and caught.value.code == "TASK_NOT_FOUND"
    foreign = Queue("other.default", connection=attach(jobs).connection(), serializer=JSONSerializer)
    job = foreign.enqueue_call("macaron.tasks._run.run_job", args=({"service": "other"},))
    with pytest.raises(TaskNotFound):
        status(job.id, service=jobs)


def test_no_redis_configured_is_queue_unavailable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    service = Service.load(FIXTURES / "jobs", environ={"MACARON_JOBS_OUT_DIR": str(tmp_path)})
    with pytest.raises(QueueUnavailable) as caught:
        fixture_tasks(service)["echo"].bind(service).delay("x")
    assert (caught.value.status, caught.value.code) == (503, "QUEUE_UNAVAILABLE")
    assert "REDIS_URL" in caught.value.detail


def test_only_services_with_tasks_get_the_redis_check_and_gauges() -> None:
    shop = Service.load(FIXTURES / "shop", environ=SHOP_ENV)
    create_app(shop)
    assert "redis" not in shop.health_checks and not shop.extensions.get("metrics_collectors")
    assert attach(shop).tasks == {}
