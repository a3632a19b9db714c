"""The worker tier: a service's ``@task`` workers in a Beanstalk environment of their own, scaled on
their queue (``worker:`` in ``beanstalk.yaml``; ``tier: separate``, the default).

Why this shape: workers and web instances need different things. The web tier scales on CPU and
sits behind the ALB; workers scale on how long jobs wait, and need no load balancer. Beanstalk's
*worker* environment tier is exactly an Auto Scaling group without a load balancer (its SQS
daemon stays idle: nothing posts to it; rq on ElastiCache is the queue), running the same
application version. Its scaling is not a Beanstalk trigger (those take only EC2/ELB metrics), so
the deploy puts two step-scaling policies on the environment's group and two CloudWatch alarms on
the workers' own ``OldestJobAge`` (or ``QueueDepth``) metric (:mod:`macaron.tasks._metrics`):

* out: ``Maximum`` of the metric ``>= steps[0].above`` for ``out.evaluation_periods`` periods adds
  ``add`` instances per step (``{above: 30, add: 1}, {above: 120, add: 2}``: past 2 minutes, 2 at once);
* in: ``<= in.below`` for ``in.evaluation_periods`` periods (15 minutes by default) removes ``remove``.

They are API calls, not ``.ebextensions`` CloudFormation, so each is checked against botocore's
models (the tests, ``--dry-run``) and the deploy re-applies them whenever the environment's group
changes. The same compose file runs on both tiers: ``MACARON_ROLE`` (``web`` on the web tier,
``worker`` here) makes the other tier's worker container idle (the web tier runs no jobs).
The worker environment is one per service and env, updated in place: every deploy puts it on the
new version before the acceptance tests (which run through the workers), and a failed deploy puts
it back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._core.errors import ConfigError
from ._compose import scan_tasks
from ._config import DeployConfig
from ._options import option_settings
from ._waiting import describe

if TYPE_CHECKING:
    from ._pipeline import Pipeline
    from ._report import Progress, Step

METRICS = ("OldestJobAge", "QueueDepth")
_WEB_ONLY = {("aws:elasticbeanstalk:environment", "LoadBalancerType"), ("aws:elasticbeanstalk:application",
             "Application Healthcheck URL")}
_WEB_NAMESPACES = ("aws:elasticbeanstalk:environment:process:", "aws:autoscaling:trigger")


@dataclass(frozen=True)
class WorkerTier:
    environment: str
    instance_type: str
    min: int
    max: int
    namespace: str
    metric: str
    period: int
    out_steps: tuple[tuple[float, int], ...]  # (above, add), rising
    out_periods: int
    in_below: float
    in_periods: int
    remove: int
    warmup: int


def _number(section: Mapping[str, Any], key: str, default: float, where: str) -> float:
    try:
        return float(section.get(key, default))
    except (TypeError, ValueError):
        raise ConfigError(f"{where}.{key} must be a number, got {section.get(key)!r}") from None


def worker_tier(cfg: DeployConfig) -> WorkerTier | None:
    """The worker tier of ``cfg.service``; None when it has no tasks or runs workers with the web tier."""
    worker = cfg.settings.get("worker") or {}
    tier = worker.get("tier", "separate")
    if tier not in ("separate", "with_web"):
        raise ConfigError(f"{cfg.source}: worker.tier must be 'separate' or 'with_web', got {tier!r}")
    if tier == "with_web" or not scan_tasks(cfg.service_dir).found:
        return None
    where = f"{cfg.source}: worker.scaling"
    scaling = worker.get("scaling") or {}
    out, inward = scaling.get("out") or {}, scaling.get("in") or {}
    steps = tuple(sorted((_number(s, "above", 0, f"{where}.out.steps"), int(_number(s, "add", 1, where)))
                         for s in out.get("steps") or [{"above": 30, "add": 1}]))
    metric = str(scaling.get("metric", "OldestJobAge"))
    low, high = int(_number(scaling, "min", 1, where)), int(_number(scaling, "max", 4, where))
    if metric not in METRICS:
        raise ConfigError(f"{where}.metric must be one of {METRICS}, got {metric!r}")
    if not 1 <= low <= high or any(add < 1 for _, add in steps):
        raise ConfigError(f"{where}: needs 1 <= min <= max and every step adding >= 1 (min={low}, max={high})")
    name = str(worker.get("environment") or f"{cfg.service}-worker-{cfg.env}")
    return WorkerTier(
        environment=name, instance_type=str((worker.get("instance") or {}).get("type", "t3.small")),
        min=low, max=high, namespace=str(worker.get("metrics_namespace") or cfg.application), metric=metric,
        period=int(_number(scaling, "period", 60, where)), out_steps=steps,
        out_periods=int(_number(out, "evaluation_periods", 2, f"{where}.out")),
        in_below=_number(inward, "below", 5, f"{where}.in"),
        in_periods=int(_number(inward, "evaluation_periods", 15, f"{where}.in")),
        remove=int(_number(inward, "remove", 1, f"{where}.in")), warmup=int(_number(scaling, "warmup", 180, where)))


def worker_option_settings(cfg: DeployConfig, tier: WorkerTier, label: str) -> list[dict[str, str]]:
    """The web tier's settings minus what only a load-balanced web tier has, with the worker's size,
    group bounds, role and metrics namespace."""
    out = []
    for o in option_settings(cfg, label):
        key = (o["Namespace"], o["OptionName"])
        if key in _WEB_ONLY or o["Namespace"].startswith(_WEB_NAMESPACES):
            continue
        if key == ("aws:ec2:instances", "InstanceTypes"):
            o = {**o, "Value": tier.instance_type}
        elif key == ("aws:autoscaling:asg", "MinSize"):
            o = {**o, "Value": str(tier.min)}
        elif key == ("aws:autoscaling:asg", "MaxSize"):
            o = {**o, "Value": str(tier.max)}
        elif key == ("aws:elasticbeanstalk:application:environment", "MACARON_ROLE"):
            o = {**o, "Value": "worker"}
        out.append(o)
    env = "aws:elasticbeanstalk:application:environment"
    out += [{"Namespace": env, "OptionName": "MACARON_WORKER_METRICS_NAMESPACE", "Value": tier.namespace},
            {"Namespace": env, "OptionName": "WEB_WORKERS", "Value": "1"}]  # its web container serves nobody
    return [o for i, o in enumerate(out) if (o["Namespace"], o["OptionName"]) not in
            {(p["Namespace"], p["OptionName"]) for p in out[i + 1:]}]  # the last of a repeated option wins


def scaling_calls(cfg: DeployConfig, tier: WorkerTier, group: str) -> list[tuple[str, str, dict[str, Any]]]:
    """The two step-scaling policies on ``group`` (``service, method, params``; the alarms follow
    once the policies' ARNs are known: :func:`alarm_calls`)."""
    first = tier.out_steps[0][0]
    steps = []
    for i, (above, add) in enumerate(tier.out_steps):
        step: dict[str, Any] = {"MetricIntervalLowerBound": above - first, "ScalingAdjustment": add}
        if i + 1 < len(tier.out_steps):
            step["MetricIntervalUpperBound"] = tier.out_steps[i + 1][0] - first
        steps.append(step)
    common = {"AutoScalingGroupName": group, "PolicyType": "StepScaling", "AdjustmentType": "ChangeInCapacity",
              "MetricAggregationType": "Maximum", "EstimatedInstanceWarmup": tier.warmup}
    return [("autoscaling", "put_scaling_policy", {**common, "PolicyName": f"{tier.environment}-queue-out",
                                                   "StepAdjustments": steps}),
            ("autoscaling", "put_scaling_policy", {**common, "PolicyName": f"{tier.environment}-queue-in",
                                                   "StepAdjustments": [{"MetricIntervalUpperBound": 0.0,
                                                                        "ScalingAdjustment": -tier.remove}]})]


def alarm_calls(cfg: DeployConfig, tier: WorkerTier, out_arn: str, in_arn: str) -> list[tuple[str, str, dict]]:
    metric = {"Namespace": tier.namespace, "MetricName": tier.metric, "Statistic": "Maximum", "Period": tier.period,
              "Dimensions": [{"Name": "Service", "Value": cfg.service}], "TreatMissingData": "missing"}
    unit = "seconds" if tier.metric == "OldestJobAge" else "jobs"
    return [
        ("cloudwatch", "put_metric_alarm", {
            **metric, "AlarmName": f"{tier.environment}-queue-backlog", "AlarmActions": [out_arn],
            "AlarmDescription": f"{cfg.service} workers: {tier.metric} >= {tier.out_steps[0][0]:g} {unit}: add workers",
            "EvaluationPeriods": tier.out_periods, "Threshold": tier.out_steps[0][0],
            "ComparisonOperator": "GreaterThanOrEqualToThreshold"}),
        ("cloudwatch", "put_metric_alarm", {
            **metric, "AlarmName": f"{tier.environment}-queue-idle", "AlarmActions": [in_arn],
            "AlarmDescription": f"{cfg.service} workers: {tier.metric} <= {tier.in_below:g} {unit}: remove workers",
            "EvaluationPeriods": tier.in_periods, "Threshold": tier.in_below,
            "ComparisonOperator": "LessThanOrEqualToThreshold"}),
    ]


def deploy_workers(pipe: Pipeline, cfg: DeployConfig, tier: WorkerTier, progress: Progress, step: Step) -> None:
    """Put the worker environment on this version (create it the first time), wait until Ready, then
    (re)apply its scaling. Registers the undo: back to its previous version, or terminated."""
    aws, label, name = pipe.aws, progress.label, tier.environment
    since = pipe.clock.wall()
    settings = worker_option_settings(cfg, tier, label)
    current = describe(aws, cfg.application, name)
    if current is None:
        platform = "PlatformArn" if cfg.platform.startswith("arn:") else "SolutionStackName"
        aws.call("elasticbeanstalk", "create_environment", ApplicationName=cfg.application, EnvironmentName=name,
                 Tier={"Name": "Worker", "Type": "SQS/HTTP"}, VersionLabel=label, OptionSettings=settings,
                 Description=f"{cfg.service} {cfg.env} workers: {label}"[:200], **{platform: cfg.platform},
                 Tags=[{"Key": "macaron:service", "Value": cfg.service}, {"Key": "macaron:role", "Value": "worker"}])
        progress.undo.append((f"terminate the new worker environment {name}",
                              lambda: aws.call("elasticbeanstalk", "terminate_environment", EnvironmentName=name,
                                               TerminateResources=True)))
    else:
        aws.call("elasticbeanstalk", "update_environment", ApplicationName=cfg.application, EnvironmentName=name,
                 VersionLabel=label, OptionSettings=settings)
        before = current.get("VersionLabel")
        if before:
            progress.undo.append((f"put the worker environment {name} back on version {before}",
                                  lambda: aws.call("elasticbeanstalk", "update_environment",
                                                   ApplicationName=cfg.application, EnvironmentName=name,
                                                   VersionLabel=str(before))))
    if not aws.dry_run:
        pipe.waiter(cfg).until(name, lambda e: e.get("Status") == "Ready" and e.get("VersionLabel") == label,
                               f"Ready on {label}", since=since)
    resources = aws.call("elasticbeanstalk", "describe_environment_resources", EnvironmentName=name)
    groups = resources.get("EnvironmentResources", {}).get("AutoScalingGroups") or []
    if not groups:
        raise ConfigError(f"worker environment {name} has no Auto Scaling group to scale")
    group = str(groups[0]["Name"])
    arns = [aws.call(service, method, **params)["PolicyARN"] for service, method, params in
            scaling_calls(cfg, tier, group)]
    for service, method, params in alarm_calls(cfg, tier, *arns):
        aws.call(service, method, **params)
    minutes = tier.period / 60
    detail = (f"{name} runs {label}: {tier.min}-{tier.max} x {tier.instance_type}, scaled on {tier.metric} "
              f"(Maximum) of {tier.namespace}/Service={cfg.service}: >= {tier.out_steps[0][0]:g} for "
              f"{tier.out_periods * minutes:g} min adds workers, <= {tier.in_below:g} for "
              f"{tier.in_periods * minutes:g} min removes {tier.remove}")
    step.plan(detail) if aws.dry_run else step.ok(detail)

