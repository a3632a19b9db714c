"""Running a job in the worker: find the task in the loaded Service, rebuild its arguments,
set its context, keep its attempt count and last error, and apply its idempotency key.

Idempotency markers live in Redis next to the jobs, one key per idempotency key
(``macaron:idem:<service>:<key>``) and per ``once()`` step below it. A run first *claims* the
marker atomically (a Lua script: SET with a lease as long as the job may run), then runs, then
marks it ``done`` with its result for ``idempotency_ttl``. So:

* a second job with the same key after a success does not run again (it returns the stored result);
* a job whose key is claimed by another live job raises :class:`TaskBusy` and is retried later;
* a failed run deletes its claim, so its retry runs;
* a run that died after claiming (SIGKILL) cannot tell whether its side effect happened: its
  re-run runs again. This window, between the side effect and writing ``done``, is what remains
  at-least-once; ``once()`` narrows it to one step, and a downstream API's own idempotency key
  closes it.
"""

from __future__ import annotations

import inspect
import json
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from .._core.context import running_task
from ._base import TaskBusy, TaskContext, current_context, decode, encode, state_key
from ._runtime import attach

if TYPE_CHECKING:
    from .._core.service import Service

LEASE_MARGIN = 60

_CLAIM = """
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], 'run:' .. ARGV[1], 'EX', ARGV[2])
  return {'claimed', ''}
end
if string.sub(v, 1, 5) == 'done:' then return {'done', string.sub(v, 6)} end
if v == 'run:' .. ARGV[1] then
  redis.call('SET', KEYS[1], v, 'EX', ARGV[2])
  return {'reclaimed', ''}
end
return {'busy', v}
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

# The Service a worker process serves, set around each job by the worker (see _worker.py).
_WORKER_SERVICE: ContextVar[Service | None] = ContextVar("macaron_worker_service", default=None)


@contextmanager
def serving(service: Service) -> Iterator[None]:
    token = _WORKER_SERVICE.set(service)
    try:
        yield
    finally:
        _WORKER_SERVICE.reset(token)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def attempt_of(job: Any, retries: int) -> int:
    """Which attempt this run is: rq takes one off ``retries_left`` at every retry, whether the
    previous attempt raised or was abandoned. So the success path costs no Redis round trip."""
    left = job.retries_left if job.retries_left is not None else retries
    return max(1, retries - left + 1)


def _previous_abandoned(conn: Any, job_id: str, attempt: int, ttl: int) -> bool:
    """On a retry: True (recorded as the last error) when the previous attempt never said it failed."""
    if attempt == 1:
        return False
    key = state_key(job_id)
    failed = conn.hget(key, "failed_attempt")
    if failed is not None and int(failed) >= attempt - 1:
        return False
    _record_failure(conn, key, attempt - 1, f"attempt {attempt - 1} was abandoned: its worker stopped mid-job", ttl)
    return True


def _record_failure(conn: Any, key: str, attempt: int, error: str, ttl: int) -> None:
    with conn.pipeline() as pipe:
        pipe.hset(key, mapping={"failed_attempt": attempt, "last_error": error[:2000]})
        pipe.expire(key, ttl)
        pipe.execute()


def _guarded(ctx: TaskContext, marker: str, lease: int, ttl: int, call: Callable[[], Any]) -> Any:
    """Run ``call`` at most once per ``marker`` (see the module doc); returns encoded JSON data."""
    conn = ctx._redis
    owner = ctx.job_id or ""
    state, value = (_text(v) for v in conn.register_script(_CLAIM)(keys=[marker], args=[owner, lease]))
    if state == "done":
        ctx.service.log.info("skipped %s: already done under idempotency key", marker,
                             extra={"idempotency_marker": marker})
        return json.loads(value) if value else None
    if state == "busy":
        raise TaskBusy(f"another job ({value.removeprefix('run:')}) is running under {marker}")
    if state == "reclaimed":
        ctx.service.log.warning("re-running %s: the previous attempt died after claiming it "
                                "(its side effect may have happened)", marker)
    try:
        result = call()
    except BaseException:
        conn.register_script(_RELEASE)(keys=[marker], args=[f"run:{owner}"])
        raise
    conn.set(marker, "done:" + json.dumps(result, separators=(",", ":")), ex=ttl)
    return result


def once(step: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``fn`` at most once per running job (or per its idempotency key) and ``step``.

    A re-run of the same job — after a retry or after its worker died — gets the first call's
    stored result instead of repeating the side effect. ``fn``'s result must be JSON (or models).
    Under ``run_now()`` it simply calls ``fn``.
    """
    ctx = current_context()
    if ctx is None:
        raise RuntimeError("macaron.tasks.once() must be called inside a running task")
    if ctx.job_id is None or ctx._redis is None:
        return fn(*args, **kwargs)
    scope = ctx.idempotency_key or f"job:{ctx.job_id}"
    marker = f"macaron:idem:{ctx.service.name}:{scope}:step:{step}"
    result = _guarded(ctx, marker, ctx._timeout + LEASE_MARGIN, ctx._key_ttl,
                      lambda: encode(fn(*args, **kwargs), f"once({step!r}) result"))
    return decode(result, ctx.service.models.get)


def respect_retry_after(job: Any, exc: BaseException) -> None:
    """When the failure carries a callee's ``Retry-After`` (an ``UpstreamError`` from a 429/503), the
    next attempt waits at least that long: rounded up, plus one second, as rq schedules to the second."""
    wait = getattr(exc, "retry_after", None)
    if not wait or not job.retries_left:
        return
    floor = math.ceil(wait) + 1
    intervals = list(job.retry_intervals or [0])
    index = max(len(intervals) - job.retries_left, 0)
    if intervals[index] < floor:
        intervals[index] = floor
        job.retry_intervals = intervals


def run_job(payload: dict[str, Any]) -> Any:
    """The function every macaron job runs (rq calls it by name with the JSON payload)."""
    from rq import get_current_job

    service = _WORKER_SERVICE.get()
    if service is None:
        raise RuntimeError("macaron jobs run under `macaron worker <service>`")
    if payload.get("service") != service.name:
        raise RuntimeError(f"job of service {payload.get('service')!r} reached a worker of {service.name!r}")
    job = get_current_job()
    assert job is not None
    name = str(payload["task"])
    task = attach(service).lookup(name)
    args = decode(payload.get("args") or [], service.models.get)
    kwargs = decode(payload.get("kwargs") or {}, service.models.get)
    timeout = int(payload.get("timeout") or 300)
    key_ttl = int(payload.get("key_ttl") or 7 * 86_400)
    ttl = max(job.result_ttl or 0, job.failure_ttl or 0, 86_400)
    attempt = attempt_of(job, int(payload.get("retries") or 0))
    abandoned = _previous_abandoned(job.connection, job.id, attempt, ttl)
    claims = payload.get("claims")
    ctx = TaskContext(
        service=service, task=name, request_id=str(payload.get("request_id") or job.id),
        claims=claims if isinstance(claims, dict) else None, job_id=job.id, attempt=attempt,
        idempotency_key=payload.get("key"), _redis=job.connection, _timeout=timeout,
        _key_ttl=key_ttl,
    )
    log = service.log
    started = time.perf_counter()
    with running_task(ctx):
        log.info("task %s started (attempt %d)", name, attempt, extra={"queue": job.origin})
        if abandoned:
            log.warning("attempt %d of task %s was abandoned (its worker stopped mid-job)", attempt - 1, name)

        def call() -> Any:
            result = task.fn(*args, **kwargs)
            if inspect.iscoroutine(result):
                import asyncio  # lazily: the web tier imports this module, never runs a job

                result = asyncio.run(result)
            return encode(result, "result")

        try:
            if ctx.idempotency_key:
                marker = f"macaron:idem:{service.name}:{ctx.idempotency_key}"
                result = _guarded(ctx, marker, timeout + LEASE_MARGIN, key_ttl, call)
            else:
                result = call()
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            _record_failure(job.connection, state_key(job.id), attempt, error, ttl)
            respect_retry_after(job, exc)
            log.warning("task %s failed (attempt %d): %s", name, attempt, error[:500],
                        extra={"duration_ms": round((time.perf_counter() - started) * 1000, 3)})
            raise
        log.info("task %s finished", name, extra={"duration_ms": round((time.perf_counter() - started) * 1000, 3)})
    return result
