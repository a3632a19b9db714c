"""Which server ``macaron serve`` runs, chosen by measurement: the same macaron app under each
candidate, one worker, four threads for the app where the server has them, the harness of
``server.py`` (rounds alternated, server pinned to one CPU and wrk to the other).

``python benchmarks/server_choice.py [--quick] [--only front gunicorn ...]`` prints a markdown table
(docs/benchmarks.md, "Choosing the server") and writes ``benchmarks/server_choice.json``. Per
candidate: requests/s and worker CPU µs per request (GET and POST) at ``wrk -c8``, p50/p99 at -c8 and
-c64, resident memory of the worker after the load, how it refuses a 64 KiB header and a declared
1 GB body, and a siege (``chaos/slowclients.py``): sockets trickling headers and bodies while
ordinary clients keep asking, each on a new connection.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import time
from pathlib import Path
from statistics import median
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import server  # noqa: E402

from chaos.slowclients import siege  # noqa: E402

CANDIDATES = ["front", "gunicorn", "granian", "gevent", "waitress"]


def _exchange(base: str, data: bytes, wait: float = 5.0) -> str:
    """Send ``data``; the status and Content-Type of the answer within ``wait`` s, or what happened."""
    host, port = base.split("//", 1)[1].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=wait) as sock:
        sock.sendall(data)
        try:
            got = sock.recv(4096)
        except TimeoutError:
            return f"no answer in {wait:.0f} s"
        except ConnectionResetError:
            return "reset"
    if not got:
        return "closed"
    head = got.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    kind = next((line.split(":", 1)[1].strip() for line in head if line.lower().startswith("content-type:")), "-")
    return f"{head[0].split(' ', 2)[1]} {kind}"


def probes(base: str) -> dict[str, str]:
    return {
        "huge_header": _exchange(base, b"GET /things/1 HTTP/1.1\r\nHost: x\r\nX-Big: " + b"h" * 65536 + b"\r\n\r\n"),
        "declared_1gb": _exchange(base, b"POST /things HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                        b"Content-Length: 1000000000\r\n\r\n"),
    }


def _on_wrk_cpu() -> Any:
    """Run the siege on wrk's CPU (the server keeps its own); returns the affinity to restore."""
    cpus = server._cpus()
    before = os.sched_getaffinity(0)
    if cpus:
        os.sched_setaffinity(0, cpus[1])
    return before


def measure(quick: bool, names: list[str], siege_only: bool = False) -> dict[str, Any]:
    contenders = [f"macaron@{n}" for n in names]
    rounds, seconds = (3, 2) if quick else (6, 3)
    if siege_only:
        rounds = 1  # one short round, for the table's shape; the siege is what is measured
    extra: dict[str, Any] = {}

    def after(running: dict[str, tuple[str, int]]) -> None:
        for name, (base, pid) in running.items():
            extra[name] = {"rss_mb": server.rss_mb(pid), "probes": probes(base)}
        for name, (base, _) in running.items():
            restore = _on_wrk_cpu()
            try:
                result = siege(base, heads=250, bodies=250, seconds=15 if quick else 30, path=server.GET_PATH,
                               body_path="/things")
            finally:
                os.sched_setaffinity(0, restore)
            extra[name]["siege"] = result.figures()

    c8 = server.measure(contenders, rounds, seconds, 8, after=after)
    c64 = c8 if siege_only else server.measure(contenders, rounds, seconds, 64)
    out: dict[str, Any] = {"quick": quick, "loadavg": os.getloadavg(), "date": time.strftime("%Y-%m-%dT%H:%M:%SZ"),
                           "candidates": {}}
    for name in contenders:
        row: dict[str, Any] = {}
        for kind in ("get", "post"):
            row[f"rps_{kind}"] = round(median(c8[name][kind]["rps"]))
            row[f"cpu_us_{kind}"] = median(c8[name][kind]["cpu_us"])
            row[f"vs_front_{kind}"] = round(median(a / b for a, b in zip(
                c8[name][kind]["rps"], c8[contenders[0]][kind]["rps"], strict=True)), 3)
            row[f"p50_p99_c8_{kind}"] = (median(c8[name][kind]["p50_ms"]), median(c8[name][kind]["p99_ms"]))
            row[f"p50_p99_c64_{kind}"] = (median(c64[name][kind]["p50_ms"]), median(c64[name][kind]["p99_ms"]))
        row.update(extra.get(name, {}))
        out["candidates"][name] = row
    out["raw"] = {"c8": c8, "c64": c64}
    return out


def table(out: dict[str, Any]) -> str:
    lines = ["| server | req/s GET / POST (÷ front) | CPU µs/req GET / POST | p50 / p99 ms -c8 GET | p50 / p99 ms -c64 "
             "GET | RSS MB | 64 KiB header | declared 1 GB body | siege: ordinary ok / failed, p99 ms |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, r in out["candidates"].items():
        s = r.get("siege", {})
        lines.append(
            f"| {name.split('@')[1]} | {r['rps_get']:,} / {r['rps_post']:,} ({r['vs_front_get']:.2f} / "
            f"{r['vs_front_post']:.2f}) | {r['cpu_us_get']:.0f} / {r['cpu_us_post']:.0f} | "
            f"{r['p50_p99_c8_get'][0]:.2f} / {r['p50_p99_c8_get'][1]:.2f} | "
            f"{r['p50_p99_c64_get'][0]:.2f} / {r['p50_p99_c64_get'][1]:.2f} | {r.get('rss_mb', '-')} | "
            f"{r.get('probes', {}).get('huge_header', '-')} | {r.get('probes', {}).get('declared_1gb', '-')} | "
            f"{s.get('ok', '-')} / {s.get('failed', '-')}, {s.get('p99_ms', '-')} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", nargs="*", default=CANDIDATES, choices=CANDIDATES)
    parser.add_argument("--siege-only", action="store_true", help="one short wrk round; the probes and sieges in full")
    args = parser.parse_args()
    server.require_wrk()
    out = measure(args.quick, args.only, args.siege_only)
    (HERE / "server_choice.json").write_text(json.dumps(out, indent=2, default=str) + "\n")
    print(table(out))
    print(f"\nload average at the end: {os.getloadavg()}; written to {HERE / 'server_choice.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
