"""What ``macaron dev`` prints: every process's output, one line at a time, behind its name.

Children always write JSON lines (``MACARON_LOG_FORMAT=json``): the supervisor reads them from a
pipe per process and writes them out in one format, so every process's output looks alike:

- ``text`` (the default at a terminal): ``user         12:03:04 GET /v1/users 201 12.3 ms ...``,
  a name column as wide as the longest name, tracebacks on their own (prefixed) lines, colours
  only when the output is a terminal;
- ``json`` (the default into a file or pipe): the children's lines as they are, and any line that
  is not JSON (a crash's traceback written to stderr) wrapped into one, with ``service`` set.

Rule: imports ``_core`` only.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable
from typing import IO, Any

from .._core.logtext import paint, render, strip_ansi

PROBE_ID = "macaron-dev-probe"  # the X-Request-ID of the supervisor's readiness checks: not shown
_NAME_COLORS = ("36", "35", "33", "32", "34", "36;1", "35;1")


class Output:
    """The supervisor's side: where lines go, in which format, and each process's prefix."""

    def __init__(self, out: Any, fmt: str = "json", color: bool = False) -> None:
        self.out = out
        self.format = fmt
        self.color = color
        self.width = 12
        self.lock = threading.Lock()
        self._colors: dict[str, str] = {}

    def align(self, names: Iterable[str]) -> None:
        """Make the name column as wide as the longest of ``names``."""
        self.width = max([self.width, *(len(n) for n in names)])

    def say(self, text: str) -> None:
        """A line of the supervisor's own (the URLs, a restart): for a person, in either format."""
        with self.lock:
            print(text, file=self.out, flush=True)

    def line(self, name: str, raw: str) -> None:
        """One line a process wrote (the supervisor's own readiness probes left out)."""
        raw = raw.rstrip("\r\n")
        if not raw.strip() or PROBE_ID in raw or "/__fake__/ping" in raw:
            return
        if self.format == "json":
            text = raw if raw.lstrip().startswith("{") else self._wrap(name, strip_ansi(raw))
        else:
            text = self._text(name, raw)
        with self.lock:
            self.out.write(text + "\n")
            self.out.flush()

    def _text(self, name: str, raw: str) -> str:
        entry: Any = None
        if raw.startswith("{"):
            try:
                entry = json.loads(raw)
            except ValueError:
                entry = None
        body = render(entry, self.color) if isinstance(entry, dict) else strip_ansi(raw)
        color = self._colors.setdefault(name, _NAME_COLORS[len(self._colors) % len(_NAME_COLORS)])
        prefix = paint(f"{name:<{self.width}}", color, self.color) + " "
        return "\n".join(prefix + part for part in body.splitlines())

    @staticmethod
    def _wrap(name: str, text: str) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + "Z"
        return json.dumps({"time": stamp, "level": "INFO", "service": name, "logger": "output", "message": text},
                          ensure_ascii=False)

    def pump(self, name: str, stream: IO[bytes]) -> threading.Thread:
        """Copy ``stream`` (a child's stdout and stderr) line by line until it closes, in a thread."""

        def copy() -> None:
            with stream:
                for raw in iter(stream.readline, b""):
                    try:
                        self.line(name, raw.decode("utf-8", "replace"))
                    except (OSError, ValueError):  # our own output is gone (closed): drain and drop
                        pass

        thread = threading.Thread(target=copy, name=f"macaron-dev-{name}", daemon=True)
        thread.start()
        return thread
