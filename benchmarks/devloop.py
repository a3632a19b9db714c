"""The daily loop's waits, measured: ``python benchmarks/devloop.py [--root ROOT] [--only FIGURE ...]``.

Figures (seconds, wall clock, on whatever this machine is doing; docs/benchmarks.md has the last run):

- ``token``: ``nox -s token -- user --sub alice`` (a session that needs only the framework);
- ``dev-first-200``: from starting ``nox -s dev`` to the first 200 of ``GET :8001/ping``;
- ``reload``: after an edit of ``services/user/handlers.py`` (its mtime), to the first 200 from
  the restarted service (the edit is undone afterwards);
- ``service-tests``: ``nox -s test -- services/mail -q`` (lint, stub check and one service's tests).

Run it on a checkout whose ``.nox`` is warm for the figures of an ordinary day; delete ``.nox``
first for the cold ones. It starts ``nox -s dev`` on the configured ports (8001, 8002, 8101, 8102):
they must be free. Everything it starts it stops (SIGINT to the process group, then SIGKILL).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def _nox(root: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "nox", "-f", str(root / "noxfile.py"), *args]


def _answers(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=1) as resp:
            return resp.headers.get("X-Request-ID") if resp.status == 200 else None
    except OSError:
        return None


def token(root: Path) -> float:
    began = time.monotonic()
    subprocess.run(_nox(root, "-s", "token", "--", "user", "--sub", "alice"), check=True, capture_output=True)
    return time.monotonic() - began


def service_tests(root: Path) -> float:
    began = time.monotonic()
    subprocess.run(_nox(root, "-s", "test", "--", str(root / "services" / "mail"), "-q", "-p", "no:cacheprovider"),
                   check=True, capture_output=True, env={**os.environ, "MACARON_ROOT": str(root)})
    return time.monotonic() - began


def dev(root: Path) -> tuple[float, float | None]:
    """``(seconds to the first 200, seconds a reload takes or None when it did not happen in 120 s)``."""
    log = open(root / ".dev-bench.log", "wb")  # closed below
    began = time.monotonic()
    proc = subprocess.Popen(_nox(root, "-s", "dev"), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    handlers = root / "services" / "user" / "handlers.py"
    text = handlers.read_text()
    try:
        while _answers("http://127.0.0.1:8001/ping") is None:
            if proc.poll() is not None or time.monotonic() - began > 300:
                raise SystemExit(f"nox -s dev did not come up; see {log.name}")
            time.sleep(0.05)
        first = time.monotonic() - began
        time.sleep(3)  # let the rest of the system settle
        pid_before = _pid_on(8001)
        edited = time.monotonic()
        handlers.write_text(text + "\n# edited by benchmarks/devloop.py\n")
        reload = None
        while time.monotonic() - edited < 120:
            if _pid_on(8001) not in (None, pid_before) and _answers("http://127.0.0.1:8001/ping"):
                reload = time.monotonic() - edited
                break
            time.sleep(0.05)
        return first, reload
    finally:
        handlers.write_text(text)
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def _pid_on(port: int) -> int | None:
    """The pid of the process listening on 127.0.0.1:``port`` (Linux's /proc), else None."""
    wanted = f"0100007F:{port:04X}"
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        parts = line.split()
        if parts[1] == wanted and parts[3] == "0A":
            inodes.add(parts[9])
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    return int(pid)
        except OSError:
            continue
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=str(Path(__file__).resolve().parents[1]))
    parser.add_argument("--only", nargs="*", default=["token", "dev", "service-tests"])
    a = parser.parse_args()
    root = Path(a.root).resolve()
    if "token" in a.only:
        print(f"token          {token(root):6.1f} s", flush=True)
    if "dev" in a.only:
        first, reload = dev(root)
        print(f"dev-first-200  {first:6.1f} s", flush=True)
        print(f"reload         {'none in 120 s' if reload is None else f'{reload:6.1f} s'}", flush=True)
    if "service-tests" in a.only:
        print(f"service-tests  {service_tests(root):6.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
