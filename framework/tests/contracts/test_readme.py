"""Every snippet of the README is run: the ``readme-file`` blocks are assembled into a
``hello`` service next to a copy of the mail service, and exercised over HTTP; every
``nox -s`` command it shows names a real session."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import requests
from macaron.testing._system import LocalSystem

ROOT = Path(__file__).resolve().parents[3]
README = (ROOT / "README.md").read_text(encoding="utf-8")
_FILE_BLOCK = re.compile(r"<!-- readme-file: (?P<path>\S+) -->\n```\w*\n(?P<body>.*?)```", re.S)


def readme_files() -> dict[str, str]:
    return {m["path"]: m["body"] for m in _FILE_BLOCK.finditer(README)}


def test_readme_starts_with_the_two_commands() -> None:
    head = README[: README.index("## ")]
    assert "Python 3.11" in head and "pip install nox" in head
    assert head.index("nox -s dev") < head.index("nox -s test")


def test_every_nox_session_named_exists() -> None:
    sessions = set(re.findall(r"^def (\w+)\(session", (ROOT / "noxfile.py").read_text(), re.M))
    named = set(re.findall(r"nox -s (\w+)", README))
    assert named and named <= sessions, named - sessions


def test_snippets_make_a_working_service(tmp_path: Path) -> None:
    files = readme_files()
    assert {"services/hello/api.yaml", "services/hello/handlers.py", "services/hello/tasks.py",
            "services/hello/service.yaml"} <= set(files)
    shutil.copytree(ROOT / "services" / "mail", tmp_path / "services" / "mail",
                    ignore=shutil.ignore_patterns("tests", "__pycache__"))
    shutil.copytree(ROOT / "shared_apis", tmp_path / "shared_apis", ignore=shutil.ignore_patterns("__pycache__"))
    for relative, body in files.items():
        target = tmp_path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(body)
    with LocalSystem(tmp_path) as system:
        hello = system.urls["hello"]
        assert requests.get(f"{hello}/v1/greetings/ada", params={"shout": "true"}, timeout=10).json() == {
            "text": "HELLO, ADA!"}
        bad = requests.get(f"{hello}/v1/greetings/{'x' * 41}", timeout=10)
        assert bad.status_code == 400 and bad.json()["errors"][0]["path"] == "/path/name"
        sent = requests.post(f"{hello}/v1/greetings", json={"email": "ada@example.com", "name": "Ada"}, timeout=10)
        assert sent.status_code == 202 and sent.json()["job_id"]
        deadline = time.monotonic() + 30
        mails: list[dict] = []
        while time.monotonic() < deadline and not mails:
            mails = requests.get(f"{system.urls['fake-sendgrid']}/__fake__/requests", timeout=5).json()
            time.sleep(0.1)
        assert mails, system.logs()[-3000:]
        assert mails[0]["body"]["personalizations"][0]["dynamic_template_data"] == {"name": "Ada"}
