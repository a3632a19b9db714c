"""``python -m chaos [--short] [--instances N] [--only NAME ...]``: every scenario in order on one
local system (``--instances N``: N instances of each service behind a local nginx, N workers, one
Redis and DynamoDB), each one's figures printed as it ends (JSON with ``--json``); exit 1 when any
promise broke."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import faults, outbox, scale, slowclients, traffic
from .harness import SHORT, THOROUGH, Chaos, ScenarioFailed

SCENARIOS: list[tuple[str, Callable[[Chaos], dict[str, Any]]]] = [
    ("1-load", traffic.load),
    ("9-sessions-across-instances", scale.sessions),
    ("10-idempotency-across-instances", scale.idempotency),
    ("11-rate-limits-across-instances", scale.rate_limits),
    ("12-brute-force-across-instances", scale.brute_force),
    ("2-redis-outage", traffic.redis_outage),
    ("3-worker-kills", faults.worker_kills),
    ("4-sendgrid-faults", faults.sendgrid_faults),
    ("5-auth0-down", faults.auth0_down),
    ("6-malformed-input", traffic.malformed),
    ("8-signups-redis-outage", outbox.signup_outage),
    ("13-scheduler-failover", scale.scheduler_failover),
    ("14-slow-clients", slowclients.slow_clients),
    ("7-log-audit", traffic.log_audit),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__)
    parser.add_argument("--root", default=str(Path(__file__).resolve().parent.parent))
    parser.add_argument("--short", action="store_true", help="the test suite's scale instead of the issue's")
    parser.add_argument("--instances", type=int, default=1,
                        help="instances of each service (and workers of each) behind a local nginx (default 1)")
    parser.add_argument("--store", choices=["sqlite", "dynamodb"], default=None,
                        help="the store of every instance (default: SQLite on one, DynamoDB on moto on several)")
    parser.add_argument("--only", action="append", default=[], help="run only scenarios whose name contains this")
    parser.add_argument("--json", default=None, help="also write every scenario's figures to this file")
    args = parser.parse_args(argv)
    scale = SHORT if args.short else THOROUGH
    results: dict[str, Any] = {"scale": scale.name, "instances": args.instances}
    failed = 0
    results["store"] = args.store or ("dynamodb" if args.instances > 1 else "sqlite")
    with Chaos(Path(args.root), scale, instances=args.instances, store=args.store) as chaos:
        for name, scenario in SCENARIOS:
            if args.only and not any(o in name for o in args.only) and name != "7-log-audit":
                continue
            started = time.monotonic()
            try:
                figures = scenario(chaos)
                outcome = "ok"
            except ScenarioFailed as exc:
                figures, outcome, failed = {"failure": str(exc)}, "FAILED", failed + 1
            elapsed = round(time.monotonic() - started, 1)
            results[name] = {"outcome": outcome, "scenario_seconds": elapsed, **figures}
            print(f"{name}: {outcome} in {elapsed} s\n  {json.dumps(figures)}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    ran = len(SCENARIOS) - failed if not args.only else "?"
    print(f"chaos ({scale.name}, {args.instances} instance(s)): {ran} ok, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
