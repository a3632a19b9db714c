"""Serve apps over real HTTP on 127.0.0.1, call their endpoints, check their problems and logs."""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
from werkzeug.serving import make_server

from .._server.underscores import KeepAside


@contextmanager
def serve_app(app: Any, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve a WSGI app on a free port in a thread; yield its base URL."""
    server = make_server(host, 0, app, threaded=True, request_handler=KeepAside)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="macaron-test-server", daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class Api:
    """A tiny HTTP client bound to a base URL: ``api.get('/ping').json()``."""

    def __init__(self, base_url: str, token: str | None = None, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.timeout = timeout
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        return self.session.request(method, self.base_url + path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)


def assert_problem(
    response: requests.Response, status: int, code: str, *, paths: list[str] | None = None
) -> dict[str, Any]:
    """Assert ``response`` is a problem+json with ``status`` and ``code`` (and error ``paths``)."""
    assert response.status_code == status, f"expected {status}, got {response.status_code}: {response.text[:500]}"
    content_type = response.headers.get("Content-Type", "")
    assert content_type.startswith("application/problem+json"), f"not problem+json: {content_type!r}"
    body: dict[str, Any] = response.json()
    assert body["code"] == code, f"expected code {code}, got {body['code']}: {body}"
    assert body["status"] == status
    for key in ("type", "title", "detail", "request_id"):
        assert key in body, f"problem lacks {key!r}: {body}"
    assert body["request_id"] == response.headers.get("X-Request-ID")
    if paths is not None:
        assert sorted(e["path"] for e in body.get("errors", [])) == sorted(paths), body.get("errors")
    return body


class LogCapture:
    """Log lines captured from a service, formatted exactly as in production."""

    def __init__(self, stream: io.StringIO) -> None:
        self._stream = stream

    @property
    def text(self) -> str:
        return self._stream.getvalue()

    @property
    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines() if line.strip()]


@contextmanager
def capture_logs(service: Any) -> Iterator[LogCapture]:
    """Capture what ``service`` logs (JSON lines, secrets already masked) while the block runs."""
    logger: logging.Logger = service.log
    formatter = next((h.formatter for h in logger.handlers if getattr(h, "_macaron", False)), None)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    logger.addHandler(handler)
    try:
        yield LogCapture(stream)
    finally:
        logger.removeHandler(handler)
