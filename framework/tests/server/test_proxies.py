"""trusted_proxies: which X-Forwarded-For / Forwarded entries are believed (``_server/proxies.py``).

The chain is walked from the right past trusted hops; a peer that is not trusted is the client,
whatever it wrote in the headers. Tested here on the parsing and the walk; with a real nginx in
front in ``test_proxies_nginx.py``.
"""

from __future__ import annotations

from typing import Any

import pytest
from macaron import ConfigError, Service, create_app
from macaron._server.proxies import TrustedProxies, forwarded_for, parse_address

from ..conftest import FIXTURES


def environ(peer: str, xff: str | None = None, forwarded: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"REMOTE_ADDR": peer}
    if xff is not None:
        out["HTTP_X_FORWARDED_FOR"] = xff
    if forwarded is not None:
        out["HTTP_FORWARDED"] = forwarded
    return out


def test_by_default_nothing_is_trusted_and_headers_are_ignored() -> None:
    proxies = TrustedProxies.from_config(None)
    assert proxies.trusts_nothing
    assert proxies.client(environ("10.0.0.7", "203.0.113.9", "for=198.51.100.1")) == "10.0.0.7"
    for nothing in (0, "", {}, [], False, {"hops": 0, "cidrs": []}):
        assert TrustedProxies.from_config(nothing).trusts_nothing


def test_hops_trust_the_nearest_proxies_and_no_more() -> None:
    alb = TrustedProxies.from_config(1)  # the ALB appends the client to what the client sent
    assert alb.client(environ("10.0.0.7", "203.0.113.9")) == "203.0.113.9"
    assert alb.client(environ("10.0.0.7", "6.6.6.6, 203.0.113.9")) == "203.0.113.9"  # the forged entry is left
    two = TrustedProxies.from_config({"hops": 2})  # ALB, then nginx on the instance
    assert two.client(environ("172.17.0.1", "6.6.6.6, 203.0.113.9, 10.0.0.7")) == "203.0.113.9"
    assert two.client(environ("172.17.0.1", "203.0.113.9")) == "203.0.113.9"  # chain shorter: its leftmost
    assert two.client(environ("172.17.0.1")) == "172.17.0.1"  # a health check from the proxy itself


def test_cidrs_trust_proxies_wherever_they_are_and_never_a_direct_client() -> None:
    private = TrustedProxies.from_config(["10.0.0.0/8", "172.16.0.0/12"])
    assert private.client(environ("172.17.0.1", "6.6.6.6, 203.0.113.9, 10.0.3.4")) == "203.0.113.9"
    assert private.client(environ("10.0.3.4", "203.0.113.9")) == "203.0.113.9"  # no nginx this time
    # a client reaching the instance directly, forging the header: an untrusted peer, headers ignored
    assert private.client(environ("203.0.113.66", "10.0.0.1, 198.51.100.1")) == "203.0.113.66"
    assert TrustedProxies.from_config("10.0.0.0/8, 192.168.0.0/16").cidrs == private.cidrs[:1] + (
        TrustedProxies.from_config(["192.168.0.0/16"]).cidrs)


def test_an_untrusted_hop_in_the_middle_ends_the_walk() -> None:
    proxies = TrustedProxies.from_config({"cidrs": ["10.0.0.0/8"]})
    # 203.0.113.9 is not a proxy of ours: what it claims to have received from is not believed
    assert proxies.client(environ("10.0.0.7", "10.0.0.8, 203.0.113.9")) == "203.0.113.9"


def test_malformed_entries_end_the_walk_at_the_hop_that_passed_them_on() -> None:
    proxies = TrustedProxies.from_config({"hops": 3})
    assert proxies.client(environ("10.0.0.7", "not-an-ip")) == "10.0.0.7"
    assert proxies.client(environ("10.0.0.7", "203.0.113.9, unknown, 10.0.0.8")) == "10.0.0.8"
    assert proxies.client(environ("10.0.0.7", " , 203.0.113.9 ,, ")) == "203.0.113.9"  # empty items skipped


def test_addresses_with_ports_brackets_and_mapped_ipv4() -> None:
    assert str(parse_address("203.0.113.9:4711")) == "203.0.113.9"
    assert str(parse_address('"[2001:db8:cafe::17]:4711"')) == "2001:db8:cafe::17"
    assert str(parse_address("2001:db8::1")) == "2001:db8::1"
    assert str(parse_address("::ffff:10.0.0.1")) == "10.0.0.1"
    assert parse_address("unknown") is None and parse_address("_hidden") is None and parse_address("") is None
    v6 = TrustedProxies.from_config({"cidrs": ["fd00::/8"]})
    assert v6.client(environ("fd00::1", "2001:db8::5")) == "2001:db8::5"
    assert v6.client(environ("10.0.0.1", "2001:db8::5")) == "10.0.0.1"  # an IPv4 peer is in no IPv6 network


def test_only_the_configured_header_is_read() -> None:
    xff = TrustedProxies.from_config({"hops": 1})
    # the proxy writes X-Forwarded-For; a Forwarded header is the client's own text
    assert xff.client(environ("10.0.0.7", "203.0.113.9", forwarded="for=6.6.6.6")) == "203.0.113.9"
    rfc = TrustedProxies.from_config({"hops": 1, "header": "forwarded"})
    assert rfc.client(environ("10.0.0.7", "6.6.6.6", forwarded='for=6.6.6.7, for="[2001:db8::9]:80";proto=https')) \
        == "2001:db8::9"
    assert forwarded_for('for=192.0.2.60;proto=http;by=203.0.113.43, For="a,b";by=x, proto=https') == [
        "192.0.2.60", "a,b", "unknown"]


def test_the_answer_is_computed_once_per_request() -> None:
    proxies = TrustedProxies.from_config(1)
    env = environ("10.0.0.7", "203.0.113.9")
    assert proxies.client(env) == "203.0.113.9"
    env["HTTP_X_FORWARDED_FOR"] = "6.6.6.6"
    assert proxies.client(env) == "203.0.113.9"


@pytest.mark.parametrize(("value", "message"), [
    ({"hops": -1}, "whole number"), ({"hops": "two"}, "whole number"), ({"hops": True}, "whole number"),
    ({"cidrs": ["10.0.0.0/33"]}, "not an address"), (["nonsense"], "not an address"),
    ({"header": "x-real-ip"}, "not one of"), ({"hop": 1}, "unknown keys"), (True, "hop count"),
])
def test_bad_settings_stop_start_up_naming_the_key(value: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        TrustedProxies.from_config(value)


def test_the_setting_comes_from_service_yaml_or_the_environment() -> None:
    service = Service.load(FIXTURES / "peer", environ={"MACARON_TRUSTED_PROXIES": "{cidrs: [10.0.0.0/8]}"})
    app = create_app(service)
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.1.2.3"
    body = client.get("/whoami", headers={"X-Forwarded-For": "6.6.6.6, 203.0.113.9"}).get_json()
    assert body == {"client": "203.0.113.9", "remote_addr": "10.1.2.3", "forwarded_for": "6.6.6.6, 203.0.113.9"}
    plain = create_app(Service.load(FIXTURES / "peer", environ={})).test_client()
    plain.environ_base["REMOTE_ADDR"] = "10.1.2.3"
    assert plain.get("/whoami", headers={"X-Forwarded-For": "203.0.113.9"}).get_json()["client"] == "10.1.2.3"
    with pytest.raises(ConfigError, match=r"trusted_proxies\.header"):
        create_app(Service.load(FIXTURES / "peer", environ={"MACARON_TRUSTED_PROXIES": "{header: via}"}))
