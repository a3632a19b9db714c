"""macaron.deploy._needs: what a service loads from outside its directory, read without importing it."""

from __future__ import annotations

from pathlib import Path

import pytest
from macaron import ConfigError
from macaron.deploy._needs import needed_files, secret_vars, sibling_clients

from ..fixtures.deploy import support


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = support.make_repo(tmp_path)
    (root / "services" / "other").mkdir()
    (root / "services" / "other" / "service.yaml").write_text("port: 1\nspec: other.yaml\n")
    (root / "services" / "other" / "other.yaml").write_text((root / "services" / "hello" / "api.yaml").read_text())
    (root / "shared_apis" / "vendor.yaml").write_text((root / "services" / "hello" / "api.yaml").read_text()
                                                      .replace("../../shared_apis/", ""))
    return root


def configure(repo: Path, text: str, env: str | None = None) -> Path:
    hello = repo / "services" / "hello"
    name = f"service.{env}.yaml" if env else "service.yaml"
    (hello / name).write_text(((hello / name).read_text() if (hello / name).exists() else "") + text)
    return hello


def test_secrets_required_and_optional(repo: Path) -> None:
    hello = configure(repo, "  extra: {env: HELLO_EXTRA, optional: true}\n")
    assert secret_vars(hello, "live") == (["HELLO_GREETING_KEY"], ["HELLO_EXTRA"])


def test_an_env_overlay_counts(repo: Path) -> None:
    hello = configure(repo, "secrets: {live_only: HELLO_LIVE_ONLY}\n", env="live")
    assert secret_vars(hello, "live")[0] == ["HELLO_GREETING_KEY", "HELLO_LIVE_ONLY"]
    assert secret_vars(hello, "staging")[0] == ["HELLO_GREETING_KEY"]


def test_every_spec_the_service_loads(repo: Path) -> None:
    hello = configure(repo, "clients:\n  other: {}\n  vendor: {url: http://127.0.0.1:9}\n")
    assert sibling_clients(hello, "live") == ["other"]
    assert needed_files(repo, hello, "live") == [
        "services/hello/api.yaml", "services/other/other.yaml", "services/other/service.yaml",
        "shared_apis/greeting.yaml", "shared_apis/vendor.yaml"]


def test_a_client_without_a_spec_is_named(repo: Path) -> None:
    hello = configure(repo, "clients:\n  nowhere: {url: http://127.0.0.1:9}\n")
    with pytest.raises(ConfigError, match="client 'nowhere' has no spec to bundle"):
        needed_files(repo, hello, "live")
