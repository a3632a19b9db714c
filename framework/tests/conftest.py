"""Fixtures shared by the framework's tests: the fixture service served over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from macaron import Service, create_app
from macaron.testing import Api, serve_app

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
