"""Configuration: ``service.yaml``, its ``service.<env>.yaml`` overlay, environment
variables and secrets.

Precedence, lowest first: ``service.yaml`` < ``service.$MACARON_ENV.yaml`` <
``MACARON_<KEY>`` < ``MACARON_<SERVICE>_<KEY>`` (nested keys joined by ``__``).
``MACARON_<KEY>`` sets keys that exist in the files (an unrelated variable never changes a
service by accident) and keys inside a mapping the files have (``MACARON_STORE__PATH`` under a
``store:`` without ``path``). ``MACARON_<SERVICE>_<KEY>`` names this service, so one naming no
key (nor a new key in one of its mappings, nor one of the framework's sections ``store``,
``auth``, ``clients``) stops start-up naming the variable: a typo is never silently ignored.
Secrets are *named* in the config and read from the environment; their values live in
:class:`Secret` objects whose ``repr`` hides them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError

DEFAULTS: dict[str, Any] = {
    "port": 8000,
    "env": "dev",
    "max_body_bytes": 1_048_576,
    "log_level": "INFO",
    "reporter": None,
    "trusted_proxies": None,  # proxies whose X-Forwarded-For is believed (_server/proxies.py); None: none
}

_IDENT = re.compile(r"[^A-Za-z0-9]+")


class Secret:
    """A secret value that never prints itself; call :meth:`reveal` to use it."""

    __slots__ = ("_name", "_value")

    def __init__(self, name: str, value: str) -> None:
        self._name = name
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({self._name!r}, '***')"

    __str__ = __repr__


def env_key(*parts: str) -> str:
    """``env_key('user', 'log_level') == 'USER_LOG_LEVEL'``."""
    return "_".join(_IDENT.sub("_", p).strip("_").upper() for p in parts)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: must be a mapping of keys to values")
    return data


def _merge(base: dict[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _leaves(data: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for key, value in data.items():
        path = (*prefix, str(key))
        if isinstance(value, Mapping) and value:
            yield from _leaves(value, path)
        else:
            yield path


def _set(data: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        data = data[key]
    data[path[-1]] = value


SECTIONS = ("store", "auth", "clients")  # read by the framework, so settable from the environment unwritten
# MACARON_<...> variables of the framework itself, never a service's key (a service named "test" or "log")
FRAMEWORK_VARS = ("ENV", "ROOT", "JWT_SECRET", "TEST_", "LOG_FORMAT", "LOG_COLOR", "DIE_WITH_PARENT", "FAKE_STATE_DIR",
                  "NOX_VENV", "DATA_DIR", "JOBS_OUT_DIR", "VERSION_LABEL")


def _value(raw: str) -> Any:
    try:
        return yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        return raw


def _new_key(data: dict[str, Any], parts: list[str], specific: bool) -> tuple[str, ...] | None:
    """The path a variable's ``parts`` name when it is a key the files lack but may be set: one
    inside a mapping the files have, or (``specific``: the variable names its service) inside
    one of the framework's :data:`SECTIONS`."""
    path = tuple(p.lower() for p in parts)
    if len(path) < 2 or not all(path):
        return None
    if specific and path[0] in SECTIONS:
        return path
    parent: Any = data
    for key in path[:-1]:
        parent = parent.get(key) if isinstance(parent, dict) else None
    return path if isinstance(parent, dict) else None


def _set_creating(data: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        if not isinstance(data.get(key), dict):
            data[key] = {}
        data = data[key]
    data[path[-1]] = value


def _overlay_environ(data: dict[str, Any], service: str, environ: Mapping[str, str],
                     siblings: tuple[str, ...] = ()) -> None:
    own = f"MACARON_{env_key(service)}_"
    known: set[str] = set()
    for path in list(_leaves(data)):
        if path[0] == "secrets":
            continue
        joined = "__".join(env_key(p) for p in path)
        known |= {f"MACARON_{joined}", own + joined}
        for var in (f"MACARON_{joined}", own + joined):
            if var in environ:
                _set(data, path, _value(environ[var]))
    for var in sorted(set(environ) - known):
        if not var.startswith("MACARON_") or "secrets" in var.lower():
            continue
        specific = var.startswith(own)
        rest = var.removeprefix(own) if specific else var.removeprefix("MACARON_")
        if specific and (rest.startswith(FRAMEWORK_VARS) or any(var.startswith(f"MACARON_{s}_") for s in siblings)):
            continue  # the framework's own variable, or a sibling's whose name starts with this one's
        new = _new_key(data, rest.split("__"), specific)
        if new is not None:
            _set_creating(data, new, _value(environ[var]))
        elif specific:
            keys = ", ".join(sorted(str(k) for k in data if k != "secrets"))
            raise ConfigError(
                f"{var} names no key of service {service!r} ({rest.lower().replace('__', '.')}): its config has "
                f"{keys}; nested keys are joined by '__' (MACARON_{env_key(service)}_STORE__PATH)"
            )


@dataclass(frozen=True)
class Config:
    """A service's resolved configuration. Read values with ``config["key"]`` or ``get``."""

    name: str
    directory: Path
    data: Mapping[str, Any]
    secrets: Mapping[str, Secret] = field(default_factory=dict)
    environ: Mapping[str, str] = field(default_factory=dict, repr=False)  # what it was loaded with

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    @property
    def port(self) -> int:
        return int(self.data["port"])

    @property
    def env(self) -> str:
        return str(self.data["env"])

    def secret(self, key: str) -> str:
        """The value of the secret named ``key`` in ``secrets:``."""
        try:
            return self.secrets[key].reveal()
        except KeyError:
            raise ConfigError(
                f"service {self.name!r}: no secret {key!r} is declared under 'secrets:' "
                f"in {self.directory / 'service.yaml'}"
            ) from None

    def secret_values(self) -> list[str]:
        """Every secret value, for log redaction."""
        return [s.reveal() for s in self.secrets.values() if s.reveal()]


def _read_secrets(name: str, path: Path, spec: Any, environ: Mapping[str, str]) -> dict[str, Secret]:
    if spec is None:
        return {}
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{path}: 'secrets' must map secret names to environment variable names")
    out: dict[str, Secret] = {}
    for key, decl in spec.items():
        optional = False
        if isinstance(decl, Mapping):
            var = decl.get("env")
            optional = bool(decl.get("optional", False))
        else:
            var = decl
        if not isinstance(var, str) or not var:
            raise ConfigError(f"{path}: secret {key!r} must name an environment variable")
        value = environ.get(var)
        if value is None or value == "":
            if optional:
                continue
            raise ConfigError(
                f"service {name!r}: secret {key!r} needs the environment variable {var}, "
                f"which is not set (declared in {path})"
            )
        out[str(key)] = Secret(str(key), value)
    return out


def load_config(directory: Path, environ: Mapping[str, str] | None = None) -> Config:
    """Read ``service.yaml`` (and its overlay) in ``directory`` and apply the environment."""
    environ = os.environ if environ is None else environ
    directory = directory.resolve()
    path = directory / "service.yaml"
    if not path.is_file():
        raise ConfigError(f"{directory}: no service.yaml (is this a service directory?)")
    data = _merge(DEFAULTS, _read_yaml(path))
    env = environ.get("MACARON_ENV")
    if env:
        overlay = directory / f"service.{env}.yaml"
        if overlay.is_file():
            data = _merge(data, _read_yaml(overlay))
        data["env"] = env
    name = directory.name  # the name is the directory's: a copied directory is a new service
    if data.get("name") not in (None, name):
        raise ConfigError(
            f"{path}: says 'name: {data['name']}', but this service is {name!r} (a service is named by its "
            f"directory; a copy must not pass for the original): delete the 'name:' line, or rename the directory"
        )
    if not re.fullmatch(r"[a-z][a-z0-9_-]*", name):
        raise ConfigError(f"{path}: service name {name!r} (the directory's name) must be lower case letters, "
                          f"digits, '_' or '-'; rename the directory")
    data["name"] = name
    siblings = tuple(env_key(p.parent.name) for p in directory.parent.glob("*/service.yaml")
                     if env_key(p.parent.name).startswith(env_key(name) + "_"))
    _overlay_environ(data, name, environ, siblings)
    secrets = _read_secrets(name, path, data.pop("secrets", None), environ)
    try:
        int(data["port"])
    except (TypeError, ValueError):
        raise ConfigError(f"{path}: 'port' must be an integer, got {data['port']!r}") from None
    return Config(name=name, directory=directory, data=data, secrets=secrets, environ=environ)
