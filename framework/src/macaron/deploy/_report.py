"""What the deploy prints: each step's name, then its outcome and duration; a final summary.

Output goes to one stream (stdout by default) so a CI log reads top to bottom. Durations use
an injectable clock, like the waits, so tests need not sleep.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TextIO

from .._core.errors import ConfigError
from ._aws import AwsError


class StepFailed(Exception):
    """A step failed for a reason the pipeline can state (tests failed, environment not Green...)."""


@dataclass
class Step:
    number: int
    name: str
    outcome: str = "running"  # ok | skipped | FAILED
    detail: str = ""
    seconds: float = 0.0

    def ok(self, detail: str) -> None:
        self.detail = detail

    def skip(self, reason: str) -> None:
        self.outcome, self.detail = "skipped", reason

    def plan(self, detail: str) -> None:
        """A dry run's step: what would happen."""
        self.outcome, self.detail = "planned", detail


@dataclass
class Reporter:
    total: int
    out: TextIO = field(default_factory=lambda: sys.stdout)
    clock: Callable[[], float] = time.monotonic
    steps: list[Step] = field(default_factory=list)

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def detail(self, text: str) -> None:
        """A line inside the running step (progress, an event, a sub-result)."""
        self.say(f"      {text}")

    @contextmanager
    def step(self, name: str) -> Iterator[Step]:
        step = Step(len(self.steps) + 1, name)
        self.steps.append(step)
        self.say(f"[{step.number}/{self.total}] {name}")
        start = self.clock()
        try:
            yield step
        except BaseException as exc:
            step.outcome = "FAILED"
            step.detail = str(exc) if isinstance(exc, Exception) else "interrupted"
            raise
        else:
            if step.outcome == "running":
                step.outcome = "ok"
        finally:
            step.seconds = self.clock() - start
            tail = f": {step.detail}" if step.detail else ""
            self.say(f"[{step.number}/{self.total}] {name}: {step.outcome} ({step.seconds:.1f} s){tail}")

    def summary(self, rows: list[tuple[str, str]]) -> None:
        self.say()
        self.say("Summary")
        names = max((len(s.name) for s in self.steps), default=0)
        for step in self.steps:
            self.say(f"  {step.number}. {step.name:<{names}}  {step.outcome:<8} {step.seconds:7.1f} s")
        width = max((len(k) for k, _ in rows), default=0)
        for key, value in rows:
            self.say(f"  {key:<{width}}  {value}")


@dataclass
class Progress:
    """What this run has done: for the undos and the summary."""

    label: str = ""
    environment: str = ""
    live: str = ""
    url: str = ""
    already_live: bool = False
    undo: list[tuple[str, Callable[[], None]]] = field(default_factory=list)
    failure: str | None = None  # what stopped the run, and its exit status
    code: int = 0

    @contextmanager
    def stops(self) -> Iterator[None]:
        """Turn what stops a run into its failure and exit status: config 2, a step or AWS 1, Ctrl-C 130."""
        try:
            yield
        except ConfigError as exc:
            self.failure, self.code = str(exc), 2
        except (StepFailed, AwsError) as exc:
            self.failure, self.code = str(exc), 1
        except KeyboardInterrupt:
            self.failure, self.code = "interrupted", 130
