"""Typed stubs: the committed ones are current, mypy accepts good calls and rejects bad ones."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from macaron._cli.stubs import discover, module_text, write
from macaron._core.spec import load_spec

ROOT = Path(__file__).resolve().parents[3]
STUBS = ROOT / "typings" / "macaron_stubs"
FIXTURES = Path(__file__).parents[1] / "fixtures"

GOOD = """
    from macaron.clients import client

    def send() -> str | None:
        sendgrid = client("sendgrid")
        sendgrid.sendMail(body={"personalizations": [{"to": [{"email": "a@example.com"}]}],
                                "from": {"email": "b@example.com"}, "subject": "Hi"}, _timeout=2.5)
        sent = sendgrid.responses.sendMail(body={"personalizations": [], "from": {"email": "b@example.com"}})
        tokens = client("auth0").getToken(body={"grant_type": "password", "client_id": "c"},
                                          auth0_forwarded_for="192.0.2.1")
        email = client("auth0").models.Auth0SignupRequest(client_id="c", email="e", password="p", connection="db")
        return tokens.access_token + email.email + str(sent.status) + (tokens.scope or "")
"""

BAD = """
    from macaron.clients import client

    def send() -> None:
        sendgrid = client("sendgrid")
        sendgrid.sendMail(bodyy={})
        sendgrid.sendMail(body={"personalizations": [{"to": [{"emial": "a@example.com"}]}], "from": {"email": "b"}})
        client("auth0").getToken(body={"grant_type": "pasword", "client_id": "c"})
        client("auth0").models.Auth0SignupRequest(client_id="c", mail="e", password="p", connection="db")
        sendgrid.sendMial(body={})
        sendgrid.sendMail(body={"personalizations": [], "from": {"email": "b"}}, _timeout="soon")
        token: int = client("auth0").getToken(body={"grant_type": "password", "client_id": "c"}).access_token
"""


def mypy(tmp_path: Path, source: str, stubs: Path = STUBS.parent) -> tuple[int, str]:
    path = tmp_path / "calls.py"
    path.write_text(textwrap.dedent(source))
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent", "--no-error-summary",
         "--cache-dir", str(ROOT / ".mypy_cache"), str(path)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env={**os.environ, "MYPYPATH": str(stubs)},
    )
    return run.returncode, run.stdout + run.stderr


def test_committed_stubs_are_current() -> None:
    assert write(ROOT, STUBS, check=True) == [], "stubs are out of date: run `nox -s stubs` and commit them"


def test_every_service_and_shared_api_has_a_stub() -> None:
    names = [name for name, _ in discover(ROOT)]
    assert {"auth0", "sendgrid"} <= set(names)
    assert {f"{n}.pyi" for n in names} | {"__init__.pyi"} == {p.name for p in STUBS.glob("*.pyi")}


def test_mypy_accepts_correct_calls(tmp_path: Path) -> None:
    code, output = mypy(tmp_path, GOOD)
    assert code == 0, output


def test_mypy_rejects_wrong_argument_names_and_types(tmp_path: Path) -> None:
    code, output = mypy(tmp_path, BAD)
    assert code == 1
    failing = sorted({int(line.split(":")[1]) for line in output.splitlines() if ": error:" in line})
    assert failing == [6, 7, 8, 9, 10, 11, 12], output
    assert 'Unexpected keyword argument "bodyy"' in output and 'has no attribute "sendMial"' in output


def test_generated_module_for_a_fixture_spec() -> None:
    text = module_text("echo", load_spec(FIXTURES / "echo" / "api.yaml"), "echo/api.yaml")
    assert "class Job(_Model):\n    id: int | None\n    name: str\n" in text
    assert "JobDict = TypedDict('JobDict', {'id': int, 'name': Required[str]}, total=False)" in text
    assert "    def getJob(self, *, job_id: int, _timeout:" in text and ") -> Job: ..." in text
    assert "def openEcho(self, *, x_trace: str | None = ..., tags: Sequence[str] | None = ...," in text
    assert "def listJobs(self, *, _timeout" in text and "-> list[Job]: ..." in text
    assert "-> ClientResponse[Seen]: ..." in text


def test_write_updates_changed_files_and_removes_stale_ones(tmp_path: Path) -> None:
    (tmp_path / "shared_apis").mkdir()
    (tmp_path / "shared_apis" / "echo.yaml").write_text((FIXTURES / "echo" / "api.yaml").read_text())
    out = tmp_path / "stubs"
    out.mkdir()
    (out / "gone.pyi").write_text("")
    assert write(tmp_path, out, check=True) == ["__init__.pyi", "echo.pyi", "gone.pyi"]
    assert write(tmp_path, out) == ["__init__.pyi", "echo.pyi", "gone.pyi"]
    assert sorted(p.name for p in out.iterdir()) == ["__init__.pyi", "echo.pyi"]
    assert write(tmp_path, out, check=True) == []


def test_add_new_writes_only_the_stubs_of_new_specs(tmp_path: Path) -> None:
    """A new service needs no ``nox -s stubs`` before ``nox -s test``; a stale stub still fails the check."""
    from macaron._cli.stubs import add_new

    root = tmp_path / "repo"
    shutil.copytree(ROOT / "services" / "mail", root / "services" / "mail", ignore=shutil.ignore_patterns("tests"))
    shutil.copytree(ROOT / "shared_apis", root / "shared_apis")
    out = tmp_path / "stubs"
    assert write(root, out) and write(root, out, check=True) == []
    shutil.copytree(root / "services" / "mail", root / "services" / "billing")
    (out / "mail.pyi").write_text("# stale\n")
    assert add_new(root, out) == ["billing.pyi", "__init__.pyi"]
    assert "def client(name: Literal['billing']" in (out / "__init__.pyi").read_text()
    assert write(root, out, check=True) == ["mail.pyi"]
    assert add_new(root, out) == []


def test_operations_without_operation_id_get_their_derived_names_as_methods(tmp_path: Path) -> None:
    spec = tmp_path / "plain.yaml"
    spec.write_text(textwrap.dedent("""\
        swagger: "2.0"
        info: {title: plain, version: "1"}
        paths:
          /users/{id}/profile:
            get:
              parameters: [{name: id, in: path, required: true, type: integer}]
              responses: {200: {description: ok, schema: {type: object}}}
          /users.list:
            get:
              operationId: users.list
              responses: {200: {description: ok}}
        """))
    text = module_text("plain", load_spec(spec), "plain.yaml")
    assert "    def get_users_id_profile(self, *, id: int," in text
    assert "users.list" not in text  # not a Python name: callable as client.call("users.list")
