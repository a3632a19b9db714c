"""Rate limits on the operations a stranger can repeat cheaply (signup, login, password reset,
confirmation): per client address and for everyone together, counted in Redis so they hold
across worker processes and instances.

``rate_limits`` in ``service.yaml`` names, per operation, ``per_address`` and ``global`` limits
as ``{limit: N, per: seconds}`` (at most N in any ``per`` seconds: a sliding window, so a burst
across a window's edge gets no second allowance; either may be left out).
The address is :func:`macaron.client_address`: ``REMOTE_ADDR``, or behind the proxies the service
trusts (``trusted_proxies``; the Beanstalk defaults trust the ALB) the client's own address from
``X-Forwarded-For``, never an entry a client wrote itself. Over a limit: 429 problem+json
``RATE_LIMITED`` with ``Retry-After`` (seconds until the oldest counted request leaves the window).
Each limit is a sorted set of the requests it let through, trimmed and checked in one Lua script
on Redis's own clock (every instance sees the same time); a refused request is not added, so a
flood costs no memory beyond the limit.

Redis is this service's task Redis (``redis_url`` in the config, else ``REDIS_URL``). The
framework offers services no Redis connection of their own (``macaron.tasks`` keeps its
client private), so this module opens one with the same short timeouts as the framework's web
tier; it is self-contained so that it can move onto a framework API later. With Redis down the
limits are not enforced (fail open: an outage of the counter must not refuse every signup) and
that is logged; Redis is then not asked again for ``_PAUSE`` seconds, so an outage costs one
connect timeout now and then, not one per request.
"""

from __future__ import annotations

import math
import os
import threading
import time
import uuid
from typing import Any

import redis
from macaron import ApiError, Service, client_address

_PAUSE = 2.0
#: KEYS[1] the limit's sorted set of admitted requests (score: Redis time in ms); ARGV limit, window
#: in seconds, a unique member. Returns 0 (admitted and counted) or the seconds until admission.
_SLIDING = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit, window = tonumber(ARGV[1]), tonumber(ARGV[2]) * 1000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return '0'
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return tostring((tonumber(oldest[2]) + window - now) / 1000)
"""
_LOCK = threading.Lock()


class RateLimited(ApiError):
    status, code, title = 429, "RATE_LIMITED", "Too Many Requests"


def _redis_url(service: Service) -> str | None:
    return (service.config.get("redis_url") or service.config.environ.get("REDIS_URL")
            or os.environ.get("REDIS_URL") or None)


class Limiter:
    """The limiter of one service in one process (``service.extensions["user.ratelimit"]``)."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.prefix = f"{service.name}:ratelimit"
        self.url = _redis_url(service)
        self._conn: Any = None
        self._paused_until = 0.0
        self._script: Any = None

    def _connection(self) -> Any:
        if self._conn is None:
            if self.url is None:  # callers check first: no Redis configured means no limits
                raise RuntimeError("no Redis is configured for rate limits")
            self._conn = redis.Redis.from_url(self.url, socket_connect_timeout=0.3, socket_timeout=0.5)
        return self._conn

    def _admit(self, keys: list[tuple[str, int, int]]) -> list[float] | None:
        """Per ``(key, limit, per)``: 0 when this request fits (and is counted), else the seconds
        until it would; None when Redis cannot answer."""
        if not self.url or time.monotonic() < self._paused_until:
            return None
        try:
            conn = self._connection()
            if self._script is None:
                self._script = conn.register_script(_SLIDING)
            pipe = conn.pipeline(transaction=False)
            for key, limit, per in keys:
                self._script(keys=[key], args=[limit, per, uuid.uuid4().hex], client=pipe)
            replies = pipe.execute()
        except redis.RedisError as exc:
            self._paused_until = time.monotonic() + _PAUSE
            self.service.log.warning("rate limits not enforced: Redis unavailable (%s)", type(exc).__name__)
            return None
        return [float(r) for r in replies]

    def check(self, operation: str, address: str | None) -> None:
        """Count one ``operation`` from ``address``; raise :class:`RateLimited` over a limit."""
        rules = (self.service.config.get("rate_limits") or {}).get(operation) or {}
        planned: list[tuple[str, int, int]] = []  # key, limit, window (s)
        for scope, who in (("per_address", address or "unknown"), ("global", "*")):
            rule = rules.get(scope)
            if rule:
                planned.append((f"{self.prefix}:{operation}:{scope}:{who}", int(rule["limit"]),
                                max(1, int(rule.get("per", 60)))))
        if not planned:
            return
        waits = self._admit(planned)
        if waits is None:
            return
        over = [(wait, key) for (key, _, _), wait in zip(planned, waits, strict=True) if wait > 0]
        if over:
            wait = max(1, math.ceil(max(w for w, _ in over)))
            everyone = any(":global:" in key for _, key in over)
            raise RateLimited(f"too many {operation.replace('_', ' ')} requests "
                              f"{'on this service' if everyone else 'from your address'}; retry in {wait} s",
                              headers={"Retry-After": str(wait)})


def limit(service: Service, operation: str) -> None:
    """Count this request's ``operation`` against the limits of ``service``."""
    limiter = service.extensions.get("user.ratelimit")
    if limiter is None:
        with _LOCK:
            limiter = service.extensions.setdefault("user.ratelimit", Limiter(service))
    limiter.check(operation, client_address())
