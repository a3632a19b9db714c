"""A new service by copying a directory, and by ``macaron new``, in a temporary copy of the
repository (``services/mail``, ``shared_apis/``, ``infra/`` and the pytest config; the real repo
is never touched):

- ``cp -r services/mail services/billing`` with no edit: its own tests pass (they test the copy),
  it runs side by side with mail under its own name (``/version``, logs, metrics label, queue,
  store table, token audience), and the deploy step packages it with ``infra/defaults``;
- ``macaron new invoices --from mail`` (what ``nox -s new`` runs): its example endpoint's tests pass.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml
from macaron.deploy._bundle import collect
from macaron.deploy._compose import scan_tasks
from macaron.deploy._config import load_deploy_config
from macaron.testing import Api, SystemUnderTest, assert_problem
from macaron.testing._system import LocalSystem

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("repo")
    debris = shutil.ignore_patterns("__pycache__", ".pytest_cache", "*.sqlite3*", ".data", ".dev")
    for part in ("services/mail", "shared_apis", "infra"):  # mail and what it needs, whatever else is there
        shutil.copytree(ROOT / part, root / part, ignore=debris)
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    # What a user types: cp -r services/mail services/billing (new files, nothing edited).
    shutil.copytree(root / "services" / "mail", root / "services" / "billing", copy_function=shutil.copy)
    made = subprocess.run([sys.executable, "-m", "macaron", "new", "invoices", "--from", "mail", "--root", str(root)],
                          capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    assert "Created service 'invoices' in services/invoices (from mail)" in made.stdout
    assert "nox -s serve -- invoices --reload" in made.stdout and "/v1/hello/ada" in made.stdout
    return root


def test_the_copy_and_the_new_service_pass_their_own_tests(tree: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MACARON_", "PYTEST_"))}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "services/billing",
                          "services/invoices"], cwd=tree, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    counts = re.search(r"(\d+) passed", run.stdout)
    assert counts and int(counts[1]) >= 8 and "skipped" not in run.stdout, run.stdout[-2000:]
    assert (tree / "services" / "mail" / "service.yaml").read_text() == (
        ROOT / "services" / "mail" / "service.yaml").read_text()


@pytest.fixture(scope="module")
def side_by_side(tree: Path) -> Iterator[LocalSystem]:
    with LocalSystem(tree) as system:
        yield system


def _send(system: SystemUnderTest, service: str) -> str:
    api = system.api(service, token=system.token(service, sub="service:test", scopes=["mail:send"]))
    to = f"{service}-{uuid.uuid4().hex[:8]}@example.com"
    queued = api.post("/v1/mails", json={"to": to, "template": "welcome", "data": {"name": service}})
    assert queued.status_code == 202, queued.text
    mail_id: str = queued.json()["id"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and api.get(f"/v1/mails/{mail_id}").json()["status"] != "sent":
        time.sleep(0.1)
    assert api.get(f"/v1/mails/{mail_id}").json()["status"] == "sent"
    return mail_id


def test_the_copy_runs_beside_its_original_under_its_own_name(side_by_side: LocalSystem) -> None:
    system = SystemUnderTest(side_by_side.root, side_by_side.urls, local=side_by_side)
    billing, mail = Api(side_by_side.urls["billing"]), Api(side_by_side.urls["mail"])
    assert billing.get("/version").json()["name"] == "billing" and mail.get("/version").json()["name"] == "mail"

    # token audience: each accepts only its own
    for own, other in (("billing", "mail"), ("mail", "billing")):
        stranger = system.api(own, token=system.token(other, sub="service:x", scopes=["mail:send"]))
        assert_problem(stranger.get(f"/v1/mails/{uuid.uuid4().hex}"), 401, "TOKEN_INVALID")

    # queue and store: a mail sent through billing goes through billing's queue and table only
    billing_id, mail_id = _send(system, "billing"), _send(system, "mail")
    queues = redis.Redis.from_url(side_by_side.redis_url).smembers("rq:queues")
    assert {b"rq:queue:billing.default", b"rq:queue:mail.default"} <= queues
    tables = {}
    for name in ("billing", "mail"):
        with sqlite3.connect(side_by_side.data_dir / f"{name}.sqlite3") as db:
            tables[name] = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "dev-billing-mails" in tables["billing"] and not any("mail-" in t for t in tables["billing"])
    assert "dev-mail-mails" in tables["mail"] and not any("billing" in t for t in tables["mail"])
    token = system.token("mail", sub="service:test", scopes=["mail:send"])
    assert_problem(system.api("mail", token=token).get(f"/v1/mails/{billing_id}"), 404, "MAIL_NOT_FOUND")
    assert mail_id != billing_id

    # metrics label and log lines
    metrics = billing.get("/metrics").text
    assert 'service="billing"' in metrics and 'service="mail"' not in metrics
    records = [json.loads(line) for line in (side_by_side.data_dir / "billing.log").read_text().splitlines()
               if line.startswith("{")]
    worker = [json.loads(line) for line in (side_by_side.data_dir / "billing-worker.log").read_text().splitlines()
              if line.startswith("{")]
    assert records and {r["service"] for r in records} == {"billing"}
    assert worker and {r["service"] for r in worker} == {"billing"}
    assert any("billing.default" in json.dumps(r) for r in worker), worker[-5:]


def test_the_copy_is_packaged_with_the_shared_infra_defaults(tree: Path) -> None:
    assert not (tree / "infra" / "billing").exists()
    cfg = load_deploy_config(tree, "billing", "live", account_id="123456789012")
    assert cfg.environment == "billing-live" and cfg.cname == "macaron-billing-live"
    assert cfg.env_vars["MACARON_STORE__TABLE_PREFIX"] == "macaron-live-billing-"
    assert cfg.secrets["SENDGRID_API_KEY"].endswith(":secret:macaron/live/SENDGRID_API_KEY")
    entries = collect(cfg, scan_tasks(cfg.service_dir))
    assert {"Dockerfile", "docker-compose.yml", "services/billing/api.yaml", "services/billing/tasks.py",
            "services/billing/requirements.txt"} <= set(entries)
    assert not any(n.startswith(("services/billing/tests/", "services/mail/")) for n in entries)
    assert entries["Dockerfile"][1] == (tree / "infra" / "defaults" / "Dockerfile").read_bytes()
    compose: dict[str, Any] = yaml.safe_load(entries["docker-compose.yml"][1])
    assert compose["services"]["web"]["build"]["args"]["SERVICE"] == "billing"
    assert "worker" in compose["services"]  # the copy's @task: its own worker container
