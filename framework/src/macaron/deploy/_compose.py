"""The bundle's ``docker-compose.yml``, rendered from the infra template for one service.

Rendering does three things and nothing else: it sets the ``SERVICE`` build argument of every
built container, drops the ``worker`` container when the service declares no tasks, and
raises the worker's ``stop_grace_period`` past the longest task timeout (plus a margin), so a
deploy's SIGTERM lets the running job finish instead of killing it mid-way.

Tasks are found statically (``@task(...)`` decorators, read with :mod:`ast`), so bundling
never imports the service or needs its secrets.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .._core.errors import ConfigError
from ..tasks._base import TaskOptions
from ._config import DeployConfig

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s|us)")
_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 0.000001}


@dataclass(frozen=True)
class Tasks:
    """What a service's task declarations mean for its containers."""

    found: bool
    longest: int | None  # seconds; None when some timeout is not a literal number
    where: tuple[str, ...] = ()


def default_task_timeout() -> int:
    """The framework's own default ``@task`` timeout."""
    return int(TaskOptions().timeout)


def _decorator_name(node: ast.expr) -> str | None:
    target = node.func if isinstance(node, ast.Call) else node
    if isinstance(target, ast.Name):
        return target.id
    if isinstance(target, ast.Attribute):
        return target.attr
    return None


def scan_tasks(service_dir: Path) -> Tasks:
    """Every ``@task`` in the service's modules (tests excluded) and the longest timeout."""
    timeouts: list[int | None] = []
    where: list[str] = []
    for path in sorted(service_dir.rglob("*.py")):
        rel = path.relative_to(service_dir)
        if rel.parts[0] == "tests" or "__pycache__" in rel.parts:
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        except SyntaxError as exc:
            raise ConfigError(f"{path}: cannot be parsed: {exc.msg} (line {exc.lineno})") from None
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for dec in node.decorator_list:
                if _decorator_name(dec) != "task":
                    continue
                where.append(f"{rel.as_posix()}:{node.name}")
                timeout: int | None = default_task_timeout()
                for kw in dec.keywords if isinstance(dec, ast.Call) else []:
                    if kw.arg == "timeout":
                        value = kw.value.value if isinstance(kw.value, ast.Constant) else None
                        timeout = int(value) if isinstance(value, int | float) else None
                timeouts.append(timeout)
    if not where:
        return Tasks(found=False, longest=0)
    longest = None if None in timeouts else max(t for t in timeouts if t is not None)
    return Tasks(found=True, longest=longest, where=tuple(where))


def parse_duration(value: Any) -> float:
    """Seconds in a compose duration (``"1m30s"``, ``"45s"``) or a bare number."""
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ConfigError(f"not a compose duration: {value!r} (write e.g. 90s or 5m)")
    return sum(float(n) * _UNITS[u] for n, u in parts)


def grace_needed(cfg: DeployConfig, tasks: Tasks) -> int:
    """Seconds the worker container must be given to stop: longest task timeout + margin."""
    worker = cfg.settings.get("worker") or {}
    margin = int(worker.get("grace_margin", 30))
    if tasks.longest is None:
        if "stop_grace_period" not in worker:
            raise ConfigError(f"{cfg.service_dir}: a @task timeout is not a literal number ({', '.join(tasks.where)}); "
                              f"write it as a number, or set worker.stop_grace_period (seconds) in beanstalk.yaml")
        return int(parse_duration(worker["stop_grace_period"]))
    return int(tasks.longest) + margin


def render_compose(cfg: DeployConfig, template: Path, tasks: Tasks) -> bytes:
    """The compose file for ``cfg.service``, from ``template``."""
    doc = yaml.safe_load(template.read_text(encoding="utf-8")) or {}
    services = doc.get("services") if isinstance(doc, dict) else None
    if not isinstance(services, dict) or "web" not in services:
        raise ConfigError(f"{template}: needs a 'services:' mapping with a 'web' container")
    for container in services.values():
        if isinstance(container, dict) and "build" in container:
            build = container["build"]
            if isinstance(build, str):
                build = container["build"] = {"context": build}
            build["args"] = {**(build.get("args") or {}), "SERVICE": cfg.service}
    if not tasks.found:
        services.pop("worker", None)
    else:
        worker = services.get("worker")
        if not isinstance(worker, dict):
            raise ConfigError(f"{template}: service {cfg.service!r} declares tasks ({', '.join(tasks.where)}) "
                              f"but the compose file has no 'worker' container to run them")
        current = parse_duration(worker.get("stop_grace_period", "10s"))
        worker["stop_grace_period"] = f"{max(int(current), grace_needed(cfg, tasks))}s"
    rel = template.relative_to(cfg.root).as_posix() if template.is_relative_to(cfg.root) else template.name
    header = f"# Rendered by macaron deploy from {rel} for service {cfg.service!r}; edit the template, not this.\n"
    return (header + str(yaml.safe_dump(doc, sort_keys=False, default_flow_style=False))).encode()
