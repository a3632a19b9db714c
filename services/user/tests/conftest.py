"""Real parts for this service's in-process tests: a Redis, the Auth0 fake (``macaron fake``, a
process of its own), the sibling mail service (served in this process) and this service's app
wired to them, each on 127.0.0.1 with a private store."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from macaron import create_app
from macaron.testing import Api, ThisService, free_port, redis_for_tests, serve_app

PASSWORD = "correct horse 42"


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with redis_for_tests() as url:
        yield url


@pytest.fixture(scope="module")
def auth0_url() -> Iterator[str]:
    """The Auth0 fake, started as ``python -m macaron fake shared_apis/auth0.yaml``."""
    root = Path(__file__).resolve().parents[3]
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "macaron", "fake", str(root / "shared_apis" / "auth0.yaml"),
                             "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if Api(url, timeout=1).get("/__fake__/ping").status_code == 200:
                    break
            except OSError:  # requests' errors are OSErrors: not up yet
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("the Auth0 fake did not start")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def mail_service(this_service: ThisService, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The mail service this one calls (``clients.mail``), with its own store and the module's Redis."""
    sibling = ThisService(this_service.directory.parent / "mail")
    store = tmp_path_factory.mktemp("mail-store") / "mail.sqlite3"
    service = sibling.load({"REDIS_URL": redis_url, f"MACARON_{sibling.name.upper()}_STORE__PATH": str(store)})
    with serve_app(create_app(service)) as url:
        yield url, service


@pytest.fixture(scope="module")
def this_service(request: pytest.FixtureRequest) -> ThisService:  # module scope for the fixtures above
    return ThisService.of_test_file(request.path)


UserApp = Callable[..., tuple[Any, Any]]


@pytest.fixture
def user_app(this_service: ThisService, redis_url: str, auth0_url: str, mail_service: Any,
             tmp_path: Path) -> UserApp:
    """``user_app(**config)``: this service's (app, Service) wired to the parts above, with a private
    store, no drainer thread (tests drain by hand) and extra ``MACARON_USER_...`` settings."""
    mail_url, _ = mail_service
    prefix = f"MACARON_{this_service.name.upper()}_"

    def build(store: Path | None = None, **env: str) -> tuple[Any, Any]:
        environ = {"REDIS_URL": redis_url, f"{prefix}CLIENTS__AUTH0__URL": auth0_url,
                   f"{prefix}CLIENTS__MAIL__URL": mail_url, f"{prefix}OUTBOX__DRAIN_INTERVAL": "0",
                   f"{prefix}STORE__PATH": str(store or tmp_path / "user.sqlite3")}
        environ.update({k if k.startswith(("MACARON_", "REDIS_URL")) else prefix + k: v for k, v in env.items()})
        service = this_service.load(environ)
        return create_app(service), service

    return build


def problem_of(response: Any, status: int, code: str) -> dict[str, Any]:
    """``assert_problem`` for a Flask test client's response: its problem+json body."""
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.headers["Content-Type"].startswith("application/problem+json")
    body: dict[str, Any] = response.get_json()
    assert body["status"] == status and body["code"] == code, body
    return body
