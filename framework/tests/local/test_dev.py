"""``macaron dev``: discovers services, serves them on their ports, stops them all on Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests
import yaml
from macaron._local.dev import discover_services
from macaron._local.ports import free_port

SPEC = {
    "swagger": "2.0",
    "info": {"title": "t", "version": "1"},
    "paths": {
        "/hello": {
            "get": {"operationId": "hello", "responses": {"200": {"description": "ok", "schema": {"type": "object"}}}}
        }
    },
}


def make_root(tmp_path: Path, ports: dict[str, int]) -> Path:
    for name, port in ports.items():
        directory = tmp_path / "services" / name
        directory.mkdir(parents=True)
        (directory / "service.yaml").write_text(f"port: {port}\n")
        (directory / "api.yaml").write_text(yaml.safe_dump(SPEC))
        (directory / "handlers.py").write_text(f"def hello():\n    return {{'service': '{name}'}}\n")
    (tmp_path / "services" / "not_a_service").mkdir()
    return tmp_path


def test_discovery_ignores_directories_without_service_yaml(tmp_path: Path) -> None:
    root = make_root(tmp_path, {"b": 1, "a": 2})
    assert [p.name for p in discover_services(root)] == ["a", "b"]


def test_dev_serves_every_service_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    ports = {"alpha": free_port(), "beta": free_port()}
    root = make_root(tmp_path, ports)
    proc = subprocess.Popen(
        [sys.executable, "-m", "macaron", "dev", "--root", str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            lines.append(line)
            if "Ctrl-C stops everything" in line or not line:
                break
        output = "".join(lines)
        for name, port in ports.items():
            assert f"http://127.0.0.1:{port}/docs" in output
            assert requests.get(f"http://127.0.0.1:{port}/hello", timeout=5).json() == {"service": name}
        os.killpg(proc.pid, signal.SIGINT)
        rest, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0
        assert "stopped" in rest
        for port in ports.values():
            try:
                requests.get(f"http://127.0.0.1:{port}/ping", timeout=1)
                raise AssertionError(f"port {port} still answers after Ctrl-C")
            except requests.ConnectionError:
                pass
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_a_copy_on_its_originals_port_gets_a_free_one_and_a_note(tmp_path: Path) -> None:
    """``cp -r services/alpha services/beta``: alpha keeps its port, beta is moved and told why."""
    port = free_port()
    root = make_root(tmp_path, {"alpha": port, "beta": port})  # alpha is written first: the original
    proc = subprocess.Popen([sys.executable, "-m", "macaron", "dev", "--root", str(root)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        lines = []
        while not lines or ("Ctrl-C stops everything" not in lines[-1] and lines[-1]):
            lines.append(proc.stdout.readline())
        output = "".join(lines)
        assert f"alpha        url    http://127.0.0.1:{port}\n" in output
        beta = int(re.search(r"beta +url +http://127\.0\.0\.1:(\d+)", output)[1])
        assert beta != port
        assert f"beta         note   port {port} in services/beta/service.yaml is alpha's too, so beta is on {beta}" \
            in output
        assert requests.get(f"http://127.0.0.1:{port}/hello", timeout=5).json() == {"service": "alpha"}
        assert requests.get(f"http://127.0.0.1:{beta}/hello", timeout=5).json() == {"service": "beta"}
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
