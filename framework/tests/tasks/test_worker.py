"""``macaron worker``: real worker processes on a real Redis, fed by a served endpoint.

Covers: enqueue → worker → finished; context in the worker's log lines; retries with backoff
then the failed registry; model arguments; delayed tasks; SIGTERM finishes the current job;
SIGKILL mid-job → abandoned job re-run, side effect once; Redis down → 503 then recovery.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import g
from macaron import Service, create_app
from macaron._local.dev import worker_procs
from macaron._local.redis import RedisServer
from macaron.tasks._redis import connect
from macaron.tasks._runtime import attach
from macaron.testing import Api, assert_problem, serve_app, worker_process
from rq.job import Job
from rq.registry import FailedJobRegistry, ScheduledJobRegistry
from rq.serializers import JSONSerializer

from ..conftest import FIXTURES

# Abandoned jobs are noticed within seconds: heartbeat 1 s, grace 2 s, maintenance every second.
FAST = ("--maintenance-interval", "1", "--heartbeat-interval", "1", "--abandon-grace", "2")


def claims_from_header(service: Service, op: Any) -> Callable[[Any], None]:
    """Test guard standing in for JWT security: the caller's claims from X-Test-User."""

    def guard(request: Any) -> None:
        if request.headers.get("X-Test-User"):
            g.macaron_claims = {"sub": request.headers["X-Test-User"]}

    return guard


@dataclass
class System:
    api: Api
    service: Service
    env: dict[str, str]
    out: Path
    tmp: Path

    def worker(self, *args: str, name: str = "worker") -> Any:
        return worker_process(FIXTURES / "jobs", *FAST, *args, env=self.env, log_path=self.tmp / f"{name}.log")

    def lines(self, name: str) -> list[str]:
        path = self.out / name
        return path.read_text().splitlines() if path.exists() else []

    def enqueue(self, path: str, body: dict[str, Any], **kwargs: Any) -> str:
        response = self.api.post(path, json=body, **kwargs)
        assert response.status_code == 202, response.text
        return str(response.json()["job_id"])

    def wait(self, job_id: str, states: set[str], timeout: float = 30.0) -> tuple[dict[str, Any], set[str]]:
        """Poll the status endpoint until the job reaches one of ``states``; return it and all states seen."""
        seen: set[str] = set()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            body = self.api.get(f"/tasks/{job_id}").json()
            seen.add(body["state"])
            if body["state"] in states:
                return body, seen
            time.sleep(0.05)
        raise AssertionError(f"job {job_id} never reached {states}; last: {body}")


def wait_until(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")



def make_system(tmp_path: Path, redis_url: str) -> Iterator[System]:
    out = tmp_path / "out"
    env = {"MACARON_JOBS_OUT_DIR": str(out), "REDIS_URL": redis_url}
    service = Service.load(FIXTURES / "jobs", environ=env)
    attach(service, redis_url=redis_url)
    with serve_app(create_app(service, guard_factories=[claims_from_header])) as url:
        yield System(Api(url), service, env, out, tmp_path)


@pytest.fixture
def system(tmp_path: Path, clean_redis: str) -> Iterator[System]:
    yield from make_system(tmp_path, clean_redis)


def test_a_job_enqueued_by_an_endpoint_runs_in_a_worker_with_the_request_context(system: System) -> None:
    with system.worker("--queues", "default") as worker:
        job_id = system.enqueue("/echo", {"message": "hi"}, headers={"X-Request-ID": "req-ctx-1", "X-Test-User": "u-7"})
        state, _ = system.wait(job_id, {"finished", "failed"})
    assert (state["state"], state["attempts"], state["last_error"]) == ("finished", 1, None)
    assert state["result"] == {"echo": "hi", "request_id": "req-ctx-1", "user": "u-7"}
    task_lines = [e for e in worker.logs() if e.get("job_id") == job_id and e["logger"] == "macaron.service.jobs"]
    assert [e["message"] for e in task_lines] == ["task tasks.echo started (attempt 1)", "task tasks.echo finished"]
    assert all(e["request_id"] == "req-ctx-1" and e["user"] == "u-7" and e["service"] == "jobs" for e in task_lines)
    assert not any("arguments" in e or "u-7" in e.get("message", "") for e in worker.logs())
    # rq's own per-job lines (dequeued, completed, Job OK) would only repeat macaron's two
    assert not [e for e in worker.logs() if job_id in e.get("message", "") and e["logger"].startswith("rq")]


def test_retries_back_off_then_the_job_lands_in_the_failed_registry(system: System) -> None:
    with system.worker("--queues", "default"):
        flaky = system.enqueue("/echo", {"message": "flaky", "fail_times": 1})
        doomed = system.enqueue("/echo", {"message": "doomed", "fail_times": 9})
        flaky_state, flaky_seen = system.wait(flaky, {"finished", "failed"})
        doomed_state, _ = system.wait(doomed, {"finished", "failed"})
    assert (flaky_state["state"], flaky_state["attempts"]) == ("finished", 2)
    assert "retrying" in flaky_seen  # between the attempts it waited in the scheduled registry
    assert (doomed_state["state"], doomed_state["attempts"]) == ("failed", 3)  # retries=2
    assert doomed_state["last_error"] == "RuntimeError: flaky: attempt 3 of doomed"
    conn = connect(system.env["REDIS_URL"])
    assert doomed in FailedJobRegistry("jobs.default", connection=conn, serializer=JSONSerializer)
    job = Job.fetch(doomed, connection=conn, serializer=JSONSerializer)
    assert "RuntimeError: flaky: attempt 3 of doomed" in job.latest_result().exc_string
    attempts = [json.loads(line) for line in system.lines("echo.log")]
    assert [a["attempt"] for a in attempts if a["message"] == "doomed"] == [1, 2, 3]


def test_model_arguments_arrive_as_models_in_a_simple_worker(system: System) -> None:
    user = {"id": "u1", "email": "a@b.c", "address": {"city": "Paris", "zip": "75001"}, "tags": ["new"]}
    with system.worker("--queues", "default", "--simple"):
        state, _ = system.wait(system.enqueue("/users", user), {"finished", "failed"})
    assert state["state"] == "finished" and state["result"] == user
    seen = json.loads(system.lines("welcome.log")[0])
    assert seen == {"type": "User", "address": "Address", "email": "a@b.c", "tags": ["new"]}


def test_a_delayed_task_waits_in_the_scheduled_registry_then_runs(system: System) -> None:
    conn = connect(system.env["REDIS_URL"])
    with system.worker("--queues", "default"):
        job_id = system.enqueue("/delayed", {"message": "later", "seconds": 2})
        assert system.api.get(f"/tasks/{job_id}").json()["state"] == "queued"
        assert job_id in ScheduledJobRegistry("jobs.default", connection=conn, serializer=JSONSerializer)
        state, _ = system.wait(job_id, {"finished", "failed"})
    assert state["state"] == "finished"
    job = Job.fetch(job_id, connection=conn, serializer=JSONSerializer)
    assert job.started_at >= job.created_at + timedelta(seconds=1)  # rq schedules to the whole second


@pytest.mark.parametrize("moment", ["lock_taken", "scheduler_registered"])
def test_a_worker_restarted_after_a_sigkill_runs_scheduled_jobs_at_once(system: System, moment: str) -> None:
    """Regression (chaos scenarios 3 and 4): a SIGKILLed worker's scheduler kept its lock for 61 s,
    so after a restart every retry and delayed job waited up to a minute for the lock to expire.
    Killed as soon as it holds the lock, its scheduler has not yet said who it is (a CI flake)."""
    conn = connect(system.env["REDIS_URL"])
    lock = "rq:scheduler-lock:jobs.default"
    first = system.worker("--queues", "default").start()
    wait_until(lambda: conn.get(lock) is not None, "the scheduler lock")
    if moment == "scheduler_registered":
        holder = conn.get(lock).decode()
        wait_until(lambda: conn.hget(f"rq:scheduler:{holder}", "pid") not in (None, b"0"), "its scheduler")
    first.kill()
    with system.worker("--queues", "default", name="second") as second:
        job_id = system.enqueue("/delayed", {"message": "later", "seconds": 1})
        state, _ = system.wait(job_id, {"finished", "failed"}, timeout=20)
        assert state["state"] == "finished"
        assert any("released the scheduler lock" in e.get("message", "") for e in second.logs())


def test_a_lock_held_under_this_processs_own_pid_is_an_earlier_life_and_is_freed(system: System) -> None:
    """A restarted container keeps its hostname and its processes get the same low PIDs again:
    a lock naming this host and our own pid was taken by the previous incarnation."""
    import socket

    from macaron.tasks._worker import release_dead_scheduler_locks

    conn = connect(system.env["REDIS_URL"])
    mine, other = (f"{'a' * 32}@{socket.gethostname()}:{os.getpid()}", f"{'b' * 32}@{socket.gethostname()}:1")
    conn.set("rq:scheduler-lock:jobs.default", mine, ex=60)
    conn.set("rq:scheduler-lock:jobs.slow", other, ex=60)  # pid 1 (init) is alive: left alone
    release_dead_scheduler_locks(conn, ["jobs.default", "jobs.slow"], system.service)
    assert conn.get("rq:scheduler-lock:jobs.default") is None
    assert conn.get("rq:scheduler-lock:jobs.slow").decode() == other


def test_a_live_schedulers_lock_is_left_alone(system: System) -> None:
    conn = connect(system.env["REDIS_URL"])
    lock = "rq:scheduler-lock:jobs.default"
    with system.worker("--queues", "default"):
        wait_until(lambda: conn.get(lock) is not None, "the scheduler lock")
        holder = conn.get(lock)
        with system.worker("--queues", "default", name="second") as second:
            job_id = system.enqueue("/delayed", {"message": "later", "seconds": 1})
            state, _ = system.wait(job_id, {"finished", "failed"}, timeout=20)
            assert state["state"] == "finished" and conn.get(lock) == holder
            assert not any("released the scheduler lock" in e.get("message", "") for e in second.logs())


def test_sigterm_lets_the_current_job_finish_before_the_worker_exits(system: System) -> None:
    worker = system.worker("--queues", "slow").start()
    try:
        job_id = system.enqueue("/slow", {"message": "m", "seconds": 1.5})
        wait_until(lambda: "begin m" in system.lines("slow.log"), "the slow job to start")
        worker.popen.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
    finally:
        worker.terminate()
    assert system.lines("slow.log") == ["begin m", "end m"]
    assert system.api.get(f"/tasks/{job_id}").json()["state"] == "finished"


def test_a_job_of_a_sigkilled_worker_is_rerun_and_its_side_effect_happens_once(system: System) -> None:
    first = system.worker("--queues", "crash", name="first").start()
    try:
        job_id = system.enqueue("/charges", {"order_id": "o-1", "hold": 60})
        attempt = wait_until(lambda: system.lines("charge-attempts.log"), "the charge to happen")
        horse = json.loads(attempt[0])["pid"]
        first.kill()  # the worker and its scheduler...
        os.kill(horse, signal.SIGKILL)  # ...and the work horse running the job: a machine lost mid-job
    finally:
        first.terminate()
    assert system.api.get(f"/tasks/{job_id}").json()["state"] == "started"
    with system.worker("--queues", "crash", name="second") as second:
        state, _ = system.wait(job_id, {"finished", "failed"})
        again = system.enqueue("/charges", {"order_id": "o-1"})  # same idempotency key, after success
        again_state, _ = system.wait(again, {"finished", "failed"})
    assert (state["state"], state["attempts"], state["result"]) == ("finished", 2, {"charged": "o-1"})
    assert system.lines("charges.log") == ["o-1"]  # charged once, though the job ran twice
    assert [json.loads(line)["attempt"] for line in system.lines("charge-attempts.log")] == [1, 2]
    assert (again_state["state"], again_state["result"]) == ("finished", {"charged": "o-1"})
    messages = [e["message"] for e in second.logs()]
    assert any(m.startswith("re-running macaron:idem:jobs:charge:o-1") for m in messages)
    assert any(m.startswith("skipped macaron:idem:jobs:charge:o-1:step:charge") for m in messages)
    assert any(m.startswith("skipped macaron:idem:jobs:charge:o-1: already done") for m in messages)


def test_redis_down_is_a_fast_503_then_recovery_loses_no_accepted_job(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "redis").start()
    try:
        for system in make_system(tmp_path, server.url):
            accepted = [system.enqueue("/echo", {"message": f"before-{i}"}) for i in range(3)]
            server.stop()
            refused = system.api.post("/echo", json={"message": "during"})
            assert_problem(refused, 503, "QUEUE_UNAVAILABLE")
            assert refused.headers["Retry-After"] == "5"
            assert_problem(system.api.get(f"/tasks/{accepted[0]}"), 503, "QUEUE_UNAVAILABLE")
            ping = system.api.get("/ping")
            assert (ping.status_code, ping.json()) == (200, {"degraded": ["redis"]})
            server.start()
            accepted.append(system.enqueue("/echo", {"message": "after"}))
            wait_until(lambda: system.api.get("/ping").json() == {}, "/ping to recover")  # noqa: B023
            worker = system.worker("--queues", "default", "--burst").start()
            assert worker.wait(timeout=60) == 0
            assert [system.api.get(f"/tasks/{j}").json()["state"] for j in accepted] == ["finished"] * 4
            messages = [json.loads(line)["message"] for line in system.lines("echo.log")]
            assert sorted(messages) == ["after", "before-0", "before-1", "before-2"]
    finally:
        server.close()


def test_a_running_worker_survives_a_redis_outage_and_works_on_after_it(tmp_path: Path) -> None:
    """Regression (chaos scenario 2): rq's work loop quits on a connection error met outside its
    dequeue (finishing a job, the heartbeat), so a worker busy when Redis went away exited and
    every job accepted after Redis came back waited for a restart that never came."""
    server = RedisServer(tmp_path / "redis").start()
    try:
        for system in make_system(tmp_path, server.url):
            with system.worker("--queues", "default,slow") as worker:
                system.enqueue("/slow", {"message": "m", "seconds": 1.5})
                wait_until(lambda: "begin m" in system.lines("slow.log"), "the slow job to start")  # noqa: B023
                server.stop()
                time.sleep(3)
                server.start()
                after = system.enqueue("/echo", {"message": "after"})
                system.wait(after, {"finished"}, timeout=30)
                assert worker.popen is not None and worker.popen.poll() is None  # the same process
    finally:
        server.close()


def test_dev_runs_one_worker_per_service_that_declares_tasks(tmp_path: Path) -> None:
    import shutil

    for name in ("jobs", "shop"):
        shutil.copytree(FIXTURES / name, tmp_path / "services" / name)
    procs = worker_procs(tmp_path)
    assert [p.name for p in procs] == ["jobs-worker"]
    assert procs[0].argv[-3:] == ["macaron", "worker", str(tmp_path / "services" / "jobs")]


def test_dev_starts_redis_and_a_worker_and_stops_them_on_ctrl_c(tmp_path: Path) -> None:
    import shutil
    import subprocess
    import sys

    import requests
    from macaron._local.ports import free_port

    service_dir = tmp_path / "services" / "jobs"
    shutil.copytree(FIXTURES / "jobs", service_dir)
    port = free_port()
    (service_dir / "service.yaml").write_text(f"port: {port}\nout_dir: {tmp_path / 'out'}\n")
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    dev = subprocess.Popen([sys.executable, "-m", "macaron", "dev", "--root", str(tmp_path)], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        lines: list[str] = []
        while not any("Ctrl-C stops everything" in line for line in lines):
            line = dev.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
        redis_url = next(line.split()[1] for line in lines if line.strip().startswith("redis "))
        base = f"http://127.0.0.1:{port}"
        job_id = requests.post(f"{base}/echo", json={"message": "dev"}, timeout=5).json()["job_id"]
        wait_until(lambda: requests.get(f"{base}/tasks/{job_id}", timeout=5).json()["state"] == "finished",
                   "the dev worker to run the job")
        os.killpg(dev.pid, signal.SIGINT)
        dev.communicate(timeout=30)
        assert dev.returncode == 0
        with pytest.raises(redis.exceptions.ConnectionError):  # Redis went down with the dev system
            connect(redis_url, fast=True).ping()
        assert (tmp_path / ".dev" / "redis" / "appendonly.aof").exists()
    finally:
        if dev.poll() is None:
            os.killpg(dev.pid, signal.SIGKILL)
            dev.wait()


def test_the_worker_command_explains_what_is_missing(tmp_path: Path) -> None:
    import subprocess
    import sys

    def run(directory: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        base = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
        return subprocess.run([sys.executable, "-m", "macaron", "worker", str(directory)], env={**base, **env},
                              capture_output=True, text=True, timeout=60)

    no_tasks = run(FIXTURES / "shop", {"SHOP_API_KEY": "k", "REDIS_URL": "redis://127.0.0.1:1/0"})
    assert no_tasks.returncode == 2 and "service 'shop' declares no tasks" in no_tasks.stderr
    no_redis = run(FIXTURES / "jobs", {"MACARON_JOBS_OUT_DIR": str(tmp_path)})
    assert no_redis.returncode == 2 and "REDIS_URL is not set" in no_redis.stderr
