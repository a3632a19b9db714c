"""LocalSystem: a whole system on free ports, wired through the environment, stopped clean."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
import yaml
from macaron import ConfigError
from macaron.testing._system import LocalSystem


def spec(paths: dict) -> str:
    return yaml.safe_dump({"swagger": "2.0", "info": {"title": "t", "version": "1"}, "paths": paths})


def ok(op_id: str) -> dict:
    return {"get": {"operationId": op_id, "responses": {"200": {"description": "ok", "schema": {"type": "object"}}}}}


def make_root(tmp_path: Path) -> Path:
    front = tmp_path / "services" / "front"
    back = tmp_path / "services" / "back"
    for directory in (front, back):
        directory.mkdir(parents=True)
    (back / "service.yaml").write_text("port: 1\n")  # a taken port: LocalSystem never uses configured ports
    (back / "api.yaml").write_text(spec({"/answer": ok("answer")}))
    (back / "handlers.py").write_text("def answer():\n    return {'answer': 42}\n")
    (front / "service.yaml").write_text("port: 2\nclients:\n  back: {url: null}\n")
    (front / "api.yaml").write_text(spec({"/relay": ok("relay")}))
    (front / "handlers.py").write_text(
        "from macaron.clients import client\n\n\ndef relay():\n    return {'back': client('back').answer()}\n"
    )
    return tmp_path


def test_services_find_each_other_on_free_ports(tmp_path: Path) -> None:
    system = LocalSystem(make_root(tmp_path)).start()
    try:
        assert set(system.urls) == {"front", "back"}
        assert all(not url.endswith((":1", ":2")) for url in system.urls.values())
        assert requests.get(f"{system.urls['front']}/relay", timeout=30).json() == {"back": {"answer": 42}}
        assert system.env["MACARON_BACK_PORT"] == system.urls["back"].rsplit(":", 1)[1]
        assert '"path": "/relay"' in system.logs()
    finally:
        system.stop()
    for url in system.urls.values():
        try:
            requests.get(f"{url}/ping", timeout=1)
            raise AssertionError(f"{url} still answers after stop()")
        except requests.ConnectionError:
            pass


def test_a_service_that_cannot_start_is_reported_with_its_output(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    (root / "services" / "back" / "handlers.py").write_text("def other():\n    pass\n")
    with pytest.raises(ConfigError) as info:
        LocalSystem(root).start()
    assert "back exited with status 2" in str(info.value)
    assert "has no function 'answer'" in str(info.value)


def test_instances_sit_behind_a_round_robin_balancer_and_stop_with_the_system(tmp_path: Path, nginx: str) -> None:
    """instances=2: two processes per service behind nginx on the service's port; siblings call each
    other through it; a stopped instance's share goes to the other; stop() leaves nothing running."""
    system = LocalSystem(make_root(tmp_path), instances=2).start()
    try:
        assert [p.name for p in system.instances("back")] == ["back-1", "back-2"]
        assert system.balancer is not None and system.dynamodb is None  # no service has a store
        for _ in range(4):
            assert requests.get(f"{system.urls['front']}/relay", timeout=30).json() == {"back": {"answer": 42}}
        answered = system.balancer.answered_by()
        assert set(system.upstreams["front"]) | set(system.upstreams["back"]) == set(answered)
        assert system.env["MACARON_TRUSTED_PROXIES"] == "1"  # the balancer, and only it, is trusted
        first = system.instances("back")[0]
        assert first.popen is not None
        first.popen.terminate()
        first.popen.wait(timeout=30)
        assert [requests.get(f"{system.urls['back']}/answer", timeout=30).status_code for _ in range(4)] == [200] * 4
    finally:
        system.stop()
    urls = [*system.urls.values(), *(f"http://{u}" for ups in system.upstreams.values() for u in ups)]
    for url in urls:
        try:
            requests.get(f"{url}/ping", timeout=1)
            raise AssertionError(f"{url} still answers after stop()")
        except requests.ConnectionError:
            pass


def test_an_instance_whose_port_was_taken_meanwhile_moves_to_another(tmp_path: Path, nginx: str,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A port free when planned can be taken before the instance binds it (other processes open
    connections all the time): the instance moves and the balancer learns its new port."""
    import socket

    from macaron._local import fleet
    from macaron._local.ports import free_port

    squatter = socket.socket()
    squatter.bind(("127.0.0.1", 0))
    squatter.listen()
    taken = squatter.getsockname()[1]
    ports = iter([taken])
    monkeypatch.setattr(fleet, "free_port", lambda host="127.0.0.1": next(ports, None) or free_port(host))
    system = LocalSystem(make_root(tmp_path), instances=2).start()
    try:
        assert f"127.0.0.1:{taken}" not in system.upstreams["back"] + system.upstreams["front"]
        assert [requests.get(f"{system.urls['back']}/answer", timeout=30).status_code for _ in range(4)] == [200] * 4
    finally:
        system.stop()
        squatter.close()
