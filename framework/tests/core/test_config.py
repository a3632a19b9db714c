"""Config: service.yaml, env overlay, environment overrides, secrets."""

from __future__ import annotations

from pathlib import Path

import pytest
from macaron import ConfigError, load_config


def write(directory: Path, text: str, name: str = "service.yaml") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(text)
    return directory


def test_defaults_and_name_from_directory(tmp_path: Path) -> None:
    config = load_config(write(tmp_path / "billing", "port: 8123\n"), environ={})
    assert config.name == "billing"
    assert config.port == 8123
    assert config.env == "dev"
    assert config["max_body_bytes"] == 1_048_576


def test_a_name_that_is_not_the_directorys_stops_start_up(tmp_path: Path) -> None:
    """A copied directory still saying the original's name must not pass for the original."""
    assert load_config(write(tmp_path / "mail", "name: mail\n"), environ={}).name == "mail"
    with pytest.raises(ConfigError, match=r"says 'name: mail', but this service is 'billing'.*delete the 'name:'"):
        load_config(write(tmp_path / "billing", "name: mail\nport: 8002\n"), environ={})
    with pytest.raises(ConfigError, match="rename the directory"):
        load_config(write(tmp_path / "Billing", "port: 1\n"), environ={})


def test_env_overlay_file(tmp_path: Path) -> None:
    directory = write(tmp_path / "svc", "port: 1\nlog_level: INFO\nfeature: {enabled: false, size: 1}\n")
    write(directory, "log_level: DEBUG\nfeature: {enabled: true}\n", "service.staging.yaml")
    config = load_config(directory, environ={"MACARON_ENV": "staging"})
    assert config.env == "staging"
    assert config["log_level"] == "DEBUG"
    assert config["feature"] == {"enabled": True, "size": 1}


def test_environment_overrides_existing_keys_only(tmp_path: Path) -> None:
    directory = write(tmp_path / "svc", "port: 1\nfeature: {size: 1}\n")
    environ = {
        "MACARON_PORT": "2",
        "MACARON_SVC_PORT": "3",
        "MACARON_FEATURE__SIZE": "10",
        "MACARON_UNKNOWN_KEY": "x",
    }
    config = load_config(directory, environ=environ)
    assert config.port == 3  # per-service wins over global
    assert config["feature"]["size"] == 10
    assert "unknown_key" not in config.data


def test_secret_read_from_environment_and_hidden(tmp_path: Path) -> None:
    directory = write(tmp_path / "svc", "secrets:\n  api_key: SVC_API_KEY\n")
    config = load_config(directory, environ={"SVC_API_KEY": "hunter22"})
    assert config.secret("api_key") == "hunter22"
    assert "hunter22" not in repr(config.secrets["api_key"])
    assert "hunter22" not in repr(config)


def test_missing_secret_names_the_variable(tmp_path: Path) -> None:
    directory = write(tmp_path / "svc", "secrets:\n  api_key: SVC_API_KEY\n")
    with pytest.raises(ConfigError, match="SVC_API_KEY") as info:
        load_config(directory, environ={})
    assert "api_key" in str(info.value)


def test_optional_secret(tmp_path: Path) -> None:
    directory = write(tmp_path / "svc", "secrets:\n  extra: {env: SVC_EXTRA, optional: true}\n")
    config = load_config(directory, environ={})
    with pytest.raises(ConfigError, match=r"no secret 'nope'"):
        config.secret("nope")
    assert "extra" not in config.secrets


def test_bad_port_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'port' must be an integer"):
        load_config(write(tmp_path / "a", "port: eighty\n"), environ={})
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(write(tmp_path / "b", "port: [\n"), environ={})
    with pytest.raises(ConfigError, match=r"no service\.yaml"):
        load_config(tmp_path / "c", environ={})
