"""``beanstalk.yaml`` → Beanstalk ``OptionSettings`` (namespace, option, value).

One function, so the mapping from our keys to Beanstalk's namespaces is in one place and a
test can check every value against the API model. Secrets go to the
``aws:elasticbeanstalk:application:environmentsecrets`` namespace as ARNs: Beanstalk fetches
the values on the instances at boot, so no secret value ever passes through the deploy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._core.errors import ConfigError
from ._config import DeployConfig

POLICIES = ("AllAtOnce", "Rolling", "RollingWithAdditionalBatch", "Immutable", "TrafficSplitting")
MEASURES = ("CPUUtilization", "NetworkIn", "NetworkOut", "DiskWriteOps", "DiskReadBytes", "DiskReadOps",
            "DiskWriteBytes", "Latency", "RequestCount", "HealthyHostCount", "UnhealthyHostCount",
            "TargetResponseTime")
RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653)
_TRIGGER = {"measure": "MeasureName", "statistic": "Statistic", "unit": "Unit", "upper": "UpperThreshold",
            "lower": "LowerThreshold", "period": "Period", "breach_duration": "BreachDuration",
            "upper_increment": "UpperBreachScaleIncrement", "lower_increment": "LowerBreachScaleIncrement"}


def _text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _section(cfg: DeployConfig, key: str) -> Mapping[str, Any]:
    value = cfg.settings.get(key) or {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{cfg.source}: '{key}' must be a mapping")
    return value


def option_settings(cfg: DeployConfig, version_label: str) -> list[dict[str, str]]:
    """The ``OptionSettings`` of CreateEnvironment / UpdateEnvironment for ``cfg``."""
    out: list[dict[str, str]] = []

    def opt(namespace: str, name: str, value: Any) -> None:
        if value is not None:
            out.append({"Namespace": namespace, "OptionName": name, "Value": _text(value)})

    env_ns, proc = "aws:elasticbeanstalk:environment", "aws:elasticbeanstalk:environment:process:default"
    opt(env_ns, "EnvironmentType", "LoadBalanced")
    opt(env_ns, "LoadBalancerType", cfg.settings.get("load_balancer", "application"))
    opt(env_ns, "ServiceRole", cfg.settings.get("service_role"))
    instance = _section(cfg, "instance")
    opt("aws:ec2:instances", "InstanceTypes", instance.get("type"))
    opt("aws:autoscaling:launchconfiguration", "IamInstanceProfile", instance.get("profile"))
    scaling = _section(cfg, "scaling")
    low, high = int(scaling.get("min", 1)), int(scaling.get("max", 1))
    if not 1 <= low <= high <= 10000:
        raise ConfigError(f"{cfg.source}: scaling needs 1 <= min <= max, got min={low} max={high}")
    opt("aws:autoscaling:asg", "MinSize", low)
    opt("aws:autoscaling:asg", "MaxSize", high)
    trigger = scaling.get("trigger") or {}
    unknown = sorted(set(trigger) - set(_TRIGGER))
    if unknown:
        raise ConfigError(f"{cfg.source}: unknown scaling.trigger keys {unknown} (known: {sorted(_TRIGGER)})")
    if trigger.get("measure") is not None and trigger["measure"] not in MEASURES:
        raise ConfigError(f"{cfg.source}: scaling.trigger.measure {trigger['measure']!r} is not one of {MEASURES}")
    for key, name in _TRIGGER.items():
        opt("aws:autoscaling:trigger", name, trigger.get(key))
    health = str(cfg.settings.get("health_check_path", "/ping"))
    if not health.startswith("/"):
        raise ConfigError(f"{cfg.source}: health_check_path must start with '/', got {health!r}")
    opt(proc, "HealthCheckPath", health)
    opt(proc, "Port", 80)
    opt(proc, "Protocol", "HTTP")
    opt("aws:elasticbeanstalk:application", "Application Healthcheck URL", health)
    opt("aws:elasticbeanstalk:healthreporting:system", "SystemType", "enhanced")
    policy = cfg.settings.get("deployment_policy", "Immutable")
    if policy not in POLICIES:
        raise ConfigError(f"{cfg.source}: deployment_policy {policy!r} is not one of {POLICIES}")
    opt("aws:elasticbeanstalk:command", "DeploymentPolicy", policy)
    logs = _section(cfg, "logs")
    retention = int(logs.get("retention_days", 30))
    if retention not in RETENTION_DAYS:
        raise ConfigError(f"{cfg.source}: logs.retention_days must be one of {RETENTION_DAYS}, got {retention}")
    opt("aws:elasticbeanstalk:cloudwatch:logs", "StreamLogs", bool(logs.get("stream", True)))
    opt("aws:elasticbeanstalk:cloudwatch:logs", "DeleteOnTerminate", bool(logs.get("delete_on_terminate", False)))
    opt("aws:elasticbeanstalk:cloudwatch:logs", "RetentionInDays", retention)
    opt("aws:elasticbeanstalk:cloudwatch:logs:health", "HealthStreamingEnabled", bool(logs.get("health", True)))
    role = {"MACARON_ROLE": "web"} if (cfg.settings.get("worker") or {}).get("tier", "separate") == "separate" else {}
    for var, value in {**cfg.env_vars, **role, "MACARON_VERSION_LABEL": version_label}.items():
        opt("aws:elasticbeanstalk:application:environment", var, value)
    for var, arn in cfg.secrets.items():
        opt("aws:elasticbeanstalk:application:environmentsecrets", var, arn)
    for raw in cfg.settings.get("options") or []:
        if not isinstance(raw, Mapping) or not {"namespace", "name", "value"} <= set(raw):
            raise ConfigError(f"{cfg.source}: each 'options' entry needs namespace, name and value, got {raw!r}")
        opt(str(raw["namespace"]), str(raw["name"]), raw["value"])
    return out
