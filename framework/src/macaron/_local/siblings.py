"""Services side by side under ``services/``: nothing of one may silently be another's.

A copied directory (``cp -r services/mail services/billing``) is a new service: its name,
queues, store tables and token audience derive from the directory. What the copy can still
carry over verbatim is checked here, for the dev tooling that sees every service at once:

- its ``port:``. The original keeps it; the copy gets a free port in dev (``macaron dev``,
  ``macaron serve``), said out loud with the line to change. The original is the service whose
  ``service.yaml`` git tracks (a fresh copy is not committed yet), else the one whose file
  changed first (its ctime: ``cp -a`` keeps mtimes, not ctimes), else the first by name.
- an explicit ``store: table_prefix`` / ``path``, or ``auth: audience``: two services that
  would share a table, a SQLite file or an audience stop the dev system with the key to change.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .._core.config import Config, env_key
from .._core.errors import ConfigError
from .._local.ports import free_port
from ..auth._config import AuthSettings
from ..store._open import open_store


@dataclass(frozen=True)
class Claim:
    """A service and the port its config gives it."""

    name: str
    directory: Path
    port: int

    def age(self) -> tuple[int, float, str]:
        """Sort key, the original before its copy: committed first, then the older file, then by name."""
        path = self.directory / "service.yaml"
        try:
            done = subprocess.run(["git", "-C", str(self.directory), "ls-files", "--error-unmatch", path.name],
                                  capture_output=True, timeout=10, check=False)
            untracked = int(done.returncode != 0)
        except (OSError, subprocess.SubprocessError):
            untracked = 1  # no git: every service alike
        try:
            return (untracked, path.stat().st_ctime, self.name)
        except OSError:
            return (untracked, float("inf"), self.name)


def yielding(claims: Iterable[Claim]) -> dict[str, Claim]:
    """``{service: the original's claim}`` for each service whose port an original sibling also has."""
    by_port: dict[int, list[Claim]] = {}
    for claim in claims:
        by_port.setdefault(claim.port, []).append(claim)
    out: dict[str, Claim] = {}
    for group in (g for g in by_port.values() if len(g) > 1):
        keeper, *others = sorted(group, key=Claim.age)
        out.update({other.name: keeper for other in others})
    return out


def moved_note(claim: Claim, keeper: Claim, at: int | str) -> str:
    """What the dev tooling prints for a service moved off its configured port (now ``at``)."""
    where = f"{claim.directory.parent.name}/{claim.directory.name}/service.yaml"
    return (f"port {claim.port} in {where} is {keeper.name}'s too, so {claim.name} is on {at}: "
            f"give it a 'port:' of its own to keep one")


def _raw_port(directory: Path, environ: Mapping[str, str]) -> int | None:
    override = environ.get(f"MACARON_{env_key(directory.name)}_PORT")
    try:
        data = yaml.safe_load((directory / "service.yaml").read_text(encoding="utf-8")) or {}
        return int(override or (data.get("port", 8000) if isinstance(data, dict) else 8000))
    except (OSError, yaml.YAMLError, TypeError, ValueError):
        return None  # a broken sibling is its own problem, reported when it starts


def sibling_holding(config: Config, environ: Mapping[str, str] | None = None) -> Claim | None:
    """The older sibling under ``services/`` that has ``config``'s port too, if any (for ``macaron serve``).

    Only siblings' ``service.yaml`` files are read (no secrets needed), and only when the
    service sits in a ``services/`` folder, as in the monorepo."""
    if config.directory.parent.name != "services":
        return None
    environ = os.environ if environ is None else environ
    claims = [Claim(config.name, config.directory, config.port)]
    for path in sorted(config.directory.parent.glob("*/service.yaml")):
        if path.parent != config.directory and (port := _raw_port(path.parent, environ)) == config.port:
            claims.append(Claim(path.parent.name, path.parent, port))
    return yielding(claims).get(config.name)


def _store_places(config: Config) -> list[tuple[str, str]]:
    if not isinstance(config.get("store"), Mapping):
        return []
    store: Any = open_store(config)
    if hasattr(store, "path"):
        return [("SQLite file and table prefix 'store: path/table_prefix'", f"{store.path}|{store.prefix}")]
    return [("DynamoDB table prefix 'store: table_prefix'", str(store.prefix))]


def _audiences(config: Config) -> list[tuple[str, str]]:
    audience = AuthSettings.from_config(config).audience
    return [("token audience 'auth: audience'", a) for a in ((audience,) if isinstance(audience, str) else audience)]


def check_apart(configs: Iterable[Config]) -> None:
    """Raise :class:`ConfigError` when two services would share a store table, a SQLite file or an audience."""
    seen: dict[tuple[str, str], Config] = {}
    for config in configs:
        for what, value in [*_store_places(config), *_audiences(config)]:
            first = seen.setdefault((what, value), config)
            if first is not config:
                first, config = sorted((first, config), key=lambda c: Claim(c.name, c.directory, c.port).age())
                raise ConfigError(
                    f"services {first.name!r} and {config.name!r} would share the {what} "
                    f"({value.replace('|', ', prefix ')!r}): in {config.directory / 'service.yaml'} set it to null "
                    f"(derived from the service's name) or to a value of its own"
                )


def serve_port(config: Config, host: str) -> int:
    """The port ``macaron serve`` uses when none is given: the configured one, or a free one (said
    on stderr) when an older sibling has it too. It is put in ``MACARON_<SVC>_PORT`` so that a
    reloading server's child process, which loads the config again, serves the same port."""
    keeper = sibling_holding(config)
    if keeper is None:
        return config.port
    port = free_port(host)
    os.environ[f"MACARON_{env_key(config.name)}_PORT"] = str(port)
    note = moved_note(Claim(config.name, config.directory, config.port), keeper, f"http://{host}:{port}")
    print(f"macaron serve: {note}", file=sys.stderr, flush=True)
    return port
