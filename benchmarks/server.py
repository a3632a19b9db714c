"""Server throughput: each contender under gunicorn, loaded by wrk, rounds alternated."""

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

HERE = Path(__file__).resolve().parent
POST_BODY = json.dumps(
    {
        "id": 1,
        "name": "new thing",
        "owner": {"email": "a@example.com"},
        "parts": [{"sku": f"XYZ-{i:03d}", "qty": i, "price": 2.5} for i in range(5)],
    }
)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(contender: str, threads: int = 4) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    worker = "uvicorn.workers.UvicornWorker" if contender == "connexion" else "gthread"
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "-b",
        f"127.0.0.1:{port}",
        "-w",
        "1",
        "-k",
        worker,
        "--threads",
        str(threads),
        "--chdir",
        str(HERE),
        "--log-level",
        "warning",
        f"contenders:build('{contender}')",
    ]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/things/1?detail=full", timeout=1) as r:
                if r.status == 200:
                    return proc, base
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"{contender} died: {proc.stderr.read().decode()[-2000:]}") from None
            time.sleep(0.05)
    raise RuntimeError(f"{contender} did not start")


def stop(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def wrk(url: str, seconds: float, connections: int, script: str | None = None) -> float:
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk (Debian package)")
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s"]
    if script:
        argv += ["-s", script]
    out = subprocess.run([*argv, url], capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{url}: {errors.group(1)} error responses under load:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]


def measure(
    contenders: list[str], rounds: int, seconds: float, connections: int = 8
) -> dict[str, dict[str, list[float]]]:
    """Requests/s per contender and endpoint, one list entry per round (contenders alternated)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(
            f'wrk.method = "POST"\nwrk.body = {json.dumps(POST_BODY)}\n'
            'wrk.headers["Content-Type"] = "application/json"\n'
        )
    results: dict[str, dict[str, list[float]]] = {c: {"get": [], "post": []} for c in contenders}
    try:
        for r in range(rounds):
            order = contenders if r % 2 == 0 else list(reversed(contenders))
            for contender in order:
                proc, base = start(contender)
                try:
                    wrk(f"{base}/things/7?detail=full", 1, connections)  # warm-up
                    results[contender]["get"].append(wrk(f"{base}/things/7?detail=full", seconds, connections))
                    results[contender]["post"].append(wrk(f"{base}/things", seconds, connections, lua.name))
                finally:
                    stop(proc)
    finally:
        os.unlink(lua.name)
    return results


def ratio(results: dict[str, dict[str, list[float]]], top: str, bottom: str) -> dict[str, float]:
    out = {kind: median(results[top][kind]) / median(results[bottom][kind]) for kind in ("get", "post")}
    out["value"] = min(out["get"], out["post"])
    return out
