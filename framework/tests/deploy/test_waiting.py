"""macaron.deploy._waiting: polling Beanstalk (through botocore's Stubber) with events, timeouts."""

from __future__ import annotations

import pytest
from macaron.deploy._report import StepFailed
from macaron.deploy._waiting import Waiter

from ..fixtures.deploy import support

NAME = "hello-live-12345678"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch):
    support.fake_aws_env(monkeypatch)
    return support.adapter("http://127.0.0.1:9")  # every call below is answered by the Stubber


def waiter(aws, time, lines: list[str], timeout: float = 60, interval: float = 10) -> Waiter:
    return Waiter(aws, support.APP, lines.append, timeout=timeout, interval=interval, clock=time.clock)


def test_waits_until_green_showing_each_event_once(aws) -> None:
    eb, time, lines = support.Beanstalk(aws), support.FakeTime(), []
    launching = support.environment(NAME, status="Launching", health="Grey")
    first = support.event(NAME, "createEnvironment is starting.", seconds=1)
    second = support.event(NAME, "Instance deployment completed successfully.", seconds=50)
    eb.poll(NAME, launching, [first])
    eb.poll(NAME, launching, [first])  # StartTime is inclusive: seen events come back
    eb.poll(NAME, support.environment(NAME), [second, first])
    env = waiter(aws, time, lines).until(NAME)
    eb.done()
    assert env["Health"] == "Green" and time.slept == [10, 10]
    events = [line for line in lines if "event" in line]
    assert events == ["  event 12:00:01 INFO  createEnvironment is starting.",
                      "  event 12:00:50 INFO  Instance deployment completed successfully."]
    assert f"{NAME}: status Launching, health Grey (10 s)" in lines


def test_an_environment_that_never_turns_green_times_out(aws) -> None:
    eb, time, lines = support.Beanstalk(aws), support.FakeTime(), []
    for _ in range(4):
        eb.poll(NAME, support.environment(NAME, status="Ready", health="Yellow"))
    with pytest.raises(StepFailed, match=r"was not Ready and Green within 30 s \(last: status Ready, health Yellow\)"):
        waiter(aws, time, lines, timeout=30).until(NAME)
    eb.done()
    assert time.slept == [10, 10, 10]


def test_errors_then_red_fail_fast(aws) -> None:
    eb, time, lines = support.Beanstalk(aws), support.FakeTime(), []
    error = support.event(NAME, "Create environment operation is complete, but with errors.", "ERROR")
    eb.poll(NAME, support.environment(NAME, status="Ready", health="Red"), [error])
    with pytest.raises(StepFailed, match="finished with errors: Create environment operation is complete"):
        waiter(aws, time, lines).until(NAME)
    assert time.slept == []


def test_a_terminated_environment_stops_the_wait(aws) -> None:
    eb, time, lines = support.Beanstalk(aws), support.FakeTime(), []
    eb.poll(NAME, support.environment(NAME, status="Terminating", health="Grey"))
    with pytest.raises(StepFailed, match="is Terminating while waiting"):
        waiter(aws, time, lines).until(NAME)


def test_a_custom_condition(aws) -> None:
    eb, time, lines = support.Beanstalk(aws), support.FakeTime(), []
    eb.poll(NAME, support.environment(NAME, label="old"))
    eb.poll(NAME, support.environment(NAME, label="new"))
    env = waiter(aws, time, lines).until(NAME, lambda e: e["VersionLabel"] == "new", "on new")
    assert env["VersionLabel"] == "new" and lines[0].startswith(f"waiting for {NAME} to be on new")
