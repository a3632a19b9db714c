"""macaron.deploy._pipeline: whole deploys, step by step, with the exact AWS calls. S3, STS, SSM and
Secrets Manager run against moto in server mode on 127.0.0.1; Elastic Beanstalk through botocore's
Stubber (every request and answer checked against the real service model); the environments'
URLs lead to real local servers."""

from __future__ import annotations

import io
from pathlib import Path

import boto3
import pytest
from macaron import ConfigError
from macaron.deploy._pipeline import Options, Pipeline

from ..fixtures.deploy import support

# fixtures (pytest finds them by name in this module; aws needs moto, servers and label need repo)
moto, repo, servers, label, aws = support.moto, support.repo, support.servers, support.label, support.aws
Run, new_env, create_new = support.Run, support.new_env, support.create_new
env, event = support.environment, support.event
LIVE_CNAME, LIVE, OLDER, OLDEST, CHECK = support.LIVE_CNAME, support.LIVE, support.OLDER, support.OLDEST, support.CHECK
UPLOAD, POLL = support.UPLOAD, support.POLL


def test_the_full_success_path(repo: Path, aws, moto: str, servers: dict[str, str], label: str) -> None:
    name, cname = new_env(repo, label)
    eb = support.Beanstalk(aws)
    eb.check()
    live = [env(LIVE, cname=LIVE_CNAME, age_days=3), env(OLDER, age_days=10), env(OLDEST, age_days=30)]
    create_new(eb, repo, label, live)
    starting = event(name, "createEnvironment is starting.")
    eb.poll(name, env(name, status="Launching", health="Grey", label=label), [starting])
    eb.poll(name, env(name, label=label), [event(name, "Successfully launched environment: " + name, seconds=200)])
    eb.expect("swap_environment_cnames", {}, {"SourceEnvironmentName": LIVE, "DestinationEnvironmentName": name})
    eb.poll(name, env(name, cname=LIVE_CNAME, label=label))
    eb.environments([env(name, cname=LIVE_CNAME, label=label), env(LIVE, cname=f"{LIVE}.x.com", age_days=3),
                     env(OLDER, age_days=10), env(OLDEST, age_days=30)])
    eb.expect("terminate_environment", {}, {"EnvironmentName": OLDER, "TerminateResources": True})
    eb.expect("terminate_environment", {}, {"EnvironmentName": OLDEST, "TerminateResources": True})
    run = Run(repo, aws, {cname: servers["good"], LIVE_CNAME: servers["good"]}, smoke=True, test_args=None)

    assert run() == 0, run.text
    eb.done()
    assert run.calls == [*CHECK, *UPLOAD, ("elasticbeanstalk", "DescribeEnvironments"),
                         ("elasticbeanstalk", "CreateEnvironment"), *POLL, *POLL,
                         ("elasticbeanstalk", "SwapEnvironmentCNAMEs"), *POLL,
                         ("elasticbeanstalk", "DescribeEnvironments"),
                         ("elasticbeanstalk", "TerminateEnvironment"), ("elasticbeanstalk", "TerminateEnvironment")]
    assert run.time.slept == [15, 30]  # one poll interval, then the DNS settle before the live re-test
    uploaded = boto3.client("s3", endpoint_url=moto, region_name="us-east-1").get_object(
        Bucket=support.BUCKET, Key=f"macaron/hello/{label}.zip")
    assert uploaded["Body"].read() == (repo / "artifacts" / "deploy" / f"{label}.zip").read_bytes()
    create = next(c for c in aws.calls if c.operation == "CreateEnvironment").params
    secret_refs = {o["OptionName"]: o["Value"] for o in create["OptionSettings"]
                   if o["Namespace"] == "aws:elasticbeanstalk:application:environmentsecrets"}
    assert secret_refs["HELLO_GREETING_KEY"].startswith("arn:aws:secretsmanager:") and "CNAMEPrefix" not in create
    for n in range(1, 10):
        assert f"[{n}/9] " in run.text
    assert "[2/9] run the service's tests: ok" in run.text and "2 passed" in run.text  # unit + acceptance
    assert "[4/9] smoke-test the bundle locally: ok" in run.text
    assert "event 12:00:00 INFO  createEnvironment is starting." in run.text
    assert f"terminated: {OLDER}, {OLDEST}" in run.text
    assert f"  url          {servers['good']}\n" in run.text  # the live CNAME, mapped to the local server
    assert f"  version      {label}\n" in run.text and run.text.rstrip().endswith(f"result       live serves {label}")


def test_missing_credentials_stop_at_the_first_step(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    support.fake_aws_env(monkeypatch, credentials=False)
    aws = support.adapter("http://127.0.0.1:9")
    run = Run(repo, aws, {})
    assert run() == 2
    assert run.calls == []
    assert "[1/9] check config and credentials: FAILED" in run.text and "no AWS credentials found" in run.text


def test_an_unknown_service_is_refused_before_any_step(repo: Path, aws) -> None:
    with pytest.raises(ConfigError, match="unknown service 'nope'"):
        Pipeline(repo, Options(service="nope", yes=True), aws=aws, out=io.StringIO()).run()
    assert aws.calls == []
