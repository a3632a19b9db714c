"""Fuzzing every service of a repository: ``macaron fuzz`` and the helpers tests call.

In process, each service's WSGI app is fuzzed inside an :class:`InProcessSystem` (its fakes,
siblings and Redis wired as in production); live, each service of a running system is fuzzed
over HTTP with a token minted from its config (see :class:`macaron.testing.SystemUnderTest`).
"""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any, TextIO

from .._local.dev import discover_services
from ._fuzz import FuzzReport, fetch_spec, fuzz_app, fuzz_url, required_scopes
from ._inprocess import InProcessSystem
from ._sut import SystemUnderTest
from ._system import LocalSystem


def fuzz_in_process(directory: str | Path, *, seed: int = 0, max_examples: int = 20,
                    max_time: int | None = None) -> FuzzReport:
    """Fuzz the service in ``directory`` through its WSGI app, with the rest of its repository
    (``<directory>/../..``) running in this process."""
    directory = Path(directory).resolve()
    with InProcessSystem(directory.parent.parent, env={"MACARON_LOG_LEVEL": "WARNING"}) as system:
        [service] = [s for s in system.services.values() if s.directory == directory]
        return fuzz_app(service, system.apps[service.name], seed=seed, max_examples=max_examples, max_time=max_time)


def fuzz_target(system: Any, service: str, *, seed: int = 0, max_examples: int = 20,
                max_time: int | None = None) -> FuzzReport:
    """Fuzz ``service`` of a :class:`SystemUnderTest` (local, staging or live) over HTTP."""
    url = system.url(service)
    scopes = required_scopes(fetch_spec(url))
    token = system.token(service, "fuzzer", scopes=scopes) if scopes is not None else None
    return fuzz_url(url, token=token, seed=seed, max_examples=max_examples, max_time=max_time, name=service)


def run_fuzz(root: Path, *, services: list[str] | None = None, seed: int | None = None, max_examples: int = 100,
             live: bool = True, min_cases: int = 0, max_time: int | None = 60, out: TextIO | None = None) -> int:
    """Fuzz every service (or ``services``) in process and, with ``live``, in a LocalSystem; print each
    report; 1 when any run failed or generated fewer than ``min_cases`` cases."""
    out = out or sys.stdout
    seed = random.randrange(2**32) if seed is None else seed
    print(f"macaron fuzz: seed {seed}, up to {max_examples} examples per operation and phase", file=out, flush=True)
    directories = [d for d in discover_services(root) if not services or d.name in services]
    reports = [fuzz_in_process(d, seed=seed, max_examples=max_examples, max_time=max_time) for d in directories]
    if live:
        with LocalSystem(root) as local:
            system = SystemUnderTest(root, local.urls, local=local)
            names = [r.service for r in reports]
            reports += [fuzz_target(system, n, seed=seed, max_examples=max_examples, max_time=max_time)
                        for n in names]
    failed = False
    for report in reports:
        print(report.summary(), file=out, flush=True)
        if not report.ok or report.cases < min_cases:
            failed = True
            if report.cases < min_cases:
                print(f"  FAILED: {report.cases} cases, fewer than the {min_cases} required", file=out)
    print(f"macaron fuzz: {sum(r.cases for r in reports)} cases, "
          f"{sum(len(r.failures) + len(r.errors) for r in reports)} failures (seed {seed})", file=out, flush=True)
    return 1 if failed else 0
