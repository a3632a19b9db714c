"""macaron.deploy._cli: ``macaron deploy`` (what ``nox -s deploy`` runs) end to end."""

from __future__ import annotations

import sys
from pathlib import Path

from macaron._cli import main

from ..fixtures.deploy import support

repo = support.module_repo  # fixture: pytest finds it by this name


def test_a_dry_run_from_a_fresh_clone_without_credentials(repo: Path, monkeypatch, capsys) -> None:
    support.fake_aws_env(monkeypatch, credentials=False)
    assert main(["deploy", "hello", "--dry-run", "--root", str(repo)]) == 0
    out = capsys.readouterr().out
    assert "[2/9] run the service's tests: ok" in out and "2 passed" in out
    assert "[4/9] smoke-test the bundle locally: ok" in out and "acceptance: 1 passed" in out
    for operation in ("sts.GetCallerIdentity", "s3.PutObject", "elasticbeanstalk.CreateApplicationVersion",
                      "elasticbeanstalk.CreateEnvironment", "elasticbeanstalk.SwapEnvironmentCNAMEs"):
        assert f"would call {operation}" in out
    assert out.rstrip().endswith("result       dry run: nothing was changed in AWS")


def test_an_unknown_service(repo: Path, capsys) -> None:
    assert main(["deploy", "nope", "--dry-run", "--root", str(repo)]) == 2
    assert "macaron deploy: error: unknown service 'nope'" in capsys.readouterr().err


def test_changing_aws_from_a_script_needs_yes(repo: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(sys, "stdin", open(__file__))  # not a terminal: nobody to ask
    assert main(["deploy", "hello", "--root", str(repo)]) == 2
    assert "pass --yes" in capsys.readouterr().err


def test_rollback_is_for_live_only(repo: Path, capsys) -> None:
    assert main(["deploy", "hello", "--rollback", "--env", "staging", "--yes", "--root", str(repo)]) == 2
    assert "staging is updated in place" in capsys.readouterr().err


def test_missing_credentials(repo: Path, monkeypatch, capsys) -> None:
    support.fake_aws_env(monkeypatch, credentials=False)
    assert main(["deploy", "hello", "--yes", "--root", str(repo)]) == 2
    out = capsys.readouterr().out
    assert "[1/9] check config and credentials: FAILED" in out and "no AWS credentials found" in out
