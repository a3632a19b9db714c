"""Cost of a ``macaron.clients`` call vs a raw ``requests.Session`` call to the same endpoint.

The callee is the benchmark service under gunicorn (``server.start``): macaron itself
(the realistic callee) and bare Flask (a faster callee, so the client's own overhead weighs
more). Both contenders call ``GET /things/7?detail=full`` and ``POST /things`` over one
keep-alive connection, one call at a time, in this process. Rounds alternate the contenders;
the figure is the ratio of the median per-call times (``value`` = client ÷ raw on the macaron
callee, the worse of GET and POST; 1.0 = no overhead).

The raw contender is what one writes by hand: ``session.get(url, params=..., timeout=...)``,
``raise_for_status()``, ``.json()``. The client additionally builds the request from the spec
(bravado), adds ``X-Request-ID``, applies its retry policy, checks status and body against the
callee's spec and returns models. Its Session has ``trust_env`` off (no per-call proxy/netrc
lookup from the environment), which a default Session pays for on every call; ``raw_no_env``
is a raw Session configured the same way, so ``ratio_vs_no_env`` is the client's own overhead.

Run alone: ``python benchmarks/client_vs_requests.py [--quick] [--profile]``; ``benchmarks/run.py``
calls :func:`measure`.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import server  # noqa: E402

POST = json.loads(server.POST_BODY)


def caller_service(directory: Path, url: str) -> Any:
    """A minimal calling service, in ``directory/caller``, whose ``clients.bench`` points at ``url``."""
    from macaron import Service

    directory = directory / "caller"  # a service is named by its directory
    directory.mkdir()

    (directory / "api.yaml").write_text('swagger: "2.0"\ninfo: {title: caller, version: "1"}\npaths: {}\n')
    (directory / "handlers.py").write_text("")
    spec = HERE / "bench_service" / "api.yaml"
    (directory / "service.yaml").write_text(
        f"name: caller\nlog_level: WARNING\nclients:\n  bench: {{url: '{url}', spec: '{spec}', kind: external}}\n"
    )
    return Service.load(directory, environ={})


def contenders(base: str, service: Any) -> dict[str, dict[str, Callable[[], Any]]]:
    import requests
    from macaron.clients import client

    bench = client("bench", service=service)

    def raw(session: requests.Session) -> dict[str, Callable[[], Any]]:
        def get() -> Any:
            response = session.get(f"{base}/things/7", params={"detail": "full"}, timeout=(3, 10))
            response.raise_for_status()
            return response.json()

        def post() -> Any:
            response = session.post(f"{base}/things", json=POST, timeout=(3, 10))
            response.raise_for_status()
            return response.json()

        return {"get": get, "post": post}

    bare = requests.Session()
    bare.trust_env = False  # as the client's session: no per-call proxy/netrc lookups

    def client_get() -> Any:
        return bench.getThing(thing_id=7, detail="full")

    def client_post() -> Any:
        return bench.createThing(body=POST)

    return {"raw": raw(requests.Session()), "raw_no_env": raw(bare),
            "client": {"get": client_get, "post": client_post}}


def per_call_us(fn: Callable[[], Any], calls: int) -> tuple[float, float]:
    """Wall and CPU (this process) microseconds per call."""
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls * 1e6, (time.process_time() - cpu) / calls * 1e6


def start(contender: str) -> tuple[subprocess.Popen[bytes], str]:
    """The callee under gunicorn (as ``server.start``), its output discarded so logging never blocks it."""
    port = server._free_port()
    argv = [sys.executable, "-m", "gunicorn", "-b", f"127.0.0.1:{port}", "-w", "1", "-k", "gthread", "--threads", "4",
            "--chdir", str(HERE), "--log-level", "warning", f"contenders:build('{contender}')"]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/things/1?detail=full", timeout=1) as answer:
                if answer.status == 200:
                    return proc, base
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"{contender} exited while starting") from None
            time.sleep(0.05)
    server.stop(proc)
    raise RuntimeError(f"{contender} did not start")


def run_callee(callee: str, rounds: int, calls: int) -> dict[str, Any]:
    proc, base = start(callee)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            funcs = contenders(base, caller_service(Path(tmp), base))
            for side in funcs.values():  # warm-up: connections, lazy imports, compiled validators
                for fn in side.values():
                    per_call_us(fn, 50)
            times: dict[str, dict[str, list[tuple[float, float]]]] = {c: {"get": [], "post": []} for c in funcs}
            for r in range(rounds):
                order = list(funcs) if r % 2 == 0 else list(reversed(funcs))
                for endpoint in ("get", "post"):
                    for contender in order:
                        times[contender][endpoint].append(per_call_us(funcs[contender][endpoint], calls))
    finally:
        server.stop(proc)
    out: dict[str, Any] = {}
    for endpoint in ("get", "post"):
        raw, bare, mine = (statistics.median(w for w, _ in times[c][endpoint]) for c in ("raw", "raw_no_env", "client"))
        cpu_bare, cpu_mine = (statistics.median(c for _, c in times[k][endpoint]) for k in ("raw_no_env", "client"))
        out[endpoint] = {"raw_us": round(raw, 1), "raw_no_env_us": round(bare, 1), "client_us": round(mine, 1),
                         "ratio": round(mine / raw, 3), "ratio_vs_no_env": round(mine / bare, 3),
                         "overhead_vs_no_env_us": round(mine - bare, 1),
                         "cpu_overhead_vs_no_env_us": round(cpu_mine - cpu_bare, 1)}
    return out


def measure(quick: bool = False) -> dict[str, Any]:
    """The figure for ``benchmarks/run.py``: ``value`` is the worse endpoint ratio on the macaron callee."""
    logging.getLogger("macaron").setLevel(logging.WARNING)
    rounds, calls = (3, 200) if quick else (9, 1000)
    callees = {callee: run_callee(callee, rounds, calls) for callee in ("macaron", "flask")}
    value = max(callees["macaron"][e]["ratio"] for e in ("get", "post"))
    return {"value": value, "rounds": rounds, "calls_per_round": calls,
            **{f"{c}_{e}": v for c, r in callees.items() for e, v in r.items()}}


def profile(calls: int = 3000) -> None:
    """Where a client call's own time goes (cProfile, cumulative), against the Flask callee."""
    import cProfile
    import pstats

    proc, base = start("flask")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            funcs = contenders(base, caller_service(Path(tmp), base))
            per_call_us(funcs["client"]["post"], 100)
            prof = cProfile.Profile()
            prof.runcall(per_call_us, funcs["client"]["post"], calls)
    finally:
        server.stop(proc)
    pstats.Stats(prof).sort_stats("tottime").print_stats(25)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--profile", action="store_true", help="profile client calls instead of measuring")
    args = parser.parse_args()
    if args.profile:
        profile()
        return 0
    print(json.dumps(measure(args.quick), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
