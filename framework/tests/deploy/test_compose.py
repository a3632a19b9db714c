"""macaron.deploy._compose: tasks found statically; the worker and its stop grace period."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from macaron import ConfigError
from macaron.deploy._compose import default_task_timeout, parse_duration, render_compose, scan_tasks
from macaron.deploy._config import load_deploy_config

from ..fixtures.deploy import support

repo = support.fresh_repo  # fixture: pytest finds it by this name


TASKS = '''from macaron.tasks import task


@task(queue="mail", retries=3, timeout=600)
def send(to):
    pass


@task()
def tidy():
    pass
'''


def render(repo: Path) -> dict:
    cfg = load_deploy_config(repo, "hello")
    tasks = scan_tasks(cfg.service_dir)
    return yaml.safe_load(render_compose(cfg, cfg.files["docker-compose.yml"], tasks))


def test_without_tasks_there_is_no_worker(repo: Path) -> None:
    assert scan_tasks(repo / "services" / "hello").found is False
    doc = render(repo)
    assert set(doc["services"]) == {"web"}
    assert doc["services"]["web"]["build"]["args"]["SERVICE"] == "hello"
    assert doc["services"]["web"]["ports"] == ["80:8000"]


def test_the_worker_outlasts_the_longest_task(repo: Path) -> None:
    (repo / "services" / "hello" / "tasks.py").write_text(TASKS)
    tasks = scan_tasks(repo / "services" / "hello")
    assert tasks.found and tasks.longest == max(600, default_task_timeout())
    assert tasks.where == ("tasks.py:send", "tasks.py:tidy")
    worker = render(repo)["services"]["worker"]
    assert worker["build"]["args"]["SERVICE"] == "hello"
    assert parse_duration(worker["stop_grace_period"]) == tasks.longest + 30 > 600
    assert "macaron worker" in " ".join(worker["command"])


def test_tasks_in_tests_do_not_count(repo: Path) -> None:
    (repo / "services" / "hello" / "tests" / "test_tasks.py").write_text(TASKS)
    assert scan_tasks(repo / "services" / "hello").found is False


def test_a_computed_timeout_needs_an_explicit_grace_period(repo: Path) -> None:
    (repo / "services" / "hello" / "tasks.py").write_text("LIMIT = 5\n" + TASKS.replace("timeout=600", "timeout=LIMIT"))
    with pytest.raises(ConfigError, match="not a literal number"):
        render(repo)
    (repo / "infra" / "hello").mkdir()
    (repo / "infra" / "hello" / "beanstalk.yaml").write_text("worker: {stop_grace_period: 15m}\n")
    assert render(repo)["services"]["worker"]["stop_grace_period"] == "900s"


def test_tasks_without_a_worker_container_are_refused(repo: Path) -> None:
    (repo / "services" / "hello" / "tasks.py").write_text(TASKS)
    (repo / "infra" / "hello").mkdir()
    (repo / "infra" / "hello" / "docker-compose.yml").write_text("services: {web: {build: .}}\n")
    with pytest.raises(ConfigError, match="no 'worker' container"):
        render(repo)


@pytest.mark.parametrize(("text", "seconds"), [("45s", 45), ("1m30s", 90), ("2h", 7200), (30, 30), ("500ms", 0.5)])
def test_compose_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_a_bad_duration_is_named() -> None:
    with pytest.raises(ConfigError, match="not a compose duration"):
        parse_duration("soon")
