"""The pytest plugin's target resolution: environment first, names normalised."""

from __future__ import annotations

from pathlib import Path

import pytest
from macaron.testing import SystemUnderTest


def test_targets_from_environment() -> None:
    system = SystemUnderTest.from_environ(Path("."), {
        "MACARON_TEST_URL_USER": "http://a:1",
        "MACARON_TEST_FAKE_SENDGRID": "http://f:2",
        "UNRELATED": "x",
    })
    assert system.url("user") == "http://a:1"
    assert system.fake("sendgrid").base_url == "http://f:2"
    assert system.fake("auth0") is None
    assert system.logs() == ""


def test_missing_target_skips_with_the_variable_to_set() -> None:
    system = SystemUnderTest.from_environ(Path("."), {"MACARON_TEST_URL_USER": "http://a:1"})
    with pytest.raises(pytest.skip.Exception, match="MACARON_TEST_URL_MAIL"):
        system.url("mail")


def test_single_target_url_serves_any_service() -> None:
    system = SystemUnderTest.from_environ(Path("."), {"MACARON_TEST_URL": "http://only:3"})
    assert system.url("billing") == "http://only:3"


def test_token_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MACARON_TEST_TOKEN_USER", "given-token")
    system = SystemUnderTest.from_environ(Path("."), {})
    assert system.token("user", sub="alice") == "given-token"


def test_this_service_is_the_innermost_services_folder_of_the_test_file(tmp_path: Path) -> None:
    from macaron.testing import ThisService

    test_file = tmp_path / "services" / "billing" / "tests" / "acceptance" / "test_x.py"
    assert ThisService.of_test_file(test_file).name == "billing"
    assert ThisService.of_test_file(test_file).directory == (tmp_path / "services" / "billing").resolve()
    nested = tmp_path / "services" / "a" / "tests" / "services" / "b" / "tests" / "test_y.py"
    assert ThisService.of_test_file(nested).name == "b"
    with pytest.raises(LookupError, match="not under services/<name>/tests/"):
        ThisService.of_test_file(tmp_path / "framework" / "tests" / "test_z.py")


def test_this_service_loads_with_the_dev_secrets() -> None:
    """Loaded in this process with the dev secrets of its repository (.dev/), as the services' own tests do."""
    from macaron.testing import ThisService

    root = Path(__file__).resolve().parents[3]
    mail = ThisService(root / "services" / "mail")
    service = mail.load(environ={})  # SENDGRID_API_KEY comes from <root>/.dev/, not the environment
    assert service.name == "mail" and repr(mail) == "ThisService('mail')"
