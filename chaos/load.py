"""A bounded load generator: ``total`` calls over ``concurrency`` threads, each thread with its own
``requests.Session``; stops at ``total`` calls or after ``max_seconds``, whichever comes first."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import requests

#: One call: gets the call's index and the thread's session, returns (operation label, response).
Call = Callable[[int, requests.Session], tuple[str, requests.Response]]


@dataclass
class LoadResult:
    """Every call's outcome: statuses per operation, unexpected answers, latencies in seconds."""

    seconds: float = 0.0
    calls: int = 0
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    latencies: dict[str, list[float]] = field(default_factory=dict)

    def percentile(self, q: float, operation: str | None = None) -> float:
        """The ``q`` quantile (0..1) of latencies, in milliseconds (of one operation, or all)."""
        values = sorted(self.latencies.get(operation, []) if operation else
                        [v for vs in self.latencies.values() for v in vs])
        if not values:
            return 0.0
        return 1000 * values[min(len(values) - 1, int(q * len(values)))]

    def figures(self) -> dict[str, Any]:
        return {"requests": self.calls, "errors": len(self.errors), "seconds": round(self.seconds, 1),
                "rps": round(self.calls / self.seconds) if self.seconds else 0,
                "p50_ms": round(self.percentile(0.5), 1), "p99_ms": round(self.percentile(0.99), 1),
                "by_operation": {op: {"n": len(v), "p50_ms": round(self.percentile(0.5, op), 1),
                                      "p99_ms": round(self.percentile(0.99, op), 1)}
                                 for op, v in sorted(self.latencies.items())}}


def run_load(call: Call, *, total: int, concurrency: int, max_seconds: float,
             expected: Callable[[str, int], bool] = lambda op, status: status < 400) -> LoadResult:
    """Run ``call`` ``total`` times on ``concurrency`` threads; an answer ``expected`` rejects, or an
    exception, is an error (the first 20 are kept with their detail)."""
    result = LoadResult()
    lock = threading.Lock()
    local = threading.local()
    deadline = time.monotonic() + max_seconds
    counter = iter(range(total))

    def worker() -> None:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        while time.monotonic() < deadline:
            with lock:
                index = next(counter, None)
            if index is None:
                return
            started = time.perf_counter()
            try:
                operation, response = call(index, session)
                ok, status, detail = expected(operation, response.status_code), response.status_code, response.text
            except requests.RequestException as exc:
                operation, ok, status, detail = "exception", False, 0, f"{type(exc).__name__}: {exc}"
            elapsed = time.perf_counter() - started
            with lock:
                result.calls += 1
                result.statuses[(operation, status)] += 1
                result.latencies.setdefault(operation, []).append(elapsed)
                if not ok:
                    result.errors.append(f"{operation} -> {status}: {detail[:200]}")

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="chaos-load") as pool:
        for future in [pool.submit(worker) for _ in range(concurrency)]:
            future.result()
    result.seconds = time.monotonic() - started
    return result
