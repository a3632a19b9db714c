"""Nothing of the dev system survives it: Ctrl-C on ``nox -s dev``, a killed supervisor, a killed
gunicorn arbiter; and a second Redis never starts on a data directory that has one.

Real processes throughout (nox, ``macaron dev``, gunicorn, rq, redis-server, the fakes), on free
ports of 127.0.0.1. The waits are deadlines for processes to be gone, never timing assertions.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml
from macaron import ConfigError
from macaron._local.ports import free_port
from macaron._local.redis import RedisServer, redis_server_binary

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process tree from /proc")
SPEC = {"swagger": "2.0", "info": {"title": "t", "version": "1"},
        "paths": {"/hello": {"get": {"operationId": "hello",
                                     "responses": {"200": {"description": "ok", "schema": {"type": "object"}}}}}}}


def _ppids() -> dict[int, int]:
    out = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                out[int(pid)] = int(f.read().rpartition(")")[2].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return out


def descendants(pid: int) -> set[int]:
    ppids, found, todo = _ppids(), set(), [pid]
    while todo:
        parent = todo.pop()
        for child, ppid in ppids.items():
            if ppid == parent and child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pids: set[int]) -> set[int]:
    out = set()
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rpartition(")")[2].split()[0] != "Z":
                    out.add(pid)
        except OSError:
            pass
    return out


def gone_within(pids: set[int], seconds: float) -> set[int]:
    """Wait up to ``seconds`` for ``pids`` to end; those still running (a deadline, not a timing check)."""
    deadline = time.monotonic() + seconds
    while alive(pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return alive(pids)


def _commands(pids: set[int]) -> list[str]:
    out = []
    for pid in pids:
        try:
            out.append(f"{pid}: " + Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode())
        except OSError:
            pass
    return out


@pytest.fixture
def system_root(tmp_path: Path) -> Path:
    """Two services (one with tasks: Redis and a worker) and a SendGrid fake, all on free ports."""
    shutil.copytree(ROOT / "shared_apis", tmp_path / "shared_apis")
    for name, extra in (("alpha", {"clients": {"sendgrid": {"url": f"http://127.0.0.1:{free_port()}"}}}),
                        ("beta", {})):
        directory = tmp_path / "services" / name
        directory.mkdir(parents=True)
        (directory / "service.yaml").write_text(yaml.safe_dump({"port": free_port(), **extra}))
        (directory / "api.yaml").write_text(yaml.safe_dump(SPEC))
        (directory / "handlers.py").write_text("def hello():\n    return {}\n")
    (tmp_path / "services" / "beta" / "tasks.py").write_text(
        "from macaron.tasks import task\n\n\n@task()\ndef noop():\n    return None\n")
    return tmp_path


def _wait_for(path: Path, text: str, proc: subprocess.Popen[bytes], seconds: float = 180) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        out = path.read_text(errors="replace") if path.exists() else ""
        if text in out:
            return out
        assert proc.poll() is None, f"exited with {proc.returncode} before {text!r}:\n{out}"
        time.sleep(0.2)
    raise AssertionError(f"no {text!r} within {seconds} s:\n{path.read_text(errors='replace')}")


class Started(list[subprocess.Popen[bytes]]):
    """The processes a test started, and the pids of their systems (which outlive them when the test fails)."""

    pids: set[int]


@pytest.fixture
def started() -> Iterator[Started]:
    procs = Started()
    procs.pids = set()
    yield procs
    for proc in procs:  # whatever a failing test left: its whole group and every process of its system
        procs.pids |= descendants(proc.pid)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    for pid in alive(procs.pids):
        os.kill(pid, signal.SIGKILL)


def test_ctrl_c_on_nox_dev_leaves_no_process(system_root: Path, started: Started) -> None:
    """SIGINT to the process group of ``nox -s dev``, as a terminal's Ctrl-C sends it."""
    log = system_root / "nox.log"
    env = {**os.environ, "MACARON_NOX_VENV": sys.prefix}
    with open(log, "wb") as out:
        nox = subprocess.Popen([sys.executable, "-m", "nox", "-f", str(ROOT / "noxfile.py"), "-s", "dev", "--",
                                "--root", str(system_root)], stdout=out, stderr=subprocess.STDOUT, env=env,
                               start_new_session=True)
    started.append(nox)
    _wait_for(log, "Ctrl-C stops everything", nox)
    system = started.pids = descendants(nox.pid)
    names = " ".join(_commands(system))
    assert "redis-server" in names and "macaron worker" in names and "macaron fake" in names
    os.killpg(nox.pid, signal.SIGINT)
    nox.wait(timeout=120)
    left = gone_within(system, 30)
    assert not left, "still running after Ctrl-C:\n" + "\n".join(_commands(left))
    assert "macaron dev system stopped." in log.read_text()
    assert not (system_root / ".dev" / "redis" / "redis.pid").exists()


def test_a_killed_supervisor_takes_every_process_along(system_root: Path,
                                                        started: Started) -> None:
    """SIGKILL leaves the supervisor no chance to stop anything: the kernel does it."""
    log = system_root / "dev.log"
    with open(log, "wb") as out:
        dev = subprocess.Popen([sys.executable, "-m", "macaron", "dev", "--root", str(system_root)], stdout=out,
                               stderr=subprocess.STDOUT, start_new_session=True)
    started.append(dev)
    _wait_for(log, "Ctrl-C stops everything", dev)
    system = started.pids = descendants(dev.pid)
    assert len(system) >= 5  # redis, two servers (and gunicorn workers), the fake, the worker
    dev.kill()
    dev.wait()
    left = gone_within(system, 30)
    assert not left, "still running after the supervisor was killed:\n" + "\n".join(_commands(left))


def test_a_gunicorn_worker_dies_with_its_arbiter(system_root: Path, started: Started) -> None:
    port = free_port()
    log = system_root / "serve.log"
    with open(log, "wb") as out:
        serve = subprocess.Popen([sys.executable, "-m", "macaron", "serve", str(system_root / "services" / "alpha"),
                                  "--port", str(port), "--workers", "1"], stdout=out, stderr=subprocess.STDOUT,
                                 start_new_session=True)
    started.append(serve)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # an answer means the worker is past gunicorn's post_fork
        try:
            if requests.get(f"http://127.0.0.1:{port}/ping", timeout=2).status_code == 200:
                break
        except requests.RequestException:
            time.sleep(0.1)
    workers = started.pids = alive(descendants(serve.pid))
    assert workers, log.read_text()
    for worker in workers:  # a worker that ignores SIGTERM, as one did after Ctrl-C
        os.kill(worker, signal.SIGSTOP)
    serve.kill()
    serve.wait()
    left = gone_within(workers, 30)
    assert not left, "gunicorn workers outlived their arbiter:\n" + "\n".join(_commands(left))


def _stale_redis(directory: Path) -> subprocess.Popen[bytes]:
    """A redis-server on ``directory`` as an older ``macaron dev`` killed mid-run left it: nothing binds it."""
    directory.mkdir(parents=True, exist_ok=True)
    server = RedisServer(directory)
    proc = subprocess.Popen(server.argv(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 20
    while not (directory / "redis.pid").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return proc


def test_a_stale_redis_on_the_data_directory_is_stopped_first(tmp_path: Path) -> None:
    redis_server_binary()
    directory = tmp_path / "redis"
    stale = _stale_redis(directory)
    dead = subprocess.Popen(["true"])
    dead.wait()
    (directory / "owner.pid").write_text(f"{dead.pid}\n")  # its owner is gone
    try:
        with RedisServer(directory) as server:
            assert stale.wait(timeout=20) is not None  # stopped before the new one started
            assert server.running
    finally:
        if stale.poll() is None:
            stale.kill()
            stale.wait()


def test_a_redis_whose_owner_still_runs_is_refused(tmp_path: Path) -> None:
    directory = tmp_path / "redis"
    stale = _stale_redis(directory)
    owner = subprocess.Popen(["sleep", "60"])
    (directory / "owner.pid").write_text(f"{owner.pid}\n")
    try:
        with pytest.raises(ConfigError, match=f"already runs on {directory}.*started by process {owner.pid}"):
            RedisServer(directory).start()
        assert stale.poll() is None  # left alone: it is somebody's
    finally:
        for proc in (stale, owner):
            proc.kill()
            proc.wait()
