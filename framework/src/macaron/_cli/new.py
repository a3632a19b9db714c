"""``macaron new <name> [--from <service>]`` (``nox -s new``): start a service.

Blank: a ``service.yaml`` with a free port, and the example of :mod:`.skeleton` (one endpoint,
its handler, a unit and an acceptance test), its spec in OpenAPI 3.1, or Swagger 2.0 with
``--swagger2``. A copy's example spec is in its source's dialect (a Swagger 2.0 service's copy
stays 2.0), or 2.0 with ``--swagger2``. ``--from mail`` copies ``services/mail`` properly:
everything but its tests and local data; ``name:`` dropped and ``port:`` set to a free port in
``service.yaml``; the source's name replaced where it names the service (comments of the
``service*.yaml`` files, and ``infra/mail/`` copied to ``infra/<name>/`` only when it exists);
spec, handlers and tests reset to the example. The new service is then loaded as ``macaron
serve`` would load it; on any failure nothing is left behind.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from .._core.config import env_key
from .._core.errors import ConfigError
from .._core.overlay import overlays_for
from .._core.service import Service
from .._local.devenv import dev_environ
from .._server.app import create_app
from .._server.serve import check_port_free
from . import skeleton as _skeleton

NAME = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*\Z")
MAX_NAME = 24  # <name>-staging, and <name>-live plus a 9-character version suffix, fit Beanstalk's 40
FIRST_PORT = 8001
_NOT_COPIED = shutil.ignore_patterns("tests", "__pycache__", "*.pyc", ".pytest_cache", ".data", ".dev", "*.sqlite3*")
_COMMENT = re.compile(r"(^|\s)#")


@dataclass
class Created:
    """What ``macaron new`` made, for the summary it prints."""

    name: str
    directory: Path
    port: int
    source: str | None = None
    infra: Path | None = None
    dialect: str = "3.1"  # of the example spec: "3.1" or "2.0" (skeleton.DIALECTS)
    kept: list[str] = field(default_factory=list)  # the source's other files, copied as they are
    review: list[str] = field(default_factory=list)  # config lines still naming the source


def _raw(directory: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load((directory / "service.yaml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def check_name(root: Path, name: str, source: str | None) -> None:
    """Raise :class:`ConfigError` saying why ``name`` (from ``source``) cannot be created under ``root``."""
    if not (root / "services").is_dir():
        raise ConfigError(f"no services/ folder in {root}: run from the repository root, or pass --root")
    if not NAME.match(name) or len(name) > MAX_NAME:
        raise ConfigError(
            f"{name!r} is not a valid service name: lower-case letters and digits, words joined by '-', "
            f"starting with a letter, at most {MAX_NAME} characters (e.g. billing, order-history). It names a "
            f"directory, queues, tables and Elastic Beanstalk environments, which allow no '_'"
        )
    if name == "defaults":
        raise ConfigError("'defaults' is reserved: infra/defaults holds the deploy files every service shares")
    if (root / "services" / name).exists():
        raise ConfigError(f"services/{name} already exists: pick another name, or remove that directory first")
    if (root / "shared_apis" / f"{name}.yaml").is_file():
        raise ConfigError(f"{name!r} is the external API of shared_apis/{name}.yaml: a service of that name would "
                          f"take its place for every client; pick another name")
    if source is not None:
        if not (root / "services" / source / "service.yaml").is_file():
            known = ", ".join(p.parent.name for p in sorted((root / "services").glob("*/service.yaml"))) or "none"
            raise ConfigError(f"no service {source!r} to start from: no services/{source}/service.yaml "
                              f"(services here: {known})")
        if (root / "infra" / source).is_dir() and (root / "infra" / name).exists():
            raise ConfigError(f"infra/{name} already exists: remove it, or pick another name")


def free_service_port(root: Path, host: str = "127.0.0.1") -> int:
    """The first port after every service's that no service or local client URL uses and that is free now."""
    used: set[int] = set()
    for path in (root / "services").glob("*/service.yaml"):
        data = _raw(path.parent)
        if isinstance(data.get("port"), int):
            used.add(data["port"])
        for entry in (data.get("clients") or {}).values() if isinstance(data.get("clients"), dict) else ():
            port = urlsplit(str((entry or {}).get("url") or "")).port if isinstance(entry, dict) else None
            used.add(port or 0)
    port = max([p for p in used if p < 8100] + [FIRST_PORT - 1]) + 1
    while True:
        try:
            if port not in used:
                check_port_free(host, port, "new service")
                return port
        except ConfigError:
            pass
        port += 1


def rename_words(text: str, old: str, new: str) -> str:
    """``old`` replaced by ``new`` as a whole word, and in ``MACARON_<OLD>_`` variable names."""
    text = re.sub(rf"(?<![A-Za-z0-9_]){re.escape(old)}(?![A-Za-z0-9_])", new, text)
    return text.replace(f"MACARON_{env_key(old)}_", f"MACARON_{env_key(new)}_")


def rename_config(text: str, old: str, new: str, port: int | None, where: str) -> tuple[str, list[str]]:
    """A ``service*.yaml`` of the copy: ``name:`` dropped, ``port:`` set (when ``port``), the old name
    replaced in comments; values still naming it are returned for review, never changed silently."""
    out: list[str] = []
    naming: list[int] = []  # indices in out of values that still name the source
    for line in text.splitlines(keepends=True):
        if re.match(r"name\s*:", line):
            continue
        if port is not None and re.match(r"port\s*:", line):
            line, port = f"port: {port}\n", None
        match = _COMMENT.search(line)
        value, comment = (line[: match.end() - 1], line[match.end() - 1 :]) if match else (line, "")
        if rename_words(value, old, new) != value:
            naming.append(len(out))
        out.append(value + rename_words(comment, old, new))
    if port is not None:  # no port: line: add one after the leading comments
        at = next((i for i, line in enumerate(out) if not line.startswith("#")), len(out))
        out.insert(at, f"port: {port}\n")
        naming = [i + 1 if i >= at else i for i in naming]
    return "".join(out), [f"{where}:{i + 1}: {_COMMENT.split(out[i])[0].strip()}" for i in naming]


def _copy_source(root: Path, created: Created, source: str) -> str:
    """Copy ``services/<source>`` into the new directory; return the spec's file name."""
    src = root / "services" / source
    shutil.copytree(src, created.directory, ignore=_NOT_COPIED)
    spec = str(_raw(src).get("spec") or "api.yaml")
    for overlay in overlays_for(created.directory / spec):  # they corrected the source's spec, which is reset
        overlay.unlink()
    for path in sorted(created.directory.glob("service*.yaml")):
        text, review = rename_config(path.read_text(encoding="utf-8"), source, created.name,
                                     created.port if path.name == "service.yaml" else None,
                                     path.relative_to(root).as_posix())
        path.write_text(text, encoding="utf-8")
        created.review += review
    own = {spec, "handlers.py", "requirements.txt"}
    created.kept = sorted(p.name + ("/" if p.is_dir() else "") for p in created.directory.iterdir()
                          if p.name not in own and not p.name.startswith("service"))
    if (root / "infra" / source).is_dir():
        created.infra = root / "infra" / created.name
        shutil.copytree(root / "infra" / source, created.infra, ignore=shutil.ignore_patterns("__pycache__"))
        for path in (p for p in created.infra.rglob("*") if p.is_file()):
            try:
                path.write_text(rename_words(path.read_text(encoding="utf-8"), source, created.name), encoding="utf-8")
            except UnicodeDecodeError:
                continue  # a binary file: copied as it is
    return spec


def source_dialect(root: Path, source: str) -> str:
    """The dialect of ``services/<source>``'s spec: ``"2.0"`` for Swagger 2.0, else ``"3.1"``."""
    spec = root / "services" / source / str(_raw(root / "services" / source).get("spec") or "api.yaml")
    try:
        document = yaml.safe_load(spec.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return "3.1"
    return "2.0" if isinstance(document, dict) and str(document.get("swagger")) == "2.0" else "3.1"


def create(root: Path, name: str, source: str | None = None, *, swagger2: bool = False) -> Created:
    """Make ``services/<name>`` (and ``infra/<name>``); raise :class:`ConfigError` leaving nothing behind.

    The example spec is OpenAPI 3.1, or Swagger 2.0 when ``swagger2`` or when ``source`` is 2.0."""
    root = root.resolve()
    check_name(root, name, source)
    dialect = "2.0" if swagger2 or (source is not None and source_dialect(root, source) == "2.0") else "3.1"
    created = Created(name=name, directory=root / "services" / name, port=free_service_port(root), source=source,
                      dialect=dialect)
    key = env_key(name)
    try:
        if source is None:
            created.directory.mkdir()
            (created.directory / "service.yaml").write_text(
                _skeleton.render(_skeleton.SERVICE_YAML, name, created.port, key), encoding="utf-8")
            spec = "api.yaml"
        else:
            spec = _copy_source(root, created, source)
        for relative, text in _skeleton.files(name, created.port, key, spec, dialect).items():
            (created.directory / relative).parent.mkdir(parents=True, exist_ok=True)
            (created.directory / relative).write_text(text, encoding="utf-8")
        _check_loads(root, created.directory)
    except BaseException:
        shutil.rmtree(created.directory, ignore_errors=True)
        if created.infra is not None:
            shutil.rmtree(created.infra, ignore_errors=True)
        raise
    return created


def _check_loads(root: Path, directory: Path) -> None:
    """Load the new service as ``macaron serve`` would (with the dev secrets)."""
    import os

    try:
        create_app(Service.load(directory, environ={**dev_environ(root), **os.environ}))
    except ConfigError as exc:
        raise ConfigError(f"the new service does not load, so nothing was created: {exc}") from None


def _table(rows: list[tuple[str, str]]) -> list[str]:
    width = max(len(left) for left, _ in rows) + 3
    return [f"  {left:<{width}}{right}" for left, right in rows]


def summary(root: Path, created: Created) -> str:
    """What was made, and the next steps."""
    rel, name, src = created.directory.relative_to(root).as_posix(), created.name, created.source
    lines = [f"Created service {name!r} in {rel}" + (f" (from {src})" if src else "") + f", on port {created.port}:"]
    made = [(f"{rel}/service.yaml", "its config" + (f", copied from {src}" if src else "")),
            (f"{rel}/api.yaml", f"the spec ({_skeleton.DIALECT_NAMES[created.dialect]}): one example endpoint, "
                                f"{_skeleton.EXAMPLE}"),
            (f"{rel}/handlers.py", "its handler"),
            (f"{rel}/tests/", "a unit test and an acceptance test (this_service names the service)")]
    if created.infra is not None:
        made.append((f"infra/{name}/", f"{src}'s deploy files, renamed (infra/defaults/ for the rest)"))
    lines += _table(made)
    if created.kept:
        lines.append(f"Kept from {src} as they are (adapt or delete): {', '.join(created.kept)}")
    if created.review:
        lines += [f"Still naming {src} (check them):", *(f"  {line}" for line in created.review)]
    lines += ["Next steps:", *_table([
        (f"nox -s serve -- {name} --reload", "serve it, reloading on changes"),
        (f"curl 127.0.0.1:{created.port}/v1/hello/ada", "call the example endpoint"),
        (f"nox -s test -- services/{name}", "lint, then its tests (nox -s test alone: every test)"),
    ]), "  Then replace the example: spec first (api.yaml), then the handler. Commit the new files."]
    return "\n".join(lines)


def run_new(root: Path, name: str, source: str | None = None, *, swagger2: bool = False) -> int:
    root = root.resolve()
    print(summary(root, create(root, name, source, swagger2=swagger2)))
    return 0
