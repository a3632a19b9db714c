"""The pieces every task module shares: options, errors, the running task's context, and the
JSON codec for arguments and results.

Arguments cross into the worker as JSON (rq's JSON serializer, never pickle): JSON types as
they are, spec models as ``{"__macaron_model__": "User", "data": {...}}``, rebuilt in the worker
from the service's :class:`ModelRegistry`. A plain dict that happens to use one of the tag keys
is wrapped so it comes back as the same dict. Tuples arrive as lists.
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .._core import context
from .._core.errors import ApiError, NotFound, ServiceUnavailable
from .._core.models import Model, to_plain

if TYPE_CHECKING:
    from .._core.service import Service

MODEL_TAG = "__macaron_model__"
DICT_TAG = "__macaron_dict__"
_QUEUE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,40}\Z")


class QueueUnavailable(ServiceUnavailable):
    """Redis cannot take the job right now; unhandled, it becomes a 503 the client may retry."""

    code, title = "QUEUE_UNAVAILABLE", "Queue Unavailable"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"Retry-After": "5"})
        super().__init__(detail, **kwargs)


class TaskNotFound(NotFound):
    code, title = "TASK_NOT_FOUND", "Task Not Found"


class TaskBusy(ApiError):
    """Another job holds the same idempotency key right now; this run is retried later."""

    status, code, title = 409, "TASK_BUSY", "Task Busy"


@dataclass(frozen=True)
class TaskOptions:
    """How a task is queued and retried (see :func:`macaron.tasks.task`)."""

    queue: str = "default"
    retries: int = 0
    backoff: tuple[int, ...] = ()
    timeout: int = 300
    delay: float = 0.0
    idempotency_key: str | Callable[..., str] | None = None
    result_ttl: int = 86_400
    failure_ttl: int = 7 * 86_400
    idempotency_ttl: int = 7 * 86_400

    def __post_init__(self) -> None:
        if not _QUEUE_NAME.match(self.queue):
            raise ValueError(f"queue {self.queue!r}: use lower-case letters, digits, '_' or '-'")
        if self.retries < 0 or self.timeout <= 0 or self.delay < 0:
            raise ValueError("retries and delay must be >= 0, timeout > 0")
        if any(not isinstance(b, int) or b < 0 for b in self.backoff):
            raise ValueError(f"backoff must be whole seconds >= 0, got {self.backoff!r}")

    def intervals(self) -> list[int]:
        """Seconds before retry 1..N: ``backoff[i]``, its last value repeated (0 = at once)."""
        if not self.backoff:
            return [0] * self.retries
        return [self.backoff[min(i, len(self.backoff) - 1)] for i in range(self.retries)]

    def key_for(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
        """The idempotency key of one call: a template over the arguments, or a function of them."""
        if self.idempotency_key is None:
            return None
        if callable(self.idempotency_key):
            key = self.idempotency_key(*args, **kwargs)
        else:
            bound = inspect.signature(fn).bind(*args, **kwargs)
            bound.apply_defaults()
            key = self.idempotency_key.format(**bound.arguments)
        if not isinstance(key, str) or not key:
            raise ValueError(f"idempotency key of {fn.__qualname__} must be a non-empty string, got {key!r}")
        return key


@dataclass(frozen=True)
class TaskContext:
    """What a running task knows about where it came from (``macaron.tasks.current_context()``).

    ``request_id`` and ``claims`` are those of the request (or task) that enqueued it, so log
    lines and outgoing calls join that request. ``job_id`` is None under ``run_now()``.
    """

    service: Service
    task: str
    request_id: str
    claims: dict[str, Any] | None = None
    job_id: str | None = None
    attempt: int = 1
    idempotency_key: str | None = None
    _redis: Any = field(default=None, repr=False, compare=False)
    _timeout: int = field(default=300, repr=False, compare=False)
    _key_ttl: int = field(default=7 * 86_400, repr=False, compare=False)

    @property
    def service_name(self) -> str:
        return self.service.name


def current_context() -> TaskContext | None:
    """The context of the task running here, or None outside a task."""
    ctx = context.task()
    return ctx if isinstance(ctx, TaskContext) else None


def encode(value: Any, path: str = "args") -> Any:
    """``value`` as JSON data with spec models tagged; TypeError names the offending path."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TypeError(f"{path}: {value!r} is not valid JSON")
        return value
    if isinstance(value, Model):
        return {MODEL_TAG: type(value).__model_name__, "data": value.to_json()}
    if isinstance(value, list | tuple):
        return [encode(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{path}: dict keys must be strings, got {key!r}")
            out[key] = encode(item, f"{path}.{key}")
        return {DICT_TAG: out} if MODEL_TAG in value or DICT_TAG in value else out
    raise TypeError(
        f"{path}: a {type(value).__name__} cannot be a task argument; pass JSON types or spec models"
    )


def decode(value: Any, model: Callable[[str], type[Model] | None]) -> Any:
    """Rebuild what :func:`encode` produced; ``model(name)`` finds a model class by name."""
    if isinstance(value, list):
        return [decode(v, model) for v in value]
    if not isinstance(value, dict):
        return value
    if MODEL_TAG in value:
        name = value[MODEL_TAG]
        cls = model(name)
        if cls is None:
            raise LookupError(f"model {name!r} is not defined in this service's spec")
        return cls.from_json(value.get("data") or {}, validate=False)
    if DICT_TAG in value and len(value) == 1:
        value = value[DICT_TAG]
    return {k: decode(v, model) for k, v in value.items()}


def state_key(job_id: str) -> str:
    """The Redis hash of one job's attempt record (attempt count, last error)."""
    return f"macaron:task:{job_id}"


@dataclass(frozen=True)
class TaskHandle:
    """An enqueued job: ``id`` is what :func:`status` takes."""

    id: str
    task: str
    queue: str
    service: Service

    def status(self) -> TaskStatus:
        runtime = self.service.extensions["tasks"]  # the runtime that enqueued it
        return runtime.status(self.id)  # type: ignore[no-any-return]

    def to_json(self) -> dict[str, str]:
        return {"job_id": self.id, "task": self.task, "queue": self.queue}


@dataclass(frozen=True)
class TaskStatus:
    """Where a job is: ``state`` is queued, started, finished, failed or retrying."""

    id: str
    task: str
    queue: str
    state: str
    attempts: int
    last_error: str | None = None
    result: Any = None
    enqueued_at: datetime | None = None
    ended_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        def when(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "job_id": self.id, "task": self.task, "queue": self.queue, "state": self.state,
            "attempts": self.attempts, "last_error": self.last_error, "result": to_plain(self.result),
            "enqueued_at": when(self.enqueued_at), "ended_at": when(self.ended_at),
        }
