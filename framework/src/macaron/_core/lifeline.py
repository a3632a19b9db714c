"""Processes that never outlive the process that started them.

A child of ``macaron dev``, of a test's system or of gunicorn's arbiter must not go on running
when its parent is gone, however the parent went (Ctrl-C, SIGTERM, SIGKILL, a crash). On Linux
the kernel does it: ``prctl(PR_SET_PDEATHSIG, sig)`` sends the child ``sig`` the moment its
parent dies. :func:`die_with_parent` is the ``preexec_fn`` that sets it for any program (a
``redis-server`` too), :func:`bind_to_parent` sets it from inside a Python child. Elsewhere
(macOS) :func:`bind_to_parent` falls back to a watchdog thread polling ``getppid()``.

The kernel ties the signal to the *thread* that forked the child: a child started from a thread
that later ends would be killed then. So :func:`die_with_parent` arms it only when called on the
main thread (the supervisors start and restart their children there).

Rule: standard library only (this is ``_core``).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Callable

PR_SET_PDEATHSIG = 1
DIE_WITH_PARENT_ENV = "MACARON_DIE_WITH_PARENT"  # "1": a ``macaron`` command binds itself to its parent
_prctl: Callable[..., int] | None = None
if sys.platform.startswith("linux"):
    try:  # resolved once here: the child of a fork must not load a library
        _prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        _prctl = None


def _arm(sig: int) -> bool:
    return _prctl is not None and _prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0


def die_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None] | None:
    """A ``preexec_fn`` for :class:`subprocess.Popen`: the child gets ``sig`` when this process
    dies. ``None`` (no preexec) off Linux or off the main thread (see the module's docstring)."""
    if _prctl is None or threading.current_thread() is not threading.main_thread():
        return None
    parent = os.getpid()

    def preexec() -> None:
        _arm(sig)
        if os.getppid() != parent:  # the parent died between fork and prctl: follow it now
            os.kill(os.getpid(), sig)

    return preexec


def bind_to_parent(sig: int = signal.SIGTERM, parent: int | None = None, interval: float = 0.5) -> None:
    """From inside a child: get ``sig`` when the parent (``parent``, default the current one)
    dies. Linux: the kernel's signal; elsewhere a daemon thread that polls ``getppid()``."""
    parent = os.getppid() if parent is None else parent
    if _arm(sig):
        if os.getppid() != parent:  # it was gone before we asked
            os.kill(os.getpid(), sig)
        return

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        os.kill(os.getpid(), sig)

    threading.Thread(target=watch, name="macaron-lifeline", daemon=True).start()


def alive(pid: int) -> bool:
    """Whether a process ``pid`` exists (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return True  # no /proc: kill(0) said it exists


def command_line(pid: int) -> list[str]:
    """The argv of process ``pid`` (Linux's /proc); ``[]`` when unknown."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [part.decode(errors="replace") for part in f.read().split(b"\0") if part]
    except OSError:
        return []
