"""macaron.deploy._report: each step's name, outcome and duration; the summary."""

from __future__ import annotations

import io

import pytest
from macaron.deploy._report import Reporter, StepFailed


class Ticks:
    """A clock that moves 1.5 s per reading."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        self.t += 1.5
        return self.t


def test_steps_print_name_outcome_and_duration() -> None:
    out = io.StringIO()
    rep = Reporter(total=3, out=out, clock=Ticks())
    with rep.step("build") as step:
        rep.detail("12 files")
        step.ok("bundle.zip")
    with rep.step("smoke") as step:
        step.skip("turned off")
    with pytest.raises(StepFailed), rep.step("upload"):
        raise StepFailed("bucket gone")
    lines = out.getvalue().splitlines()
    assert lines == [
        "[1/3] build", "      12 files", "[1/3] build: ok (1.5 s): bundle.zip",
        "[2/3] smoke", "[2/3] smoke: skipped (1.5 s): turned off",
        "[3/3] upload", "[3/3] upload: FAILED (1.5 s): bucket gone",
    ]
    assert [s.outcome for s in rep.steps] == ["ok", "skipped", "FAILED"]


def test_an_interrupt_is_reported_and_passed_on() -> None:
    out = io.StringIO()
    rep = Reporter(total=1, out=out, clock=Ticks())
    with pytest.raises(KeyboardInterrupt), rep.step("wait"):
        raise KeyboardInterrupt
    assert out.getvalue().endswith("[1/1] wait: FAILED (1.5 s): interrupted\n")


def test_the_summary_lists_steps_then_facts() -> None:
    out = io.StringIO()
    rep = Reporter(total=2, out=out, clock=Ticks())
    with rep.step("check") as step:
        step.plan("would call sts")
    rep.summary([("version", "hello-abc"), ("url", "http://x")])
    text = out.getvalue()
    assert "Summary\n  1. check  planned      1.5 s\n" in text
    assert text.endswith("  version  hello-abc\n  url      http://x\n")
