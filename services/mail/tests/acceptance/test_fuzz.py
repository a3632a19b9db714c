"""Fuzzing this service of the system under test over HTTP (local, staging or live) from the
spec it serves: a fixed seed and few examples per operation, zero failures."""

import pytest
from macaron.testing import SystemUnderTest, ThisService, fuzz_target


def test_fuzz_live(system: SystemUnderTest, this_service: ThisService) -> None:
    if system.local is None:  # its valid cases sign up accounts and send mails: fakes only
        pytest.skip("fuzzing runs against a local system only")
    report = fuzz_target(system, this_service.name, seed=0, max_examples=10)
    assert report.ok, report.summary()
