"""The processes of a local system (``macaron dev``, a test's :class:`~macaron.testing.LocalSystem`):
started in order, each waited for, restarted when its files change, all stopped in reverse.

Nothing outlives the supervisor. Each child runs in a session of its own (so Ctrl-C in a terminal
reaches only the supervisor, which stops them in order) and is bound to the supervisor by the
kernel (``_core.lifeline``: SIGTERM when the supervisor dies, even by SIGKILL). Stopping sends
SIGTERM to each child's whole process group (gunicorn's workers, rq's work horses), then SIGKILL
to what is left after the grace period. SIGINT, SIGTERM and SIGHUP all stop the system.

Rule: imports ``_core`` and its own package only.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from .._core.errors import ConfigError
from .._core.lifeline import die_with_parent
from .._core.observability import REQUEST_ID_HEADER
from .devlog import PROBE_ID, Output

LOAD_ERROR_HEADER = "X-Macaron-Load-Error"  # sent by a service that does not load (_cli.serve, dev only)
_IGNORED_DIRS = frozenset({"__pycache__", "tests", "node_modules"})


@dataclass
class Proc:
    """One process of the system and how to tell it is ready."""

    name: str
    argv: list[str]
    ready_url: str | None = None
    urls: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    log_path: Path | None = None  # stdout and stderr go here when set, else through the supervisor's output
    popen: subprocess.Popen[bytes] | None = None
    group: str = ""  # restarted together when a file under ``watch`` changes (a service and its worker)
    watch: list[Path] = field(default_factory=list)
    broken: str | None = None  # the load error a service answers with, if it does not load
    death_signal: int = signal.SIGTERM  # what the kernel sends it when the supervisor dies


def snapshot(roots: Iterable[Path]) -> dict[str, float]:
    """``{path: mtime}`` of the files under ``roots`` (not caches, hidden folders or tests)."""
    out: dict[str, float] = {}
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if not d.startswith(".") and d not in _IGNORED_DIRS]
            for name in filenames:
                if not name.startswith(".") and not name.endswith((".pyc", ".log", ".sqlite3")):
                    path = os.path.join(dirpath, name)
                    try:
                        out[path] = os.stat(path).st_mtime
                    except OSError:
                        pass
    return out


class Supervisor:
    """Starts processes in order, waits for each to be ready, restarts and stops them."""

    def __init__(self, out: object = None, output: Output | None = None) -> None:
        self.procs: list[Proc] = []
        self.output = output or Output(out or sys.stdout)
        self.out = self.output.out
        self._stopping = False

    def say(self, text: str) -> None:
        self.output.say(text)

    def start(self, proc: Proc, timeout: float = 30.0) -> None:
        env = {**os.environ, **proc.env}
        popen = dict(env=env, start_new_session=True, stdin=subprocess.DEVNULL,
                     preexec_fn=die_with_parent(proc.death_signal))
        if proc.log_path is not None:
            with open(proc.log_path, "ab") as log:
                proc.popen = subprocess.Popen(proc.argv, stdout=log, stderr=log, **popen)  # type: ignore[call-overload]
        else:
            proc.popen = subprocess.Popen(proc.argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **popen)  # type: ignore[call-overload]
            assert proc.popen.stdout is not None
            self.output.pump(proc.name, proc.popen.stdout)
        if proc not in self.procs:
            self.procs.append(proc)
        if proc.ready_url:
            self._wait_ready(proc, timeout)

    def _wait_ready(self, proc: Proc, timeout: float) -> None:
        assert proc.popen is not None and proc.ready_url is not None
        deadline = time.monotonic() + timeout
        proc.broken = None
        while time.monotonic() < deadline:
            if proc.popen.poll() is not None:
                where = "see above"
                if proc.log_path is not None and proc.log_path.exists():
                    where = "its output ends:\n" + proc.log_path.read_text(errors="replace")[-2000:]
                raise ConfigError(f"{proc.name} exited with status {proc.popen.returncode} while starting ({where})")
            try:
                probe = urllib.request.Request(proc.ready_url, headers={REQUEST_ID_HEADER: PROBE_ID})
                with urllib.request.urlopen(probe, timeout=1) as resp:
                    if resp.status == 200:
                        return
            except urllib.error.HTTPError as exc:
                if exc.headers.get(LOAD_ERROR_HEADER):  # up, but its code or spec does not load
                    proc.broken = exc.headers[LOAD_ERROR_HEADER]
                    return
                time.sleep(0.1)
            except OSError:
                time.sleep(0.1)
        raise ConfigError(f"{proc.name} did not answer {proc.ready_url} within {timeout:.0f} s")

    def _signal_group(self, proc: Proc, sig: int) -> None:
        if proc.popen is not None and proc.popen.poll() is None:
            try:
                os.killpg(proc.popen.pid, sig)
            except (ProcessLookupError, PermissionError):
                pass

    def _reap(self, proc: Proc, deadline: float) -> None:
        if proc.popen is None:
            return
        try:
            proc.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self._signal_group(proc, signal.SIGKILL)
            proc.popen.wait()
        try:  # what the group left behind (a worker whose arbiter is gone)
            os.killpg(proc.popen.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def stop(self, grace: float = 10.0, procs: list[Proc] | None = None) -> None:
        """Stop ``procs`` (default: all, in reverse order): SIGTERM, then SIGKILL after ``grace``."""
        chosen = list(reversed(self.procs)) if procs is None else procs
        if procs is None:
            self._stopping = True
        for proc in chosen:
            self._signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in chosen:
            self._reap(proc, deadline)

    def restart(self, group: str, timeout: float = 60.0) -> list[Proc]:
        """Stop the processes of ``group`` and start them again, in their order."""
        members = [p for p in self.procs if p.group == group]
        self.stop(grace=5.0, procs=list(reversed(members)))
        for proc in members:
            self.start(proc, timeout=timeout)
        return members

    def wait(self, reload: bool = False, interval: float = 0.2) -> int:
        """Block until a signal arrives, or a process exits (without ``reload``); return the exit
        status to use. With ``reload``, a group whose files change is restarted, and a process that
        exits is said once and started again with its group's next change."""
        stop = {"signal": 0}

        def on_signal(signum: int, frame: FrameType | None) -> None:
            stop["signal"] = signum

        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
        groups = {p.group: [w for q in self.procs if q.group == p.group for w in q.watch] for p in self.procs
                  if p.group and reload}
        seen = {g: snapshot(paths) for g, paths in groups.items()}
        said: set[str] = set()
        last_scan = time.monotonic()
        try:
            while not stop["signal"]:
                for proc in self.procs:
                    if proc.popen and proc.popen.poll() is not None and proc.name not in said:
                        if not reload:
                            self.say(f"{proc.name} exited with status {proc.popen.returncode}; stopping everything")
                            return 1
                        said.add(proc.name)
                        self.say(f"{proc.name} exited with status {proc.popen.returncode}; "
                                 f"it starts again when a file of {proc.group or proc.name} changes")
                if groups and time.monotonic() - last_scan >= 1.0:
                    last_scan = time.monotonic()
                    for group, paths in groups.items():
                        now = snapshot(paths)
                        if now != seen[group]:
                            changed = sorted({*now.items()} ^ {*seen[group].items()})
                            seen[group] = now
                            said -= {p.name for p in self.procs if p.group == group}
                            self._reload(group, [Path(c[0]).name for c in changed])
                time.sleep(interval)
            return 0
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)

    def _reload(self, group: str, changed: list[str]) -> None:
        began = time.monotonic()
        self.say(f"{group}: {', '.join(dict.fromkeys(changed))[:80]} changed; restarting {group}")
        try:
            members = self.restart(group)
        except ConfigError as exc:
            self.say(f"{group}: {exc}")
            return
        broken = [p.broken for p in members if p.broken]
        if broken:
            self.say(f"{group}: does not load, every request answers 503 until it is fixed: {broken[0]}")
        else:
            self.say(f"{group}: restarted in {time.monotonic() - began:.1f} s")
