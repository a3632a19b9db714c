"""Dev-only environment: secrets that ``nox -s dev``, ``serve`` and ``token`` share.

Values are random, created once under ``<root>/.dev/`` (git-ignored) and used only
when the variable is not already set. Production never reads this: its secrets come
from the environment (Secrets Manager / SSM through Beanstalk).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

DEV_SECRETS = ("MACARON_JWT_SECRET",)


def dev_environ(root: Path) -> dict[str, str]:
    """``{VAR: value}`` for every dev secret, generating missing ones under ``root/.dev``."""
    store = root / ".dev"
    store.mkdir(exist_ok=True)
    out: dict[str, str] = {}
    for var in DEV_SECRETS:
        path = store / var.lower()
        if not path.exists():
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        out[var] = path.read_text().strip()
    return out


def dev_environ_lines() -> str:
    root = Path(os.environ.get("MACARON_ROOT", ".")).resolve()
    return "\n".join(f"{k}={v}" for k, v in dev_environ(root).items())
