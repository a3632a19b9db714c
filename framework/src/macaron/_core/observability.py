"""Observability: request ids, one JSON log line per request, Prometheus metrics.

At a terminal (or with ``MACARON_LOG_FORMAT=text``) the lines are text for a person instead
(:mod:`.logtext`); :func:`formatter_for` makes that choice for every logger of a process.

Logs never carry the Authorization header, cookies, bodies or query strings, and the
formatter masks every secret value of the service wherever it would appear.
"""

from __future__ import annotations

import json
import logging
import random
import re
import sys
import time
import traceback
from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

from .logtext import TextFormatter, WerkzeugLines, chosen_format, use_color

_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}\Z")
_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
_LINE_KEYS = frozenset({"time", "level", "service", "logger", "message"})  # the keys every line starts with
REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_ENVIRON = "HTTP_X_REQUEST_ID"  # the WSGI environ key of that header


def request_id_from(header: str | None) -> str:
    """The caller's ``X-Request-ID`` when it is a sane token, else a new one."""
    if header and _SANE_REQUEST_ID.match(header):
        return header
    # 32 hex digits like uuid4().hex, without its getrandom() system call per request
    # (``random`` reseeds itself in a forked child, so workers never share a sequence).
    return f"{random.getrandbits(128):032x}"


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with ``service`` set and secret values masked."""

    def __init__(self, service: str, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.service = service
        self.secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)
        self._second = (-1, "")
        self._encode = json.JSONEncoder(default=str, ensure_ascii=False).encode  # json.dumps(..) without a new encoder
        self._heads: dict[str, str] = {}  # per logger: the constant middle of a request line

    def _time(self, created: float, msecs: float) -> str:
        second = int(created)
        if self._second[0] != second:  # strftime once per second, not per line
            self._second = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
        return f"{self._second[1]}.{int(msecs):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self._time(record.created, record.msecs),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict) and getattr(record, "_macaron_fields", False):
            entry.update(fields)  # the request line: fields passed as one dict
        else:
            for key, value in record.__dict__.items():
                if key not in _RESERVED and not key.startswith("_"):
                    entry[key] = value
        if record.exc_info:
            entry["exception"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return self.redact(self._encode(entry))

    def request_line(self, logger: str, message: str, fields: dict[str, Any]) -> str:
        """The line :meth:`format` gives for a request line, built without a LogRecord.

        The same text ``json.dumps`` gives for the whole entry, assembled from a constant head
        and the encoded ``fields``: only the parts that change are encoded per request.
        """
        created = time.time()
        stamp = self._time(created, (created - int(created)) * 1000)
        if not fields or not _LINE_KEYS.isdisjoint(fields):
            entry = {"time": stamp, "level": "INFO", "service": self.service, "logger": logger, "message": message}
            entry.update(fields)
            return self.redact(self._encode(entry))
        head = self._heads.get(logger)
        if head is None:
            head = f'", "level": "INFO", "service": {self._encode(self.service)}, "logger": {self._encode(logger)}'
            self._heads[logger] = head
        line = f'{{"time": "{stamp}{head}, "message": {self._encode(message)}, {self._encode(fields)[1:]}'
        return self.redact(line)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, "***")
        return text


class _JsonLineHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The service's own handler; it also writes request lines without a LogRecord."""

    def write_request_line(self, logger: str, message: str, fields: dict[str, Any]) -> None:
        """Write what ``emit`` writes for the request line's record, minus the record and dispatch."""
        formatter = self.formatter
        assert isinstance(formatter, JsonFormatter)
        line = formatter.request_line(logger, message, fields) + self.terminator
        with self.lock:  # type: ignore[union-attr]
            try:
                stream = self._stream()
                stream.write(line)
                stream.flush()  # what self.flush() does, without taking the lock again
            except RecursionError:
                raise
            except Exception:
                self.handleError(logging.makeLogRecord({"name": logger, "msg": message, "levelno": logging.INFO}))

    def _stream(self) -> Any:
        return self.stream


class _StderrHandler(_JsonLineHandler):
    """Writes to whatever ``sys.stderr`` is at emit time (test runners swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)

    def _stream(self) -> Any:
        self.stream = sys.stderr
        return self.stream


class ServiceLogger(logging.Logger):
    """A logger that skips ``findCaller`` (a stack walk per line; JSON lines don't print it)."""

    def findCaller(self, stack_info: bool = False, stacklevel: int = 1) -> tuple[str, int, str, str | None]:
        return "(unknown file)", 0, "(unknown function)", None

    def request_line(self, message: str, fields: dict[str, Any]) -> None:
        """Log the one line of a finished request (level INFO).

        With only the service's own handler attached (and no filters), the line goes straight
        to it: the same JSON, without a LogRecord and the dispatch through ``logging``.
        """
        if not self.isEnabledFor(logging.INFO):
            return
        handlers = self.handlers
        if len(handlers) == 1 and not self.filters:
            handler = handlers[0]
            if (
                isinstance(handler, _JsonLineHandler)
                and isinstance(handler.formatter, JsonFormatter)
                and not handler.filters
                and handler.level <= logging.INFO
            ):
                handler.write_request_line(self.name, message, fields)
                return
        self._log(logging.INFO, message, (), extra={"fields": fields, "_macaron_fields": True})


def service_logger(name: str, secrets: Iterable[str], level: str = "INFO", stream: Any = None) -> ServiceLogger:
    """A logger owned by one Service, writing JSON lines (secrets masked) to stderr.

    It is deliberately not registered in ``logging``'s global manager: two Services of
    the same name in one process (tests do that) keep their own handlers and secrets.
    """
    logger = ServiceLogger(f"macaron.service.{name}", level.upper())
    handler = _JsonLineHandler(stream) if stream is not None else _StderrHandler()
    handler.setFormatter(formatter_for(name, secrets, stream))
    handler._macaron = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.propagate = False
    return logger


def formatter_for(service: str, secrets: Iterable[str] = (), stream: Any = None) -> logging.Formatter:
    """The formatter a process of ``service`` writes with (see the module's docstring)."""
    if chosen_format(stream) == "text":
        return TextFormatter(service, secrets, color=use_color(stream))
    return JsonFormatter(service, secrets)


def process_handler(service: str, stream: Any = None) -> logging.Handler:
    """A handler for a process's third-party loggers (gunicorn, werkzeug, rq), in its format."""
    handler = logging.StreamHandler(sys.stderr if stream is None else stream)
    handler.setFormatter(formatter_for(service, stream=stream))
    handler.addFilter(WerkzeugLines())
    return handler


def route_werkzeug(service: str, stream: Any = None) -> None:
    """werkzeug's request lines through :func:`process_handler` (werkzeug then adds no handler of its own)."""
    logger = logging.getLogger("werkzeug")
    logger.handlers[:] = [process_handler(service, stream)]
    logger.setLevel(logging.INFO)
    logger.propagate = False


class Metrics:
    """Prometheus metrics of one app, in their own registry (no process-wide state)."""

    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.service = service
        self.requests = Counter(
            "macaron_requests_total",
            "Requests handled, by operation and status.",
            ["service", "operation", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "macaron_request_duration_seconds",
            "Request latency in seconds, by operation and status.",
            ["service", "operation", "status"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
        )

        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe(self, operation: str, method: str, status: int, seconds: float) -> None:
        key = (operation, method, status)
        children = self._children.get(key)
        if children is None:  # label lookups cost a lock and a dict each: do them once per key
            code = str(status)
            children = (
                self.requests.labels(self.service, operation, method, code),
                self.latency.labels(self.service, operation, code),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)
