"""``nox -s bench [-- --quick]``: every benchmark figure as a ratio measured in one run.

Contenders are alternated round by round and the median is reported; everything runs
on 127.0.0.1. Writes ``benchmarks/results.json`` (the figures, the machine, the raw
numbers) and prints a table. Method and latest results: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
from pathlib import Path
from statistics import median
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

GOALS = {
    "server_vs_flask": (">=", 0.85),
    "server_vs_connexion": (">=", 2.0),
    "server_vs_fastapi": (">=", 1.0),
    "server_vs_flask_30": (">=", 0.85),  # the same endpoints, the spec in OpenAPI 3.0 (bench_service/api30.yaml)
    "server_vs_flask_31": (">=", 0.85),  # ... and in 3.1 (api31.yaml)
    "validation_vs_json_loads": ("<=", 10.0),
    "validation_vs_json_loads_30": ("<=", 10.0),  # the same figure, the spec in OpenAPI 3.0 (oas_validation.py)
    "validation_vs_json_loads_31": ("<=", 10.0),  # ... and in 3.1
    "client_vs_requests": ("<=", 1.10),
    "tasks_vs_rq": (">=", 0.9),
    "cold_start_s": ("<=", 1.0),
    "rss_mb": (None, None),
}


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("flask", "werkzeug", "gunicorn", "uvloop", "fastjsonschema", "prometheus-client", "connexion",
                 "fastapi", "pydantic", "uvicorn", "httptools", "rq"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "loadavg_before": os.getloadavg(),
        "versions": versions(),
        "server_pinning": _pinning(),
    }


def _pinning() -> str:
    import server

    cpus = server._cpus()
    return f"server on CPU {min(cpus[0])}, wrk on CPU {min(cpus[1])}" if cpus else "none (one CPU)"


def optional(module: str, quick: bool) -> dict[str, Any] | None:
    """Figures measured by a sibling script exposing ``measure(quick: bool) -> dict``."""
    try:
        return importlib.import_module(module).measure(quick)  # type: ignore[no-any-return]
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short run (under two minutes)")
    parser.add_argument("--only", nargs="*", help="run only these figures")
    args = parser.parse_args(argv)
    quick = args.quick
    wanted = set(args.only or GOALS)
    unknown = wanted - set(GOALS)
    if unknown:
        parser.error(f"unknown figure(s): {', '.join(sorted(unknown))}; choose from {', '.join(GOALS)}")
    import inprocess
    import server

    servers = {"server_vs_flask", "server_vs_connexion", "server_vs_fastapi", "server_vs_flask_30",
               "server_vs_flask_31"}
    if servers & wanted:
        server.require_wrk()  # before anything else: say at once what is missing
    results: dict[str, Any] = {"machine": machine(), "quick": quick, "raw": {}}
    if servers & wanted:
        # flask@front: bare Flask on macaron's server too, so the framework's own cost is read apart from the server's
        contenders = ["macaron", "flask", "flask@front"] + (["connexion"] if "server_vs_connexion" in wanted else [])
        contenders += ["fastapi"] if "server_vs_fastapi" in wanted else []
        contenders += [f"macaron{v}" for v in ("30", "31") if f"server_vs_flask_{v}" in wanted]
        raw = server.measure(contenders, rounds=3 if quick else 10, seconds=2 if quick else 3)
        results["raw"]["server"] = raw
        results["server_vs_flask"] = server.ratio(raw, "macaron", "flask")
        same = server.ratio(raw, "macaron", "flask@front")
        results["server_vs_flask"].update(same_server_get=same["get"], same_server_post=same["post"])
        for other in ("connexion", "fastapi"):
            if other in contenders:
                results[f"server_vs_{other}"] = server.ratio(raw, "macaron", other)
        for version in ("30", "31"):
            if f"macaron{version}" in contenders:
                results[f"server_vs_flask_{version}"] = server.ratio(raw, f"macaron{version}", "flask")
                results[f"server_vs_flask_{version}"]["vs_swagger2"] = server.ratio(raw, f"macaron{version}",
                                                                                   "macaron")["value"]
        if "fastapi" in contenders:  # the worker's CPU per request of each side, as the issue asks
            for kind in ("get", "post"):
                for name in ("macaron", "fastapi"):
                    results["server_vs_fastapi"][f"{name}_cpu_us_{kind}"] = median(raw[name][kind]["cpu_us"])
        import per_request  # the same endpoints without sockets: a steadier view of the cost

        results["raw"]["in_process_us"] = per_request.measure(batches=6 if quick else 20)
    if "validation_vs_json_loads" in wanted:
        results["validation_vs_json_loads"] = inprocess.validation_vs_json_loads(
            5 if quick else 9, 300 if quick else 2000
        )
    if {"validation_vs_json_loads_30", "validation_vs_json_loads_31"} & wanted:
        import oas_validation

        oas = oas_validation.measure(quick)
        results["raw"]["oas_validation"] = oas
        results["validation_vs_json_loads_30"] = oas["by_version"]["3.0"]
        results["validation_vs_json_loads_31"] = oas["by_version"]["3.1"]
    if "client_vs_requests" in wanted and (figure := optional("client_vs_requests", quick)):
        results["client_vs_requests"] = figure
    if "tasks_vs_rq" in wanted and (figure := optional("tasks_vs_rq", quick)):
        results["tasks_vs_rq"] = figure
    if "cold_start_s" in wanted:
        results["cold_start_s"] = inprocess.cold_start(3 if quick else 7)
    if "rss_mb" in wanted:
        results["rss_mb"] = inprocess.rss()
    results["machine"]["loadavg_after"] = os.getloadavg()
    out = HERE / "results.json"
    out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(table(results))
    print(f"\nwritten to {out}")
    return 0


def table(results: dict[str, Any]) -> str:
    lines = [f"{'figure':<26}{'value':>10}  {'goal':<8} met   detail", "-" * 78]
    for key, (op, goal) in GOALS.items():
        if key not in results:
            lines.append(f"{key:<26}{'—':>10}  (not measured)")
            continue
        figure = results[key]
        value = figure["value"]
        met = "" if op is None else ("yes" if (value >= goal if op == ">=" else value <= goal) else "NO")
        detail = {
            k: (round(v, 3) if isinstance(v, float) else v)
            for k, v in figure.items()
            if k != "value" and not isinstance(v, (list, dict))
        }
        parts = {k: v for k, v in figure.items() if isinstance(v, dict)}
        nested = {k: round(v["ratio"], 2) for k, v in parts.items() if "ratio" in v}
        nested |= {f"{k}_lazy": round(v["lazy_ratio"], 2) for k, v in parts.items() if "lazy_ratio" in v}
        goal_text = "" if op is None else f"{op}{goal}"
        lines.append(f"{key:<26}{value:>10.3f}  {goal_text:<8} {met:<5} {detail or ''}{nested or ''}")
    per_request = results.get("raw", {}).get("in_process_us")
    if per_request:
        lines.append("")
        lines.append("in-process µs per request (WSGI call, no sockets; min over batches, 1 thread):")
        for kind in ("get", "post"):
            mine, bare = (per_request[c][f"{kind}_1t"]["min_us"] for c in ("macaron", "flask"))
            lines.append(f"  {kind.upper():<5} macaron {mine:6.1f}  bare Flask {bare:6.1f}  overhead {mine - bare:.1f}")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
