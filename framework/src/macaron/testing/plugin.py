"""pytest plugin (registered as ``macaron``): the ``system`` fixture of acceptance tests.

Acceptance tests are black-box: they only talk HTTP to a target. The target comes from
the environment, so the same tests run against a local system, staging or live:

- ``MACARON_TEST_URL_<SERVICE>`` — base URL of a service (``MACARON_TEST_URL`` when
  only one service is under test);
- ``MACARON_TEST_FAKE_<API>`` — base URL of an external API's fake, when the target has
  one (steps that inspect a fake skip where there is none, e.g. against live);
- ``MACARON_TEST_TOKEN_<SERVICE>`` — a bearer token for the service, else one is minted
  with the service's own config and the ``MACARON_JWT_SECRET`` of the environment.

When no target URL is set at all, the fixture starts the whole system of the repository
itself (:class:`macaron.testing._system.LocalSystem`: Redis, fakes, services, workers on free ports);
``MACARON_TEST_INSTANCES=N`` makes it N instances of each service behind a local nginx, N workers
each, one Redis and one DynamoDB (moto) for all: the production shape, on one machine.

Tests get a store of their own: the plugin points ``MACARON_DATA_DIR`` (where a store's default
SQLite file goes) at a temporary directory for the session, unless it is set.

The ``this_service`` fixture names the service a test file belongs to (``services/<name>/tests/``),
so a copied service directory tests itself: ``system.api(this_service.name)``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ._sut import SystemUnderTest, ThisService
from ._system import LocalSystem


def _root(config: pytest.Config) -> Path:
    env = os.environ.get("MACARON_ROOT")
    if env:
        return Path(env).resolve()
    start = Path(str(config.rootpath)).resolve()
    for folder in (start, *start.parents):
        if (folder / "services").is_dir():
            return folder
    return start


@pytest.fixture(scope="session")
def system(pytestconfig: pytest.Config) -> Iterator[SystemUnderTest]:
    """The system under test: remote targets from the environment, else a local one started here."""
    root = _root(pytestconfig)
    if any(k.startswith("MACARON_TEST_URL") for k in os.environ):
        yield SystemUnderTest.from_environ(root, os.environ)
        return
    instances = int(os.environ.get("MACARON_TEST_INSTANCES") or 1)
    with LocalSystem(root, instances=instances) as local:
        yield SystemUnderTest(root, local.urls, local=local)


@pytest.fixture
def this_service(request: pytest.FixtureRequest) -> ThisService:
    """The service this test file belongs to (from its path, ``services/<name>/tests/...``), so a
    copied service's tests exercise the copy: ``system.api(this_service.name)``."""
    try:
        return ThisService.of_test_file(request.path)
    except LookupError as exc:
        raise pytest.UsageError(str(exc)) from None


def pytest_configure(config: Any) -> None:
    config.addinivalue_line("markers", "acceptance: black-box tests against a running system (see `system`)")
    if not os.environ.get("MACARON_DATA_DIR"):  # tests never write the dev system's .data/
        os.environ["MACARON_DATA_DIR"] = tempfile.mkdtemp(prefix="macaron-test-data-")
