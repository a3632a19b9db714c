"""Client settings from service.yaml: spec discovery, URLs, secrets, limits, and errors that name the fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from macaron import ConfigError, Service
from macaron.clients._config import resolve

ROOT = Path(__file__).resolve().parents[3]


def make(tmp_path: Path, clients: str, secrets: str = "", sibling: str | None = "port: 8123\n") -> Service:
    services = tmp_path / "services"
    me = services / "caller"
    me.mkdir(parents=True)
    (me / "api.yaml").write_text('swagger: "2.0"\ninfo: {title: c, version: "1"}\npaths: {}\n')
    (me / "handlers.py").write_text("")
    (me / "service.yaml").write_text(f"secrets:\n{secrets or '  {}'}\nclients:\n{clients}")
    if sibling is not None:
        (services / "mail").mkdir()
        (services / "mail" / "service.yaml").write_text(sibling)
        (services / "mail" / "api.yaml").write_text('swagger: "2.0"\ninfo: {title: m, version: "1"}\npaths: {}\n')
    shared = tmp_path / "shared_apis"
    shared.mkdir()
    (shared / "sendgrid.yaml").write_text((ROOT / "shared_apis" / "sendgrid.yaml").read_text())
    return Service.load(me, environ={"SG_KEY": "SG.abc", "MACARON_CLIENTS__SENDGRID__TIMEOUT": "4"})


def test_sibling_defaults_to_its_port_and_audience(tmp_path: Path) -> None:
    settings = resolve(make(tmp_path, "  mail: {}\n", sibling="port: 8123\nauth: {audience: mailer}\n"), "mail")
    assert (settings.kind, settings.url, settings.audience) == ("service", "http://127.0.0.1:8123", "mailer")
    assert settings.spec_path.name == "api.yaml" and settings.api_key is None


def test_external_api_from_shared_apis_with_secret_and_env_override(tmp_path: Path) -> None:
    service = make(tmp_path, "  sendgrid: {url: 'http://127.0.0.1:8025/', api_key_secret: sg, timeout: 10,"
                             " retries: 4, total_timeout: 12}\n", secrets="  sg: SG_KEY\n")
    settings = resolve(service, "sendgrid")
    assert (settings.kind, settings.url, settings.audience) == ("external", "http://127.0.0.1:8025", None)
    assert settings.api_key is not None and settings.api_key.reveal() == "SG.abc" and "SG.abc" not in repr(settings)
    assert settings.timeouts.read == 4 and settings.policy.retries == 4 and settings.policy.total == 12


def test_sibling_port_comes_from_the_environment_the_caller_was_loaded_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression (in-process fuzzing): a sibling's ``MACARON_<NAME>_PORT`` was read from ``os.environ``
    only, so a service loaded with ``Service.load(environ=...)`` called the sibling's file port."""
    monkeypatch.setenv("MACARON_MAIL_PORT", "9001")
    service = make(tmp_path, "  mail: {}\n")
    service = Service.load(service.directory, environ={**service.config.environ, "MACARON_MAIL_PORT": "9002"})
    assert resolve(service, "mail").url == "http://127.0.0.1:9002"


@pytest.mark.parametrize(("clients", "message"), [
    ("  other: {}\n", r"calls 'mail' but its service.yaml declares no"),
    ("  mail: {colour: blue}\n", r"unknown key\(s\) \['colour'\]"),
    ("  mail: {url: 'ftp://x'}\n", "must be an http"),
    ("  mail: {timeout: soon}\n", "timeout: must be a number"),
    ("  mail: {api_key_secret: k}\n", "called with JWTs"),
])
def test_mistakes_are_named(tmp_path: Path, clients: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        resolve(make(tmp_path, clients), "mail")


def test_external_api_needs_a_url_and_a_declared_secret(tmp_path: Path) -> None:
    service = make(tmp_path, "  sendgrid: {timeout: 1}\n  nowhere: {url: 'http://127.0.0.1:1'}\n"
                             "  keyed: {url: 'http://127.0.0.1:1', spec: ../../shared_apis/sendgrid.yaml,"
                             " api_key_secret: missing}\n")
    with pytest.raises(ConfigError, match=r"clients.sendgrid.url: required"):
        resolve(service, "sendgrid")
    with pytest.raises(ConfigError, match="no spec found"):
        resolve(service, "nowhere")
    with pytest.raises(ConfigError, match="no secret 'missing'"):
        resolve(service, "keyed")
