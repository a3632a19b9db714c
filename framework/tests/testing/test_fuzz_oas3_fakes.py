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
    report = fuzz_fake(SPECS / f"{name}.yaml", seed=7, max_examples=15, max_time=4)
    assert report.ok, report.summary()
    tested = report.operations - {"Stateful tests"}  # links: schemathesis chains calls too
    assert len(tested) == operations and any(200 <= s < 300 for s in report.statuses), report.summary()
    assert any(400 <= status < 500 for status in report.statuses), report.summary()
