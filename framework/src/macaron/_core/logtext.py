"""Log lines for a person: one aligned line per request, real multi-line tracebacks.

Which format a process writes is chosen once, from ``MACARON_LOG_FORMAT``: ``json`` (one JSON
object per line, :class:`~macaron._core.observability.JsonFormatter`: production, files, log
shippers), ``text`` (:class:`TextFormatter`), or ``auto``/unset: text when the stream is a
terminal, else JSON. Colours (ANSI codes) only when ``MACARON_LOG_COLOR=1``, or, unset, when the
stream is a terminal and ``NO_COLOR`` is not set: never in a file. ``macaron dev`` sets both for
its children, whose output it prefixes with the process's name (``_local.devlog``).

``observability.process_handler`` gives the same format to what is not the service's own logger
in a process: gunicorn's lines (``_server.serve``), werkzeug's request lines of the fakes (turned
by :class:`WerkzeugLines` from ``127.0.0.1 - - [date] "GET /x HTTP/1.1" 200 -`` into a request
line) and rq's.

Rule: standard library only (this is ``_core``); the JSON formatter stays in ``observability``.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
import traceback
from collections.abc import Iterable, Mapping
from typing import Any

LOG_FORMAT_ENV = "MACARON_LOG_FORMAT"
LOG_COLOR_ENV = "MACARON_LOG_COLOR"
FORMATS = ("auto", "json", "text")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_WERKZEUG = re.compile(r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[0-9.]+" (?P<status>\d{3}) ')
_STATUS_COLOR = {2: "32", 3: "36", 4: "33", 5: "31"}  # green, cyan, yellow, red
_LEVEL_COLOR = {"WARNING": "33", "ERROR": "31", "CRITICAL": "31;1", "DEBUG": "2"}
_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "fields"}
_SHOWN = ("request_id", "job_id", "task", "attempt")  # extras shown first on a text line, in this order


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def chosen_format(stream: Any = None, environ: Mapping[str, str] | None = None) -> str:
    """``"json"`` or ``"text"`` for a process writing to ``stream`` (default stderr)."""
    environ = os.environ if environ is None else environ
    wanted = environ.get(LOG_FORMAT_ENV, "auto").strip().lower() or "auto"
    if wanted in ("json", "text"):
        return wanted
    return "text" if _isatty(sys.stderr if stream is None else stream) else "json"


def use_color(stream: Any = None, environ: Mapping[str, str] | None = None) -> bool:
    """Whether lines written to ``stream`` may carry ANSI colour codes."""
    environ = os.environ if environ is None else environ
    flag = environ.get(LOG_COLOR_ENV)
    if flag is not None:
        return flag.strip() == "1"
    return _isatty(sys.stderr if stream is None else stream) and "NO_COLOR" not in environ


def paint(text: str, code: str | None, color: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if color and code else text


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


class TextFormatter(logging.Formatter):
    """``12:03:04 GET    /v1/users                  201    12.3 ms  user=alice  3f2a…`` for a request;
    ``12:03:04 WARNING message key=value`` and the traceback's own lines for anything else.

    :func:`render` does the work on the entry a JSON line carries, so ``macaron dev`` shows its
    children's JSON lines the same way."""

    def __init__(self, service: str, secrets: Iterable[str] = (), color: bool = False) -> None:
        super().__init__()
        self.service = service
        self.color = color
        self.secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {"time": time.strftime("%H:%M:%S", time.gmtime(record.created)),
                                 "level": record.levelname, "message": record.getMessage()}
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict) and getattr(record, "_macaron_fields", False):
            entry.update(fields)
        else:
            entry.update({k: v for k, v in record.__dict__.items() if k not in _RESERVED and not k.startswith("_")})
        if record.exc_info:
            entry["exception"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        text = render(entry, self.color)
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text


_SKIP = frozenset({"time", "level", "message", "service", "logger", "exception", "method", "path", "status",
                   "duration_ms", "user", "operation"})


def render(entry: Mapping[str, Any], color: bool = False) -> str:
    """One log entry (a JSON line's object) as text: a request line, or a message with its
    extras; an ``exception`` follows on its own lines."""
    stamp = str(entry.get("time", ""))
    stamp = stamp[11:19] if "T" in stamp else stamp[:8]
    if "status" in entry and "method" in entry and "path" in entry:
        status = int(entry.get("status") or 0)
        line = f"{stamp} {entry['method']:<6} {entry['path']:<34} "
        line += paint(str(status), _STATUS_COLOR.get(status // 100), color)
        if entry.get("duration_ms") is not None:
            line += f" {float(entry['duration_ms']):>8.1f} ms"
        if entry.get("user"):
            line += f"  user={entry['user']}"
        if entry.get("request_id"):
            line += paint(f"  {entry['request_id']}", "2", color)
    else:
        level = str(entry.get("level", "INFO"))
        extras = {k: v for k, v in entry.items() if k not in _SKIP and v is not None}
        shown = [f"{k}={extras.pop(k)}" for k in _SHOWN if k in extras] + [f"{k}={v}" for k, v in extras.items()]
        line = f"{stamp} {paint(f'{level:<7}', _LEVEL_COLOR.get(level), color)} {strip_ansi(str(entry.get('message')))}"
        line += ("  " + " ".join(shown)) if shown else ""
    if entry.get("exception"):
        line += "\n" + str(entry["exception"]).rstrip()
    return line


class WerkzeugLines(logging.Filter):
    """werkzeug's access line (ANSI-styled) as a request line's fields; other lines as they are."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "werkzeug":
            text = strip_ansi(record.getMessage())
            found = _WERKZEUG.search(text)
            if found:
                record.msg, record.args = f"{found['method']} {found['path']} {found['status']}", ()
                record.fields = {"method": found["method"], "path": found["path"], "status": int(found["status"])}
                record._macaron_fields = True
            else:
                record.msg, record.args = text, ()
        return True
