"""The deploy, step by step: check → tests → bundle → smoke → upload → environment →
(worker tier, for a service with tasks) → acceptance → swap + live re-test → clean-up. Nothing
reaches AWS before the local gates pass.

Every step after the upload that changes AWS registers how to undo itself; on any failure the
undos run newest first (swap the CNAMEs back, terminate the new environment, put staging back
on its previous version), so the previous live environment keeps serving, and the exit status
is non-zero with what failed. The steps live in :mod:`.gates` (2-4), :mod:`.bluegreen` (6, 8,
9) and, for ``--rollback``, :mod:`.rollback`; this module orders them and undoes on failure.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from .._core.errors import ConfigError
from ._acceptance import run_acceptance
from ._aws import AwsAdapter
from ._bluegreen import cleanup, new_environment, swap_live
from ._bundle import Bundle
from ._checks import check_all
from ._config import DeployConfig, load_deploy_config
from ._gates import local_gates
from ._plan import ASSUMPTIONS, DRY_RUN, responder
from ._report import Progress, Reporter, Step, StepFailed
from ._rollback import rollback
from ._tables import ensure_tables
from ._waiting import Clock, Waiter
from ._workers import deploy_workers, worker_tier


@dataclass
class Options:
    """What ``macaron deploy`` was asked to do (``test_args``/``smoke`` are for tests and CI)."""

    service: str
    env: str = "live"
    version: str | None = None
    dry_run: bool = False
    rollback: bool = False
    yes: bool = False
    allow_dirty: bool = False
    test_args: list[str] | None = None  # default: services/<name>/tests
    smoke: bool = True


def ask_on_terminal(question: str) -> bool:
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


class Pipeline:
    """One deploy (or rollback) of one service. ``run()`` returns the exit status."""

    def __init__(self, root: Path, options: Options, *, aws: AwsAdapter | None = None, out: TextIO | None = None,
                 clock: Clock | None = None, url_for: Callable[[str], str] | None = None,
                 confirm: Callable[[str], bool] | None = None) -> None:
        self.root, self.options, self.aws_given = Path(root).resolve(), options, aws
        self.out = out or sys.stdout
        self.clock = clock or Clock()
        self.url_for = url_for or (lambda cname: f"http://{cname}")
        self.confirm = confirm if confirm is not None else (ask_on_terminal if sys.stdin.isatty() else None)
        self.aws: AwsAdapter = aws  # type: ignore[assignment]  # set in run()
        self.reporter = Reporter(total=9, out=self.out, clock=self.clock.now)

    def run(self) -> int:
        o = self.options
        cfg = load_deploy_config(self.root, o.service, o.env)
        if o.rollback and o.env != "live":
            raise ConfigError("--rollback swaps live back to its previous environment; staging is updated in place "
                              "(deploy the version you want there with --version)")
        if not (o.dry_run or o.yes or self.confirm):
            raise ConfigError(f"deploying to {o.env} needs a yes: pass --yes (stdin is not a terminal to ask on)")
        self.aws = self.aws_given or AwsAdapter(cfg.region, dry_run=o.dry_run, out=self.out)
        if self.aws.dry_run and self.aws.responder is None:
            self.aws.responder = responder(cfg)
        if o.rollback:
            return rollback(self, cfg)
        return self.deploy(cfg)

    # -- helpers shared with rollback ---------------------------------------------------------

    def say(self, text: str) -> None:
        self.reporter.detail(text)

    def waiter(self, cfg: DeployConfig) -> Waiter:
        return Waiter(self.aws, cfg.application, self.say, timeout=cfg.number("wait", "timeout", default=1200),
                      interval=cfg.number("wait", "poll_interval", default=15), clock=self.clock)

    def ask(self, question: str) -> None:
        if self.options.dry_run or self.options.yes:
            return
        if not (self.confirm and self.confirm(question)):
            raise StepFailed("not confirmed: nothing was changed in AWS")

    def accept(self, cfg: DeployConfig, url: str, step: Step, what: str) -> None:
        if self.aws.dry_run:
            step.plan(f"would run the built-in checks and {cfg.service}'s acceptance tests against {url}")
            return
        outcome = run_acceptance(cfg.root, cfg.service, url)
        if not outcome.ok:
            for line in outcome.tail().splitlines():
                self.say(line)
            raise StepFailed(f"acceptance against {what} {url} failed: {outcome.summary}")
        step.ok(f"{url}: {outcome.summary}")

    def settle(self, cfg: DeployConfig) -> None:
        seconds = cfg.number("wait", "dns_settle", default=60)
        if seconds > 0 and not self.aws.dry_run:
            self.say(f"waiting {seconds:.0f} s for DNS (the CNAME's TTL) before testing the live URL")
            self.clock.sleep(seconds)

    def finish(self, progress: Progress, rows: list[tuple[str, str]], success: str = "ok") -> int:
        """Undo what a failed run changed (newest first), print the summary, return the exit status."""
        failure = progress.failure
        if failure and progress.undo:
            self.reporter.say("Undoing what this deploy changed, so the previous environment keeps serving:")
            for what, action in reversed(progress.undo):
                try:
                    action()
                    self.say(f"done: {what}")
                except Exception as exc:  # report, keep undoing the rest
                    self.say(f"COULD NOT {what}: {exc}; do it by hand (Beanstalk console or aws elasticbeanstalk)")
        result = "dry run: nothing was changed in AWS" if self.aws and self.aws.dry_run and not failure else success
        self.reporter.summary([*rows, ("result", f"FAILED: {failure}" if failure else result)])
        return progress.code

    # -- the deploy ---------------------------------------------------------------------------

    def deploy(self, cfg: DeployConfig) -> int:
        o, rep, progress = self.options, self.reporter, Progress()
        workers = worker_tier(cfg)
        rep.total = 10 if workers else 9  # a service with tasks has its worker tier as a step of its own
        rep.say(f"macaron deploy {o.service} to {o.env}" + (DRY_RUN if o.dry_run else ""))
        if o.dry_run:
            rep.say("plan assumes: " + ASSUMPTIONS.format(env=o.env))
        with progress.stops():
            with rep.step("check config and credentials") as step:
                cfg, line = check_all(self.aws, cfg)
                if tables := ensure_tables(self.aws, cfg, self.say, self.clock):
                    line += f"; {tables}"
                step.plan(f"config valid; {line}") if self.aws.dry_run else step.ok(line)
            bundle = local_gates(self, cfg, progress)
            self.ask(f"Deploy {progress.label} of {cfg.service} to {cfg.env} ({cfg.application}, {cfg.region})?")
            with rep.step("upload the bundle, create the application version") as step:
                self.upload(cfg, bundle, progress, step)
            title = "create a new environment" if cfg.blue_green else f"update {cfg.environment}"
            with rep.step(f"{title}, wait for Ready + Green") as step:
                new_environment(self, cfg, progress, step)
            if workers is not None:
                with rep.step(f"put the worker tier {workers.environment} on this version, scale it on its queue") \
                        as step:
                    if progress.already_live:
                        step.skip("already live")
                    else:
                        deploy_workers(self, cfg, workers, progress, step)
            with rep.step("acceptance tests against the new environment") as step:
                if progress.already_live:
                    step.skip("already live")
                else:
                    self.accept(cfg, progress.url, step, "the new environment")
            with rep.step("swap CNAMEs with live, re-test live") as step:
                swap_live(self, cfg, progress, step)
            with rep.step("clean up old environments") as step:
                cleanup(self, cfg, progress, step)
            progress.undo.clear()
        return self.finish(progress, [
            ("service", cfg.service), ("version", progress.label or "-"),
            ("environment", f"{progress.environment or '-'} ({cfg.env})"), ("url", progress.url or "-")],
            success=f"{cfg.env} serves {progress.label}")

    def upload(self, cfg: DeployConfig, bundle: Bundle | None, progress: Progress, step: Step) -> None:
        label = progress.label
        found = self.aws.call("elasticbeanstalk", "describe_application_versions", ApplicationName=cfg.application,
                              VersionLabels=[label])["ApplicationVersions"]
        if found:
            step.ok(f"version {label} already exists in {cfg.application}; not uploaded again")
            return
        if bundle is None:
            raise ConfigError(f"version {label!r} does not exist in application {cfg.application} ({cfg.region}); "
                              f"deploy without --version to build and upload it")
        key = f"{cfg.application}/{cfg.service}/{bundle.path.name}"
        self.aws.call("s3", "put_object", Bucket=cfg.bucket, Key=key, Body=bundle.path.read_bytes(),
                      ContentType="application/zip", Metadata={"sha256": bundle.sha256, "commit": bundle.commit})
        description = f"{cfg.service} {bundle.content_hash[:12]} from commit {bundle.commit[:12]}"
        self.aws.call("elasticbeanstalk", "create_application_version", ApplicationName=cfg.application,
                      VersionLabel=label, Description=description + (" (dirty tree)" if bundle.dirty else ""),
                      SourceBundle={"S3Bucket": cfg.bucket, "S3Key": key}, Process=False)
        detail = f"s3://{cfg.bucket}/{key} is version {label}"
        step.plan(detail) if self.aws.dry_run else step.ok(detail)

