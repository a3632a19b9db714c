"""Fuzzing this service through its WSGI app, in this process (schemathesis; ``nox -s fuzz`` runs
the thorough version): a fixed seed and few examples per operation, zero failures."""

from macaron.testing import ThisService, fuzz_in_process


def test_fuzz_in_process(this_service: ThisService) -> None:
    report = fuzz_in_process(this_service.directory, seed=0, max_examples=15)
    assert report.ok, report.summary()
    assert 200 in report.statuses and 400 in report.statuses  # positive and negative cases reached it
