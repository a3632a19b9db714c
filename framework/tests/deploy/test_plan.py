"""macaron.deploy._plan: --dry-run without credentials: the local gates run, every AWS call of the
deploy is printed (and checked against the API model), none is sent."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from macaron._local.ports import free_port
from macaron.deploy._aws import AwsAdapter
from macaron.deploy._pipeline import Options, Pipeline

from ..fixtures.deploy import support

repo = support.module_repo  # fixture: pytest finds it by this name

EB = "elasticbeanstalk"


def plan(repo: Path, monkeypatch: pytest.MonkeyPatch, **options: object) -> tuple[int, str, list[tuple[str, str]]]:
    support.fake_aws_env(monkeypatch, credentials=False)
    out = io.StringIO()
    nowhere = f"http://127.0.0.1:{free_port()}"  # nothing listens there: a call that was sent would fail
    aws = AwsAdapter("us-east-1", dry_run=True, endpoint_url=nowhere, out=out)
    opts = Options(service="hello", dry_run=True, smoke=False, test_args=support.CHEAP_TESTS, **options)
    code = Pipeline(repo, opts, aws=aws, out=out, clock=support.FakeTime().clock).run()
    return code, out.getvalue(), [(c.service, c.operation) for c in aws.calls]


def test_a_live_deploy_is_planned_call_by_call(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, text, calls = plan(repo, monkeypatch)
    assert code == 0, text
    assert calls == [*support.CHECK, *support.UPLOAD, (EB, "DescribeEnvironments"), (EB, "CreateEnvironment"),
                     (EB, "SwapEnvironmentCNAMEs"), (EB, "DescribeEnvironments"), (EB, "TerminateEnvironment")]
    for _, operation in calls:
        assert f".{operation}" in text
    assert "would call sts.GetCallerIdentity" in text
    assert 'SourceEnvironmentName: "hello-live-<current>"' in text
    assert 'EnvironmentName: "hello-live-<previous>"' in text  # beyond keep_environments: the plan cleans it up
    assert "arn:aws:secretsmanager:us-east-1:<account-id>:secret:macaron/live/HELLO_GREETING_KEY" in text
    assert "[2/9] run the service's tests: ok" in text and "[3/9] build the source bundle: ok" in text
    assert "[6/9] create a new environment, wait for Ready + Green: planned" in text
    assert text.rstrip().endswith("result       dry run: nothing was changed in AWS")


def test_staging_is_planned_as_an_update(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, text, calls = plan(repo, monkeypatch, env="staging")
    assert code == 0, text
    assert calls[-2:] == [(EB, "DescribeEnvironments"), (EB, "UpdateEnvironment")]
    assert (EB, "SwapEnvironmentCNAMEs") not in calls and "[8/9] swap CNAMEs with live, re-test live: skipped" in text


def test_a_rollback_is_planned(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, text, calls = plan(repo, monkeypatch, rollback=True)
    assert code == 0, text
    assert calls == [*support.CHECK, (EB, "DescribeEnvironments"), (EB, "SwapEnvironmentCNAMEs")]
    assert 'DestinationEnvironmentName: "hello-live-<previous>"' in text


def test_the_plan_says_would_terminate_and_that_no_credentials_were_found(repo: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    code, text, _ = plan(repo, monkeypatch)
    assert code == 0, text
    assert "would terminate: hello-live-<previous>" in text and "terminated:" not in text
    assert "no AWS credentials were found, so the plan assumes this account" in text
