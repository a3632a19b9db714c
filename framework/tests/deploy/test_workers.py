"""macaron.deploy._workers and infra/<service>/: the worker tier of a service with tasks, its scaling
on the queue metric (step-scaling policies + CloudWatch alarms), and what infra/user and infra/mail
change. Elastic Beanstalk, Auto Scaling and CloudWatch through botocore's Stubber: every request
and answer is checked against the real service models; nothing reaches AWS."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import ANY, Stubber
from macaron import ConfigError
from macaron.deploy._aws import AwsAdapter
from macaron.deploy._config import load_deploy_config
from macaron.deploy._options import option_settings
from macaron.deploy._pipeline import Options, Pipeline
from macaron.deploy._report import Progress, Reporter
from macaron.deploy._workers import deploy_workers, worker_option_settings, worker_tier

from ..fixtures.deploy import support

ROOT = support.REAL_ROOT
GROUP = "awseb-e-abc123-stack-AWSEBAutoScalingGroup-XYZ"


def settings(options: list[dict[str, str]]) -> dict[tuple[str, str], str]:
    return {(o["Namespace"], o["OptionName"]): o["Value"] for o in options}


def test_user_and_mail_read_their_own_infra_over_the_defaults() -> None:
    user, mail = load_deploy_config(ROOT, "user"), load_deploy_config(ROOT, "mail")
    u, m = settings(option_settings(user, "v1")), settings(option_settings(mail, "v1"))
    assert (u[("aws:ec2:instances", "InstanceTypes")], m[("aws:ec2:instances", "InstanceTypes")]) == ("t3.small",
                                                                                                     "t3.micro")
    assert (u[("aws:autoscaling:asg", "MaxSize")], u[("aws:autoscaling:trigger", "UpperThreshold")]) == ("8", "60")
    assert (m[("aws:autoscaling:asg", "MinSize")], m[("aws:autoscaling:asg", "MaxSize")]) == ("2", "4")
    assert m[("aws:autoscaling:trigger", "UpperThreshold")] == "70"  # the default, untouched
    refs = "aws:elasticbeanstalk:application:environmentsecrets"
    assert {k for (ns, k) in u if ns == refs} == {"AUTH0_CLIENT_SECRET", "USER_VERIFY_TOKEN_SECRET",
                                                  "MACARON_JWT_SECRET", "REDIS_URL"}
    assert {k for (ns, k) in m if ns == refs} == {"SENDGRID_API_KEY", "MACARON_JWT_SECRET", "REDIS_URL"}
    assert u[(refs, "AUTH0_CLIENT_SECRET")] == ("arn:aws:secretsmanager:us-east-1:<account-id>:secret:"
                                                "macaron/live/AUTH0_CLIENT_SECRET")
    assert u[("aws:elasticbeanstalk:application:environment", "MACARON_ROLE")] == "web"
    assert "trusted_proxies" not in str(user.settings.get("options"))  # set once, in the defaults' env
    assert user.env_vars["MACARON_TRUSTED_PROXIES"].startswith("{cidrs: [10.0.0.0/8")
    assert (user.bucket, mail.platform) == ("elasticbeanstalk-us-east-1-<account-id>",
                                            "64bit Amazon Linux 2023 * running Docker")


def test_each_services_worker_tier_and_its_staging_size() -> None:
    user, mail = worker_tier(load_deploy_config(ROOT, "user")), worker_tier(load_deploy_config(ROOT, "mail"))
    assert user is not None and mail is not None
    assert (user.environment, user.instance_type, user.min, user.max) == ("user-worker-live", "t3.micro", 1, 3)
    assert (mail.environment, mail.instance_type, mail.max, mail.out_steps) == ("mail-worker-live", "t3.small", 8,
                                                                               ((30.0, 1), (120.0, 3)))
    staging = worker_tier(load_deploy_config(ROOT, "mail", "staging"))
    assert staging is not None and (staging.environment, staging.instance_type, staging.max) == (
        "mail-worker-staging", "t3.micro", 2)
    options = settings(worker_option_settings(load_deploy_config(ROOT, "mail"), mail, "v1"))
    assert options[("aws:elasticbeanstalk:application:environment", "MACARON_ROLE")] == "worker"
    assert options[("aws:elasticbeanstalk:application:environment", "MACARON_WORKER_METRICS_NAMESPACE")] == "macaron"
    assert (options[("aws:ec2:instances", "InstanceTypes")], options[("aws:autoscaling:asg", "MaxSize")]) == (
        "t3.small", "8")
    assert not [k for k in options if k[0].startswith(("aws:elasticbeanstalk:environment:process:",
                                                       "aws:autoscaling:trigger")) or k[1] == "LoadBalancerType"]


def test_a_service_without_tasks_or_with_workers_on_the_web_tier_has_no_worker_tier(tmp_path: Path) -> None:
    root = support.make_repo(tmp_path)  # hello declares no @task
    assert worker_tier(load_deploy_config(root, "hello")) is None
    (root / "services" / "hello" / "tasks.py").write_text("from macaron.tasks import task\n\n\n@task()\n"
                                                          "def ping():\n    return 1\n")
    assert worker_tier(load_deploy_config(root, "hello")) is not None
    (root / "infra" / "hello").mkdir()
    (root / "infra" / "hello" / "beanstalk.yaml").write_text("worker: {tier: with_web}\n")
    assert worker_tier(load_deploy_config(root, "hello")) is None
    (root / "infra" / "hello" / "beanstalk.yaml").write_text("worker: {scaling: {metric: CPU}}\n")
    with pytest.raises(ConfigError, match="metric must be one of"):
        worker_tier(load_deploy_config(root, "hello"))


class Stubs:
    """Stubbers on the adapter's Beanstalk, Auto Scaling and CloudWatch clients."""

    def __init__(self, aws: AwsAdapter) -> None:
        self.by = {name: Stubber(aws.client(name)) for name in ("elasticbeanstalk", "autoscaling", "cloudwatch")}
        for stub in self.by.values():
            stub.activate()

    def expect(self, service: str, method: str, response: dict[str, Any], params: dict[str, Any] | None) -> None:
        self.by[service].add_response(method, response, params)

    def done(self) -> None:
        for stub in self.by.values():
            stub.assert_no_pending_responses()


def expect_scaling(stubs: Stubs, env: str, service: str) -> None:
    """The scaling of mail's worker tier, exactly as infra/mail asks."""
    stubs.expect("elasticbeanstalk", "describe_environment_resources",
                 {"EnvironmentResources": {"EnvironmentName": env, "AutoScalingGroups": [{"Name": GROUP}]}},
                 {"EnvironmentName": env})
    common = {"AutoScalingGroupName": GROUP, "PolicyType": "StepScaling", "AdjustmentType": "ChangeInCapacity",
              "MetricAggregationType": "Maximum", "EstimatedInstanceWarmup": 300}
    out_arn, in_arn = (f"arn:aws:autoscaling:us-east-1:1:scalingPolicy:{x}" for x in ("out", "in"))
    stubs.expect("autoscaling", "put_scaling_policy", {"PolicyARN": out_arn}, {
        **common, "PolicyName": f"{env}-queue-out", "StepAdjustments": [
            {"MetricIntervalLowerBound": 0.0, "MetricIntervalUpperBound": 90.0, "ScalingAdjustment": 1},
            {"MetricIntervalLowerBound": 90.0, "ScalingAdjustment": 3}]})
    stubs.expect("autoscaling", "put_scaling_policy", {"PolicyARN": in_arn}, {
        **common, "PolicyName": f"{env}-queue-in",
        "StepAdjustments": [{"MetricIntervalUpperBound": 0.0, "ScalingAdjustment": -1}]})
    metric = {"Namespace": "macaron", "MetricName": "OldestJobAge", "Statistic": "Maximum", "Period": 60,
              "Dimensions": [{"Name": "Service", "Value": service}], "TreatMissingData": "missing",
              "AlarmDescription": ANY}
    stubs.expect("cloudwatch", "put_metric_alarm", {}, {
        **metric, "AlarmName": f"{env}-queue-backlog", "AlarmActions": [out_arn], "EvaluationPeriods": 2,
        "Threshold": 30.0, "ComparisonOperator": "GreaterThanOrEqualToThreshold"})
    stubs.expect("cloudwatch", "put_metric_alarm", {}, {
        **metric, "AlarmName": f"{env}-queue-idle", "AlarmActions": [in_arn], "EvaluationPeriods": 15,
        "Threshold": 5.0, "ComparisonOperator": "LessThanOrEqualToThreshold"})


def worker_run(monkeypatch: pytest.MonkeyPatch) -> tuple[Pipeline, Stubs, Any]:
    support.fake_aws_env(monkeypatch)
    aws = AwsAdapter("us-east-1", endpoint_url="http://127.0.0.1:9")  # the Stubber answers; nothing is sent
    pipe = Pipeline(ROOT, Options(service="mail", yes=True), aws=aws, out=io.StringIO(),
                    clock=support.FakeTime().clock)
    pipe.aws = aws
    return pipe, Stubs(aws), load_deploy_config(ROOT, "mail")


def poll(stubs: Stubs, name: str, env: dict[str, Any]) -> None:
    stubs.expect("elasticbeanstalk", "describe_environments", {"Environments": [env]},
                 {"ApplicationName": "macaron", "EnvironmentNames": [name], "IncludeDeleted": False})
    stubs.expect("elasticbeanstalk", "describe_events", {"Events": []},
                 {"ApplicationName": "macaron", "EnvironmentName": name, "StartTime": ANY})


def test_an_existing_worker_environment_is_updated_then_scaled_on_its_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    pipe, stubs, cfg = worker_run(monkeypatch)
    tier = worker_tier(cfg)
    assert tier is not None
    name, label = "mail-worker-live", "mail-v2"
    current = support.environment(name, label="mail-v1")
    stubs.expect("elasticbeanstalk", "describe_environments", {"Environments": [current]},
                 {"ApplicationName": "macaron", "EnvironmentNames": [name], "IncludeDeleted": False})
    stubs.expect("elasticbeanstalk", "update_environment", {}, {
        "ApplicationName": "macaron", "EnvironmentName": name, "VersionLabel": label,
        "OptionSettings": worker_option_settings(cfg, tier, label)})
    poll(stubs, name, support.environment(name, status="Updating", label=label))
    poll(stubs, name, support.environment(name, label=label))
    expect_scaling(stubs, name, "mail")
    progress, reporter = Progress(label=label), Reporter(total=10, out=io.StringIO())
    with reporter.step("worker tier") as step:
        deploy_workers(pipe, cfg, tier, progress, step)
    stubs.done()
    assert [what for what, _ in progress.undo] == [f"put the worker environment {name} back on version mail-v1"]
    assert "1-8 x t3.small, scaled on OldestJobAge (Maximum) of macaron/Service=mail" in reporter.out.getvalue()


def test_a_first_deploy_creates_a_worker_tier_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    pipe, stubs, cfg = worker_run(monkeypatch)
    tier = worker_tier(cfg)
    assert tier is not None
    name, label = "mail-worker-live", "mail-v1"
    stubs.expect("elasticbeanstalk", "describe_environments", {"Environments": []},
                 {"ApplicationName": "macaron", "EnvironmentNames": [name], "IncludeDeleted": False})
    stubs.expect("elasticbeanstalk", "create_environment", {"EnvironmentName": name}, {
        "ApplicationName": "macaron", "EnvironmentName": name, "Tier": {"Name": "Worker", "Type": "SQS/HTTP"},
        "VersionLabel": label, "OptionSettings": ANY, "Description": "mail live workers: mail-v1",
        "SolutionStackName": cfg.platform, "Tags": [{"Key": "macaron:service", "Value": "mail"},
                                                    {"Key": "macaron:role", "Value": "worker"}]})
    poll(stubs, name, support.environment(name, label=label))
    expect_scaling(stubs, name, "mail")
    progress = Progress(label=label)
    with Reporter(total=10, out=io.StringIO()).step("worker tier") as step:
        deploy_workers(pipe, cfg, tier, progress, step)
    stubs.done()
    assert [what for what, _ in progress.undo] == [f"terminate the new worker environment {name}"]


def test_the_dry_run_of_a_service_with_tasks_plans_its_worker_tier(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    root = support.make_repo(tmp_path)
    (root / "services" / "hello" / "tasks.py").write_text("from macaron.tasks import task\n\n\n@task()\n"
                                                          "def ping():\n    return 1\n")
    support.git(root, "add", "-A")
    support.git(root, "commit", "-qm", "a task")
    support.fake_aws_env(monkeypatch, credentials=False)
    out = io.StringIO()
    aws = AwsAdapter("us-east-1", dry_run=True, endpoint_url="http://127.0.0.1:9", out=out)
    opts = Options(service="hello", dry_run=True, smoke=False, test_args=support.CHEAP_TESTS)
    code = Pipeline(root, opts, aws=aws, out=out, clock=support.FakeTime().clock).run()
    text = out.getvalue()
    assert code == 0, text
    calls = [(c.service, c.operation) for c in aws.calls]
    worker = calls[calls.index(("elasticbeanstalk", "CreateEnvironment")) + 1:]
    assert worker[:7] == [("elasticbeanstalk", "DescribeEnvironments"), ("elasticbeanstalk", "UpdateEnvironment"),
                          ("elasticbeanstalk", "DescribeEnvironmentResources"),
                          ("autoscaling", "PutScalingPolicy"), ("autoscaling", "PutScalingPolicy"),
                          ("cloudwatch", "PutMetricAlarm"), ("cloudwatch", "PutMetricAlarm")]
    assert "[7/10] put the worker tier hello-worker-live on this version, scale it on its queue: planned" in text
    assert 'AlarmActions: ["<arn of policy hello-worker-live-queue-out>"]' in text
    assert "[10/10] clean up old environments" in text


def test_a_rollback_puts_the_worker_tier_back_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = support.make_repo(tmp_path)
    (root / "services" / "hello" / "tasks.py").write_text("from macaron.tasks import task\n\n\n@task()\n"
                                                          "def ping():\n    return 1\n")
    support.fake_aws_env(monkeypatch, credentials=False)
    out = io.StringIO()
    aws = AwsAdapter("us-east-1", dry_run=True, endpoint_url="http://127.0.0.1:9", out=out)
    opts = Options(service="hello", dry_run=True, rollback=True)
    assert Pipeline(root, opts, aws=aws, out=out, clock=support.FakeTime().clock).run() == 0, out.getvalue()
    update = [c.params for c in aws.calls if c.operation == "UpdateEnvironment"]
    assert update == [{"ApplicationName": "macaron", "EnvironmentName": "hello-worker-live",
                       "VersionLabel": "<previous version>"}]
