"""macaron.deploy._acceptance: built-in checks and acceptance tests against a URL; pytest runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from macaron import Service, create_app
from macaron.deploy._acceptance import check_builtins, clean_environ, run_acceptance, run_pytest
from macaron.testing import serve_app

from ..fixtures.deploy import support

repo = support.module_repo  # fixture: pytest finds it by this name


@pytest.fixture(scope="module")
def hello_url(repo: Path) -> Iterator[str]:
    service = Service.load(repo / "services" / "hello", environ={"HELLO_GREETING_KEY": "k"})
    with serve_app(create_app(service)) as url:
        yield url


def impostor(environ: dict, start_response) -> list[bytes]:
    """Answers /ping and /version like a macaron service named hello, and nothing else."""
    bodies = {"/ping": b"{}", "/version": b'{"name": "hello", "version": "1", "env": "x", "apis": []}'}
    body = bodies.get(environ["PATH_INFO"])
    start_response("200 OK" if body else "404 Not Found", [("Content-Type", "application/json")])
    return [body or b'{"code": "NOT_FOUND"}']


def broken(environ: dict, start_response) -> list[bytes]:
    start_response("503 Service Unavailable", [("Content-Type", "text/html")])
    return [b"<h1>nginx</h1>"]


def test_the_builtins_of_a_real_service_pass(hello_url: str) -> None:
    assert check_builtins(hello_url, "hello") is None


def test_the_builtins_name_what_is_wrong(hello_url: str) -> None:
    assert "naming 'hello', expected service 'mail'" in check_builtins(hello_url, "mail")
    with serve_app(broken) as url:
        assert f"GET {url}/ping answered 503" in check_builtins(url, "hello")


def test_acceptance_tests_run_against_the_url(repo: Path, hello_url: str) -> None:
    outcome = run_acceptance(repo, "hello", hello_url)
    assert outcome.ok and outcome.summary.startswith("/ping and /version OK; acceptance: 1 passed")


def test_failing_acceptance_tests_fail_with_their_output(repo: Path) -> None:
    with serve_app(impostor) as url:
        outcome = run_acceptance(repo, "hello", url)
    assert not outcome.ok and "1 failed" in outcome.summary
    assert "test_hello_answers" in outcome.tail()


def test_a_service_without_acceptance_tests_says_so(tmp_path: Path) -> None:
    bare = support.make_repo(tmp_path, acceptance=False)
    service = Service.load(bare / "services" / "hello", environ={"HELLO_GREETING_KEY": "k"})
    with serve_app(create_app(service)) as url:
        outcome = run_acceptance(bare, "hello", url)
    assert outcome.ok
    assert outcome.summary == ("/ping and /version OK; no acceptance tests in services/hello/tests/acceptance/ yet, "
                               "so none ran")


def test_pytest_runs_report_their_summary(repo: Path) -> None:
    passed = run_pytest(repo, ["services/hello/tests/test_hello.py"], env=clean_environ(repo))
    assert passed.ok and passed.summary.startswith("1 passed")
    empty = run_pytest(repo, ["services/hello/tests/test_hello.py", "-k", "nothing_matches"], env=clean_environ(repo))
    assert empty.ok and empty.summary == "no tests collected"
    missing = run_pytest(repo, ["services/hello/tests/test_missing.py"], env=clean_environ(repo))
    assert not missing.ok


def test_test_targets_never_leak_into_runs(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MACARON_TEST_URL_HELLO", "http://stale.example")
    env = clean_environ(repo, {"EXTRA": "1"})
    assert "MACARON_TEST_URL_HELLO" not in env and env["EXTRA"] == "1" and env["MACARON_ROOT"]
