"""macaron.deploy._rollback: --rollback swaps live back to the environment it replaced."""

from __future__ import annotations

from pathlib import Path

from ..fixtures.deploy import support

# fixtures (pytest finds them by name in this module; aws needs moto, servers and label need repo)
moto, repo, servers, label, aws = support.moto, support.repo, support.servers, support.label, support.aws
Run, env, LIVE_CNAME, LIVE, OLDER = support.Run, support.environment, support.LIVE_CNAME, support.LIVE, support.OLDER
OLDEST, CHECK, POLL = support.OLDEST, support.CHECK, support.POLL


def test_rollback_swaps_live_back_to_the_previous_environment(repo: Path, aws, servers) -> None:
    eb = support.Beanstalk(aws)
    eb.check()
    eb.environments([env(LIVE, cname=LIVE_CNAME, label="hello-bad"), env(OLDER, age_days=4, label="hello-good"),
                     env(OLDEST, age_days=9)])
    eb.expect("swap_environment_cnames", {}, {"SourceEnvironmentName": LIVE, "DestinationEnvironmentName": OLDER})
    eb.poll(OLDER, env(OLDER, status="Updating", health="Grey", label="hello-good"))
    eb.poll(OLDER, env(OLDER, cname=LIVE_CNAME, label="hello-good"))
    run = Run(repo, aws, {LIVE_CNAME: servers["good"]}, rollback=True)

    assert run() == 0, run.text
    eb.done()
    assert run.calls == [*CHECK, ("elasticbeanstalk", "DescribeEnvironments"),
                         ("elasticbeanstalk", "SwapEnvironmentCNAMEs"), *POLL, *POLL]
    assert f"live {LIVE} runs hello-bad; previous {OLDER} runs hello-good" in run.text
    assert run.text.rstrip().endswith("result       rolled back: live serves hello-good again")
    assert "[4/4] acceptance tests against live: ok" in run.text and run.time.slept == [15, 30]


def test_rollback_without_a_previous_environment_changes_nothing(repo: Path, aws, servers) -> None:
    eb = support.Beanstalk(aws)
    eb.check()
    eb.environments([env(LIVE, cname=LIVE_CNAME)])
    run = Run(repo, aws, {}, rollback=True)
    assert run() == 1
    assert "no previous Ready environment of hello to roll back to" in run.text
    assert ("elasticbeanstalk", "SwapEnvironmentCNAMEs") not in run.calls
