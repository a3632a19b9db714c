"""A service's token authority: its keys and settings, built once and kept on the Service;
and the 401 a bad token gets, with its ``WWW-Authenticate`` challenge.

Rule: imports only ``_core`` and this package; the request path (``_server.security``) and
clients (``clients._propagation``) come here for the authority, never the other way round.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from .._core.errors import Unauthorized
from .._core.observability import JsonFormatter
from ._tokens import TokenAuthority

if TYPE_CHECKING:
    from .._core.service import Service

EXTENSION = "auth"


def authority(service: Service) -> TokenAuthority:
    """The service's TokenAuthority, built once from its config and kept in ``service.extensions``."""
    existing: TokenAuthority | None = service.extensions.get(EXTENSION)
    if existing is None:
        existing = TokenAuthority.from_config(service.config)
        if existing.settings.algorithm == "HS256" and existing.keys.signing_key:
            _redact(service.log, existing.keys.signing_key.decode())
        service.extensions[EXTENSION] = existing
    return existing


def _redact(log: logging.Logger, value: str) -> None:
    """Mask ``value`` in the service's JSON logs (the env-var fallback secret is not in ``secrets:``)."""
    for handler in log.handlers:
        fmt = handler.formatter
        if isinstance(fmt, JsonFormatter) and value not in fmt.secrets:
            fmt.secrets = sorted([*fmt.secrets, value], key=len, reverse=True)


def challenge(service: Service, error: str, description: str, scope: str | None = None) -> dict[str, str]:
    clean = description.replace('"', "'").replace("\\", "/")
    value = f'Bearer realm="{service.name}", error="{error}", error_description="{clean}"'
    if scope:
        value += f', scope="{scope}"'
    return {"WWW-Authenticate": value}


def unauthorized(service: Service, code: str, detail: str, error: str = "invalid_token") -> Unauthorized:
    return Unauthorized(detail, code=code, headers=challenge(service, error, detail))
