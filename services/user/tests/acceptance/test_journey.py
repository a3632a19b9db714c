"""The whole journey of a user, black-box over HTTP: signup → confirmation mail (a link, none of
the signer's text) → confirmation → welcome mail → login → profile read/update → password reset →
reset mail → delete.

Runs against whatever the environment names (see ``macaron.testing.plugin``); the steps
that read the SendGrid fake's log run only where the target has that fake.
"""

from __future__ import annotations

import time
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

from macaron.testing import Api, SystemUnderTest, ThisService, assert_problem

PASSWORD = "correct horse 42"


def mails_to(sendgrid: Api | None, email: str, count: int, timeout: float = 20) -> list[dict[str, Any]]:
    """The mails the SendGrid fake received for ``email``, waiting until there are ``count``."""
    assert sendgrid is not None
    deadline = time.monotonic() + timeout
    found: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        found = [r["body"] for r in sendgrid.get("/__fake__/requests").json()
                 if r["operation"] == "sendMail"
                 and r["body"]["personalizations"][0]["to"][0]["email"] == email]
        if len(found) >= count:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{count} mail(s) to {email} expected, SendGrid fake got {len(found)}")


def test_journey(system: SystemUnderTest, this_service: ThisService) -> None:
    users = system.api(this_service.name)
    sendgrid = system.fake("sendgrid")
    email = f"ada-{uuid.uuid4().hex[:8]}@example.com"

    signup = users.post("/v1/users", json={"email": email, "password": PASSWORD, "name": "Ada <Lovelace>"})
    assert signup.status_code == 201, signup.text
    session = signup.json()
    assert session["user"]["email"] == email and session["token_type"] == "Bearer"
    user_id = session["user"]["user_id"]

    if sendgrid is not None:
        [confirm] = mails_to(sendgrid, email, 1)
        assert confirm["custom_args"]["template"] == "confirm_email.v1"
        data = confirm["personalizations"][0]["dynamic_template_data"]
        assert list(data) == ["link"] and "Lovelace" not in str(confirm)  # no text of the signer's
        token = parse_qs(urlsplit(urlsplit(data["link"]).fragment).query)["token"][0]
        verified = users.post("/v1/users/verify", json={"token": token})
        assert verified.status_code == 200 and verified.json()["email_verified"] is True
        welcome = mails_to(sendgrid, email, 2)[1]
        assert welcome["personalizations"][0]["dynamic_template_data"] == {"name": "Ada <Lovelace>"}
        assert welcome["custom_args"]["template"] == "welcome.v1"
        html = next(c["value"] for c in welcome["content"] if c["type"] == "text/html")
        assert "Ada &lt;Lovelace&gt;" in html and "<Lovelace>" not in html
    assert_problem(users.post("/v1/users/verify", json={"token": f"{user_id}.1.forged"}), 400, "VERIFY_TOKEN_INVALID")

    assert_problem(users.post("/v1/login", json={"email": email, "password": "not it 12345"}), 401, "LOGIN_FAILED")
    login = users.post("/v1/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200 and login.json()["user"]["user_id"] == user_id
    me = system.api(this_service.name, token=login.json()["token"])

    assert me.get("/v1/users/me").json()["name"] == "Ada <Lovelace>"
    updated = me.patch("/v1/users/me", json={"name": "Ada King"})
    assert updated.status_code == 200 and updated.json()["name"] == "Ada King"
    assert me.get("/v1/users/me").json()["name"] == "Ada King"

    assert users.post("/v1/password-reset", json={"email": email}).status_code == 202
    if sendgrid is not None:
        reset = mails_to(sendgrid, email, 3)[2]
        assert reset["custom_args"]["template"] == "password_reset.v1"
        assert reset["personalizations"][0]["dynamic_template_data"] == {"name": "Ada King"}

    assert me.delete("/v1/users/me").status_code == 204
    assert_problem(me.get("/v1/users/me"), 404, "USER_NOT_FOUND")
    assert_problem(users.post("/v1/login", json={"email": email, "password": PASSWORD}), 401, "LOGIN_FAILED")
