"""macaron.clients end to end: real HTTP between served apps (relay → echo/shop/SendGrid fake).

Propagation is checked on the callee side (echo reports the request id and the claims it
verified); retries, timeouts and contract checks run against fakes built from the specs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from macaron import ConfigError, Service, create_app
from macaron._local.fakes import create_fake_app, fingerprint
from macaron.auth import generate_token, service_token
from macaron.clients import (
    ApiClient,
    ClientResponse,
    UpstreamError,
    UpstreamInvalid,
    UpstreamTimeout,
    UpstreamUnavailable,
    client,
)
from macaron.clients._api import warm
from macaron.testing import assert_problem, serve_app

FIXTURES = Path(__file__).parents[1] / "fixtures"
ROOT = Path(__file__).resolve().parents[3]
ENV = {"TEST_JWT_SECRET": "t" * 40, "SHOP_API_KEY": "s3cr3t-shop-key", "RELAY_SENDGRID_KEY": "SG.relay-key"}


@pytest.fixture(autouse=True)
def _quiet_werkzeug() -> Iterator[None]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    yield


@pytest.fixture(scope="module")
def echo_url() -> Iterator[str]:
    with serve_app(create_app(Service.load(FIXTURES / "echo", environ=ENV))) as url:
        yield url


@pytest.fixture(scope="module")
def sendgrid_url() -> Iterator[str]:
    with serve_app(create_fake_app(ROOT / "shared_apis" / "sendgrid.yaml")) as url:
        yield url


@pytest.fixture(scope="module")
def echo_fake() -> Iterator[str]:
    """The echo spec served by a fake: faults and recording for retry and timeout tests."""
    with serve_app(create_fake_app(FIXTURES / "echo" / "api.yaml")) as url:
        yield url


def load_relay(**urls: str) -> Service:
    env = dict(ENV)
    for name, url in urls.items():
        env[f"MACARON_CLIENTS__{name.upper()}__URL"] = url
    return Service.load(FIXTURES / "relay", environ=env)


@pytest.fixture(scope="module")
def relay(echo_url: str, shop_url: str, sendgrid_url: str) -> Iterator[tuple[Service, str]]:
    service = load_relay(echo=echo_url, shop=shop_url, sendgrid=sendgrid_url)
    warm(service)  # as `macaron serve` does before requests come: the first test's 5 s are not spent importing bravado
    with serve_app(create_app(service)) as url:
        yield service, url


@pytest.fixture
def fake(echo_fake: str) -> Iterator[str]:
    yield echo_fake
    requests.delete(echo_fake + "/__fake__/faults", timeout=5)
    requests.delete(echo_fake + "/__fake__/requests", timeout=5)


def recorded(url: str, operation: str) -> list[dict[str, Any]]:
    return list(requests.get(url + "/__fake__/requests", params={"operation": operation}, timeout=5).json())


def fault(url: str, **spec: Any) -> None:
    assert requests.post(url + "/__fake__/faults", json=spec, timeout=5).status_code == 201


def bearer(relay: tuple[Service, str], audience: str | list[str], **kw: Any) -> dict[str, str]:
    token = generate_token("alice", audience=audience, service=relay[0], **kw)
    return {"Authorization": f"Bearer {token}", "X-Request-ID": "req-42"}


def test_request_id_and_token_forwarded_when_the_audience_includes_the_callee(relay: tuple[Service, str]) -> None:
    seen = requests.get(relay[1] + "/relay/whoami", headers=bearer(relay, ["relay", "echo"]), timeout=5).json()
    assert seen["request_id"] == "req-42"
    assert seen["sub"] == "alice" and seen["aud"] == ["relay", "echo"] and seen["act"] is None


def test_token_minted_for_the_callee_on_behalf_of_the_same_user(relay: tuple[Service, str]) -> None:
    seen = requests.get(relay[1] + "/relay/whoami", headers=bearer(relay, "relay", scopes=["profile"]),
                        timeout=5).json()
    assert seen == {"request_id": "req-42", "token_present": True, "sub": "alice", "aud": "echo",
                    "act": {"sub": "relay"}, "scope": "profile", "idempotency_key": None}


def test_open_operation_gets_request_id_and_parameters_but_no_token(relay: tuple[Service, str]) -> None:
    seen = requests.get(relay[1] + "/relay/open", headers={"X-Request-ID": "req-open"}, timeout=5).json()
    assert seen["request_id"] == "req-open" and seen["token_present"] is False
    assert seen["trace"] == "t-1" and seen["tags"] == ["a", "b"]


def test_outside_a_request_a_service_token_with_the_operation_scopes(relay: tuple[Service, str]) -> None:
    echo = client("echo", service=relay[0])
    plain = echo.whoami()
    assert (plain.sub, plain.aud, plain.scope, plain.act) == ("service:relay", "echo", None, None)
    assert len(plain.request_id) == 32  # a fresh id per call outside a request
    assert echo.scoped().scope == "echo:read"
    with service_token(["echo:read"], service=relay[0], sub="service:nightly"):
        assert echo.whoami().sub == "service:nightly"


def test_results_are_the_callee_models(relay: tuple[Service, str]) -> None:
    echo = client("echo", service=relay[0])
    jobs = echo.listJobs()
    assert [type(j) for j in jobs] == [echo.models.Job, echo.models.Job] and jobs[1].name == "two"
    created = echo.createJob(body=echo.models.Job(name="new"))
    assert isinstance(created, echo.models.Job) and created.id == 1
    full = echo.responses.putJob(job_id=9, body={"name": "nine"})
    assert isinstance(full, ClientResponse) and full.status == 200 and full.result.id == 9
    assert full.attempts == 1 and full.request_id


def test_client_is_built_once_per_service(relay: tuple[Service, str]) -> None:
    assert client("echo", service=relay[0]) is client("echo", service=relay[0])
    assert isinstance(client("echo", service=relay[0]), ApiClient)


def test_wrong_arguments_are_type_errors(relay: tuple[Service, str]) -> None:
    echo = client("echo", service=relay[0])
    with pytest.raises(TypeError, match="unexpected argument"):
        echo.getJob(jobid=1)
    with pytest.raises(TypeError, match="missing required"):
        echo.getJob()
    with pytest.raises(AttributeError, match="no operation 'nope'"):
        echo.nope()


def test_external_api_gets_its_api_key_never_the_user_token(relay: tuple[Service, str], sendgrid_url: str) -> None:
    requests.delete(sendgrid_url + "/__fake__/requests", timeout=5)
    mail = {"personalizations": [{"to": [{"email": "a@example.com"}]}], "from": {"email": "no-reply@example.com"},
            "subject": "hi", "content": [{"type": "text/plain", "value": "hello"}]}
    response = requests.post(relay[1] + "/relay/mail", json=mail, headers=bearer(relay, "relay"), timeout=5)
    assert response.status_code == 202 and response.json()["message_id"]
    (sent,) = recorded(sendgrid_url, "sendMail")
    assert sent["credentials"] == {"Authorization": fingerprint("Bearer SG.relay-key")}
    assert sent["headers"]["X-Request-Id"] == "req-42" and sent["body"] == mail
    kept = requests.get(sendgrid_url + "/__fake__/state", timeout=5).json()["mails"]
    assert kept[-1]["message_id"] == response.json()["message_id"]


def test_sendgrid_fake_rejects_a_malformed_payload_naming_the_field(relay: tuple[Service, str]) -> None:
    with pytest.raises(UpstreamError) as caught:
        client("sendgrid", service=relay[0]).sendMail(body={"personalizations": [{"to": [{"email": "nope"}]}]})
    err = caught.value
    assert err.upstream_status == 400  # in SendGrid's own error format, as its spec declares the 400
    assert {e["field"] for e in err.problem["errors"]} == {"from", "personalizations.0.to.0.email"}


def test_unhandled_callee_error_is_502_naming_callee_and_its_request_id(relay: tuple[Service, str]) -> None:
    response = requests.get(relay[1] + "/relay/items/404", headers={"X-Request-ID": "req-404"}, timeout=5)
    body = assert_problem(response, 502, "UPSTREAM_ERROR")
    assert body["upstream"] == {"name": "shop", "operation": "getItem", "status": 404, "request_id": "req-404"}
    assert "shop" in body["detail"] and "req-404" in body["detail"]


def test_reraised_callee_4xx_keeps_its_status_and_code(relay: tuple[Service, str]) -> None:
    response = requests.get(relay[1] + "/relay/items/404", params={"mode": "reraise"}, timeout=5)
    body = assert_problem(response, 404, "ITEM_NOT_FOUND")
    assert body["detail"] == "no item 404" and body["upstream"]["name"] == "shop"


def test_response_breaking_the_callee_spec_is_caught(relay: tuple[Service, str]) -> None:
    liar = Flask("liar")
    liar.add_url_rule("/items/<int:item_id>", "get", lambda item_id: {"id": item_id, "price": "free"})
    liar.add_url_rule("/faults/<kind>", "fault", lambda kind: ({"ok": True}, 201))
    with serve_app(liar) as url:
        shop = client("shop", service=load_relay(shop=url))
        with pytest.raises(UpstreamInvalid) as caught:
            shop.getItem(item_id=3)
        assert {(e.path, e.message) for e in caught.value.field_errors} == {
            ("/response/name", "is required"), ("/response/price", "must be a number")}
        assert caught.value.status == 502 and "breaks its spec" in caught.value.detail
        with pytest.raises(UpstreamInvalid, match="status 201 is not declared"):
            shop.fault(kind="teapot")


def test_idempotent_calls_retry_injected_503s(relay: tuple[Service, str], fake: str) -> None:
    echo = client("echo", service=load_relay(echo=fake))
    fault(fake, operation="getJob", status=503, times=2)
    assert echo.responses.getJob(job_id=5).attempts == 3
    assert len(recorded(fake, "getJob")) == 3
    fault(fake, operation="putJob", status=502, times=1)
    assert echo.responses.putJob(job_id=5, body={"name": "x"}).attempts == 2


def test_non_idempotent_post_is_not_retried(relay: tuple[Service, str], fake: str) -> None:
    echo = client("echo", service=load_relay(echo=fake))
    fault(fake, operation="createJob", status=503, times=1)
    with pytest.raises(UpstreamError) as caught:
        echo.createJob(body={"name": "once"})
    assert caught.value.upstream_status == 503 and caught.value.attempts == 1
    assert len(recorded(fake, "createJob")) == 1


def test_a_refusal_keeps_the_callee_retry_after(relay: tuple[Service, str], fake: str) -> None:
    """Regression (chaos scenario 4): the error lost the callee's Retry-After, so a task retrying
    the call could not wait as long as the callee asked."""
    echo = client("echo", service=load_relay(echo=fake))
    fault(fake, operation="createJob", status=429, times=1, retry_after=7)
    with pytest.raises(UpstreamError) as caught:
        echo.createJob(body={"name": "once"})
    assert (caught.value.upstream_status, caught.value.retry_after) == (429, 7.0)
    fault(fake, operation="createJob", status=503, times=1)
    with pytest.raises(UpstreamError) as without:
        echo.createJob(body={"name": "once"})
    assert without.value.retry_after is None


def test_post_retried_when_marked_idempotent_or_given_a_key(relay: tuple[Service, str], fake: str) -> None:
    echo = client("echo", service=load_relay(echo=fake))
    fault(fake, operation="createJobIdempotent", status=503, times=1)
    assert echo.responses.createJobIdempotent(body={"name": "x"}).attempts == 2
    fault(fake, operation="createJob", status=429, times=1, retry_after=0)
    assert echo.responses.createJob(body={"name": "k"}, _idempotency_key="key-1").attempts == 2
    keys = [r["headers"].get("Idempotency-Key") for r in recorded(fake, "createJob")]
    assert keys == ["key-1", "key-1"]


def test_retries_stop_after_the_configured_count(relay: tuple[Service, str], fake: str) -> None:
    echo = client("echo", service=load_relay(echo=fake))
    fault(fake, operation="getJob", status=503, times=10)
    with pytest.raises(UpstreamError) as caught:
        echo.getJob(job_id=1, _retries=1)
    assert caught.value.attempts == 2 and len(recorded(fake, "getJob")) == 2


def test_read_timeout_per_call_is_504_and_not_retried(relay: tuple[Service, str], fake: str) -> None:
    echo = client("echo", service=load_relay(echo=fake))
    fault(fake, operation="getJob", delay_ms=1500, times=1)
    with pytest.raises(UpstreamTimeout) as caught:
        echo.getJob(job_id=1, _timeout=0.2)
    assert caught.value.status == 504 and caught.value.code == "UPSTREAM_TIMEOUT"
    assert len(recorded(fake, "getJob")) == 1


def test_unreachable_callee_after_retries() -> None:
    from macaron._local.ports import free_port

    echo = client("echo", service=load_relay(echo=f"http://127.0.0.1:{free_port()}"))
    with pytest.raises(UpstreamUnavailable) as caught:
        echo.getJob(job_id=1)
    assert caught.value.attempts == 3 and caught.value.status == 502


def test_missing_client_config_names_the_fix() -> None:
    relay = load_relay()
    with pytest.raises(ConfigError, match=r"declares no .clients: \{mail: \.\.\.\}."):
        client("mail", service=relay)


def test_bravado_and_requests_load_lazily_and_without_warnings() -> None:
    import subprocess
    import sys

    code = f"""
import sys, warnings
warnings.simplefilter("error")
import macaron._server.app, macaron.clients
assert not {{"bravado", "bravado_core", "jsonschema", "requests"}} & set(sys.modules), "imported at start"
from macaron import Service
from macaron.clients import client
relay = Service.load({str(FIXTURES / "relay")!r}, environ={ENV!r})
client("sendgrid", service=relay)
assert "bravado_core" in sys.modules
"""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
