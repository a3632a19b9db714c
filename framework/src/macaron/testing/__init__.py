"""Test helpers: serve apps over real HTTP on 127.0.0.1, call endpoints, check problems; whole
local systems (:class:`LocalSystem` on free ports, :class:`InProcessSystem` in one process);
fuzzing; and the pytest plugin (:mod:`macaron.testing.plugin`).

The same helpers serve the framework's own tests and services' acceptance tests,
which take their target from ``MACARON_TEST_URL_<SERVICE>`` so they run unchanged
against a local system, staging or live.

Rule: may import every runtime package and ``_local``; ``deploy`` and ``_cli`` build on it.
The helpers live in private modules (``_http``, ``_sut``, ``_system``, ``_inprocess``, ``_helpers``).
"""

from .._local.ports import free_port
from .._local.redis import RedisServer
from ._helpers import (
    body_parser,
    dev_environ,
    fuzz_in_process,
    fuzz_target,
    queue_unreachable,
    redis_for_tests,
    run_jobs,
    worker_process,
)
from ._http import Api, LogCapture, assert_problem, capture_logs, serve_app
from ._inprocess import InProcessSystem
from ._sut import SystemUnderTest, ThisService
from ._system import LocalSystem

__all__ = [
    "Api",
    "InProcessSystem",
    "LocalSystem",
    "LogCapture",
    "RedisServer",
    "SystemUnderTest",
    "ThisService",
    "assert_problem",
    "body_parser",
    "capture_logs",
    "dev_environ",
    "free_port",
    "fuzz_in_process",
    "fuzz_target",
    "queue_unreachable",
    "redis_for_tests",
    "run_jobs",
    "serve_app",
    "worker_process",
]


