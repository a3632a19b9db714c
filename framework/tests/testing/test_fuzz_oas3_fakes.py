"""schemathesis against ``macaron fake`` of the realistic OpenAPI 3.0 and 3.1 specs (``fixtures/oas3``),
driven from each document as written (cookies, styles, form and multipart bodies are schemathesis's to
generate): every answer — status, media type, body, headers — is one the spec declares."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from macaron.testing._fuzzfake import fuzz_fake

SPECS = Path(__file__).parents[1] / "fixtures" / "oas3"


@pytest.fixture(autouse=True)
def _quiet() -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)


@pytest.mark.parametrize(("name", "operations"), [
    ("petstore30", 4), ("billing30", 3), ("media30", 5), ("events30", 3),
    ("chat31", 2), ("inventory31", 3), ("maps31", 2), ("split31", 3),
])
def test_a_3x_fake_answers_only_as_its_spec_declares(name: str, operations: int) -> None:
    report = fuzz_fake(SPECS / f"{name}.yaml", seed=7, max_examples=8)  # a number of cases, not a time: load-proof
    assert report.ok, report.summary()
    tested = report.operations - {"Stateful tests"}  # links: schemathesis chains calls too
    assert len(tested) == operations and any(200 <= s < 300 for s in report.statuses), report.summary()
    assert any(400 <= status < 500 for status in report.statuses), report.summary()


def test_a_3x_service_is_fuzzed_from_its_served_document() -> None:
    from macaron import Service, create_app
    from macaron.testing._fuzz import fuzz_app

    from ..conftest import FIXTURES, SHOP_ENV

    for name in ("shop30", "shop31"):
        service = Service.load(FIXTURES / name, environ={**SHOP_ENV, "MACARON_LOG_LEVEL": "CRITICAL"})
        report = fuzz_app(service, create_app(service), seed=0, max_examples=5)
        crashed = {f.split(":")[0] for f in map(str, report.failures) if "not_a_server_error" in f}
        # the fixture's /faults/{kind} crashes on purpose (as the 2.0 shop's does); nothing else may
        assert crashed <= {"GET /faults/{kind}"}, report.summary()
        assert report.cases > 0 and any(400 <= s < 500 for s in report.statuses), report.summary()
