"""macaron.deploy._bluegreen: the new environment, the swap, and their undos: an environment that
never turns Green is terminated and live untouched; a failed re-test after the swap swaps back;
staging is put back on its previous version. (moto server + Stubber, as in test_deploy_pipeline.)"""

from __future__ import annotations

from pathlib import Path

from botocore.stub import ANY

from ..fixtures.deploy import support

# fixtures (pytest finds them by name in this module; aws needs moto, servers and label need repo)
moto, repo, servers, label, aws = support.moto, support.repo, support.servers, support.label, support.aws
Run, new_env, create_new, env, APP = support.Run, support.new_env, support.create_new, support.environment, support.APP
LIVE_CNAME, LIVE = support.LIVE_CNAME, support.LIVE


def test_an_environment_that_never_turns_green_is_terminated(repo: Path, aws, servers, label: str) -> None:
    name, cname = new_env(repo, label)
    eb = support.Beanstalk(aws)
    eb.check()
    create_new(eb, repo, label, [env(LIVE, cname=LIVE_CNAME)])
    for _ in range(4):  # t = 0, 15, 30, 45 s: then the 45 s timeout
        eb.poll(name, env(name, status="Ready", health="Red", label=label))
    eb.expect("terminate_environment", {}, {"EnvironmentName": name, "TerminateResources": True})
    run = Run(repo, aws, {cname: servers["good"], LIVE_CNAME: servers["good"]})

    assert run() == 1
    eb.done()
    assert ("elasticbeanstalk", "SwapEnvironmentCNAMEs") not in run.calls
    assert not [c for c in aws.calls if LIVE in str(c.params)]  # live was never touched
    assert "[6/9] create a new environment, wait for Ready + Green: FAILED" in run.text
    assert f"done: terminate the new environment {name}" in run.text
    assert f"result       FAILED: environment {name} was not Ready and Green on {label} within 45 s" in run.text


def test_failing_acceptance_on_the_new_environment_stops_before_the_swap(repo: Path, aws, servers, label) -> None:
    name, cname = new_env(repo, label)
    eb = support.Beanstalk(aws)
    eb.check()
    create_new(eb, repo, label, [env(LIVE, cname=LIVE_CNAME)])
    eb.poll(name, env(name, label=label))
    eb.expect("terminate_environment", {}, {"EnvironmentName": name, "TerminateResources": True})
    run = Run(repo, aws, {cname: servers["bad"]})

    assert run() == 1
    eb.done()
    assert run.calls[-1] == ("elasticbeanstalk", "TerminateEnvironment")
    assert ("elasticbeanstalk", "SwapEnvironmentCNAMEs") not in run.calls
    assert "acceptance against the new environment" in run.text and "answered 503" in run.text


def test_failing_acceptance_after_the_swap_swaps_back(repo: Path, aws, servers, label: str) -> None:
    name, cname = new_env(repo, label)
    eb = support.Beanstalk(aws)
    eb.check()
    create_new(eb, repo, label, [env(LIVE, cname=LIVE_CNAME)])
    eb.poll(name, env(name, label=label))
    eb.expect("swap_environment_cnames", {}, {"SourceEnvironmentName": LIVE, "DestinationEnvironmentName": name})
    eb.poll(name, env(name, cname=LIVE_CNAME, label=label))
    # live fails its re-test: swap back, wait for both, terminate the new one
    eb.expect("swap_environment_cnames", {}, {"SourceEnvironmentName": name, "DestinationEnvironmentName": LIVE})
    eb.poll(LIVE, env(LIVE, status="Updating", cname=LIVE_CNAME))
    eb.poll(LIVE, env(LIVE, cname=LIVE_CNAME))
    eb.poll(name, env(name, label=label))
    eb.expect("terminate_environment", {}, {"EnvironmentName": name, "TerminateResources": True})
    run = Run(repo, aws, {cname: servers["good"], LIVE_CNAME: servers["bad"]})

    assert run() == 1
    eb.done()
    swaps = [c.params for c in aws.calls if c.operation == "SwapEnvironmentCNAMEs"]
    assert swaps == [{"SourceEnvironmentName": LIVE, "DestinationEnvironmentName": name},
                     {"SourceEnvironmentName": name, "DestinationEnvironmentName": LIVE}]
    assert "[7/9] acceptance tests against the new environment: ok" in run.text
    assert "[8/9] swap CNAMEs with live, re-test live: FAILED" in run.text
    assert f"done: swap the live CNAME back to {LIVE}" in run.text
    assert run.text.index("done: swap the live CNAME back") < run.text.index("done: terminate the new environment")


def test_staging_is_updated_in_place_and_put_back_on_failure(repo: Path, aws, moto: str, servers, label) -> None:
    support.seed(moto, env="staging")
    eb = support.Beanstalk(aws)
    eb.check()
    eb.expect("describe_application_versions", {"ApplicationVersions": []})
    eb.expect("create_application_version", {})
    staging = "hello-staging"
    eb.expect("describe_environments", {"Environments": [env(staging, label="hello-old")]},
              {"ApplicationName": APP, "EnvironmentNames": [staging], "IncludeDeleted": False})
    eb.expect("update_environment", {}, {"ApplicationName": APP, "EnvironmentName": staging, "VersionLabel": label,
                                         "OptionSettings": ANY})
    eb.poll(staging, env(staging, status="Updating", label=label))
    eb.poll(staging, env(staging, label=label))
    eb.expect("update_environment", {},
              {"ApplicationName": APP, "EnvironmentName": staging, "VersionLabel": "hello-old"})
    eb.poll(staging, env(staging, label="hello-old"))
    run = Run(repo, aws, {f"{staging}.us-east-1.elasticbeanstalk.com": servers["bad"]}, env="staging")

    assert run() == 1
    eb.done()
    updates = [c.params["VersionLabel"] for c in aws.calls if c.operation == "UpdateEnvironment"]
    assert updates == [label, "hello-old"] and ("elasticbeanstalk", "CreateEnvironment") not in run.calls
    assert "[6/9] update hello-staging, wait for Ready + Green: ok" in run.text
    assert "[7/9] acceptance tests against the new environment: FAILED" in run.text
    assert "done: put hello-staging back on version hello-old" in run.text
