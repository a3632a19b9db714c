"""macaron.deploy._environments: which environment is live (by CNAME), siblings, rollback target, clean-up."""

from __future__ import annotations

import pytest
from macaron.deploy._config import load_deploy_config
from macaron.deploy._environments import find_live, list_environments, previous, siblings, to_clean

from ..fixtures.deploy import support

env = support.environment


@pytest.fixture(scope="module")
def cfg(tmp_path_factory: pytest.TempPathFactory):
    return load_deploy_config(support.make_repo(tmp_path_factory.mktemp("envs")), "hello")


def test_live_is_whoever_holds_the_cname(cfg) -> None:
    envs = [env("hello-live-aaaaaaaa", age_days=1), env("hello-live-bbbbbbbb", cname=support.LIVE_CNAME, age_days=5),
            env("mail-live-cccccccc")]
    assert find_live(cfg, envs)["EnvironmentName"] == "hello-live-bbbbbbbb"
    assert [e["EnvironmentName"] for e in siblings(cfg, envs)] == ["hello-live-aaaaaaaa", "hello-live-bbbbbbbb"]
    assert previous(cfg, envs)["EnvironmentName"] == "hello-live-aaaaaaaa"


def test_rollback_needs_a_ready_sibling(cfg) -> None:
    envs = [env("hello-live-aaaaaaaa", cname=support.LIVE_CNAME), env("hello-live-bbbbbbbb", status="Updating")]
    assert previous(cfg, envs) is None


def test_clean_up_keeps_live_and_the_one_it_replaced(cfg) -> None:
    envs = [env("hello-live-new00000", cname=support.LIVE_CNAME), env("hello-live-newer000", age_days=1),
            env("hello-live-old00000", age_days=9), env("hello-live-older000", age_days=20)]
    gone = to_clean(cfg, envs, "hello-live-new00000", "hello-live-old00000")
    assert [e["EnvironmentName"] for e in gone] == ["hello-live-newer000", "hello-live-older000"]


def test_listing_follows_pages_and_drops_terminated(monkeypatch: pytest.MonkeyPatch) -> None:
    support.fake_aws_env(monkeypatch)
    aws = support.adapter("http://127.0.0.1:9")
    eb = support.Beanstalk(aws)
    eb.expect("describe_environments", {"Environments": [env("hello-live-aaaaaaaa")], "NextToken": "p2"},
              {"ApplicationName": "macaron", "IncludeDeleted": False})
    eb.expect("describe_environments", {"Environments": [env("hello-live-bbbbbbbb", status="Terminated")]},
              {"ApplicationName": "macaron", "IncludeDeleted": False, "NextToken": "p2"})
    assert [e["EnvironmentName"] for e in list_environments(aws, "macaron")] == ["hello-live-aaaaaaaa"]
    eb.done()
