"""macaron.deploy._gates: the service's tests and a clean tree gate the deploy; --version skips the
gates (an existing version was gated when built)."""

from __future__ import annotations

from pathlib import Path

from ..fixtures.deploy import support

# fixtures (pytest finds them by name in this module; aws needs moto, servers and label need repo)
moto, repo, servers, label, aws = support.moto, support.repo, support.servers, support.label, support.aws
Run, new_env, env = support.Run, support.new_env, support.environment
LIVE_CNAME, CHECK = support.LIVE_CNAME, support.CHECK


def test_failing_service_tests_stop_before_anything_is_built(repo: Path, aws, tmp_path: Path) -> None:
    failing = tmp_path / "test_failing.py"
    failing.write_text("def test_it():\n    assert 1 == 2\n")
    support.Beanstalk(aws).check()
    run = Run(repo, aws, {}, test_args=[str(failing)])
    assert run() == 1
    assert run.calls == CHECK
    assert "the service's tests failed: 1 failed" in run.text and "assert 1 == 2" in run.text


def test_a_dirty_tree_is_refused(tmp_path: Path, aws) -> None:
    dirty = support.make_repo(tmp_path)
    (dirty / "services" / "hello" / "handlers.py").write_text("def hello():\n    return {'message': 'changed'}\n")
    support.Beanstalk(aws).check()
    run = Run(dirty, aws, {})
    assert run() == 2
    assert run.calls == CHECK  # nothing uploaded, nothing created
    assert "uncommitted changes in what would be deployed: services/hello/handlers.py" in run.text


def test_an_existing_version_already_live_is_left_alone(repo: Path, aws, servers) -> None:
    name, _ = new_env(repo, "hello-earlier")
    eb = support.Beanstalk(aws)
    eb.check()
    eb.expect("describe_application_versions", {"ApplicationVersions": [{"VersionLabel": "hello-earlier"}]})
    eb.environments([env(name, cname=LIVE_CNAME, label="hello-earlier")])
    run = Run(repo, aws, {LIVE_CNAME: servers["good"]}, version="hello-earlier")
    assert run() == 0, run.text
    eb.done()
    assert "[2/9] run the service's tests: skipped" in run.text and "already exists" in run.text
    assert f"{name} already serves hello-earlier on the live CNAME: nothing to deploy" in run.text
    assert ("s3", "PutObject") not in run.calls


def test_a_dirty_tree_stops_before_the_service_tests_run(tmp_path: Path, aws) -> None:
    dirty = support.make_repo(tmp_path)
    (dirty / "services" / "hello" / "handlers.py").write_text("def hello():\n    return {'message': 'changed'}\n")
    ran = tmp_path / "ran"
    probe = tmp_path / "test_probe.py"
    probe.write_text(f"def test_it():\n    open({str(ran)!r}, 'w').close()\n")
    support.Beanstalk(aws).check()
    run = Run(dirty, aws, {}, test_args=[str(probe)])
    assert run() == 2
    assert not ran.exists()  # refused first: no test run to wait for
    assert "uncommitted changes in what would be deployed: services/hello/handlers.py" in run.text
