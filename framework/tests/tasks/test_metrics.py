"""Queue depth and oldest job age to CloudWatch from the worker tier (``tasks/_metrics.py``),
against moto in server mode on 127.0.0.1 (never AWS): what one publish sends, and a real
``macaron worker --metrics-namespace`` publishing while its queue has a backlog."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from macaron._local.motoserver import FAKE_AWS, MotoServer
from macaron.tasks._metrics import QueueMetrics, metric_data, sample
from macaron.tasks._redis import connect

from .test_worker import FAST, System, make_system, wait_until


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    with MotoServer() as server:
        yield server.url


@pytest.fixture
def cloudwatch(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    for name, value in FAKE_AWS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDWATCH", moto_url)
    return boto3.client("cloudwatch", region_name="us-east-1", endpoint_url=moto_url)


@pytest.fixture
def system(tmp_path: Path, clean_redis: str) -> Iterator[System]:
    yield from make_system(tmp_path, clean_redis)


def maximum(cloudwatch: Any, namespace: str, name: str, **dimensions: str) -> float | None:
    stats = cloudwatch.get_metric_statistics(
        Namespace=namespace, MetricName=name, Statistics=["Maximum"], Period=60,
        Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
        StartTime=datetime.now(UTC) - timedelta(minutes=10), EndTime=datetime.now(UTC) + timedelta(minutes=1))
    points = stats["Datapoints"]
    return max(p["Maximum"] for p in points) if points else None


def test_depth_and_oldest_age_per_queue_and_for_the_service(system: System, cloudwatch: Any) -> None:
    conn = connect(system.env["REDIS_URL"])
    for i in range(3):  # no worker runs: they wait
        system.enqueue("/slow", {"message": f"m{i}", "seconds": 0})
    time.sleep(1.1)
    counts = sample(conn, ["jobs.slow", "jobs.default"])
    assert counts["jobs.default"] == (0, 0.0)
    depth, age = counts["jobs.slow"]
    assert depth == 3 and age >= 1.0
    data = metric_data("jobs", counts)
    service_only = [d for d in data if d["Dimensions"] == [{"Name": "Service", "Value": "jobs"}]]
    assert {d["MetricName"]: d["Value"] for d in service_only} == {"QueueDepth": 3.0, "OldestJobAge": age}
    assert {d["Unit"] for d in data} == {"Count", "Seconds"} and len(data) == 6

    publisher = QueueMetrics(system.service, ["jobs.default", "jobs.slow"], "macaron-test-unit", client=cloudwatch)
    publisher.publish(conn)
    assert maximum(cloudwatch, "macaron-test-unit", "QueueDepth", Service="jobs", Queue="jobs.slow") == 3.0
    assert maximum(cloudwatch, "macaron-test-unit", "QueueDepth", Service="jobs") == 3.0
    assert maximum(cloudwatch, "macaron-test-unit", "OldestJobAge", Service="jobs")  >= 1.0


def test_a_worker_publishes_its_queue_while_it_works(system: System, cloudwatch: Any, moto_url: str) -> None:
    env = {**system.env, **FAKE_AWS, "AWS_ENDPOINT_URL_CLOUDWATCH": moto_url}
    from macaron.testing import worker_process

    from ..conftest import FIXTURES

    for i in range(4):  # one runs 2 s, the others wait behind it
        system.enqueue("/slow", {"message": f"s{i}", "seconds": 2})
    worker = worker_process(FIXTURES / "jobs", *FAST, "--queues", "slow", "--metrics-namespace", "macaron-test-worker",
                            "--metrics-interval", "1", env=env, log_path=system.tmp / "metrics-worker.log")
    with worker:
        wait_until(lambda: (maximum(cloudwatch, "macaron-test-worker", "QueueDepth", Service="jobs") or 0) >= 2,
                   "a published backlog", timeout=60)
    assert (maximum(cloudwatch, "macaron-test-worker", "OldestJobAge", Service="jobs", Queue="jobs.slow") or 0) > 0
    assert not any("not published" in e.get("message", "") for e in worker.logs())


def test_a_failed_publish_is_logged_and_the_worker_works_on(system: System) -> None:
    class Refusing:
        def put_metric_data(self, **kwargs: Any) -> None:
            raise RuntimeError("no route to CloudWatch")

    conn = connect(system.env["REDIS_URL"])
    publisher = QueueMetrics(system.service, ["jobs.default"], "ns", client=Refusing(), interval=1)
    from macaron.testing import capture_logs

    with capture_logs(system.service) as logs:
        publisher.tick(conn)
        publisher._next = 0
        publisher.tick(conn)  # a second failure within 10 minutes is not logged again
    assert [r["message"] for r in logs.records if "not published" in r["message"]] == [
        "queue metrics not published to CloudWatch: RuntimeError: no route to CloudWatch"]
