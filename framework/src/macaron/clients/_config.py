"""Where a client's spec, base URL, credentials and limits come from: the ``clients:``
section of the calling service's ``service.yaml`` (env overrides apply as for any key).

::

    clients:
      mail: {}                      # a sibling: services/mail (url defaults to http://127.0.0.1:<its port>)
      sendgrid:                     # an external API: shared_apis/sendgrid.yaml
        url: http://127.0.0.1:8025  # required for external APIs (the fake in dev; the vendor in prod overlays)
        api_key_secret: sendgrid_api_key   # a key under 'secrets:', sent as the spec's securityDefinitions say
        timeout: 10                 # read timeout, seconds         (default 10)
        connect_timeout: 3          # connect timeout, seconds      (default 3)
        retries: 2                  # extra attempts when allowed   (default 2)
        backoff: 0.1                # first backoff, seconds; doubles, full jitter, capped by backoff_max (2)
        total_timeout: 30           # bound on the whole call, attempts and waits included (default 30)

Override per environment with ``MACARON_CLIENTS__SENDGRID__URL`` (or
``MACARON_<SERVICE>_CLIENTS__SENDGRID__URL``); only keys written in the file can be
overridden, so write ``url:`` for every client whose URL changes between environments.
Other keys: ``spec`` (a path relative to the service, to name the spec explicitly),
``kind`` (``service``/``external``, implied by where the spec is), ``audience``
(a sibling's token audience; default its ``auth.audience`` or its name),
``api_key_prefix`` (default ``"Bearer "`` for an ``Authorization`` header),
``validate_responses`` (default true), ``proxy`` (an http(s) proxy URL).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from .._core.config import Secret, env_key
from .._core.errors import ConfigError
from ._http import RetryPolicy, Timeouts

if TYPE_CHECKING:
    from .._core.service import Service

_KNOWN = {"url", "spec", "kind", "audience", "api_key_secret", "api_key_prefix", "timeout", "connect_timeout",
          "retries", "backoff", "backoff_max", "total_timeout", "validate_responses", "proxy"}


@dataclass(frozen=True)
class ClientSettings:
    """Everything needed to build one client, resolved and checked."""

    name: str
    kind: str
    spec_path: Path
    url: str
    audience: str | None
    api_key: Secret | None
    api_key_prefix: str | None
    timeouts: Timeouts
    policy: RetryPolicy
    validate_responses: bool
    proxies: dict[str, str] | None


def _sibling(services_dir: Path, name: str) -> tuple[Path, dict[str, Any]] | None:
    config_path = services_dir / name / "service.yaml"
    if not config_path.is_file():
        return None
    try:
        data = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{config_path}: not valid YAML: {exc}") from None
    return config_path.parent, data if isinstance(data, dict) else {}


def _sibling_port(name: str, data: Mapping[str, Any], environ: Mapping[str, str]) -> Any:
    """A sibling's port: its ``MACARON_<NAME>_PORT`` override (as the sibling itself reads it) in the
    caller's environment (then the process's), else its file's."""
    import os

    for source in (environ, os.environ):
        port = source.get(f"MACARON_{env_key(name)}_PORT") or source.get("MACARON_PORT")
        if port:
            return port
    return data.get("port", 8000)


def _shared_api(start: Path, name: str) -> Path | None:
    for folder in (start, *start.parents):
        candidate = folder / "shared_apis" / f"{name}.yaml"
        if candidate.is_file():
            return candidate
    return None


def _number(entry: Mapping[str, Any], key: str, default: float, where: str) -> float:
    value = entry.get(key, default)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}.{key}: must be a number, got {value!r}") from None
    if number < 0:
        raise ConfigError(f"{where}.{key}: must not be negative")
    return number


def resolve(service: Service, name: str) -> ClientSettings:
    """The settings of ``client(name)`` for ``service``; ConfigError naming what is missing."""
    where = f"{service.directory / 'service.yaml'}: clients.{name}"
    clients = service.config.get("clients") or {}
    entry = clients.get(name) if isinstance(clients, Mapping) else None
    if entry is None:
        raise ConfigError(
            f"service {service.name!r} calls {name!r} but its service.yaml declares no 'clients: {{{name}: ...}}' "
            f"(a sibling needs at least '{name}: {{}}', an external API its 'url')"
        )
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{where}: must be a mapping")
    unknown = sorted(set(entry) - _KNOWN)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; known: {sorted(_KNOWN)}")

    url = entry.get("url")
    audience = entry.get("audience")
    sibling = _sibling(service.directory.parent, name)
    if entry.get("spec"):
        spec_path = (service.directory / str(entry["spec"])).resolve()
        kind = str(entry.get("kind") or "external")
    elif sibling is not None:
        folder, data = sibling
        spec_path = folder / str(data.get("spec") or "api.yaml")
        kind = str(entry.get("kind") or "service")
        url = url or f"http://127.0.0.1:{_sibling_port(name, data, service.config.environ)}"
        auth = data.get("auth")
        own_audience = auth.get("audience") if isinstance(auth, Mapping) else None
        audience = audience or own_audience or data.get("name") or name
    else:
        shared = _shared_api(service.directory, name)
        if shared is None:
            raise ConfigError(f"{where}: no spec found: no sibling service {name!r} next to {service.directory} "
                              f"and no shared_apis/{name}.yaml above it (or set 'spec:')")
        spec_path, kind = shared, str(entry.get("kind") or "external")
    if kind not in ("service", "external"):
        raise ConfigError(f"{where}.kind: must be 'service' or 'external', got {kind!r}")
    if not spec_path.is_file():
        raise ConfigError(f"{where}: the spec {spec_path} does not exist")
    if not url:
        raise ConfigError(f"{where}.url: required for an external API (its base URL; a fake's URL in dev)")
    url = str(url)
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"{where}.url: must be an http(s) URL, got {url!r}")

    api_key = None
    if entry.get("api_key_secret"):
        if kind == "service":
            raise ConfigError(f"{where}.api_key_secret: sibling services are called with JWTs, not API keys")
        key = str(entry["api_key_secret"])
        api_key = Secret(key, service.config.secret(key))
    retries = int(_number(entry, "retries", 2, where))
    policy = RetryPolicy(retries=retries, backoff=_number(entry, "backoff", 0.1, where),
                         backoff_max=_number(entry, "backoff_max", 2.0, where),
                         total=_number(entry, "total_timeout", 30.0, where))
    timeouts = Timeouts(connect=_number(entry, "connect_timeout", 3.0, where),
                        read=_number(entry, "timeout", 10.0, where))
    proxy = entry.get("proxy")
    return ClientSettings(
        name=name, kind=kind, spec_path=spec_path, url=url.rstrip("/"),
        audience=str(audience or name) if kind == "service" else None,
        api_key=api_key, api_key_prefix=None if entry.get("api_key_prefix") is None else str(entry["api_key_prefix"]),
        timeouts=timeouts, policy=policy, validate_responses=bool(entry.get("validate_responses", True)),
        proxies={"http": str(proxy), "https": str(proxy)} if proxy else None,
    )
