"""The HTTP layer under every client: one pooled ``requests`` Session, timeouts on every
attempt, and retries with exponential backoff and full jitter.

What is retried: connection failures (nothing reached the callee, or the connection
broke) and the statuses in ``RetryPolicy.statuses`` (429/502/503/504), but only when
the caller says the request may be repeated (idempotent method, an operation marked
``x-idempotent``, or an ``Idempotency-Key``). ``Retry-After`` (seconds or HTTP date)
is honoured as a lower bound of the wait. Read timeouts are never retried: the callee
may still be working, and repeating would multiply the caller's wait. Every attempt
and every wait fits in ``RetryPolicy.total`` seconds, so a call's duration is bounded.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.cookiejar import DefaultCookiePolicy
from typing import TYPE_CHECKING, Any

from .._core.errors import MacaronError

if TYPE_CHECKING:  # requests is imported on first use: it costs ~30 ms of a server's cold start
    import requests

RETRY_STATUSES = frozenset({429, 502, 503, 504})


@dataclass(frozen=True)
class Timeouts:
    """Seconds to wait for a connection and, once connected, between bytes of the answer."""

    connect: float = 3.0
    read: float = 10.0

    @classmethod
    def of(cls, value: float | tuple[float, float] | Timeouts | None, default: Timeouts) -> Timeouts:
        """A per-call override: a read timeout, a ``(connect, read)`` pair, or ``None`` for the default."""
        if value is None:
            return default
        if isinstance(value, Timeouts):
            return value
        if isinstance(value, tuple):
            return cls(float(value[0]), float(value[1]))
        return cls(default.connect, float(value))


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry; ``total`` bounds the whole call, waits included."""

    retries: int = 2
    backoff: float = 0.1
    backoff_max: float = 2.0
    total: float = 30.0
    statuses: frozenset[int] = field(default=RETRY_STATUSES)

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Full-jitter backoff before retry number ``attempt`` (1-based)."""
        return rng.uniform(0, min(self.backoff_max, self.backoff * 2 ** (attempt - 1)))


class CallFailed(MacaronError):
    """No usable answer: ``kind`` is ``"connect"`` (never connected or connection broke) or ``"timeout"``."""

    def __init__(self, kind: str, detail: str, attempts: int) -> None:
        self.kind = kind
        self.attempts = attempts
        super().__init__(detail)


@dataclass
class Outcome:
    """The last response and how many attempts it took."""

    response: requests.Response
    attempts: int


def retry_after(response: requests.Response) -> float | None:
    """``Retry-After`` in seconds (delta or HTTP date), or ``None`` when absent or unreadable."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def new_session(pool_size: int = 32) -> requests.Session:
    """A Session with a connection pool, no cookies, and no proxies/netrc from the environment.

    Cookies are refused so that one user's call can never carry state into another's;
    ``trust_env`` is off so credentials from ``~/.netrc`` never leak into calls (and the
    per-call environment lookup is skipped). Proxies, when needed, are configured per client.
    """
    import requests
    from requests.adapters import HTTPAdapter

    session = requests.Session()
    session.trust_env = False
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    adapter = HTTPAdapter(pool_connections=8, pool_maxsize=pool_size, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class Transport:
    """Sends requests over one pooled Session; shared by every client of a process and service."""

    def __init__(
        self,
        session: requests.Session | None = None,
        *,
        rng: random.Random | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        import requests
        import requests.exceptions as exceptions

        self.session = session or new_session()
        self.errors = exceptions
        self._prepared = requests.PreparedRequest
        self._base_headers = dict(self.session.headers)
        self.rng = rng or random.Random()
        self.sleep = sleep

    def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        params: Mapping[str, Any] | None = None,
        data: Any = None,
        files: Any = None,
        timeouts: Timeouts,
        policy: RetryPolicy,
        repeatable: bool,
        proxies: Mapping[str, str] | None = None,
    ) -> Outcome:
        """Send until a final answer, a non-retryable failure, or the time budget runs out.

        The request is prepared once (``PreparedRequest``, the Session's default headers under ours)
        and sent with ``Session.send``: ``Session.request`` would re-merge session settings on every
        call, which costs more than everything else the client does for a call.
        """
        prepared = self._prepared()
        prepared.prepare(method=method, url=url, headers={**self._base_headers, **headers}, files=files,
                         data=data, params=params)
        proxy_map = dict(proxies) if proxies else {}
        deadline = time.monotonic() + policy.total
        attempt = 0
        while True:
            attempt += 1
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise CallFailed("timeout", f"no answer within the {policy.total:g} s budget", attempt - 1)
            try:
                response = self.session.send(
                    prepared, timeout=(min(timeouts.connect, remaining), min(timeouts.read, remaining)),
                    allow_redirects=False, proxies=proxy_map, stream=False, verify=self.session.verify,
                    cert=self.session.cert,
                )
            except self.errors.ReadTimeout:
                raise CallFailed("timeout", f"no answer within {timeouts.read:g} s", attempt) from None
            except (self.errors.ConnectionError, self.errors.ChunkedEncodingError) as exc:
                timed_out = isinstance(exc, self.errors.ConnectTimeout)
                failure = CallFailed(
                    "connect",
                    f"cannot connect (timed out after {timeouts.connect:g} s)" if timed_out
                    else f"connection failed ({type(exc).__name__})",
                    attempt,
                )
                if not repeatable or attempt > policy.retries or not self._wait(policy, attempt, None, deadline):
                    raise failure from None
                continue
            if response.status_code not in policy.statuses or not repeatable or attempt > policy.retries:
                return Outcome(response, attempt)
            if not self._wait(policy, attempt, retry_after(response), deadline):
                return Outcome(response, attempt)
            response.close()

    def _wait(self, policy: RetryPolicy, attempt: int, at_least: float | None, deadline: float) -> bool:
        """Sleep before the next attempt; ``False`` when that would overrun the budget."""
        delay = policy.delay(attempt, self.rng)
        if at_least is not None:
            delay = max(delay, at_least)
        if time.monotonic() + delay >= deadline:
            return False
        if delay > 0:
            self.sleep(delay)
        return True

    def close(self) -> None:
        self.session.close()
