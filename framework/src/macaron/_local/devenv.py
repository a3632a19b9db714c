"""Dev-only environment: secrets that ``nox -s dev``, ``serve`` and ``token`` share.

Values are random, created once under ``<root>/.dev/`` (git-ignored) and used only
when the variable is not already set. Production never reads this: its secrets come
from the environment (Secrets Manager / SSM through Beanstalk).
"""

from __future__ import annotations

import secrets
from pathlib import Path

import yaml

DEV_SECRETS = ("MACARON_JWT_SECRET",)


def declared_secrets(root: Path) -> list[str]:
    """The environment variables named under ``secrets:`` by any service, plus the JWT secret."""
    names = list(DEV_SECRETS)
    for config in sorted((root / "services").glob("*/service.yaml")):
        data = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
        for decl in (data.get("secrets") or {}).values():
            var = decl.get("env") if isinstance(decl, dict) else decl
            if isinstance(var, str) and var not in names:
                names.append(var)
    return names


def dev_environ(root: Path) -> dict[str, str]:
    """``{VAR: value}`` for every secret the services declare, generating missing ones under
    ``root/.dev`` (dev and tests only: the fakes accept any credential)."""
    store = root / ".dev"
    store.mkdir(exist_ok=True)
    out: dict[str, str] = {}
    for var in declared_secrets(root):
        path = store / var.lower()
        if not path.exists():
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        out[var] = path.read_text().strip()
    return out
