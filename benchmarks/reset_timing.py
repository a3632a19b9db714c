"""Does the time of ``POST /v1/password-reset`` tell whether an account exists?

Signs up one account, then sends ``--tries`` (200) reset requests for it and as many for
addresses with no account, interleaved (each pair in random order, over one keep-alive
connection), after ``--warmup`` pairs; prints both medians and their difference. The goal is
``|median(existing) - median(missing)| < 0.5 ms``; exit 1 when it is missed.

Run alone, against a local system it starts itself (Redis, fakes, services, workers, all on
127.0.0.1): ``python benchmarks/reset_timing.py``; or against one already running (``nox -s dev``):
``python benchmarks/reset_timing.py --url http://127.0.0.1:8001``. Only 127.0.0.1 is accepted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
GOAL_MS = 0.5


def _timed(session: requests.Session, url: str, email: str) -> float:
    started = time.perf_counter()
    answer = session.post(f"{url}/v1/password-reset", json={"email": email}, timeout=10)
    elapsed = time.perf_counter() - started
    if answer.status_code != 202:
        raise SystemExit(f"reset answered {answer.status_code}: {answer.text[:200]} (rate limited? see service.yaml)")
    return 1000 * elapsed


def measure(url: str, tries: int = 200, warmup: int = 20, seed: int = 0) -> dict[str, float | int | bool]:
    rng = random.Random(seed)
    session = requests.Session()
    existing = f"timing-{uuid.uuid4().hex[:10]}@example.com"
    signed = session.post(f"{url}/v1/users", timeout=20,
                          json={"email": existing, "password": "correct horse 42", "name": "Timing"})
    if signed.status_code != 201:
        raise SystemExit(f"signup answered {signed.status_code}: {signed.text[:200]}")
    times: dict[str, list[float]] = {"existing": [], "missing": []}
    for i in range(warmup + tries):
        pair = [("existing", existing), ("missing", f"nobody-{uuid.uuid4().hex[:12]}@example.com")]
        rng.shuffle(pair)
        for kind, email in pair:
            ms = _timed(session, url, email)
            if i >= warmup:
                times[kind].append(ms)
    med = {k: statistics.median(v) for k, v in times.items()}
    p90 = {k: statistics.quantiles(v, n=10)[-1] for k, v in times.items()}
    diff = abs(med["existing"] - med["missing"])
    return {"tries_each": tries, "median_existing_ms": round(med["existing"], 3),
            "median_missing_ms": round(med["missing"], 3), "abs_median_difference_ms": round(diff, 3),
            "p90_existing_ms": round(p90["existing"], 3), "p90_missing_ms": round(p90["missing"], 3),
            "goal_ms": GOAL_MS, "ok": diff < GOAL_MS}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running user service (default: start a local system)")
    parser.add_argument("--tries", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    with ExitStack() as stack:
        url = args.url
        if url is None:
            from macaron.testing import LocalSystem

            os.environ.setdefault("MACARON_ROOT", str(ROOT))
            local = stack.enter_context(LocalSystem(ROOT))
            url = local.urls["user"]
        if urlsplit(url).hostname not in ("127.0.0.1", "localhost"):
            raise SystemExit("reset_timing measures a local system only (127.0.0.1)")
        figures = measure(url.rstrip("/"), args.tries, args.warmup, args.seed)
    print(json.dumps(figures))
    return 0 if figures["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
