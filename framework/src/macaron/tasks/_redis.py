"""Redis connections for tasks, from ``REDIS_URL`` (a managed Redis such as ElastiCache in
production; the private server of ``_local.redis`` in dev and tests).

Rule: connecting only; starting a redis-server is ``_local``'s business.
"""

from __future__ import annotations

from typing import Any

#: Enqueue-side timeouts: a dead or hung Redis must turn into a 503 well within a second.
FAST_CONNECT_TIMEOUT = 0.3
FAST_SOCKET_TIMEOUT = 0.5


def connect(url: str, *, fast: bool = False) -> Any:
    """A ``redis.Redis`` for ``url``; ``fast=True`` for the web tier's enqueue path.

    The fast client gives up within about a second: short connect and socket timeouts, and a
    single immediate retry on a connection error only (a pooled connection left over from
    before a Redis restart fails once, then reconnects), never on a timeout.
    """
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    if not fast:
        return redis.Redis.from_url(url)
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=FAST_CONNECT_TIMEOUT,
        socket_timeout=FAST_SOCKET_TIMEOUT,
        retry=Retry(NoBackoff(), 1, supported_errors=(redis.exceptions.ConnectionError,)),
    )
