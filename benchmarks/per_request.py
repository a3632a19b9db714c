"""Per-request cost without sockets: each contender's WSGI app called in this process.

``python benchmarks/per_request.py`` prints µs per request of macaron and bare Flask (the same
endpoints as the server benchmark), called from 1 thread and from 4 threads (the GIL
contention of gunicorn's gthread worker), as the minimum over many alternated batches:
a figure that a busy machine disturbs far less than wrk's requests/s.
``python benchmarks/per_request.py --profile get|post`` prints a pyinstrument profile of macaron.

macaron keeps its default INFO logging: its one JSON line per request goes to /dev/null.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from statistics import median
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import contenders  # noqa: E402
from server import GET_PATH, POST_BODY  # noqa: E402


def _environ(kind: str) -> dict[str, Any]:
    path, _, query = GET_PATH.partition("?")
    body = POST_BODY.encode() if kind == "post" else b""
    environ = {
        "REQUEST_METHOD": "POST" if kind == "post" else "GET",
        "PATH_INFO": "/things" if kind == "post" else path,
        "QUERY_STRING": "" if kind == "post" else query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_USER_AGENT": "profile",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if body:
        environ["CONTENT_TYPE"] = "application/json"
        environ["CONTENT_LENGTH"] = str(len(body))
    return environ


def request_fn(app: Any, kind: str) -> Callable[[], None]:
    """One full WSGI request of ``kind`` (get/post) to ``app``; fails on a non-2xx answer."""
    template = _environ(kind)
    body = POST_BODY.encode() if kind == "post" else b""

    def once() -> None:
        status: list[str] = []
        environ = dict(template)
        environ["wsgi.input"] = io.BytesIO(body)
        result = app(environ, lambda s, h, e=None: status.append(s))
        b"".join(result)
        getattr(result, "close", lambda: None)()
        if not status[0].startswith("20"):
            raise RuntimeError(f"{kind}: {status[0]}")

    return once


@contextmanager
def quiet_stderr() -> Any:
    """macaron's request lines (INFO) to /dev/null, line-buffered like a real stderr."""
    saved = sys.stderr
    with open(os.devnull, "w", buffering=1) as devnull:
        sys.stderr = devnull
        try:
            yield
        finally:
            sys.stderr = saved


def per_request_us(fn: Callable[[], None], calls: int, threads: int) -> float:
    """CPU µs per request over ``calls`` requests spread across ``threads`` threads."""
    share = calls // threads

    def loop() -> None:
        for _ in range(share):
            fn()

    workers = [threading.Thread(target=loop) for _ in range(threads)]
    cpu = time.process_time()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return (time.process_time() - cpu) / (share * threads) * 1e6


def measure(batches: int = 30, calls: int = 200, names: tuple[str, ...] = ("macaron", "flask")) -> dict[str, Any]:
    """Minimum and median µs per request, per contender, endpoint and thread count."""
    apps = {name: contenders.build(name) for name in names}
    fns = {(n, k): request_fn(app, k) for n, app in apps.items() for k in ("get", "post")}
    samples: dict[tuple[str, str, int], list[float]] = {(n, k, t): [] for n, k in fns for t in (1, 4)}
    with quiet_stderr():
        for fn in fns.values():
            for _ in range(50):
                fn()
        for b in range(batches):
            for key in fns if b % 2 == 0 else list(reversed(fns)):
                for threads in (1, 4):
                    samples[(*key, threads)].append(per_request_us(fns[key], calls, threads))
    out: dict[str, Any] = {}
    for (name, kind, threads), values in samples.items():
        out.setdefault(name, {})[f"{kind}_{threads}t"] = {
            "min_us": round(min(values), 1),
            "median_us": round(median(values), 1),
        }
    return out


def profile(kind: str, calls: int) -> str:
    from pyinstrument import Profiler

    fn = request_fn(contenders.build("macaron"), kind)
    with quiet_stderr():
        for _ in range(50):
            fn()
        profiler = Profiler(interval=0.0002)
        profiler.start()
        for _ in range(calls):
            fn()
        profiler.stop()
    return str(profiler.output_text(unicode=False, color=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", choices=["get", "post"], help="print a pyinstrument profile of macaron")
    parser.add_argument("--batches", type=int, default=30)
    args = parser.parse_args()
    if args.profile:
        print(profile(args.profile, 20000))
        return
    result = measure(args.batches)
    for key in result["macaron"]:
        mine, bare = result["macaron"][key]["min_us"], result["flask"][key]["min_us"]
        print(f"{key:8} macaron {mine:7.1f} µs  flask {bare:7.1f} µs  overhead {mine - bare:6.1f} µs")


if __name__ == "__main__":
    main()
