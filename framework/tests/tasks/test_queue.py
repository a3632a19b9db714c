"""The task runtime of a service: discovery, queue names, a broken tasks module."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from macaron import ConfigError, Service, create_app
from macaron.tasks._queue import declares_tasks, task_name
from macaron.tasks._runtime import attach

from ..conftest import FIXTURES


def load(directory: Path, out: Path) -> Service:
    return Service.load(directory, environ={"MACARON_JOBS_OUT_DIR": str(out)})


def test_tasks_are_discovered_with_names_relative_to_the_service(tmp_path: Path) -> None:
    service = load(FIXTURES / "jobs", tmp_path)
    runtime = attach(service)
    assert sorted(runtime.tasks) == ["tasks.charge", "tasks.echo", "tasks.slow", "tasks.store_ready", "tasks.welcome"]
    assert runtime.queue_names() == ["jobs.default", "jobs.crash", "jobs.slow"]
    assert runtime.queue_names(["slow"]) == ["jobs.slow"]
    assert runtime.lookup("tasks.echo") is runtime.tasks["tasks.echo"]
    with pytest.raises(LookupError):
        runtime.lookup("handlers.getTask")  # importable, but not a @task
    assert declares_tasks(FIXTURES / "jobs") and not declares_tasks(FIXTURES / "shop")
    with pytest.raises(ConfigError, match="not defined in a module of service 'jobs'"):
        task_name(service, test_tasks_are_discovered_with_names_relative_to_the_service)


def test_a_copied_service_under_another_name_has_its_own_queues(tmp_path: Path) -> None:
    copy = tmp_path / "jobs-copy"  # the name is the directory's
    shutil.copytree(FIXTURES / "jobs", copy)
    original, copied = attach(load(FIXTURES / "jobs", tmp_path)), attach(load(copy, tmp_path))
    assert set(original.queue_names()).isdisjoint(copied.queue_names())
    assert copied.queue_names()[0] == "jobs-copy.default"


def test_a_broken_tasks_module_stops_the_service_with_a_clear_error(tmp_path: Path) -> None:
    copy = tmp_path / "broken"
    shutil.copytree(FIXTURES / "jobs", copy)
    (copy / "tasks.py").write_text("raise ValueError('oops')\n")
    (copy / "handlers.py").write_text("def __getattr__(name):\n    return lambda **kw: {}\n")
    with pytest.raises(ConfigError, match="importing the tasks module failed: ValueError: oops"):
        create_app(load(copy, tmp_path))


def test_redis_url_comes_from_the_environment_the_service_was_loaded_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression (in-process fuzzing): ``REDIS_URL`` was read from ``os.environ`` only, so a service
    loaded with ``Service.load(environ=...)`` (several services in one process) ignored its own."""
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    service = Service.load(FIXTURES / "jobs", environ={"MACARON_JOBS_OUT_DIR": str(tmp_path),
                                                       "REDIS_URL": "redis://127.0.0.1:2/0"})
    assert attach(service).url() == "redis://127.0.0.1:2/0"
    monkeypatch.delenv("REDIS_URL")
    assert attach(load(FIXTURES / "jobs", tmp_path)).url() is None
