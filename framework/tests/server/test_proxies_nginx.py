"""trusted_proxies with a real reverse proxy in front: nginx (started here on 127.0.0.1 with a
generated config) forwards to the peer fixture, reaching it from 127.0.0.2, while clients come
from 127.0.0.5 and 127.0.0.6 (all loopback; every listener is on 127.0.0.1).

Without trusted_proxies every client is the proxy (the bug behind global rate limits and
brute-force blocks behind the ALB); with it each client is itself, and a forged
``X-Forwarded-For`` from an untrusted peer, or sent through the proxy, changes nothing.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any

import pytest
from macaron import Service, create_app
from macaron._local.balancer import Balancer
from macaron.testing import capture_logs, serve_app

from ..conftest import FIXTURES

PROXY, CLIENT, OTHER = "127.0.0.2", "127.0.0.5", "127.0.0.6"


def whoami(port: int, source: str, **headers: str) -> dict[str, Any]:
    """GET /whoami on 127.0.0.1:port from the loopback address ``source``."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
    try:
        conn.request("GET", "/whoami", headers=headers)
        answer = conn.getresponse()
        assert answer.status == 200, answer.read()
        return dict(json.loads(answer.read()))
    finally:
        conn.close()


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


@pytest.fixture
def behind_nginx(nginx: str, tmp_path: Any) -> Iterator[Any]:
    """``behind_nginx(trusted_proxies)``: (the app's port, nginx's port, the Service)."""
    started: list[Any] = []

    def start(trusted: str | None) -> tuple[int, int, Service]:
        environ = {"MACARON_TRUSTED_PROXIES": trusted} if trusted is not None else {}
        service = Service.load(FIXTURES / "peer", environ=environ)
        served = serve_app(create_app(service))
        url = served.__enter__()
        started.append(served)
        balancer = Balancer({"peer": [f"127.0.0.1:{port_of(url)}"]}, source=PROXY, binary=nginx,
                            directory=tmp_path / f"nginx-{len(started)}").start()
        started.append(balancer)
        return port_of(url), balancer.ports["peer"], service

    yield start
    for thing in reversed(started):
        thing.__exit__(None, None, None)


def test_without_trusted_proxies_every_client_is_the_proxy(behind_nginx: Any) -> None:
    app, proxy, _ = behind_nginx(None)
    seen = whoami(proxy, CLIENT)
    assert seen["remote_addr"] == PROXY and seen["forwarded_for"] == CLIENT  # nginx did append the client
    assert seen["client"] == PROXY
    assert whoami(proxy, OTHER)["client"] == PROXY  # two clients, one address: limits become global
    assert whoami(app, CLIENT, **{"X-Forwarded-For": "203.0.113.9"})["client"] == CLIENT


@pytest.mark.parametrize("trusted", [f"{{cidrs: [{PROXY}/32]}}", "1"], ids=["cidr", "one-hop"])
def test_behind_a_trusted_proxy_each_client_is_itself(behind_nginx: Any, trusted: str) -> None:
    _, proxy, service = behind_nginx(trusted)
    with capture_logs(service) as logs:
        assert whoami(proxy, CLIENT)["client"] == CLIENT
        assert whoami(proxy, OTHER)["client"] == OTHER
    assert [line["client"] for line in logs.records if line.get("path") == "/whoami"] == [CLIENT, OTHER]


@pytest.mark.parametrize("trusted", [f"{{cidrs: [{PROXY}/32]}}", "1"], ids=["cidr", "one-hop"])
def test_a_forged_x_forwarded_for_changes_nothing(behind_nginx: Any, trusted: str) -> None:
    app, proxy, _ = behind_nginx(trusted)
    forged = {"X-Forwarded-For": "203.0.113.9, 10.0.0.1"}
    through = whoami(proxy, CLIENT, **forged)  # through the proxy: it appends the real peer
    assert through["forwarded_for"] == f"203.0.113.9, 10.0.0.1, {CLIENT}" and through["client"] == CLIENT
    direct = whoami(app, OTHER, **forged, Forwarded="for=203.0.113.10")  # straight to the app
    if trusted == "1":
        # a hop count trusts whoever is next to the service: a client that can reach an instance
        # directly can forge (why the Beanstalk defaults trust CIDRs of the VPC, which clients are not in)
        assert direct["client"] == "10.0.0.1"
    else:
        assert direct["client"] == OTHER
