"""schemathesis against ``macaron fake`` of small, realistic specs (``fixtures/fakes``): every answer
of a fake — status, media type, body (JSON and XML), headers — is one its spec declares."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from macaron.testing._fuzzfake import FAKE_CHECKS, fuzz_fake

SPECS = Path(__file__).parents[1] / "fixtures" / "fakes"


@pytest.fixture(autouse=True)
def _quiet() -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)


@pytest.mark.parametrize(("name", "operations"), [
    ("ledger", 6),   # an error format of its own, typed headers, only-default and only-404 operations
    ("fleet", 5),    # a discriminator with a subtype of a subtype, nested error objects
    ("catalog", 5),  # XML with namespaces, attributes and wrapped lists; vendor JSON; files
    ("notes", 4),    # basic auth, problems of its own, a plain-text error, form data, a redirect-only operation
])
def test_a_fake_answers_only_as_its_spec_declares(name: str, operations: int) -> None:
    report = fuzz_fake(SPECS / f"{name}.yaml", seed=7, max_examples=25, max_time=5)  # cycles of cases fill 5 s
    assert report.ok, report.summary()
    assert len(report.operations) == operations and 200 in report.statuses, report.summary()
    assert any(400 <= status < 500 for status in report.statuses), report.summary()  # errors were answered too


def test_the_checks_are_the_response_conformance_ones() -> None:
    assert FAKE_CHECKS == ("not_a_server_error", "status_code_conformance", "content_type_conformance",
                           "response_schema_conformance", "response_headers_conformance")
