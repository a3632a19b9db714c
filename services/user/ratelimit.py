"""Rate limits on the operations a stranger can repeat cheaply (signup, login, password reset,
confirmation): per client address and for everyone together, counted in Redis so they hold
across worker processes and instances.

``rate_limits`` in ``service.yaml`` names, per operation, ``per_address`` and ``global`` limits
as ``{limit: N, per: seconds}`` (a fixed window of ``per`` seconds; either may be left out).
The address is :func:`macaron.client_address`: ``REMOTE_ADDR``, or behind the proxies the service
trusts (``trusted_proxies``; the Beanstalk defaults trust the ALB) the client's own address from
``X-Forwarded-For``, never an entry a client wrote itself. Over a limit: 429 problem+json
``RATE_LIMITED`` with ``Retry-After`` (seconds to the end of the window).

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
from typing import Any

import redis
from macaron import ApiError, Service, client_address

_PAUSE = 2.0
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

    def _connection(self) -> Any:
        if self._conn is None:
            if self.url is None:  # callers check first: no Redis configured means no limits
                raise RuntimeError("no Redis is configured for rate limits")
            self._conn = redis.Redis.from_url(self.url, socket_connect_timeout=0.3, socket_timeout=0.5)
        return self._conn

    def _counts(self, keys: list[tuple[str, int]]) -> list[int] | None:
        """INCR each key (set to expire with its window); None when Redis cannot answer."""
        if not self.url or time.monotonic() < self._paused_until:
            return None
        try:
            pipe = self._connection().pipeline(transaction=False)
            for key, ttl in keys:
                pipe.set(key, 0, ex=ttl, nx=True)  # a new window's counter, expiring with it
                pipe.incr(key)
            replies = pipe.execute()
        except redis.RedisError as exc:
            self._paused_until = time.monotonic() + _PAUSE
            self.service.log.warning("rate limits not enforced: Redis unavailable (%s)", type(exc).__name__)
            return None
        return [int(r) for r in replies[1::2]]

    def check(self, operation: str, address: str | None) -> None:
        """Count one ``operation`` from ``address``; raise :class:`RateLimited` over a limit."""
        rules = (self.service.config.get("rate_limits") or {}).get(operation) or {}
        now = time.time()
        planned: list[tuple[str, int, int, float]] = []  # key, limit, ttl, window end
        for scope, who in (("per_address", address or "unknown"), ("global", "*")):
            rule = rules.get(scope)
            if not rule:
                continue
            per = max(1, int(rule.get("per", 60)))
            window = int(now // per)
            planned.append((f"{self.prefix}:{operation}:{scope}:{who}:{window}", int(rule["limit"]), per + 1,
                            (window + 1) * per))
        if not planned:
            return
        counts = self._counts([(key, ttl) for key, _, ttl, _ in planned])
        if counts is None:
            return
        over = [(end, key) for (key, limit, _, end), count in zip(planned, counts, strict=True) if count > limit]
        if over:
            wait = max(1, math.ceil(max(end for end, _ in over) - now))
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
