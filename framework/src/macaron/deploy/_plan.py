"""The answers ``--dry-run`` assumes, so the printed plan is the whole path of a real deploy.

Assumed: the credentials, application, bucket and secrets exist; this version is new; a live
environment exists (and a service's worker environment), and the one it replaced (so the plan
shows the swap, the clean-up and what ``--rollback`` would do); for staging, the staging
environment exists and is updated in place.
Anything unknown without AWS is written ``<like this>``; the plan says it is a plan.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ._config import UNKNOWN_ACCOUNT, DeployConfig
from ._workers import worker_tier

DRY_RUN = " (dry run: AWS calls are printed, not made)"
ASSUMPTIONS = ("the application, bucket and secrets exist; this version is new; the {env} environment exists "
               "(live: and the one it replaced), so every step is shown")


def responder(cfg: DeployConfig) -> Any:
    """A function answering one AWS call of the plan for ``cfg``."""
    live_cname = f"{cfg.cname}.{cfg.region}.elasticbeanstalk.com"
    current = {"EnvironmentName": f"{cfg.environment}-<current>" if cfg.blue_green else cfg.environment,
               "CNAME": live_cname, "Status": "Ready", "Health": "Green", "VersionLabel": "<current version>",
               "DateCreated": datetime(2000, 1, 1, tzinfo=UTC)}
    before = {**current, "EnvironmentName": f"{cfg.environment}-<previous>", "VersionLabel": "<previous version>",
              "CNAME": f"<previous>.{cfg.region}.elasticbeanstalk.com", "DateCreated": datetime(1999, 1, 1, tzinfo=UTC)}
    tier = worker_tier(cfg)
    workers = {"EnvironmentName": tier.environment, "Status": "Ready", "Health": "Green",
               "VersionLabel": "<current version>"} if tier else None

    def answer(service: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        if operation == "GetCallerIdentity":
            return {"Account": UNKNOWN_ACCOUNT, "Arn": "<the caller of these credentials>"}
        if operation == "DescribeApplications":
            return {"Applications": [{"ApplicationName": params["ApplicationNames"][0]}]}
        if operation == "DescribeSecret":
            return {"ARN": params["SecretId"]}
        if operation == "DescribeParameters":
            return {"Parameters": [{"Name": params["ParameterFilters"][0]["Values"][0]}]}
        if operation == "ListAvailableSolutionStacks":
            return {"SolutionStacks": []}
        if operation == "DescribeApplicationVersions":
            return {"ApplicationVersions": []}
        if operation == "DescribeEnvironments":
            names = params.get("EnvironmentNames")
            if names is None:
                return {"Environments": [current, before] if cfg.blue_green else [current]}
            if names == [current["EnvironmentName"]]:
                return {"Environments": [current]}
            if workers and names == [workers["EnvironmentName"]]:
                return {"Environments": [workers]}
            return {"Environments": []}
        if operation == "DescribeEnvironmentResources":
            return {"EnvironmentResources": {"AutoScalingGroups": [{"Name": f"<{params['EnvironmentName']}'s group>"}]}}
        if operation == "DescribeTable":
            return {}  # planned as a first deploy of the store: every table is created
        if operation == "PutScalingPolicy":
            return {"PolicyARN": f"<arn of policy {params['PolicyName']}>"}
        if operation in ("CreateEnvironment", "UpdateEnvironment"):
            name = params["EnvironmentName"]
            cname = live_cname if params.get("CNAMEPrefix") or not cfg.blue_green else f"<{name}>.elasticbeanstalk.com"
            return {"EnvironmentName": name, "CNAME": cname, "Status": "Launching", "Health": "Grey"}
        return {}

    return answer

