"""What a service needs besides its own directory, read from its config and spec without
importing it (no secrets needed): the secrets it reads from the environment, the sibling
services it calls, and every spec file it loads at start-up — its own spec's ``$ref``s, and for
each client (``clients:`` in ``service.yaml``) the sibling's ``service.yaml`` and spec, or the
external API's spec in ``shared_apis/``, with their ``$ref``s. That is what the bundle carries.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._core.config import _merge, _read_yaml
from .._core.errors import ConfigError
from .._core.spec import load_spec
from ..clients._config import _shared_api


def service_settings(service_dir: Path, env: str) -> dict[str, Any]:
    """``service.yaml`` with its ``service.<env>.yaml`` overlay (as the server will read it)."""
    data = _read_yaml(service_dir / "service.yaml")
    overlay = service_dir / f"service.{env}.yaml"
    return _merge(data, _read_yaml(overlay)) if overlay.is_file() else data


def secret_vars(service_dir: Path, env: str) -> tuple[list[str], list[str]]:
    """(required, optional) environment variables the service's config reads secrets from."""
    required: list[str] = []
    optional: list[str] = []
    for key, decl in (service_settings(service_dir, env).get("secrets") or {}).items():
        var = decl.get("env") if isinstance(decl, Mapping) else decl
        if not isinstance(var, str) or not var:
            raise ConfigError(f"{service_dir / 'service.yaml'}: secret {key!r} must name an environment variable")
        (optional if isinstance(decl, Mapping) and decl.get("optional") else required).append(var)
    return required, optional


def _clients(service_dir: Path, env: str) -> Mapping[str, Any]:
    clients = service_settings(service_dir, env).get("clients") or {}
    return clients if isinstance(clients, Mapping) else {}


def sibling_clients(service_dir: Path, env: str) -> list[str]:
    """The services next to this one that it calls (``clients: {mail: {}}``)."""
    return sorted(name for name, entry in _clients(service_dir, env).items()
                  if not (isinstance(entry, Mapping) and entry.get("spec"))
                  and (service_dir.parent / str(name) / "service.yaml").is_file())


def _spec_and_refs(spec: Path) -> list[Path]:
    return [Path(p).resolve() for p in load_spec(spec).files]


def needed_files(root: Path, service_dir: Path, env: str) -> list[str]:
    """Files outside ``services/<name>/`` the service loads, relative to ``root``."""
    files: list[Path] = []
    own = service_dir / str(service_settings(service_dir, env).get("spec") or "api.yaml")
    if own.is_file():
        files += _spec_and_refs(own)
    for name, entry in _clients(service_dir, env).items():
        entry = entry if isinstance(entry, Mapping) else {}
        sibling = service_dir.parent / str(name)
        if entry.get("spec"):
            spec: Path | None = (service_dir / str(entry["spec"])).resolve()
        elif (sibling / "service.yaml").is_file():
            files.append(sibling / "service.yaml")
            spec = sibling / str(_read_yaml(sibling / "service.yaml").get("spec") or "api.yaml")
        else:
            spec = _shared_api(service_dir, str(name))
        if spec is None or not spec.is_file():
            raise ConfigError(f"{service_dir / 'service.yaml'}: client {name!r} has no spec to bundle")
        files += _spec_and_refs(spec)
    out = set()
    for path in files:
        try:
            out.add(path.resolve().relative_to(root.resolve()).as_posix())
        except ValueError:
            raise ConfigError(f"{service_dir}: needs {path}, which is outside the repository") from None
    return sorted(out)
