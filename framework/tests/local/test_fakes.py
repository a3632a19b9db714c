"""Fake servers built from specs: validation, answers, recording, faults, stateful handlers, CLI."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from macaron import Service
from macaron._local.fakes import create_fake_app, fingerprint
from macaron._local.ports import free_port
from macaron.clients import UpstreamError, client
from macaron.testing import assert_problem, serve_app

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = Path(__file__).parents[1] / "fixtures"
SENDGRID = ROOT / "shared_apis" / "sendgrid.yaml"
AUTH0 = ROOT / "shared_apis" / "auth0.yaml"
KEY = {"Authorization": "Bearer SG.test-key"}
MAIL = {"personalizations": [{"to": [{"email": "a@example.com"}]}], "from": {"email": "no-reply@example.com"},
        "subject": "Hello", "content": [{"type": "text/plain", "value": "Hi"}]}


@pytest.fixture(autouse=True)
def _quiet() -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)


@pytest.fixture
def sendgrid() -> Iterator[str]:
    with serve_app(create_fake_app(SENDGRID)) as url:
        yield url


@pytest.fixture
def auth0() -> Iterator[str]:
    with serve_app(create_fake_app(AUTH0)) as url:
        yield url


@pytest.fixture
def stateless_auth0() -> Iterator[str]:
    with serve_app(create_fake_app(AUTH0, stateful=False)) as url:
        yield url


def test_malformed_payload_is_a_400_in_the_spec_error_format_naming_each_field(sendgrid: str) -> None:
    bad = {"personalizations": [{"to": [{"email": "not-an-address"}]}], "frm": {"email": "x@example.com"}}
    response = requests.post(sendgrid + "/v3/mail/send", json=bad, headers=KEY, timeout=5)
    assert response.status_code == 400 and response.headers["Content-Type"] == "application/json"
    errors = response.json()["errors"]  # SendGridErrors, as the spec declares its 400
    assert sorted(e["field"] for e in errors) == ["from", "personalizations.0.to.0.email"]
    assert all(e["message"] for e in errors) and set(response.json()) == {"errors"}


def test_missing_credentials_get_the_spec_401_example(sendgrid: str) -> None:
    response = requests.post(sendgrid + "/v3/mail/send", json=MAIL, timeout=5)
    assert response.status_code == 401
    assert response.json()["errors"][0]["message"].startswith("The provided authorization grant is invalid")


def test_spec_examples_and_text_bodies_without_handlers(stateless_auth0: str) -> None:
    token = requests.post(stateless_auth0 + "/oauth/token", json={"grant_type": "password", "client_id": "c"},
                          timeout=5)
    assert token.status_code == 200 and token.json()["scope"] == "openid profile email offline_access"
    reset = requests.post(stateless_auth0 + "/dbconnections/change_password",
                          json={"client_id": "c", "email": "a@example.com", "connection": "db"}, timeout=5)
    assert reset.headers["Content-Type"].startswith("text/plain") and "reset your password" in reset.text
    denied = requests.get(stateless_auth0 + "/userinfo", timeout=5)
    assert denied.status_code == 401 and denied.text == "Unauthorized"


def test_bodies_generated_from_schemas_are_valid() -> None:
    with serve_app(create_fake_app(FIXTURES / "echo" / "api.yaml")) as url:
        auth = {"Authorization": "Bearer anything"}
        job = requests.get(url + "/jobs/3", headers=auth, timeout=5).json()
        jobs = requests.get(url + "/jobs-list", headers=auth, timeout=5).json()
    assert isinstance(job["id"], int) and len(job["name"]) >= 1
    assert isinstance(jobs, list) and set(jobs[0]) == {"id", "name"}


def test_requests_are_recorded_without_credentials(sendgrid: str) -> None:
    requests.post(sendgrid + "/v3/mail/send", json=MAIL, headers={**KEY, "X-Request-ID": "r-1"}, timeout=5)
    (entry,) = requests.get(sendgrid + "/__fake__/requests", timeout=5).json()
    assert entry["operation"] == "sendMail" and entry["method"] == "POST" and entry["path"] == "/v3/mail/send"
    assert entry["body"] == MAIL and entry["status"] == 202 and entry["headers"]["X-Request-Id"] == "r-1"
    assert "Authorization" not in entry["headers"] and "SG.test-key" not in str(entry)
    assert entry["credentials"] == {"Authorization": fingerprint("Bearer SG.test-key")}
    assert requests.delete(sendgrid + "/__fake__/requests", timeout=5).status_code == 204
    assert requests.get(sendgrid + "/__fake__/requests", timeout=5).json() == []


def test_injected_status_faults_use_the_spec_error_bodies_and_run_out(sendgrid: str) -> None:
    fault = {"operation": "sendMail", "status": 429, "times": 2, "retry_after": 3}
    assert requests.post(sendgrid + "/__fake__/faults", json=fault, timeout=5).status_code == 201
    assert requests.get(sendgrid + "/__fake__/faults", timeout=5).json()[0]["times"] == 2
    statuses = []
    for _ in range(3):
        response = requests.post(sendgrid + "/v3/mail/send", json=MAIL, headers=KEY, timeout=5)
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert response.headers["Retry-After"] == "3"
            assert response.json() == {"errors": [{"message": "too many requests", "field": None, "help": None}]}
    assert statuses == [429, 429, 202]


def test_undeclared_fault_status_is_a_problem_and_faults_can_be_cleared(sendgrid: str) -> None:
    """A 503 that sendMail does not declare: a problem body, in the JSON type the operation
    produces (``application/json``), so even an injected fault stays in a type the spec lists."""
    requests.post(sendgrid + "/__fake__/faults", json={"status": 503, "times": 5}, timeout=5)
    fault = requests.post(sendgrid + "/v3/mail/send", json=MAIL, headers=KEY, timeout=5)
    assert fault.status_code == 503 and fault.headers["Content-Type"] == "application/json"
    assert fault.json()["code"] == "INJECTED_FAULT" and fault.json()["request_id"] == fault.headers["X-Request-ID"]
    assert requests.delete(sendgrid + "/__fake__/faults", timeout=5).status_code == 204
    assert requests.post(sendgrid + "/v3/mail/send", json=MAIL, headers=KEY, timeout=5).status_code == 202


def test_delay_faults_delay_then_answer(sendgrid: str) -> None:
    requests.post(sendgrid + "/__fake__/faults", json={"delay_ms": 300}, timeout=5)
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.post(sendgrid + "/v3/mail/send", json=MAIL, headers=KEY, timeout=0.05)


@pytest.mark.parametrize("fault", [{"operation": "nope", "status": 503}, {"status": 99}, {"times": 2}, [1],
                                   {"delay_ms": -1}])
def test_bad_fault_requests_are_400(sendgrid: str, fault: Any) -> None:
    assert_problem(requests.post(sendgrid + "/__fake__/faults", json=fault, timeout=5), 400, "BAD_REQUEST")


def test_unknown_route_is_a_404_problem(sendgrid: str) -> None:
    assert_problem(requests.get(sendgrid + "/v3/nope", timeout=5), 404, "NOT_FOUND")


def test_sendgrid_fake_keeps_mails_and_enforces_cross_field_rules(sendgrid: str) -> None:
    sent = requests.post(sendgrid + "/v3/mail/send", json=MAIL, headers=KEY, timeout=5)
    assert sent.status_code == 202 and sent.content == b"" and "Content-Type" not in sent.headers
    (kept,) = requests.get(sendgrid + "/__fake__/state", timeout=5).json()["mails"]
    assert kept["message_id"] == sent.headers["X-Message-Id"] and kept["mail"] == MAIL
    no_content = {k: v for k, v in MAIL.items() if k != "content"}
    refused = requests.post(sendgrid + "/v3/mail/send", json=no_content, headers=KEY, timeout=5)
    assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "content"
    twice = {**MAIL, "personalizations": [{"to": [{"email": "a@example.com"}], "cc": [{"email": "A@example.com"}]}]}
    refused = requests.post(sendgrid + "/v3/mail/send", json=twice, headers=KEY, timeout=5)
    assert refused.json()["errors"][0]["field"] == "personalizations.0.cc"
    assert requests.delete(sendgrid + "/__fake__/state", timeout=5).status_code == 204
    assert requests.get(sendgrid + "/__fake__/state", timeout=5).json() == {}


def signup(url: str, email: str = "alex@example.com", password: str = "correct-horse") -> requests.Response:
    body = {"client_id": "c", "email": email, "password": password, "connection": "Username-Password-Authentication"}
    return requests.post(url + "/dbconnections/signup", json=body, timeout=5)


def login(url: str, password: str, **extra: str) -> requests.Response:
    body = {"grant_type": "http://auth0.com/oauth/grant-type/password-realm", "client_id": "c",
            "username": "ALEX@example.com", "password": password, "realm": "Username-Password-Authentication",
            "scope": "openid offline_access", **extra}
    return requests.post(url + "/oauth/token", json=body, timeout=5)


def test_auth0_fake_signup_duplicate_and_weak_password(auth0: str) -> None:
    created = signup(auth0)
    assert created.status_code == 200 and created.json()["email"] == "alex@example.com"
    assert created.json()["email_verified"] is False and created.json()["_id"]
    duplicate = signup(auth0)
    assert duplicate.status_code == 400
    assert duplicate.json() == {"name": "BadRequestError", "code": "user_exists",
                                "description": "The user already exists.", "statusCode": 400}
    weak = signup(auth0, email="b@example.com", password="short")
    assert weak.status_code == 400 and weak.json()["name"] == "PasswordStrengthError"
    assert "correct-horse" not in requests.get(auth0 + "/__fake__/state", timeout=5).text


def test_auth0_fake_login_tokens_userinfo_and_refresh(auth0: str) -> None:
    signup(auth0)
    wrong = login(auth0, "wrong-password")
    assert wrong.status_code == 403
    assert wrong.json() == {"error": "invalid_grant", "error_description": "Wrong email or password."}
    tokens = login(auth0, "correct-horse").json()
    assert tokens["token_type"] == "Bearer" and tokens["id_token"].count(".") == 2 and tokens["refresh_token"]
    me = requests.get(auth0 + "/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}, timeout=5)
    assert me.status_code == 200 and me.json()["email"] == "alex@example.com"
    assert me.json()["sub"].startswith("auth0|")
    stranger = requests.get(auth0 + "/userinfo", headers={"Authorization": "Bearer made-up"}, timeout=5)
    assert stranger.status_code == 401 and 'error="invalid_token"' in stranger.headers["WWW-Authenticate"]
    refreshed = requests.post(auth0 + "/oauth/token", json={"grant_type": "refresh_token", "client_id": "c",
                                                             "refresh_token": tokens["refresh_token"]}, timeout=5)
    assert refreshed.status_code == 200 and refreshed.json()["access_token"] != tokens["access_token"]


def test_auth0_fake_blocks_ten_failures_per_user_and_address_like_auth0(auth0: str) -> None:
    signup(auth0)
    attacker = {"auth0-forwarded-for": "203.0.113.7"}

    def attempt(password: str, headers: dict[str, str] = attacker) -> requests.Response:
        return login_from(auth0, password, headers)

    for _ in range(9):
        assert attempt("wrong-password").status_code == 403
    assert attempt("correct-horse").status_code == 200  # a success resets the count
    assert [attempt("wrong-password").status_code for _ in range(10)] == [403] * 10
    blocked = attempt("correct-horse")
    assert blocked.status_code == 429 and blocked.json()["error"] == "too_many_attempts"
    assert attempt("correct-horse", {"auth0-forwarded-for": "198.51.100.2"}).status_code == 200  # another address
    reset = {"client_id": "c", "email": "alex@example.com", "connection": "Username-Password-Authentication"}
    assert requests.post(auth0 + "/dbconnections/change_password", json=reset, timeout=5).status_code == 200
    assert attempt("correct-horse").status_code == 429  # a reset request changes no password: still blocked


def login_from(url: str, password: str, headers: dict[str, str]) -> requests.Response:
    body = {"grant_type": "http://auth0.com/oauth/grant-type/password-realm", "client_id": "c",
            "username": "alex@example.com", "password": password, "realm": "Username-Password-Authentication"}
    return requests.post(url + "/oauth/token", json=body, headers=headers, timeout=5)


def test_auth0_fake_client_credentials_needs_secret_and_audience(auth0: str) -> None:
    base = {"grant_type": "client_credentials", "client_id": "c"}
    assert requests.post(auth0 + "/oauth/token", json=base, timeout=5).json()["error"] == "access_denied"
    no_audience = requests.post(auth0 + "/oauth/token", json={**base, "client_secret": "s"}, timeout=5)
    assert no_audience.status_code == 403 and "audience" in no_audience.json()["error_description"]
    ok = requests.post(auth0 + "/oauth/token", json={**base, "client_secret": "s", "audience": "api"}, timeout=5)
    assert ok.status_code == 200 and "id_token" not in ok.json()


def test_auth0_errors_through_a_client_and_reraise(auth0: str) -> None:
    relay = Service.load(FIXTURES / "relay", environ={"TEST_JWT_SECRET": "t" * 40, "RELAY_SENDGRID_KEY": "k",
                                                       "MACARON_CLIENTS__AUTH0__URL": auth0})
    auth = client("auth0", service=relay)
    body = {"client_id": "c", "email": "c@example.com", "password": "long-enough", "connection": "db"}
    assert auth.signup(body=body).email == "c@example.com"
    with pytest.raises(UpstreamError) as caught:
        auth.signup(body=body)
    assert caught.value.upstream_status == 400 and caught.value.problem["code"] == "user_exists"
    with pytest.raises(Exception) as again:
        caught.value.reraise()
    assert (again.value.status, again.value.code, again.value.detail) == (400, "USER_EXISTS",  # type: ignore[attr-defined]
                                                                           "The user already exists.")
    assert auth.changePassword(body={"client_id": "c", "email": "c@example.com", "connection": "db"}).startswith(
        "We've just sent")


def test_a_handler_breaking_the_spec_is_a_500(tmp_path: Path) -> None:
    handlers = tmp_path / "bad.py"
    handlers.write_text("def sendMail(fake, body):\n    return {'unexpected': True}, 202\n")
    with serve_app(create_fake_app(SENDGRID, handlers=handlers)) as url:
        response = requests.post(url + "/v3/mail/send", json=MAIL, headers=KEY, timeout=5)
    assert response.status_code == 500 and response.headers["Content-Type"] == "application/json"
    (error,) = response.json()["errors"]  # the 500 SendGrid declares, saying what broke
    assert error["message"] == "fake handler sendMail: status 202 declares no body" and error["field"] is None


def test_macaron_fake_command_serves_a_spec() -> None:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "macaron", "fake", str(SENDGRID), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline().decode()
        assert f"http://127.0.0.1:{port}" in banner and "fakes/sendgrid.py" in banner
        url = f"http://127.0.0.1:{port}"
        session = requests.Session()
        assert session.get(url + "/__fake__/ping", timeout=5).json() == {}
        assert session.post(url + "/v3/mail/send", json=MAIL, headers=KEY, timeout=5).status_code == 202
        assert len(session.get(url + "/__fake__/requests", timeout=5).json()) == 1
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    deadline = time.monotonic() + 5
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.returncode is not None


def test_dev_system_fakes_every_external_api_with_a_local_url(tmp_path: Path) -> None:
    from macaron import ConfigError
    from macaron._local.dev import fake_procs

    (tmp_path / "shared_apis").mkdir()
    (tmp_path / "shared_apis" / "sendgrid.yaml").write_text(SENDGRID.read_text())
    (tmp_path / "shared_apis" / "auth0.yaml").write_text(AUTH0.read_text())
    for name, clients in (("mail", "  sendgrid: {url: 'http://127.0.0.1:18025'}\n  user: {}\n"),
                          ("user", "  auth0: {url: 'https://tenant.auth0.com'}\n  mail: {}\n"),
                          ("news", "  sendgrid: {url: 'http://localhost:18025/'}\n")):
        (tmp_path / "services" / name).mkdir(parents=True)
        (tmp_path / "services" / name / "service.yaml").write_text(f"clients:\n{clients}")
    (proc,) = fake_procs(tmp_path)
    assert proc.name == "fake-sendgrid" and proc.ready_url == "http://127.0.0.1:18025/__fake__/ping"
    assert proc.argv[-5:] == [str(tmp_path / "shared_apis" / "sendgrid.yaml"), "--host", "127.0.0.1", "--port",
                              "18025"]
    (tmp_path / "services" / "news" / "service.yaml").write_text("clients:\n  auth0: {url: 'http://127.0.0.1:18025'}\n")
    with pytest.raises(ConfigError, match="port 18025"):
        fake_procs(tmp_path)


def test_sendgrid_activity_search_finds_a_sent_mail_by_its_custom_args(sendgrid: str) -> None:
    """What the mail service asks before re-sending after a worker died mid-send (chaos scenario 3)."""
    mail = {**MAIL, "custom_args": {"mail_id": "m-123"}}
    assert requests.post(f"{sendgrid}/v3/mail/send", json=mail, headers=KEY).status_code == 202
    found = requests.get(f"{sendgrid}/v3/messages", params={"query": "unique_args['mail_id']=\"m-123\""},
                         headers=KEY).json()
    assert [m["to_email"] for m in found["messages"]] == ["a@example.com"]
    none = requests.get(f"{sendgrid}/v3/messages", params={"query": "unique_args['mail_id']=\"other\""},
                        headers=KEY).json()
    assert none == {"messages": []}
    bad = requests.get(f"{sendgrid}/v3/messages", params={"query": "status=processed"}, headers=KEY)
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "query"
