"""Running a service's tests from the deploy: its own suite, and its acceptance tests
against a URL (the local smoke server, a new environment, live).

Acceptance tests live in ``services/<name>/tests/acceptance/`` and read their target from
``MACARON_TEST_URL`` (and ``MACARON_TEST_URL_<SERVICE>``). Before them, the deploy checks the
built-ins itself: ``/ping`` answers 200 with a JSON object and ``/version`` names the service.
A service without acceptance tests yet gets those checks only, and the output says so.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .._core.config import env_key

NO_TESTS = 5  # pytest's exit status when nothing was collected


@dataclass(frozen=True)
class Outcome:
    ok: bool
    summary: str
    output: str = ""

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.output.rstrip().splitlines()[-lines:])


def clean_environ(root: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The current environment without test targets (so nothing hits a stale URL), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MACARON_TEST_URL")}
    env.setdefault("MACARON_ROOT", str(root))
    env.update(extra or {})
    return env


def run_pytest(root: Path, args: Sequence[str], *, env: Mapping[str, str], python: str = sys.executable,
               timeout: float = 1800) -> Outcome:
    """``python -m pytest -q args`` in ``root``; ok when it passes or collects nothing."""
    argv = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args]
    try:
        done = subprocess.run(argv, cwd=root, env=dict(env), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return Outcome(False, f"pytest did not finish within {timeout:.0f} s")
    output = done.stdout + done.stderr
    last = next((ln.strip(" =") for ln in reversed(done.stdout.splitlines()) if ln.strip()), "")
    if done.returncode == 0:
        return Outcome(True, last or "passed", output)
    if done.returncode == NO_TESTS:
        return Outcome(True, "no tests collected", output)
    return Outcome(False, last or f"pytest exited with status {done.returncode}", output)


def check_builtins(url: str, service: str, timeout: float = 10.0) -> str | None:
    """None when ``/ping`` and ``/version`` answer as every macaron service must; else what is wrong."""
    import requests

    try:
        ping = requests.get(f"{url}/ping", timeout=timeout)
        if ping.status_code != 200 or not isinstance(ping.json(), dict):
            return f"GET {url}/ping answered {ping.status_code}: {ping.text[:200]!r}"
        version = requests.get(f"{url}/version", timeout=timeout)
        name = version.json().get("name") if version.status_code == 200 else None
    except (requests.RequestException, ValueError) as exc:
        return f"{url} did not answer as a macaron service: {type(exc).__name__}: {exc}"
    if name != service:
        return f"GET {url}/version answered {version.status_code} naming {name!r}, expected service {service!r}"
    return None


def acceptance_dir(root: Path, service: str) -> Path:
    return root / "services" / service / "tests" / "acceptance"


def run_acceptance(root: Path, service: str, url: str, *, env: Mapping[str, str] | None = None,
                   pytest_args: Sequence[str] = (), python: str = sys.executable) -> Outcome:
    """The built-in checks, then the service's acceptance tests, against ``url``."""
    problem = check_builtins(url, service)
    if problem:
        return Outcome(False, problem)
    tests = acceptance_dir(root, service)
    if not tests.is_dir() or not any(tests.rglob("test_*.py")):
        rel = tests.relative_to(root).as_posix()
        return Outcome(True, f"/ping and /version OK; no acceptance tests in {rel}/ yet, so none ran")
    target = {"MACARON_TEST_URL": url, f"MACARON_TEST_URL_{env_key(service)}": url}
    run = run_pytest(root, [str(tests), *pytest_args], env={**(env or clean_environ(root)), **target}, python=python)
    if run.ok and run.summary == "no tests collected":
        return Outcome(True, f"/ping and /version OK; {tests.relative_to(root).as_posix()}/ collected no tests",
                       run.output)
    return Outcome(run.ok, f"/ping and /version OK; acceptance: {run.summary}", run.output)
