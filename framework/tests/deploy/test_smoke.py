"""macaron.deploy._smoke: the bundle unpacked, installed into a fresh venv, served by a real
``macaron serve`` and tested over HTTP; then stopped."""

from __future__ import annotations

import re
import subprocess
import sys
import urllib.request
import zipfile
from pathlib import Path

import pytest
from macaron.deploy._bundle import build_bundle, write_zip
from macaron.deploy._config import load_deploy_config
from macaron.deploy._report import StepFailed
from macaron.deploy._smoke import smoke_test, unpack, wait_ready

from ..fixtures.deploy import support


def test_the_bundle_itself_serves_and_passes_its_acceptance_tests(tmp_path: Path) -> None:
    repo = support.make_repo(tmp_path)
    cfg = load_deploy_config(repo, "hello")
    bundle = build_bundle(cfg, tmp_path / "out")
    lines: list[str] = []
    outcome = smoke_test(cfg, bundle, say=lines.append)
    assert outcome.ok, outcome.output
    assert outcome.summary.startswith("/ping and /version OK; acceptance: 1 passed")
    installed = re.search(r"\((.+macaron/__init__\.py)\)", lines[0]).group(1)
    assert "macaron-smoke-" in installed and "/venv/" in installed  # the bundle's copy, not this checkout
    url = re.search(r"answers (http://127\.0\.0\.1:\d+)/ping", lines[1]).group(1)
    with pytest.raises(OSError):  # stopped afterwards
        urllib.request.urlopen(f"{url}/ping", timeout=2)


def test_a_service_with_a_sibling_fakes_and_tasks_is_smoke_tested_among_them(tmp_path: Path) -> None:
    """The repo's user service: its bundle's server and worker run beside this checkout's mail
    service (and worker), the Auth0 and SendGrid fakes and Redis; its acceptance tests pass there,
    the journey's welcome mail included (bundle's worker → mail service → mail worker → SendGrid fake)."""
    cfg = load_deploy_config(support.REAL_ROOT, "user")
    bundle = build_bundle(cfg, tmp_path / "out", allow_dirty=True)  # a checkout being worked on
    lines: list[str] = []
    outcome = smoke_test(cfg, bundle, say=lines.append)
    assert outcome.ok, outcome.output
    assert "(its worker runs too)" in lines[1]
    # every acceptance test passed (the journey included); only the fuzz test skips a non-local target
    assert re.fullmatch(r"/ping and /version OK; acceptance: \d+ passed, 1 skipped in [\d.]+s", outcome.summary)


def test_unpacking_keeps_modes(tmp_path: Path) -> None:
    write_zip(tmp_path / "b.zip", {"run.sh": (0o755, b"#!/bin/sh\n"), "data.txt": (0o644, b"x")})
    unpack(tmp_path / "b.zip", tmp_path / "out")
    assert (tmp_path / "out" / "run.sh").stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "out" / "data.txt").stat().st_mode & 0o777 == 0o644
    assert zipfile.ZipFile(tmp_path / "b.zip").namelist() == ["data.txt", "run.sh"]


def test_a_server_that_dies_is_reported_with_its_log(tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    log.write_text("SpecError: operation hello: cannot import module 'handlers'\n")
    proc = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    proc.wait()
    with pytest.raises(StepFailed, match=r"exited with status 3.*cannot import module"):
        wait_ready(proc, "http://127.0.0.1:9", log, timeout=5)
