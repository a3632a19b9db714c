"""Services side by side: a copy's port goes to its original, the copy gets a free one (dev, serve);
two services sharing a store table, a SQLite file or a token audience stop the dev system."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml
from macaron import ConfigError, load_config
from macaron._local.ports import free_port
from macaron._local.siblings import Claim, check_apart, sibling_holding, yielding

SPEC = {"swagger": "2.0", "info": {"title": "t", "version": "1"}, "paths": {"/hello": {"get": {
    "operationId": "hello", "responses": {"200": {"description": "ok", "schema": {"type": "object"}}}}}}}


def service(root: Path, name: str, config: str) -> Path:
    """A tiny service; the one made first is the original (its service.yaml changed first)."""
    directory = root / "services" / name
    directory.mkdir(parents=True)
    (directory / "service.yaml").write_text(config)
    (directory / "api.yaml").write_text(yaml.safe_dump(SPEC))
    (directory / "handlers.py").write_text(f"def hello():\n    return {{'service': '{name}'}}\n")
    return directory


def test_the_original_keeps_a_shared_port(tmp_path: Path) -> None:
    original = service(tmp_path, "mail", "port: 8002\n")
    copy = service(tmp_path, "billing", "port: 8002\n")  # first by name, but changed later
    stamp = time.time() - 3600
    os.utime(copy / "service.yaml", (stamp, stamp))  # as `cp -a` does: an old mtime, yet a new ctime
    other = service(tmp_path, "user", "port: 8001\n")
    claims = [Claim(d.name, d, 8002) for d in (copy, original)] + [Claim("user", other, 8001)]
    moved = yielding(claims)
    assert set(moved) == {"billing"} and moved["billing"].name == "mail"
    assert set(yielding([Claim("mail", original, 8002), Claim("alpha", original, 8002)])) == {"mail"}  # by name


def test_a_committed_service_keeps_its_port_over_an_uncommitted_copy(tmp_path: Path) -> None:
    copy = service(tmp_path, "billing", "port: 8002\n")  # written first, but not committed
    original = service(tmp_path, "mail", "port: 8002\n")
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "services/mail"], check=True)
    assert set(yielding([Claim("billing", copy, 8002), Claim("mail", original, 8002)])) == {"billing"}


def test_serve_reads_siblings_only_in_a_services_folder(tmp_path: Path) -> None:
    service(tmp_path, "mail", "port: 8002\n")
    copy = service(tmp_path, "billing", "port: 8002\n")
    assert sibling_holding(load_config(copy, environ={}), environ={}).name == "mail"
    assert sibling_holding(load_config(copy, environ={}), environ={"MACARON_MAIL_PORT": "9000"}) is None
    moved = load_config(copy, environ={"MACARON_BILLING_PORT": "9001"})
    assert sibling_holding(moved, environ={}) is None
    loose = tmp_path / "elsewhere" / "billing"
    loose.mkdir(parents=True)
    (loose / "service.yaml").write_text("port: 8002\n")
    (tmp_path / "elsewhere" / "mail").mkdir()
    (tmp_path / "elsewhere" / "mail" / "service.yaml").write_text("port: 8002\n")
    assert sibling_holding(load_config(loose, environ={}), environ={}) is None


def serve(directory: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "macaron", "serve", str(directory)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def stop(proc: subprocess.Popen[str]) -> str:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
    _, err = proc.communicate(timeout=20)
    return err


def answer(url: str, proc: subprocess.Popen[str]) -> dict:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[1]
        try:
            return requests.get(url, timeout=1).json()
        except requests.ConnectionError:
            time.sleep(0.05)
    raise AssertionError(f"{url} never answered")


def test_serve_gives_a_copy_a_free_port_and_says_so(tmp_path: Path) -> None:
    port = free_port()
    original = service(tmp_path, "mail", f"port: {port}\n")
    copy = service(tmp_path, "billing", f"port: {port}\n")
    first = serve(original)
    try:
        assert answer(f"http://127.0.0.1:{port}/hello", first) == {"service": "mail"}
        second = serve(copy)
        try:
            line = ""
            while "http://" not in line:
                line = second.stderr.readline()
                assert line, "macaron serve of the copy said nothing"
            assert f"port {port} in services/billing/service.yaml is mail's too" in line
            moved = int(re.search(r"http://127\.0\.0\.1:(\d+)", line)[1])
            assert moved != port
            assert answer(f"http://127.0.0.1:{moved}/hello", second) == {"service": "billing"}
            assert answer(f"http://127.0.0.1:{port}/hello", first) == {"service": "mail"}
        finally:
            stop(second)
    finally:
        stop(first)


def test_explicit_shared_table_prefix_or_audience_is_refused(tmp_path: Path) -> None:
    store = "store: {backend: sqlite, path: null, table_prefix: null}\n"
    mail = service(tmp_path, "mail", "port: 1\n" + store)
    copy = service(tmp_path, "billing", "port: 2\n" + store)
    check_apart([load_config(mail, environ={}), load_config(copy, environ={})])  # derived: apart

    shared_file = "store: {backend: sqlite, path: /tmp/x.sqlite3, table_prefix: dev-mail-}\n"
    (mail / "service.yaml").write_text("port: 1\n" + shared_file)
    (copy / "service.yaml").write_text("port: 2\n" + shared_file)
    with pytest.raises(ConfigError, match=r"'mail' and 'billing' would share the SQLite file") as info:
        check_apart([load_config(copy, environ={}), load_config(mail, environ={})])
    assert str(copy / "service.yaml") in str(info.value) and "set it to null" in str(info.value)

    dynamo = "store: {backend: dynamodb, table_prefix: live-mail-}\n"
    (mail / "service.yaml").write_text("port: 1\n" + dynamo)
    (copy / "service.yaml").write_text("port: 2\n" + dynamo)
    with pytest.raises(ConfigError, match="DynamoDB table prefix"):
        check_apart([load_config(mail, environ={}), load_config(copy, environ={})])

    (mail / "service.yaml").write_text("port: 1\n")
    (copy / "service.yaml").write_text("port: 2\nauth: {audience: mail}\n")
    with pytest.raises(ConfigError, match=r"token audience 'auth: audience' \('mail'\)"):
        check_apart([load_config(mail, environ={}), load_config(copy, environ={})])
