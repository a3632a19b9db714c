"""Server throughput: each contender under gunicorn, loaded by wrk, rounds alternated.

All contenders are started once and stay up (idle ones cost nothing); each round loads
every contender in turn, in alternating order, and a ratio is the median of the per-round
ratios, so the drift of a shared machine hits both sides of each ratio alike. Besides
requests/s, the worker's CPU time per request is recorded.

With two CPUs or more the server runs on one and wrk on another (:func:`_cpus`): on the 2-core VM
of docs/benchmarks.md, letting the scheduler spread gunicorn's threads and wrk over both cores
doubled the CPU time of a request for every contender, and moved it between runs.

Servers write their stderr to /dev/null: macaron logs one JSON line per request (its default
INFO level, as in production; the line is formatted and written all the same), and an unread
pipe would fill up and stall the server.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from statistics import median
from typing import Any

HERE = Path(__file__).resolve().parent
POST_BODY = json.dumps(
    {
        "id": 1,
        "name": "new thing",
        "owner": {"email": "a@example.com"},
        "parts": [{"sku": f"XYZ-{i:03d}", "qty": i, "price": 2.5} for i in range(5)],
    }
)
GET_PATH = "/things/7?detail=full"
WRK_MISSING = (
    "wrk (the HTTP load generator) is not installed; install the Debian package:\n"
    "    sudo apt-get install wrk\n"
    "then run the benchmark again."
)


def _cpus() -> tuple[set[int], set[int]] | None:
    """(server CPUs, wrk CPUs): the first allowed CPU for the server, the next for wrk."""
    allowed = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    return ({allowed[0]}, {allowed[1]}) if len(allowed) >= 2 else None


def _pinned(which: int) -> Any:
    """A ``preexec_fn`` pinning the child to the server's (0) or wrk's (1) CPU, when there are two."""
    cpus = _cpus()
    if cpus is None:
        return None
    chosen = cpus[which]
    return lambda: os.sched_setaffinity(0, chosen)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def require_wrk() -> None:
    """Stop with the install instructions when wrk is missing."""
    if not shutil.which("wrk"):
        raise SystemExit(WRK_MISSING)


#: The server each app runs under unless its contender name says ``app@server``.
DEFAULT_SERVER = {"macaron": "front", "macaron30": "front", "macaron31": "front",
                  "flask": "gthread", "connexion": "uvicorn-worker", "fastapi": "uvicorn"}
SERVERS = ("front", "gunicorn", "gthread", "granian", "gevent", "waitress", "uvicorn", "uvicorn-worker")


def server_argv(contender: str, port: int, threads: int = 4) -> list[str]:
    """The command line serving ``contender`` (``app`` or ``app@server``) on ``port``: one worker
    process, ``threads`` threads for the app where the server has them.

    - ``front``: gunicorn's arbiter with macaron's uvloop front (``macaron serve``'s default);
    - ``gunicorn``: gunicorn's gthread with macaron's problem+json edge (``macaron serve --server gunicorn``);
    - ``gthread``: gunicorn's plain gthread worker; ``gevent``: gunicorn's gevent worker (greenlets);
    - ``granian``: granian's WSGI interface (Rust, tokio), ``threads`` blocking threads;
    - ``waitress``: waitress (asyncore front, ``threads`` threads); ``uvicorn``: uvicorn with uvloop and
      httptools (ASGI apps); ``uvicorn-worker``: the same inside gunicorn (connexion 3)."""
    app, _, server = contender.partition("@")
    server = server or DEFAULT_SERVER[app]
    target = f"contenders:build('{app}')"
    gunicorn = [sys.executable, "-m", "gunicorn", "-b", f"127.0.0.1:{port}", "-w", "1", "--chdir", str(HERE),
                "--log-level", "warning", "--threads", str(threads)]
    if server in ("front", "gunicorn", "gthread", "gevent", "uvicorn-worker"):
        worker = {"front": "macaron._server.frontworker.FrontWorker",
                  "gunicorn": "macaron._server.edge.ProblemThreadWorker", "gthread": "gthread", "gevent": "gevent",
                  "uvicorn-worker": "uvicorn.workers.UvicornWorker"}[server]
        return [*gunicorn, "-k", worker, target]
    if server == "granian":
        return [sys.executable, "-m", "granian", "--interface", "wsgi", "--host", "127.0.0.1", "--port", str(port),
                "--workers", "1", "--blocking-threads", str(threads), "--runtime-threads", "1", "--no-ws",
                "--log-level", "warning", "--working-dir", str(HERE), "--factory", f"contenders:{app}_app"]
    if server == "waitress":
        return [sys.executable, "-m", "waitress", "--listen", f"127.0.0.1:{port}", "--threads", str(threads),
                "--call", f"contenders:{app}_app"]
    if server == "uvicorn":
        return [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port), "--loop", "uvloop",
                "--http", "httptools", "--log-level", "warning", "--app-dir", str(HERE), "--factory",
                f"contenders:{app}_app"]
    raise ValueError(f"unknown server {server!r} in {contender!r}; choose from {', '.join(SERVERS)}")


def start(
    contender: str, threads: int = 4, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """``contender`` (``app`` or ``app@server``, :func:`server_argv`) on a free port; returns (process, base URL)."""
    port = _free_port()
    argv = server_argv(contender, port, threads)
    environ = {**os.environ, **(env or {})}
    proc = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, env=environ,
        preexec_fn=_pinned(0), cwd=str(HERE),
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}{GET_PATH}", timeout=1) as r:
                if r.status == 200:
                    return proc, base
        except OSError:
            if proc.poll() is not None:  # run it again in the foreground to show why
                again = subprocess.run(argv, capture_output=True, text=True, timeout=30, env=environ, cwd=str(HERE))
                raise RuntimeError(f"{contender} died while starting:\n{again.stderr[-2000:]}") from None
            time.sleep(0.05)
    stop(proc)
    raise RuntimeError(f"{contender} did not start within 60 s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a server started by :func:`start` (its whole process group)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def worker_pid(proc: subprocess.Popen[bytes]) -> int:
    """The pid of the one worker (the master's child: gunicorn, granian), or the server's own."""
    out = subprocess.run(["ps", "--ppid", str(proc.pid), "-o", "pid="], capture_output=True, text=True).stdout
    pids = [int(p) for p in out.split()]
    return pids[0] if pids else proc.pid


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(url: str, seconds: int, connections: int, script: str | None = None) -> tuple[float, int]:
    """Run wrk against ``url``; returns (requests/s, requests). Any non-2xx answer is an error."""
    out = wrk_run(url, seconds, connections, script)
    return out["rps"], out["requests"]


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk_run(url: str, seconds: int, connections: int, script: str | None = None) -> dict[str, float]:
    """Run wrk against ``url``: requests/s, requests, and the latency's p50 and p99 in ms."""
    require_wrk()
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script:
        argv += ["-s", script]
    out = subprocess.run([*argv, url], capture_output=True, text=True, check=True, preexec_fn=_pinned(1)).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{url}: {errors.group(1)} error responses under load:\n{out}")
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    count = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    p50 = re.search(r"\s50%\s+([\d.]+\w+)", out)
    p99 = re.search(r"\s99%\s+([\d.]+\w+)", out)
    return {"rps": rps, "requests": count, "p50_ms": _ms(p50.group(1)) if p50 else float("nan"),
            "p99_ms": _ms(p99.group(1)) if p99 else float("nan"),
            "socket_errors": sum(int(g) for g in socket_errors.groups()) if socket_errors else 0}


def measure(
    contenders: list[str],
    rounds: int,
    seconds: int,
    connections: int = 8,
    envs: dict[str, dict[str, str]] | None = None,
    after: Any = None,
) -> dict[str, dict[str, dict[str, list[float]]]]:
    """Per contender and endpoint: requests/s, worker CPU µs per request and wrk's p50/p99 latency,
    one entry per round.

    ``envs`` adds environment variables per contender name (for experiments); a name
    ``label=contender`` runs ``contender`` under that label. ``after``, when given, is called with
    ``{name: (base URL, worker pid)}`` once the rounds are done, before the servers stop.
    """
    require_wrk()
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(
            f'wrk.method = "POST"\nwrk.body = {json.dumps(POST_BODY)}\n'
            'wrk.headers["Content-Type"] = "application/json"\n'
        )
    fields = ("rps", "cpu_us", "p50_ms", "p99_ms")
    results = {c: {k: {f: [] for f in fields} for k in ("get", "post")} for c in contenders}
    running: dict[str, tuple[subprocess.Popen[bytes], str, int]] = {}
    try:
        for name in contenders:
            proc, base = start(name.split("=")[-1], env=(envs or {}).get(name))
            running[name] = (proc, base, worker_pid(proc))
        urls = {name: {"get": f"{base}{GET_PATH}", "post": f"{base}/things"} for name, (_, base, _) in running.items()}
        for name in contenders:  # warm-up: imports, first-request work, connection pools
            wrk(urls[name]["get"], 1, connections)
            wrk(urls[name]["post"], 1, connections, lua.name)
        for r in range(rounds):
            for kind in ("get", "post"):
                order = contenders if (r + (kind == "post")) % 2 == 0 else list(reversed(contenders))
                for name in order:
                    pid = running[name][2]
                    before = cpu_seconds(pid)
                    out = wrk_run(urls[name][kind], seconds, connections, lua.name if kind == "post" else None)
                    results[name][kind]["rps"].append(out["rps"])
                    results[name][kind]["cpu_us"].append(round((cpu_seconds(pid) - before) / out["requests"] * 1e6, 1))
                    results[name][kind]["p50_ms"].append(out["p50_ms"])
                    results[name][kind]["p99_ms"].append(out["p99_ms"])
        if after is not None:
            after({name: (base, pid) for name, (_, base, pid) in running.items()})
    finally:
        for proc, _, _ in running.values():
            stop(proc)
        os.unlink(lua.name)
    return results


def ratio(results: dict[str, dict[str, dict[str, list[float]]]], top: str, bottom: str) -> dict[str, Any]:
    """Requests/s of ``top`` ÷ those of ``bottom``: the median of the per-round ratios, per endpoint.

    ``value`` is the worse endpoint; ``cpu_get``/``cpu_post`` are the same ratio computed from
    the worker's CPU time per request (bottom's ÷ top's, so higher is better there too).
    """
    out: dict[str, Any] = {}
    for kind in ("get", "post"):
        mine, theirs = results[top][kind], results[bottom][kind]
        out[kind] = median(a / b for a, b in zip(mine["rps"], theirs["rps"], strict=True))
        out[f"cpu_{kind}"] = median(b / a for a, b in zip(mine["cpu_us"], theirs["cpu_us"], strict=True))
    out["value"] = min(out["get"], out["post"])
    return out


if __name__ == "__main__":  # experiments: python server.py ROUNDS SECONDS name|label=name ...
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("rounds", type=int)
    parser.add_argument("seconds", type=int)
    parser.add_argument("contenders", nargs="+")
    parser.add_argument(
        "--env", action="append", default=[], help="NAME:KEY=VALUE, NAME as in contenders (old=macaron:PYTHONPATH=...)"
    )
    args = parser.parse_args()
    envs: dict[str, dict[str, str]] = {}
    for item in args.env:
        label, _, assignment = item.partition(":")
        key, _, value = assignment.partition("=")
        envs.setdefault(label, {})[key] = value
    raw = measure(args.contenders, args.rounds, args.seconds, envs=envs)
    for name, kinds in raw.items():
        print(name, {k: {m: median(v) for m, v in d.items()} for k, d in kinds.items()})
