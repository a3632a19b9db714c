"""``--rollback``: put live back on the environment it replaced.

The previous environment is kept running by the clean-up step (``keep_environments``), so a
rollback is one CNAME swap: no build, no new environment, seconds instead of minutes. A service
with a worker tier also puts its worker environment back on the previous version (an update in
place, not waited for: the workers of both versions read one queue). The live URL is re-tested
afterwards; a failure there is reported, not undone (live was already bad).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._checks import check_all
from ._config import DeployConfig
from ._environments import find_live, is_live, list_environments, previous, swap
from ._plan import DRY_RUN
from ._report import Progress, StepFailed
from ._waiting import green
from ._workers import worker_tier

if TYPE_CHECKING:
    from ._pipeline import Pipeline


def rollback(pipe: Pipeline, cfg: DeployConfig) -> int:
    """Swap live back to the newest Ready sibling; return the exit status."""
    rep, progress = pipe.reporter, Progress()
    rep.total = 4
    rep.say(f"macaron deploy {cfg.service} --rollback" + (DRY_RUN if pipe.aws.dry_run else ""))
    with progress.stops():
        with rep.step("check config and credentials") as step:
            cfg, line = check_all(pipe.aws, cfg)
            step.plan(f"config valid; {line}") if pipe.aws.dry_run else step.ok(line)
        with rep.step("find the live and the previous environment") as step:
            envs = list_environments(pipe.aws, cfg.application)
            live, before = find_live(cfg, envs), previous(cfg, envs)
            if live is None:
                raise StepFailed(f"no environment holds the live CNAME {cfg.cname}: nothing to roll back")
            if before is None:
                raise StepFailed(f"no previous Ready environment of {cfg.service} to roll back to "
                                 f"(environments named {cfg.environment}-*: live is {live['EnvironmentName']})")
            progress.live, progress.environment = str(live["EnvironmentName"]), str(before["EnvironmentName"])
            progress.label = str(before.get("VersionLabel", "?"))
            step.ok(f"live {progress.live} runs {live.get('VersionLabel')}; previous {progress.environment} "
                    f"runs {progress.label}")
        pipe.ask(f"Swap live {cfg.service} from {progress.live} back to {progress.environment}?")
        with rep.step("swap live back to the previous environment") as step:
            swap(pipe.aws, progress.live, progress.environment)
            if (tier := worker_tier(cfg)) is not None and progress.label != "?":
                pipe.aws.call("elasticbeanstalk", "update_environment", ApplicationName=cfg.application,
                              EnvironmentName=tier.environment, VersionLabel=progress.label)
                pipe.say(f"the worker environment {tier.environment} goes back to {progress.label} too")
            if pipe.aws.dry_run:
                progress.url = pipe.url_for(f"{cfg.cname}.{cfg.region}.elasticbeanstalk.com")
                step.plan(f"would wait for {progress.environment} to hold the live CNAME")
            else:
                env = pipe.waiter(cfg).until(progress.environment, lambda e: green(e) and is_live(cfg, e),
                                             "Green on the live CNAME")
                progress.url = pipe.url_for(str(env["CNAME"]))
                step.ok(f"{progress.environment} serves {progress.url}; {progress.live} is kept for a swap back")
        with rep.step("acceptance tests against live") as step:
            pipe.settle(cfg)
            pipe.accept(cfg, progress.url, step, "live")
    return pipe.finish(progress, [
        ("service", cfg.service), ("version", progress.label or "-"),
        ("environment", f"{progress.environment or '-'} (live)"), ("url", progress.url or "-")],
        success=f"rolled back: live serves {progress.label} again")
