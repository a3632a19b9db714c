"""Waiting on Beanstalk: poll an environment until it is what we need, streaming its events.

Each poll is one DescribeEnvironments and one DescribeEvents (new events only, oldest
first, in Beanstalk's own words). The interval and the timeout come from ``beanstalk.yaml``
(``wait.poll_interval``, ``wait.timeout``); the clock and sleep are injectable so tests run
through many polls without sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ._aws import AwsAdapter
from ._report import StepFailed

Env = Mapping[str, Any]
GONE = ("Terminating", "Terminated")


@dataclass
class Clock:
    now: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    wall: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


def green(env: Env) -> bool:
    return env.get("Status") == "Ready" and env.get("Health") == "Green"


def describe(aws: AwsAdapter, application: str, name: str) -> Env | None:
    """The environment called ``name`` that is not terminated, or None."""
    found = aws.call("elasticbeanstalk", "describe_environments", ApplicationName=application,
                     EnvironmentNames=[name], IncludeDeleted=False)["Environments"]
    alive = [e for e in found if e.get("Status") != "Terminated"]
    return alive[-1] if alive else None


@dataclass
class Waiter:
    aws: AwsAdapter
    application: str
    say: Callable[[str], None]
    timeout: float
    interval: float
    clock: Clock = field(default_factory=Clock)

    def until(self, name: str, done: Callable[[Env], bool] = green, what: str = "Ready and Green",
              since: datetime | None = None) -> Env:
        """Poll ``name`` until ``done(env)``, showing events from ``since`` (default: now);
        raise :class:`StepFailed` on timeout, or when the environment goes away."""
        start = self.clock.now()
        since = since or self.clock.wall()
        seen: set[tuple[str, str]] = set()
        errors: list[str] = []
        self.say(f"waiting for {name} to be {what} (timeout {self.timeout:.0f} s, polling every {self.interval:g} s)")
        while True:
            env = describe(self.aws, self.application, name)
            since = self._events(name, since, seen, errors)
            elapsed = self.clock.now() - start
            if env is None or env.get("Status") in GONE:
                raise StepFailed(f"environment {name} is {env.get('Status') if env else 'gone'} while waiting")
            self.say(f"{name}: status {env.get('Status')}, health {env.get('Health')}"
                     f"{' / ' + env['HealthStatus'] if env.get('HealthStatus') else ''} ({elapsed:.0f} s)")
            if done(env):
                return env
            if env.get("Status") == "Ready" and env.get("Health") == "Red" and errors:
                raise StepFailed(f"environment {name} finished with errors: {errors[-1]}")
            if elapsed >= self.timeout:
                raise StepFailed(f"environment {name} was not {what} within {self.timeout:.0f} s "
                                 f"(last: status {env.get('Status')}, health {env.get('Health')})")
            self.clock.sleep(self.interval)

    def _events(self, name: str, since: datetime, seen: set[tuple[str, str]], errors: list[str]) -> datetime:
        events = self.aws.call("elasticbeanstalk", "describe_events", ApplicationName=self.application,
                               EnvironmentName=name, StartTime=since)["Events"]
        newest = since
        for event in sorted(events, key=lambda e: e["EventDate"]):
            key = (str(event["EventDate"]), str(event.get("Message", "")))
            if key in seen:
                continue
            seen.add(key)
            severity = str(event.get("Severity", "INFO"))
            if severity in ("ERROR", "FATAL"):
                errors.append(str(event.get("Message", "")))
            self.say(f"  event {event['EventDate']:%H:%M:%S} {severity:<5} {event.get('Message', '')}")
            newest = max(newest, event["EventDate"])
        return newest
