"""500s that explain themselves in dev: with ``MACARON_ENV=dev`` set (``nox -s dev``, ``nox -s
serve`` and the tests' local systems set it), a 5xx answer carries its cause: for
``RESPONSE_INVALID`` each field of the response that breaks the spec (``errors[]``: path and
message), for a crash the exception's type, message and the line of the service's code it came
from (``cause``). In every other environment, and where ``MACARON_ENV`` is unset, the body is
what it always was: no internals leave the service.

Rule: imports ``_core`` only; ``dispatch`` calls :func:`explained` for each 5xx.
"""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any

from .._core.errors import ApiError, FieldError

EXPLAINING_ENVS = frozenset({"dev"})


def _where(exc: BaseException) -> str | None:
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return None
    frame = next((f for f in reversed(frames) if "macaron/" not in f.filename.replace("\\", "/")), frames[-1])
    return f"{Path(frame.filename).name}:{frame.lineno} in {frame.name}"


def explained(error: ApiError, exc: BaseException, env: str) -> ApiError:
    """``error`` as answered in ``env``: a copy carrying the cause in dev, else ``error`` itself."""
    if env not in EXPLAINING_ENVS or error.status < 500:
        return error
    fields: list[FieldError] = list(getattr(exc, "macaron_fields", None) or [])  # set by _server.responses
    extra: dict[str, Any] = dict(error.extra)
    detail = error.detail
    if fields:
        detail = f"{detail}: " + "; ".join(f"{f.path}: {f.message}" for f in fields)
    elif exc is not error:
        extra["cause"] = {"type": type(exc).__name__, "message": str(exc), "where": _where(exc)}
        detail = f"{detail} ({type(exc).__name__}: {exc})"
    out = ApiError(detail, status=error.status, code=error.code, title=error.title, errors=[*error.errors, *fields],
                   headers=error.headers, extra=extra)
    return out
