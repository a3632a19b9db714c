"""The noxfile's small promises, loaded with a stand-in for ``nox``: stubs follow a spec edit in
dev and fail stale in CI; the shared virtualenv is used as given; /docs opens on the service."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import jwt
import pytest
from macaron import Service
from macaron._cli import main
from macaron._local.dev import _table
from macaron._local.supervisor import Proc, Supervisor
from macaron._server.builtins import served_spec

ROOT = Path(__file__).resolve().parents[3]


class Session:
    def __init__(self, *posargs: str) -> None:
        self.posargs = list(posargs)
        self.runs: list[tuple[str, ...]] = []
        self.env: dict[str, str] = {}

    def run(self, *args: str, **kwargs: Any) -> None:
        self.runs.append(args)

    def log(self, *args: Any) -> None:
        pass

    def error(self, message: str) -> None:
        raise SystemExit(message)


def _noxfile(monkeypatch: pytest.MonkeyPatch) -> Any:
    def session(fn: Any = None, **options: Any) -> Any:
        return fn if fn is not None else (lambda f: f)

    monkeypatch.setitem(sys.modules, "nox", types.SimpleNamespace(session=session, options=types.SimpleNamespace(),
                                                                  Session=Session))
    monkeypatch.setenv("MACARON_NOX_VENV", sys.prefix)
    monkeypatch.setenv("PATH", os.environ.get("PATH", ""))
    spec = importlib.util.spec_from_file_location("noxfile_under_test", ROOT / "noxfile.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_stubs_are_regenerated_in_dev_and_checked_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    noxfile = _noxfile(monkeypatch)
    monkeypatch.delenv("CI", raising=False)
    dev = Session()
    noxfile.test(dev)
    stubs = [r for r in dev.runs if r[:2] == ("macaron", "stubs")]
    assert stubs and "--check" not in stubs[0]
    monkeypatch.setenv("CI", "true")
    ci = Session()
    noxfile.test(ci)
    assert "--check" in next(r for r in ci.runs if r[:2] == ("macaron", "stubs"))
    assert dev.env["PATH"].startswith(str(Path(sys.prefix) / "bin"))  # the shared venv, nothing installed


def test_dev_and_serve_let_macaron_stop_what_it_started(monkeypatch: pytest.MonkeyPatch) -> None:
    noxfile = _noxfile(monkeypatch)
    monkeypatch.delenv("MACARON_ENV", raising=False)
    seen: dict[str, Any] = {}

    class Dev(Session):
        def run(self, *args: str, **kwargs: Any) -> str:
            if args[1] == "dev":
                seen.update(kwargs)
            return ""

    noxfile.dev(Dev())
    assert seen["interrupt_timeout"] >= 10  # nox's default, 0.3 s, killed macaron dev before it stopped Redis
    assert seen["env"]["MACARON_DIE_WITH_PARENT"] == "1" and seen["env"]["MACARON_ENV"] == "dev"


def test_docs_lists_the_services_own_operations_before_the_built_ins() -> None:
    service = Service.load(ROOT / "services" / "mail", environ={"SENDGRID_API_KEY": "x" * 8, **os.environ})
    tags = [t["name"] for t in served_spec(service)["tags"]]
    assert tags[-1] == "built-in" and len(tags) > 1


def test_token_for_a_stored_user_by_email(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    fixture = ROOT / "framework" / "tests" / "fixtures" / "persist"
    monkeypatch.setenv("MACARON_PERSIST_STORE__PATH", str(tmp_path / "p.sqlite3"))
    monkeypatch.setenv("MACARON_JWT_SECRET", "t" * 40)
    service = Service.load(fixture)
    service.models.User(user_id="u-1", email="ada@example.com").create()
    assert main(["token", str(fixture), "--email", "ada@example.com"]) == 0
    token = capsys.readouterr().out.strip()
    assert jwt.decode(token, options={"verify_signature": False})["sub"] == "u-1"
    assert main(["token", str(fixture), "--email", "nobody@example.com"]) == 2
    assert "no User of persist has the email 'nobody@example.com'" in capsys.readouterr().err


def test_nox_says_nothing_about_a_missing_uv(tmp_path: Path) -> None:
    if shutil.which("uv"):
        pytest.skip("uv is installed here: nox finds it")
    env = {**os.environ, "MACARON_NOX_VENV": sys.prefix}
    done = subprocess.run([sys.executable, "-m", "nox", "-f", str(ROOT / "noxfile.py"), "-s", "token", "--", "mail",
                           "--sub", "alice"], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "uv binary not found" not in done.stderr + done.stdout


def test_the_url_list_is_aligned_whatever_the_names() -> None:
    supervisor = Supervisor(out=None)
    supervisor.procs = [Proc("fake-sendgrid", [], urls={"url": "http://a", "log": "http://a/log"}),
                        Proc("user", [], urls={"url": "http://b", "docs": "http://b/docs"}),
                        Proc("a-much-longer-service-name", [], urls={"url": "http://c"})]
    rows = _table(supervisor)
    assert len({row.index("http://") for row in rows}) == 1, rows
