"""A forking worker builds the store's client once, before it forks: each job's work horse inherits
it. Before, every job on DynamoDB built its own boto3 client (loading the service model again):
245 ms of CPU per mail job against 36 ms on SQLite (benchmarks/instance_cost.py, docs/scaling.md)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from macaron import Service
from macaron._local.motoserver import FAKE_AWS, MotoServer
from macaron.tasks import status
from macaron.tasks._runtime import attach
from macaron.testing import worker_process

from ..conftest import FIXTURES
from .test_worker import FAST


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    with MotoServer() as server:
        yield server.url


def test_each_job_inherits_the_store_client_of_its_worker(clean_redis: str, moto_url: str, tmp_path: Path) -> None:
    env = {**FAKE_AWS, "REDIS_URL": clean_redis, "MACARON_JOBS_OUT_DIR": str(tmp_path),
           "MACARON_JOBS_STORE__BACKEND": "dynamodb", "MACARON_JOBS_STORE__ENDPOINT_URL": moto_url,
           "MACARON_JOBS_STORE__REGION": "us-east-1"}
    service = Service.load(FIXTURES / "jobs", environ=env)
    runtime = attach(service, redis_url=clean_redis)
    store_ready = runtime.lookup("tasks.store_ready")
    with worker_process(FIXTURES / "jobs", *FAST, "--queues", "default", env=env, log_path=tmp_path / "w.log"):
        handles = [store_ready.bind(service).delay() for _ in range(2)]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and any(status(h.id, service=service).state != "finished" for h in handles):
            time.sleep(0.1)
    assert [status(h.id, service=service).result for h in handles] == [True, True]
