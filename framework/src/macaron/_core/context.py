"""Which service, which request, which task is this? One answer for the web, the worker and
outgoing clients alike.

In a request, Flask's app context holds the Service (``app.extensions["macaron"]``) and ``g``
holds the request id and the verified claims. In a task, a ContextVar holds the running
task's context (set by ``macaron.tasks`` around each run). Both are per execution — threads
and nested runs each see their own — so nothing here is process-global state.

Rule: ``_core`` only. Everything else asks here rather than reading ``g`` or the task's
context itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Protocol

from flask import current_app, g, has_app_context, has_request_context

if TYPE_CHECKING:
    from .service import Service


class Execution(Protocol):
    """What the core needs of a running task's context (``macaron.tasks.TaskContext``)."""

    @property
    def service(self) -> Service: ...
    @property
    def request_id(self) -> str: ...
    @property
    def claims(self) -> dict[str, Any] | None: ...


_TASK: ContextVar[Any] = ContextVar("macaron_task_context", default=None)


def task() -> Any:
    """The context of the task running here (a ``macaron.tasks.TaskContext``), or None."""
    return _TASK.get()


@contextmanager
def running_task(ctx: Execution) -> Iterator[Any]:
    """Make ``ctx`` the running task's context for the duration of the block."""
    token = _TASK.set(ctx)
    try:
        yield ctx
    finally:
        _TASK.reset(token)


def service_here() -> Service | None:
    """The service of the running task, else of the current Flask app, else None."""
    ctx = _TASK.get()
    if ctx is not None:
        return ctx.service  # type: ignore[no-any-return]
    if has_app_context():
        return current_app.extensions.get("macaron")  # type: ignore[no-any-return]
    return None


def current_service() -> Service:
    """The Service handling the current request, or running the current task."""
    if has_app_context():
        return current_app.extensions["macaron"]  # type: ignore[no-any-return]
    service = service_here()
    if service is None:
        raise RuntimeError("current_service() needs a request or a running task; pass the Service explicitly")
    return service


def request_id() -> str | None:
    """The id of the current request, else of the request (or task) that enqueued this task."""
    if has_request_context():
        rid = g.get("macaron_request_id")
        if rid:
            return str(rid)
    ctx = _TASK.get()
    if ctx is not None and getattr(ctx, "request_id", None):
        return str(ctx.request_id)
    return None


def claims() -> dict[str, Any] | None:
    """The verified claims behind this execution: the request's token, else the enqueuing user's."""
    if has_request_context():
        found = g.get("macaron_claims")
        return found if isinstance(found, dict) else None
    ctx = _TASK.get()
    found = getattr(ctx, "claims", None) if ctx is not None else None
    return found if isinstance(found, dict) else None


def origin() -> tuple[str, dict[str, Any] | None]:
    """(request id, verified claims) to hand to an enqueued task: the request's, or the task's."""
    if has_request_context():
        rid = g.get("macaron_request_id")
        if rid:
            found = g.get("macaron_claims")
            return rid, found if isinstance(found, dict) else None
    ctx = _TASK.get()
    if ctx is not None:
        return ctx.request_id, ctx.claims
    return uuid.uuid4().hex, None
