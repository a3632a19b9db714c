"""In-process figures: validation vs json.loads, cold start, resident memory."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import timeit
import urllib.request
from pathlib import Path
from statistics import median

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _bodies() -> dict[str, bytes]:
    def thing(parts: int) -> bytes:
        return json.dumps(
            {
                "id": 1,
                "name": "thing",
                "owner": {"email": "a@example.com", "name": "A"},
                "parts": [{"sku": f"ABC-{i % 1000:03d}", "qty": i, "price": i * 0.5} for i in range(parts)],
            }
        ).encode()

    return {"small": thing(3), "large": thing(100)}


def validation_vs_json_loads(rounds: int, number: int) -> dict[str, object]:
    """Time to parse+validate+build the model of a body ÷ json.loads of the same bytes.

    Nested models are built on first use (``_models.py``), so the figure (``ratio``) also
    touches every nested model, as a handler reading the whole body would; ``lazy_ratio`` is
    what a request costs before its handler touches anything (an echoed body).
    """
    from macaron import Model, Service
    from macaron.testing import body_parser

    service = Service.load(HERE / "bench_service")
    lazy = body_parser(service, "createThing")  # parse, validate, build the model: the request's body step

    def touch(thing: Model) -> None:  # reads every nested model, as a handler would, which builds it
        for prop, (kind, _) in type(thing).__nested__.items():
            value = getattr(thing, prop)
            if kind == "one" and value is not None:
                touch(value)
            elif kind == "list" and value:
                for item in value:
                    touch(item)

    def built(raw: bytes) -> object:
        thing = lazy(raw)
        touch(thing)  # type: ignore[arg-type]
        return thing

    out: dict[str, object] = {}
    for name, raw in _bodies().items():
        ours, unbuilt, base = [], [], []
        for _ in range(rounds):
            ours.append(timeit.timeit(lambda raw=raw: built(raw), number=number) / number)
            unbuilt.append(timeit.timeit(lambda raw=raw: lazy(raw), number=number) / number)
            base.append(timeit.timeit(lambda raw=raw: json.loads(raw), number=number) / number)
        out[name] = {
            "ratio": median(ours) / median(base),
            "macaron_us": median(ours) * 1e6,
            "lazy_ratio": median(unbuilt) / median(base),
            "lazy_us": median(unbuilt) * 1e6,
            "json_loads_us": median(base) * 1e6,
            "bytes": len(raw),
        }
    out["value"] = out["small"]["ratio"]  # type: ignore[index]
    return out


def _serve_user(env: dict[str, str], server: str = "front") -> tuple[subprocess.Popen[bytes], str, float]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.monotonic()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "macaron",
            "serve",
            str(ROOT / "services" / "user"),
            "--port",
            str(port),
            "--workers",
            "1",
            "--server",
            server,
        ],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/ping"
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return proc, url, time.monotonic() - started
        except OSError:
            if proc.poll() is not None or time.monotonic() - started > 30:
                raise RuntimeError("user service did not start") from None
            time.sleep(0.005)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=15)


def _env() -> dict[str, str]:
    from macaron.testing import dev_environ

    return {**os.environ, **dev_environ(ROOT), "MACARON_LOG_LEVEL": "WARNING"}


def cold_start(rounds: int) -> dict[str, object]:
    """Seconds from launching ``macaron serve services/user`` to its first /ping 200 (the default
    server; ``gunicorn_s``: ``--server gunicorn``, alternated with it round by round)."""
    samples, gunicorn = [], []
    for _ in range(rounds):
        proc, _, seconds = _serve_user(_env())
        _stop(proc)
        samples.append(seconds)
        proc, _, seconds = _serve_user(_env(), "gunicorn")
        _stop(proc)
        gunicorn.append(seconds)
    return {"value": median(samples), "samples": samples, "gunicorn_s": median(gunicorn)}


def rss(settle: float = 1.0) -> dict[str, object]:
    """Resident memory (MB) of the one idle worker of the user service (and of its arbiter), under
    the default server and under ``--server gunicorn`` (``gunicorn_mb``)."""
    out = _rss(settle, "front")
    out["gunicorn_mb"] = _rss(settle, "gunicorn")["value"]
    return out


def _rss(settle: float, server: str) -> dict[str, object]:
    proc, _, _ = _serve_user(_env(), server)
    try:
        time.sleep(settle)
        children = subprocess.run(["ps", "--ppid", str(proc.pid), "-o", "pid="], capture_output=True, text=True)
        pids = [int(p) for p in children.stdout.split()]
        values = {}
        for pid in [proc.pid, *pids]:
            status = Path(f"/proc/{pid}/status").read_text()
            values[pid] = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS"))) / 1024
        worker = values[pids[0]] if pids else values[proc.pid]
        return {"value": round(worker, 1), "master_mb": round(values[proc.pid], 1)}
    finally:
        _stop(proc)
