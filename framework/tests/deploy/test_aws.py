"""macaron.deploy._aws: the one adapter: a journal of calls, dry runs checked against the
model, errors that name the call. S3/STS run against moto in server mode on 127.0.0.1."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from botocore.exceptions import ParamValidationError
from macaron import ConfigError
from macaron._local.ports import free_port
from macaron.deploy._aws import AwsAdapter, AwsError

from ..fixtures.deploy import support


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with support.moto_server() as url:
        yield url


@pytest.fixture
def moto(server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    support.fake_aws_env(monkeypatch)
    support.reset(server)
    return server


def test_calls_are_made_and_journaled(moto: str) -> None:
    aws = support.adapter(moto)
    assert aws.call("sts", "get_caller_identity")["Account"] == support.ACCOUNT
    aws.call("s3", "create_bucket", Bucket="bundles-1")
    aws.call("s3", "put_object", Bucket="bundles-1", Key="k", Body=b"zip")
    assert [(c.service, c.operation) for c in aws.calls] == [
        ("sts", "GetCallerIdentity"), ("s3", "CreateBucket"), ("s3", "PutObject")]
    assert aws.calls[2].params["Key"] == "k"


def test_an_aws_error_names_the_call_and_its_code(moto: str) -> None:
    aws = support.adapter(moto)
    with pytest.raises(AwsError) as caught:
        aws.call("s3", "head_bucket", Bucket="no-such-bucket")
    assert caught.value.code == "404" and "s3.HeadBucket failed" in str(caught.value)


def test_a_dry_run_prints_and_sends_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    support.fake_aws_env(monkeypatch, credentials=False)
    out = io.StringIO()
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens: a real call would fail
    def responder(service: str, op: str, params: dict) -> dict:
        return {"Account": "<account>"} if op == "GetCallerIdentity" else {}

    aws = AwsAdapter("us-east-1", dry_run=True, endpoint_url=closed, out=out, responder=responder)
    assert aws.call("sts", "get_caller_identity") == {"Account": "<account>"}
    aws.call("elasticbeanstalk", "swap_environment_cnames", SourceEnvironmentName="a-live-1",
             DestinationEnvironmentName="a-live-2")
    text = out.getvalue()
    assert "would call sts.GetCallerIdentity" in text
    assert 'would call elasticbeanstalk.SwapEnvironmentCNAMEs\n        SourceEnvironmentName: "a-live-1"' in text
    assert [c.operation for c in aws.calls] == ["GetCallerIdentity", "SwapEnvironmentCNAMEs"]


def test_a_dry_run_still_checks_parameters_against_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    support.fake_aws_env(monkeypatch, credentials=False)
    aws = AwsAdapter("us-east-1", dry_run=True, out=io.StringIO())
    with pytest.raises(ValueError, match="Unknown parameter in input: \"EnvName\""):
        aws.call("elasticbeanstalk", "terminate_environment", EnvName="x")
    with pytest.raises(ValueError, match="ApplicationName"):
        aws.call("elasticbeanstalk", "create_environment", EnvironmentName="x")


def test_a_wrong_parameter_fails_before_any_request(moto: str) -> None:
    aws = support.adapter(moto)
    with pytest.raises(AwsError, match="ParamValidationError"):
        aws.call("s3", "put_object", Bucket="b", Key="k", Bodyy=b"")


def test_missing_credentials_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    support.fake_aws_env(monkeypatch, credentials=False)
    with pytest.raises(ConfigError, match="no AWS credentials found: set AWS_PROFILE"):
        AwsAdapter("us-east-1").check_credentials()


def test_only_the_deploy_services_are_reachable(moto: str) -> None:
    with pytest.raises(ValueError, match="does not use AWS service 'ec2'"):
        support.adapter(moto).client("ec2")
    with pytest.raises(ValueError, match="no operation 'launch'"):
        support.adapter(moto).call("s3", "launch")


def test_stubbed_beanstalk_calls_are_still_checked_against_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    support.fake_aws_env(monkeypatch)
    aws = support.adapter("http://127.0.0.1:9")
    eb = support.Beanstalk(aws)
    eb.expect("swap_environment_cnames", {})
    with pytest.raises(AwsError, match=r"(?s)ParamValidationError.*Unknown parameter in input: \"SourceEnvName\""):
        aws.call("elasticbeanstalk", "swap_environment_cnames", SourceEnvName="a", DestinationEnvironmentName="b")
    with pytest.raises(ParamValidationError, match="Invalid type for parameter Environments"):  # answers too
        eb.expect("describe_environments", {"Environments": "not a list"})
