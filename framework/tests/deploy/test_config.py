"""macaron.deploy._config: beanstalk.yaml merging, infra overrides, variables, secrets by reference."""

from __future__ import annotations

from pathlib import Path

import pytest
from macaron import ConfigError
from macaron.deploy._config import UNKNOWN_ACCOUNT, infra_files, load_deploy_config

from ..fixtures.deploy import support

repo = support.fresh_repo  # fixture: pytest finds it by this name


def test_the_defaults_resolve_for_live(repo: Path) -> None:
    cfg = load_deploy_config(repo, "hello", "live", account_id=support.ACCOUNT)
    assert (cfg.application, cfg.region, cfg.bucket) == ("macaron", "us-east-1", support.BUCKET)
    assert cfg.cname == "macaron-hello-live" and cfg.environment == "hello-live" and cfg.blue_green
    name = cfg.env_name("hello-abc-g123")
    assert name.startswith("hello-live-") and len(name) == len("hello-live-") + 8
    assert name == cfg.env_name("hello-abc-g123") != cfg.env_name("hello-abd-g123")
    assert cfg.env_vars["MACARON_ENV"] == "live"
    assert cfg.env_vars["MACARON_STORE__TABLE_PREFIX"] == "macaron-live-hello-"
    prefix = f"arn:aws:{{}}:us-east-1:{support.ACCOUNT}:"
    assert cfg.secrets == {
        "MACARON_JWT_SECRET": prefix.format("secretsmanager") + "secret:macaron/live/MACARON_JWT_SECRET",
        "REDIS_URL": prefix.format("ssm") + "parameter/macaron/live/REDIS_URL",
        "HELLO_GREETING_KEY": prefix.format("secretsmanager") + "secret:macaron/live/HELLO_GREETING_KEY",
    }


def test_without_an_account_the_placeholder_shows(repo: Path) -> None:
    cfg = load_deploy_config(repo, "hello")
    assert cfg.bucket == f"elasticbeanstalk-us-east-1-{UNKNOWN_ACCOUNT}"


def test_staging_takes_its_section_and_one_environment(repo: Path) -> None:
    cfg = load_deploy_config(repo, "hello", "staging")
    assert not cfg.blue_green and cfg.env_name("any-label") == "hello-staging"
    assert cfg.settings["scaling"]["max"] == 2 and cfg.settings["deployment_policy"] == "AllAtOnce"
    assert cfg.settings["scaling"]["trigger"]["measure"] == "CPUUtilization"  # merged, not replaced


def test_a_service_override_is_merged_key_by_key(repo: Path) -> None:
    own = repo / "infra" / "hello"
    own.mkdir()
    (own / "beanstalk.yaml").write_text("scaling: {max: 3}\nenvironments: {live: {instance: {type: m7g.large}}}\n")
    (own / "Dockerfile").write_text("FROM python:3.12-slim\n")
    cfg = load_deploy_config(repo, "hello")
    assert cfg.settings["scaling"]["max"] == 3 and cfg.settings["scaling"]["min"] == 2
    assert cfg.settings["instance"] == {"type": "m7g.large", "profile": "aws-elasticbeanstalk-ec2-role"}
    files = infra_files(repo, "hello")
    assert files["Dockerfile"] == own / "Dockerfile"
    assert files["docker-compose.yml"] == repo / "infra" / "defaults" / "docker-compose.yml"
    assert str(own / "beanstalk.yaml") in cfg.source


def test_an_unknown_service_names_the_known_ones(repo: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown service 'nope'.*services here: hello"):
        load_deploy_config(repo, "nope")


def test_an_unknown_environment_is_refused(repo: Path) -> None:
    with pytest.raises(ConfigError, match="unknown environment 'prod'"):
        load_deploy_config(repo, "hello", "prod")


@pytest.mark.parametrize(
    ("yaml", "message"),
    [
        ("env: {HELLO_GREETING_KEY: plain}\n", "by reference under 'secrets:'"),
        ("secrets: {TOKEN: not-an-arn}\n", "reference of secret TOKEN 'not-an-arn' is not valid"),
        ("environment: ${nope}-x\n", r"unknown variable \$\{nope\}"),
        ("region: Europe\n", "region 'Europe' is not valid"),
        ("environment: a-name-far-too-long-for-beanstalk-xx\n", "environment name"),
        ("env: {A: 1}\nsecrets: {A: 'arn:aws:ssm:us-east-1:1:parameter/a'}\n", "both a plain variable"),
    ],
)
def test_bad_values_are_named(repo: Path, yaml: str, message: str) -> None:
    (repo / "infra" / "hello").mkdir()
    (repo / "infra" / "hello" / "beanstalk.yaml").write_text(yaml)
    with pytest.raises(ConfigError, match=message):
        load_deploy_config(repo, "hello")


def test_a_declared_secret_without_any_reference_is_refused(repo: Path) -> None:
    (repo / "infra" / "hello").mkdir()
    (repo / "infra" / "hello" / "beanstalk.yaml").write_text("secret_arn: ''\n")
    with pytest.raises(ConfigError, match="needs the secret HELLO_GREETING_KEY"):
        load_deploy_config(repo, "hello")


def test_an_explicit_reference_wins_over_the_template(repo: Path) -> None:
    arn = "arn:aws:ssm:us-east-1:123456789012:parameter/hello/greeting"
    (repo / "infra" / "hello").mkdir()
    (repo / "infra" / "hello" / "beanstalk.yaml").write_text(f"secrets: {{HELLO_GREETING_KEY: '{arn}'}}\n")
    assert load_deploy_config(repo, "hello").secrets["HELLO_GREETING_KEY"] == arn


def test_called_siblings_get_their_live_url(repo: Path) -> None:
    other = repo / "services" / "other"
    other.mkdir()
    (other / "service.yaml").write_text("port: 18112\n")
    service_yaml = repo / "services" / "hello" / "service.yaml"
    service_yaml.write_text(service_yaml.read_text() + "clients:\n  other: {url: http://127.0.0.1:18112}\n")
    env_vars = load_deploy_config(repo, "hello", "staging").env_vars
    assert env_vars["MACARON_CLIENTS__OTHER__URL"] == "http://macaron-other-staging.us-east-1.elasticbeanstalk.com"
