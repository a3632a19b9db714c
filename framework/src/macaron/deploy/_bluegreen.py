"""Steps 6, 8 and 9: the new environment, the CNAME swap with its live re-test, the clean-up;
and their undos (terminate the new environment, swap back, put staging back).

Live is blue/green: each version gets its own environment, created beside live and made live
by SwapEnvironmentCNAMEs once it is Green and has passed the acceptance tests. Staging is one
environment updated in place (UpdateEnvironment), put back on its previous version on failure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._config import DeployConfig
from ._environments import find_live, is_live, list_environments, swap, terminate, to_clean
from ._options import option_settings
from ._report import Step, StepFailed
from ._waiting import describe, green

if TYPE_CHECKING:
    from ._pipeline import Pipeline
    from ._report import Progress


def new_environment(pipe: Pipeline, cfg: DeployConfig, progress: Progress, step: Step) -> None:
    """Step 6: create live's next environment, or update staging; then wait for Ready + Green."""
    aws, label = pipe.aws, progress.label
    since = pipe.clock.wall()
    platform = "PlatformArn" if cfg.platform.startswith("arn:") else "SolutionStackName"
    create: dict[str, Any] = {
        "ApplicationName": cfg.application, "Description": f"{cfg.service} {cfg.env}: {label}"[:200],
        "VersionLabel": label, platform: cfg.platform, "OptionSettings": option_settings(cfg, label),
        "Tags": [{"Key": "macaron:service", "Value": cfg.service}, {"Key": "macaron:env", "Value": cfg.env}]}
    name = progress.environment = cfg.env_name(label)
    if cfg.blue_green:
        envs = list_environments(aws, cfg.application)
        live = find_live(cfg, envs)
        progress.live = str(live["EnvironmentName"]) if live else ""
        existing = next((e for e in envs if e["EnvironmentName"] == name), None)
        if existing and is_live(cfg, existing):
            progress.already_live, progress.url = True, pipe.url_for(str(existing["CNAME"]))
            step.ok(f"{name} already serves {label} on the live CNAME: nothing to deploy")
            return
        if existing and live is None:
            raise StepFailed(f"{name} exists but nothing holds the live CNAME {cfg.cname}; terminate {name} first")
        if existing:
            pipe.say(f"{name} already runs {label} and is not live: reusing it")
        else:
            aws.call("elasticbeanstalk", "create_environment", EnvironmentName=name, **create,
                     **({} if live else {"CNAMEPrefix": cfg.cname}))
            progress.undo.append((f"terminate the new environment {name}", lambda: terminate(aws, name)))
    else:
        current = describe(aws, cfg.application, name)
        if current is None:
            aws.call("elasticbeanstalk", "create_environment", EnvironmentName=name, CNAMEPrefix=cfg.cname, **create)
            progress.undo.append((f"terminate the new environment {name}", lambda: terminate(aws, name)))
        else:
            aws.call("elasticbeanstalk", "update_environment", ApplicationName=cfg.application,
                     EnvironmentName=name, VersionLabel=label, OptionSettings=create["OptionSettings"])
            before = current.get("VersionLabel")
            if before:
                progress.undo.append((f"put {name} back on version {before}",
                                      lambda: revert(pipe, cfg, name, str(before))))
    if aws.dry_run:
        progress.url = pipe.url_for(f"<{name} CNAME>")
        step.plan(f"would wait for {name} to be Ready and Green, streaming its events")
        return
    env = pipe.waiter(cfg).until(name, lambda e: green(e) and e.get("VersionLabel") == label,
                                 f"Ready and Green on {label}", since=since)
    progress.url = pipe.url_for(str(env["CNAME"]))
    step.ok(f"{name} is Ready and Green at {progress.url}")


def revert(pipe: Pipeline, cfg: DeployConfig, name: str, label: str) -> None:
    """Undo of a staging update: back to ``label``, and wait until it runs again."""
    pipe.aws.call("elasticbeanstalk", "update_environment", ApplicationName=cfg.application,
                  EnvironmentName=name, VersionLabel=label)
    pipe.waiter(cfg).until(name, lambda e: e.get("Status") == "Ready" and e.get("VersionLabel") == label,
                           f"Ready on {label}")


def swap_live(pipe: Pipeline, cfg: DeployConfig, progress: Progress, step: Step) -> None:
    """Step 8: the new environment takes the live CNAME; live is re-tested."""
    if progress.already_live or not cfg.blue_green:
        step.skip("already live" if progress.already_live else f"{cfg.environment} is updated in place: no swap")
        return
    new, old = progress.environment, progress.live
    if not old:
        step.skip(f"there was no live environment: {new} was created holding the live CNAME {cfg.cname}")
        return
    swap(pipe.aws, old, new)
    progress.undo.append((f"swap the live CNAME back to {old}", lambda: swap_back(pipe, cfg, new, old)))
    if pipe.aws.dry_run:
        progress.url = pipe.url_for(f"{cfg.cname}.{cfg.region}.elasticbeanstalk.com")
        pipe.say(f"would wait for {new} to be Green on the live CNAME, then for DNS")
    else:
        env = pipe.waiter(cfg).until(new, lambda e: green(e) and is_live(cfg, e), "Green on the live CNAME")
        progress.url = pipe.url_for(str(env["CNAME"]))
    pipe.settle(cfg)
    pipe.accept(cfg, progress.url, step, "live")


def swap_back(pipe: Pipeline, cfg: DeployConfig, new: str, old: str) -> None:
    """Undo of the swap: ``old`` serves live again, and ``new`` is left Ready (so it can be terminated)."""
    swap(pipe.aws, new, old)
    waiter = pipe.waiter(cfg)
    waiter.until(old, lambda e: e.get("Status") == "Ready" and is_live(cfg, e), "serving the live CNAME again")
    waiter.until(new, lambda e: e.get("Status") == "Ready", "Ready (so it can be terminated)")


def cleanup(pipe: Pipeline, cfg: DeployConfig, progress: Progress, step: Step) -> None:
    """Step 9: terminate siblings beyond ``keep_environments`` (live and its predecessor stay)."""
    if progress.already_live or not cfg.blue_green:
        step.skip("nothing new went live" if progress.already_live else "staging has a single environment")
        return
    envs = list_environments(pipe.aws, cfg.application)
    extra = to_clean(cfg, envs, progress.environment, progress.live or None)
    for env in extra:
        terminate(pipe.aws, str(env["EnvironmentName"]))
    kept = [str(e["EnvironmentName"]) for e in envs
            if e not in extra and str(e["EnvironmentName"]).startswith(cfg.environment + "-")]
    gone = ", ".join(str(e["EnvironmentName"]) for e in extra) or "none"
    done = "would terminate" if pipe.aws.dry_run else "terminated"
    detail = f"kept {', '.join(kept) or '-'} (for --rollback); {done}: {gone}"
    step.plan(detail) if pipe.aws.dry_run else step.ok(detail)
