"""Beanstalk environments of one service: which one is live, which are its blue/green
siblings, which may be rolled back to, and which are old enough to go.

Live is defined by the CNAME, not by a name or a tag: the environment whose CNAME starts with
the configured prefix (``macaron-user-live.``) is what users reach. Blue/green siblings share
the name prefix (``user-live-``) and differ by the hash of the version they run.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ._aws import AwsAdapter
from ._config import DeployConfig
from ._waiting import GONE

Env = Mapping[str, Any]


def list_environments(aws: AwsAdapter, application: str) -> list[Env]:
    """Every environment of ``application`` that is not terminated (all pages)."""
    envs: list[Env] = []
    token: dict[str, str] = {}
    while True:
        page = aws.call("elasticbeanstalk", "describe_environments", ApplicationName=application,
                        IncludeDeleted=False, **token)
        envs.extend(e for e in page.get("Environments", []) if e.get("Status") not in GONE)
        if not page.get("NextToken"):
            return envs
        token = {"NextToken": page["NextToken"]}


def is_live(cfg: DeployConfig, env: Env) -> bool:
    return str(env.get("CNAME", "")).lower().startswith(cfg.cname.lower() + ".")


def find_live(cfg: DeployConfig, envs: list[Env]) -> Env | None:
    return next((e for e in envs if is_live(cfg, e)), None)


def siblings(cfg: DeployConfig, envs: list[Env]) -> list[Env]:
    """This service's blue/green environments for ``cfg.env``, newest first."""
    prefix = cfg.environment + "-"
    mine = [e for e in envs if str(e.get("EnvironmentName", "")).startswith(prefix)]
    return sorted(mine, key=lambda e: e.get("DateCreated") or datetime.min, reverse=True)


def previous(cfg: DeployConfig, envs: list[Env]) -> Env | None:
    """The newest Ready sibling that is not live: where ``--rollback`` goes."""
    return next((e for e in siblings(cfg, envs) if not is_live(cfg, e) and e.get("Status") == "Ready"), None)


def to_clean(cfg: DeployConfig, envs: list[Env], live_name: str, previous_name: str | None) -> list[Env]:
    """Siblings beyond the newest ``keep_environments`` (live and the one it replaced come first)."""
    keep = max(1, int(cfg.number("keep_environments", default=2)))
    others = [e for e in siblings(cfg, envs) if e["EnvironmentName"] == previous_name]
    others += [e for e in siblings(cfg, envs) if e["EnvironmentName"] not in (live_name, previous_name)]
    return others[keep - 1:]  # live always stays, listed or not


def terminate(aws: AwsAdapter, name: str) -> None:
    aws.call("elasticbeanstalk", "terminate_environment", EnvironmentName=name, TerminateResources=True)


def swap(aws: AwsAdapter, source: str, destination: str) -> None:
    aws.call("elasticbeanstalk", "swap_environment_cnames", SourceEnvironmentName=source,
             DestinationEnvironmentName=destination)
