"""macaron.deploy._checks: config and credentials against AWS (moto server + Stubber)."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from macaron import ConfigError
from macaron.deploy._checks import check_all, resolve_platform, ssm_name
from macaron.deploy._config import load_deploy_config

from ..fixtures.deploy import support

# fixtures (pytest finds them by name in this module; aws needs moto)
moto, repo, aws = support.moto, support.module_repo, support.aws


def test_everything_resolves(aws, repo: Path) -> None:
    eb = support.Beanstalk(aws)
    eb.check()
    cfg, line = check_all(aws, load_deploy_config(repo, "hello"))
    eb.done()
    assert cfg.bucket == support.BUCKET and cfg.platform == support.STACK  # newest Docker on AL2023
    full = cfg.secrets["HELLO_GREETING_KEY"]
    assert full.startswith("arn:aws:secretsmanager:us-east-1:123456789012:secret:macaron/live/HELLO_GREETING_KEY-")
    assert len(full.rsplit("-", 1)[1]) == 6  # Secrets Manager's random suffix, which Beanstalk needs
    assert f"account {support.ACCOUNT}" in line and "3 secret reference(s)" in line
    assert [(c.service, c.operation) for c in aws.calls] == support.CHECK


def test_a_missing_application_is_named(aws, repo: Path) -> None:
    eb = support.Beanstalk(aws)
    eb.expect("describe_applications", {"Applications": []})
    with pytest.raises(ConfigError, match="application 'macaron' does not exist in us-east-1: create it once"):
        check_all(aws, load_deploy_config(repo, "hello"))


def test_a_missing_bucket_is_named(aws, moto: str, repo: Path) -> None:
    boto3.client("s3", endpoint_url=moto, region_name="us-east-1").delete_bucket(Bucket=support.BUCKET)
    support.Beanstalk(aws).expect("describe_applications", {"Applications": [{"ApplicationName": "macaron"}]})
    with pytest.raises(ConfigError, match=f"S3 bucket '{support.BUCKET}' does not exist"):
        check_all(aws, load_deploy_config(repo, "hello"))


def test_a_missing_secret_is_named(aws, moto: str, repo: Path) -> None:
    boto3.client("secretsmanager", endpoint_url=moto, region_name="us-east-1").delete_secret(
        SecretId="macaron/live/HELLO_GREETING_KEY", ForceDeleteWithoutRecovery=True)
    support.Beanstalk(aws).expect("describe_applications", {"Applications": [{"ApplicationName": "macaron"}]})
    with pytest.raises(ConfigError, match=r"secret HELLO_GREETING_KEY: .*/HELLO_GREETING_KEY cannot be found"):
        check_all(aws, load_deploy_config(repo, "hello"))


def test_a_missing_parameter_is_named(aws, moto: str, repo: Path) -> None:
    boto3.client("ssm", endpoint_url=moto, region_name="us-east-1").delete_parameter(Name="/macaron/live/REDIS_URL")
    support.Beanstalk(aws).expect("describe_applications", {"Applications": [{"ApplicationName": "macaron"}]})
    with pytest.raises(ConfigError, match="secret REDIS_URL: SSM parameter /macaron/live/REDIS_URL does not exist"):
        check_all(aws, load_deploy_config(repo, "hello"))


def test_no_matching_platform_is_named(aws) -> None:
    support.Beanstalk(aws).expect("list_available_solution_stacks", {"SolutionStacks": ["64bit Windows"]})
    with pytest.raises(ConfigError, match="no available Beanstalk solution stack matches"):
        resolve_platform(aws, "64bit Amazon Linux 2023 * running Docker")
    assert resolve_platform(aws, "64bit Amazon Linux 2023 v4.7.3 running Docker").endswith("Docker")
    arn = "arn:aws:elasticbeanstalk:us-east-1::platform/Docker running on 64bit Amazon Linux 2023/4.7.3"
    assert resolve_platform(aws, arn) == arn  # a name or an ARN is used as written, without a call


def test_ssm_names() -> None:
    assert ssm_name("arn:aws:ssm:us-east-1:1:parameter/macaron/live/REDIS_URL") == "/macaron/live/REDIS_URL"
    assert ssm_name("arn:aws:ssm:us-east-1:1:parameter/flat") == "flat"
