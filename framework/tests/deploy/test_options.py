"""macaron.deploy._options: beanstalk.yaml to OptionSettings, checked against the real API model."""

from __future__ import annotations

from pathlib import Path

import botocore.session
import pytest
from botocore.validate import ParamValidator
from macaron import ConfigError
from macaron.deploy._config import load_deploy_config
from macaron.deploy._options import option_settings

from ..fixtures.deploy import support

repo = support.fresh_repo  # fixture: pytest finds it by this name


def by_key(settings: list[dict[str, str]]) -> dict[tuple[str, str], str]:
    return {(s["Namespace"], s["OptionName"]): s["Value"] for s in settings}


def test_the_defaults_map_to_valid_create_environment_settings(repo: Path) -> None:
    cfg = load_deploy_config(repo, "hello", account_id=support.ACCOUNT)
    settings = option_settings(cfg, "hello-v1")
    model = botocore.session.get_session().get_service_model("elasticbeanstalk")
    params = {"ApplicationName": "macaron", "EnvironmentName": "hello-live-12345678", "OptionSettings": settings}
    report = ParamValidator().validate(params, model.operation_model("CreateEnvironment").input_shape)
    assert not report.has_errors(), report.generate_report()
    got = by_key(settings)
    assert got[("aws:elasticbeanstalk:environment:process:default", "HealthCheckPath")] == "/ping"
    assert got[("aws:autoscaling:asg", "MinSize")] == "2" and got[("aws:autoscaling:asg", "MaxSize")] == "6"
    assert got[("aws:autoscaling:trigger", "MeasureName")] == "CPUUtilization"
    assert got[("aws:elasticbeanstalk:command", "DeploymentPolicy")] == "Immutable"
    assert got[("aws:elasticbeanstalk:cloudwatch:logs", "StreamLogs")] == "true"
    assert got[("aws:ec2:instances", "InstanceTypes")] == "t3.small"
    assert got[("aws:elasticbeanstalk:application:environment", "MACARON_ENV")] == "live"
    assert got[("aws:elasticbeanstalk:application:environment", "MACARON_VERSION_LABEL")] == "hello-v1"


def test_secrets_go_by_reference_only(repo: Path) -> None:
    settings = option_settings(load_deploy_config(repo, "hello", account_id=support.ACCOUNT), "v")
    secrets = {s["OptionName"]: s["Value"] for s in settings
               if s["Namespace"] == "aws:elasticbeanstalk:application:environmentsecrets"}
    assert set(secrets) == {"MACARON_JWT_SECRET", "REDIS_URL", "HELLO_GREETING_KEY"}
    assert all(value.startswith("arn:aws:") for value in secrets.values())
    plain = {s["OptionName"] for s in settings if s["Namespace"] == "aws:elasticbeanstalk:application:environment"}
    assert not plain & set(secrets)


@pytest.mark.parametrize(
    ("yaml", "message"),
    [
        ("deployment_policy: YOLO\n", "deployment_policy 'YOLO'"),
        ("logs: {retention_days: 2}\n", "retention_days must be one of"),
        ("scaling: {trigger: {measure: Vibes}}\n", "measure 'Vibes'"),
        ("scaling: {trigger: {upperr: 1}}\n", "unknown scaling.trigger keys"),
        ("scaling: {min: 5, max: 2}\n", "1 <= min <= max"),
        ("health_check_path: ping\n", "must start with '/'"),
        ("options: [{namespace: x}]\n", "needs namespace, name and value"),
    ],
)
def test_bad_settings_are_named(repo: Path, yaml: str, message: str) -> None:
    (repo / "infra" / "hello").mkdir()
    (repo / "infra" / "hello" / "beanstalk.yaml").write_text(yaml)
    with pytest.raises(ConfigError, match=message):
        option_settings(load_deploy_config(repo, "hello"), "v")


def test_raw_options_are_appended(repo: Path) -> None:
    (repo / "infra" / "hello").mkdir()
    (repo / "infra" / "hello" / "beanstalk.yaml").write_text(
        "options: [{namespace: 'aws:elasticbeanstalk:environment:proxy', name: ProxyServer, value: none}]\n")
    got = by_key(option_settings(load_deploy_config(repo, "hello"), "v"))
    assert got[("aws:elasticbeanstalk:environment:proxy", "ProxyServer")] == "none"
