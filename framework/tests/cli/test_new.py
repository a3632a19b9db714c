"""``macaron new`` (``nox -s new``): a blank service or a proper copy, refusals, rollback, the nox session."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest
import yaml
from macaron import ConfigError, Service
from macaron._cli import main
from macaron._cli.new import create, rename_config

ROOT = Path(__file__).resolve().parents[3]
SPEC = {"swagger": "2.0", "info": {"title": "t", "version": "1"}, "paths": {"/old": {"get": {
    "operationId": "old", "responses": {"200": {"description": "ok"}}}}}}


def source(root: Path, name: str = "mail", config: str = "port: 8002\n") -> Path:
    directory = root / "services" / name
    (directory / "tests").mkdir(parents=True)
    (directory / "service.yaml").write_text(config)
    (directory / "api.yaml").write_text(yaml.safe_dump(SPEC))
    (directory / "handlers.py").write_text("def old():\n    return {}\n")
    (directory / "rendering.py").write_text("def render():\n    return ''\n")
    (directory / "tests" / "test_old.py").write_text("def test_old() -> None:\n    assert True\n")
    (directory / "local.sqlite3").write_text("")
    return directory


def test_blank_service_has_a_free_port_an_example_and_its_tests(tmp_path: Path, capsys: Any) -> None:
    source(tmp_path, "user", "port: 8001\nclients:\n  auth0: {url: 'http://127.0.0.1:8002'}\n")
    assert main(["new", "billing", "--swagger2", "--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    directory = tmp_path / "services" / "billing"
    assert yaml.safe_load((directory / "api.yaml").read_text())["swagger"] == "2.0"
    assert sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file()) == [
        "api.yaml", "handlers.py", "service.yaml", "tests/acceptance/test_hello.py", "tests/test_service.py"]
    config = yaml.safe_load((directory / "service.yaml").read_text())
    port = config["port"]
    assert port >= 8003  # after user's 8001 and a client's local 8002 (8003 unless something listens there)
    assert "name" not in config and "MACARON_BILLING_<KEY>" in (directory / "service.yaml").read_text()
    service = Service.load(directory, environ={})
    assert service.name == "billing" and [o.operation.operation_id for o in service.operations] == ["hello"]
    assert f"Created service 'billing' in services/billing, on port {port}" in out
    assert "nox -s serve -- billing --reload" in out and f"curl 127.0.0.1:{port}/v1/hello/ada" in out
    assert not (tmp_path / "infra" / "billing").exists()
    lint = subprocess.run([sys.executable, "-m", "ruff", "check", "--config", str(ROOT / "pyproject.toml"),
                           str(directory)], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout  # nox -s test lints the whole repository


def test_copy_from_a_service_renames_resets_and_reports(tmp_path: Path) -> None:
    config = ("# Config of the mail service.\n# MACARON_MAIL_<KEY> overrides keys.\nname: mail\nport: 8002\n"
              "label: mail   # what the mail service calls itself\nsender: {email: no-reply@mail.example}\n")
    mail = source(tmp_path, "mail", config)
    (mail / "service.prod.yaml").write_text("# prod overlay of mail\nlog_level: WARNING\n")
    (tmp_path / "infra" / "mail").mkdir(parents=True)
    (tmp_path / "infra" / "mail" / "beanstalk.yaml").write_text("cname: macaron-mail-${env}\nemail: x@mailer.io\n")
    created = create(tmp_path, "billing", "mail")
    copy = tmp_path / "services" / "billing"
    text = (copy / "service.yaml").read_text()
    assert text.startswith(
        f"# Config of the billing service.\n# MACARON_BILLING_<KEY> overrides keys.\nport: {created.port}\n")
    assert "name:" not in text and "label: mail   # what the billing service calls itself" in text
    assert created.review == ["services/billing/service.yaml:4: label: mail",
                              "services/billing/service.yaml:5: sender: {email: no-reply@mail.example}"]
    assert (copy / "service.prod.yaml").read_text() == "# prod overlay of billing\nlog_level: WARNING\n"
    assert created.kept == ["rendering.py"] and (copy / "rendering.py").is_file()
    assert not (copy / "local.sqlite3").exists() and not (copy / "tests" / "test_old.py").exists()
    assert (copy / "tests" / "acceptance" / "test_hello.py").is_file()
    assert "operationId: hello" in (copy / "api.yaml").read_text()
    assert (tmp_path / "infra" / "billing" / "beanstalk.yaml").read_text() == (
        "cname: macaron-billing-${env}\nemail: x@mailer.io\n")
    assert (mail / "service.yaml").read_text() == config  # the source is untouched
    source(tmp_path, "user", "port: 8001\n")
    assert create(tmp_path, "invoices", "user").infra is None
    assert not (tmp_path / "infra" / "invoices").exists()  # user has no infra/user: none is made


def test_rename_config_adds_a_port_when_there_is_none() -> None:
    text, review = rename_config("# the user service\nlog_level: INFO\n", "user", "accounts", 8005, "x.yaml")
    assert text == "# the accounts service\nport: 8005\nlog_level: INFO\n" and review == []


@pytest.mark.parametrize(("name", "source", "message"), [
    ("Billing", None, "'Billing' is not a valid service name"),
    ("1billing", None, "not a valid service name"),
    ("bill_ing", None, "which allow no '_'"),
    ("bill ing", None, "not a valid service name"),
    ("b" * 25, None, "at most 24 characters"),
    ("defaults", None, "'defaults' is reserved"),
    ("mail", None, "services/mail already exists"),
    ("sendgrid", None, "the external API of shared_apis/sendgrid.yaml"),
    ("billing", "nope", "no service 'nope' to start from"),
])
def test_refusals_are_clear_and_create_nothing(tmp_path: Path, capsys: Any, name: str, source: str | None,
                                               message: str) -> None:
    source_dir = globals()["source"]
    source_dir(tmp_path)
    (tmp_path / "shared_apis").mkdir()
    (tmp_path / "shared_apis" / "sendgrid.yaml").write_text("swagger: '2.0'\n")
    before = sorted(p for p in tmp_path.rglob("*"))
    assert main(["new", name, *(["--from", source] if source else []), "--root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("macaron new: error: ") and message in err and "Traceback" not in err
    assert sorted(p for p in tmp_path.rglob("*")) == before


def test_infra_of_the_new_name_already_there_is_refused(tmp_path: Path) -> None:
    source(tmp_path)
    (tmp_path / "infra" / "mail").mkdir(parents=True)
    (tmp_path / "infra" / "billing").mkdir()
    with pytest.raises(ConfigError, match="infra/billing already exists"):
        create(tmp_path, "billing", "mail")
    assert not (tmp_path / "services" / "billing").exists()


def test_a_copy_that_does_not_load_is_removed_with_its_infra(tmp_path: Path) -> None:
    source(tmp_path, "mail", "port: 8002\nreporter: handlers.report\n")  # the reset handlers have no report()
    (tmp_path / "infra" / "mail").mkdir(parents=True)
    (tmp_path / "infra" / "mail" / "Dockerfile").write_text("FROM python:3.11-slim\n")
    with pytest.raises(ConfigError, match=r"does not load, so nothing was created.*report"):
        create(tmp_path, "billing", "mail")
    assert not (tmp_path / "services" / "billing").exists() and not (tmp_path / "infra" / "billing").exists()


class FakeSession:
    def __init__(self, *posargs: str) -> None:
        self.posargs = list(posargs)
        self.runs: list[tuple[str, ...]] = []
        self.env: dict[str, str] = {}

    def install(self, *args: str) -> None:
        pass

    def run(self, *args: str, **kwargs: Any) -> None:
        self.runs.append(args)

    def error(self, message: str) -> None:
        raise SystemExit(message)


def test_the_nox_session_passes_its_arguments_to_macaron_new(monkeypatch: pytest.MonkeyPatch) -> None:
    """The noxfile itself, loaded with a stand-in for ``nox`` (not installed in the test session)."""
    def session(fn: Any = None, **options: Any) -> Any:  # @nox.session and nox.session(venv_backend=...)
        return fn if fn is not None else (lambda f: f)

    stand_in = types.SimpleNamespace(session=session, options=types.SimpleNamespace(), Session=FakeSession)
    monkeypatch.setitem(sys.modules, "nox", stand_in)
    monkeypatch.setenv("MACARON_NOX_VENV", sys.prefix)  # the shared virtualenv: this one, nothing installed
    monkeypatch.setenv("PATH", os.environ.get("PATH", ""))  # the noxfile puts that venv first on it
    spec = importlib.util.spec_from_file_location("noxfile_under_test", ROOT / "noxfile.py")
    assert spec is not None and spec.loader is not None
    noxfile = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(noxfile)
    session = FakeSession("billing", "--from", "mail")
    noxfile.new(session)
    assert session.runs[0] == ("macaron", "new", "billing", "--from", "mail", "--root", str(ROOT))
    assert session.runs[1][:2] == ("macaron", "stubs")
    with pytest.raises(SystemExit, match="nox -s new -- billing"):
        noxfile.new(FakeSession())
