"""Watching the queues from the web tier: /metrics gauges per queue, /ping's redis check."""

from __future__ import annotations

from pathlib import Path

from macaron import Service, create_app
from macaron._local.redis import RedisServer
from macaron.tasks._runtime import attach
from macaron.testing import Api, serve_app

from ..conftest import FIXTURES


def load(directory: Path, out: Path) -> Service:
    return Service.load(directory, environ={"MACARON_JOBS_OUT_DIR": str(out)})


def test_metrics_show_depth_and_scheduled_per_queue(tmp_path: Path, clean_redis: str) -> None:
    service = load(FIXTURES / "jobs", tmp_path)
    runtime = attach(service, redis_url=clean_redis)
    echo = runtime.tasks["tasks.echo"]
    echo.bind(service).delay("a")
    echo.bind(service).delay("b")
    echo.with_options(delay=60).bind(service).delay("later")
    runtime.tasks["tasks.slow"].bind(service).delay("s")
    assert runtime.counts()["jobs.default"] == {"depth": 2, "started": 0, "failed": 0, "scheduled": 1}
    with serve_app(create_app(service)) as url:
        text = Api(url).get("/metrics").text
    assert 'macaron_task_queue_depth{queue="jobs.default",service="jobs"} 2.0' in text
    assert 'macaron_task_queue_depth{queue="jobs.slow",service="jobs"} 1.0' in text
    assert 'macaron_task_scheduled{queue="jobs.default",service="jobs"} 1.0' in text
    assert 'macaron_task_failed{queue="jobs.crash",service="jobs"} 0.0' in text
    assert 'macaron_task_redis_up{service="jobs"} 1.0' in text


def test_ping_and_metrics_stay_up_and_say_degraded_without_redis(tmp_path: Path) -> None:
    server = RedisServer().start()
    service = load(FIXTURES / "jobs", tmp_path)
    attach(service, redis_url=server.url)
    try:
        with serve_app(create_app(service)) as url:
            api = Api(url)
            server.stop()
            ping = api.get("/ping")
            assert (ping.status_code, ping.json()) == (200, {"degraded": ["redis"]})
            metrics = api.get("/metrics")
            assert metrics.status_code == 200 and 'macaron_task_redis_up{service="jobs"} 0.0' in metrics.text
            assert "macaron_task_queue_depth{" not in metrics.text
    finally:
        server.close()
