"""Throughput of 1,000 trivial tasks through ``macaron.tasks`` vs raw rq, enqueue → all done.

Both sides use the same private redis-server, the same worker class (rq's SimpleWorker, in
burst mode, in this process) and the JSON serializer; both log at INFO to /dev/null (rq's plain
lines vs macaron's JSON lines). ``value`` = macaron jobs/s ÷ rq jobs/s (1.0 = no overhead).

Run alone: ``python benchmarks/tasks_vs_rq.py [--quick] [--jobs N]``; ``benchmarks/run.py`` calls
:func:`measure`.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))


def noop(i: int) -> int:
    """The raw rq contender's job."""
    return i


def _quiet_rq(handler: logging.Handler) -> None:
    logger = logging.getLogger("rq")
    for old in list(logger.handlers):
        logger.removeHandler(old)
    logger.addHandler(handler)
    logger.setLevel("INFO")
    logger.propagate = False


def _raw_rq(url: str, jobs: int, devnull: Any) -> dict[str, float]:
    from redis import Redis
    from rq import Queue, SimpleWorker
    from rq.serializers import JSONSerializer

    handler = logging.StreamHandler(devnull)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    _quiet_rq(handler)
    conn = Redis.from_url(url)
    queue = Queue("raw.default", connection=conn, serializer=JSONSerializer)
    start, cpu = time.perf_counter(), time.process_time()
    for i in range(jobs):
        queue.enqueue_call("tasks_vs_rq.noop", args=(i,), description="raw:noop")
    enqueued = time.perf_counter()
    SimpleWorker([queue], connection=conn, serializer=JSONSerializer).work(burst=True, logging_level="INFO")
    done = time.perf_counter()
    assert queue.finished_job_registry.get_job_count(cleanup=False) >= jobs
    return {"enqueue_s": enqueued - start, "total_s": done - start, "cpu_s": time.process_time() - cpu}


def _macaron(url: str, jobs: int, devnull: Any) -> dict[str, float]:
    from macaron import Service
    from macaron.testing import run_jobs
    from redis import Redis
    from rq import Queue

    service = Service.load(HERE / "tasks_service", environ={**os.environ, "REDIS_URL": url})
    for old in list(logging.getLogger("rq").handlers):  # the rq round's plain handler must not log twice
        logging.getLogger("rq").removeHandler(old)
    noop_task = service.resolve("tasks.noop", where="benchmark").bind(service)
    start, cpu = time.perf_counter(), time.process_time()
    for i in range(jobs):
        noop_task.delay(i)
    enqueued = time.perf_counter()
    run_jobs(service, url, log_stream=devnull)  # the service's own JSON lines: /dev/null here
    done = time.perf_counter()
    finished = Queue(f"{service.name}.default", connection=Redis.from_url(url)).finished_job_registry
    assert finished.get_job_count(cleanup=False) >= jobs
    return {"enqueue_s": enqueued - start, "total_s": done - start, "cpu_s": time.process_time() - cpu}


def measure(quick: bool = False, jobs: int = 1000, rounds: int | None = None) -> dict[str, Any]:
    """``{"value": ratio, ...}``: macaron's enqueue→done throughput over raw rq's, same run.

    Each round times both (the order alternates); ``value`` is the median of the per-round
    ratios, which cancels the drift of a shared machine. ``cpu_ratio`` compares the client
    process's CPU time (Redis's own work is the same for both).
    """
    from macaron.testing import RedisServer
    from redis import Redis

    rounds = rounds or (3 if quick else 9)
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    samples: dict[str, list[dict[str, float]]] = {"rq": [], "macaron": []}
    contenders = [("rq", _raw_rq), ("macaron", _macaron)]
    with open(os.devnull, "w") as devnull, RedisServer() as server, contextlib.redirect_stderr(devnull):
        try:
            for round_no in range(rounds):
                for name, run in contenders if round_no % 2 == 0 else contenders[::-1]:
                    Redis.from_url(server.url).flushall()
                    samples[name].append(run(server.url, jobs, devnull))
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def ratio(key: str) -> float:
        return statistics.median(r[key] / m[key] for r, m in zip(samples["rq"], samples["macaron"], strict=True))

    def rate(name: str, key: str) -> float:
        return jobs / statistics.median(s[key] for s in samples[name])

    return {
        "value": ratio("total_s"),
        "jobs": jobs,
        "rounds": rounds,
        "cpu_ratio": ratio("cpu_s"),
        "enqueue_ratio": ratio("enqueue_s"),
        "macaron_jobs_per_s": rate("macaron", "total_s"),
        "rq_jobs_per_s": rate("rq", "total_s"),
        "macaron_enqueue_per_s": rate("macaron", "enqueue_s"),
        "rq_enqueue_per_s": rate("rq", "enqueue_s"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args()
    result = measure(args.quick, args.jobs, args.rounds)
    for key, value in result.items():
        print(f"{key:<24} {value:.3f}" if isinstance(value, float) else f"{key:<24} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
