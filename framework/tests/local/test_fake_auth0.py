"""The Auth0 fake (``shared_apis/fakes/auth0.py``) where it must behave like Auth0 for security:
a password-reset request does not lift a brute-force block, and its request log never shows a
password or a client secret in clear (only fingerprints, as credentials are shown)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from macaron._local.fakes import create_fake_app
from macaron.testing import serve_app

AUTH0 = Path(__file__).resolve().parents[3] / "shared_apis" / "auth0.yaml"
CONNECTION = "Username-Password-Authentication"
PASSWORD = "correct-horse-battery"
SECRET = "the-client-secret-0123456789"


@pytest.fixture
def auth0() -> Iterator[str]:
    with serve_app(create_fake_app(AUTH0)) as url:
        yield url


def _login(url: str, password: str) -> requests.Response:
    body = {"grant_type": "http://auth0.com/oauth/grant-type/password-realm", "client_id": "c",
            "client_secret": SECRET, "username": "bo@example.com", "password": password, "realm": CONNECTION}
    return requests.post(url + "/oauth/token", json=body, headers={"auth0-forwarded-for": "203.0.113.9"}, timeout=5)


def _signup(url: str) -> None:
    answer = requests.post(url + "/dbconnections/signup", timeout=5, json={
        "client_id": "c", "email": "bo@example.com", "password": PASSWORD, "connection": CONNECTION})
    assert answer.status_code == 200, answer.text


def test_a_password_reset_request_does_not_lift_a_brute_force_block(auth0: str) -> None:
    _signup(auth0)
    assert [_login(auth0, "wrong-password").status_code for _ in range(10)] == [403] * 10
    assert _login(auth0, PASSWORD).json()["error"] == "too_many_attempts"
    reset = {"client_id": "c", "email": "bo@example.com", "connection": CONNECTION}
    for _ in range(3):  # anyone may ask for resets: none of them unblocks the attacker's address
        assert requests.post(auth0 + "/dbconnections/change_password", json=reset, timeout=5).status_code == 200
    still = _login(auth0, PASSWORD)
    assert still.status_code == 429 and still.json()["error"] == "too_many_attempts"
    assert requests.get(auth0 + "/__fake__/state", timeout=5).json()["password_resets"] == [
        {"email": "bo@example.com", "connection": CONNECTION}] * 3


def test_the_request_log_shows_passwords_and_secrets_only_as_fingerprints(auth0: str) -> None:
    bad = requests.post(auth0 + "/dbconnections/signup", timeout=5, json={  # refused before any handler ran
        "client_id": "c", "email": "not-an-email", "password": "leaked-before-any-handler"})
    assert bad.status_code == 400
    _signup(auth0)
    assert _login(auth0, PASSWORD).status_code == 200
    assert _login(auth0, "a-wrong-password").status_code == 403
    granted = requests.post(auth0 + "/oauth/token", timeout=5, json={
        "grant_type": "client_credentials", "client_id": "c", "client_secret": SECRET,
        "audience": "https://example.auth0.com/api/v2/"})
    assert granted.status_code == 200
    log = requests.get(auth0 + "/__fake__/requests", timeout=5).json()
    text = json.dumps(log)
    for secret in (PASSWORD, SECRET, "a-wrong-password", "leaked-before-any-handler"):
        assert secret not in text
    [signup] = [r for r in log if r["operation"] == "signup" and r["status"] == 200]
    assert signup["body"]["password"] == "sha256:" + hashlib.sha256(PASSWORD.encode()).hexdigest()[:12]
    assert signup["body"]["email"] == "bo@example.com"  # only the secrets are masked
    tokens = [r["body"] for r in log if r["operation"] == "getToken"]
    assert len(tokens) == 3 and {b["client_secret"] for b in tokens} == {
        "sha256:" + hashlib.sha256(SECRET.encode()).hexdigest()[:12]}
