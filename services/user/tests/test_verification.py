"""No free text to an unconfirmed address: a signup mails a confirmation link only (a signed
token, none of the signer's text); POST /v1/users/verify confirms the address and only then is
the welcome mail, with the name, sent. Real Auth0 fake, mail service and Redis."""

from __future__ import annotations

import importlib
import time
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .conftest import PASSWORD, UserApp, problem_of

SPAM = "Win a prize at http://evil.example/claim"


def _drain(service: Any) -> None:
    outbox = importlib.import_module(f"{service.package}.outbox")
    deadline = time.monotonic() + 30
    while outbox.pending(service) and time.monotonic() < deadline:
        outbox.drain(service)
        time.sleep(0.2)
    assert outbox.pending(service) == 0


def _token(link: str) -> str:
    return parse_qs(urlsplit(urlsplit(link).fragment).query)["token"][0]


def test_signup_mails_only_a_signed_link_and_verify_sends_the_welcome_mail_once(
    user_app: UserApp, mail_service: tuple[str, Any]
) -> None:
    _, mail = mail_service
    app, service = user_app()
    client = app.test_client()
    email = f"v-{uuid.uuid4().hex[:10]}@example.com"
    signed = client.post("/v1/users", json={"email": email, "password": PASSWORD, "name": SPAM})
    assert signed.status_code == 201 and signed.get_json()["user"]["email_verified"] is False
    user_id = signed.get_json()["user"]["user_id"]
    _drain(service)

    confirm = mail.models.Mail.find_by("idempotency_key", f"confirm:{user_id}")
    assert confirm.to == email and confirm.template == "confirm_email"
    assert list(confirm.data) == ["link"] and "evil" not in str(confirm.data)  # nothing the signer typed
    assert mail.models.Mail.find_by("idempotency_key", f"welcome:{user_id}") is None

    token = _token(confirm.data["link"])
    verified = client.post("/v1/users/verify", json={"token": token})
    assert verified.status_code == 200, verified.get_data(as_text=True)
    assert verified.get_json()["email_verified"] is True and verified.get_json()["user_id"] == user_id
    _drain(service)
    welcome = mail.models.Mail.find_by("idempotency_key", f"welcome:{user_id}")
    assert welcome.template == "welcome" and welcome.data == {"name": SPAM}  # their own address: their text

    again = client.post("/v1/users/verify", json={"token": token})
    assert again.status_code == 200 and again.get_json()["email_verified"] is True
    outbox = importlib.import_module(f"{service.package}.outbox")
    assert outbox.pending(service) == 0  # no second welcome mail owed
    token_session = {"Authorization": f"Bearer {token}"}
    assert client.get("/v1/users/me", headers=token_session).status_code == 401  # a token to confirm, no more


def test_forged_tampered_and_foreign_tokens_are_refused(user_app: UserApp, mail_service: tuple[str, Any]) -> None:
    _, mail = mail_service
    app, service = user_app()
    client = app.test_client()
    ids = []
    for _ in range(2):
        answer = client.post("/v1/users", json={"email": f"t-{uuid.uuid4().hex[:10]}@example.com",
                                                "password": PASSWORD, "name": "T"})
        ids.append(answer.get_json()["user"]["user_id"])
    _drain(service)
    token = _token(mail.models.Mail.find_by("idempotency_key", f"confirm:{ids[0]}").data["link"])
    user_id, expiry, mac = token.split(".")
    for bad in (f"{ids[1]}.{expiry}.{mac}",           # moved to another account
                f"{user_id}.{int(expiry) + 1}.{mac}",  # a later expiry
                f"{user_id}.{expiry}.{mac[:-2]}AA",    # another mac
                "no-dots-at-all", f"{uuid.uuid4().hex}.{expiry}.{mac}"):
        problem = problem_of(client.post("/v1/users/verify", json={"token": bad}), 400, "VERIFY_TOKEN_INVALID")
        assert problem["errors"] == [{"path": "/body/token", "message": "is not valid"}]
    me = app.test_client().post("/v1/login", json={"email": mail.models.Mail.find_by(
        "idempotency_key", f"confirm:{ids[1]}").to, "password": PASSWORD})
    assert me.get_json()["user"]["email_verified"] is False  # nothing above confirmed the other account


def test_an_expired_token_is_refused(user_app: UserApp, mail_service: tuple[str, Any]) -> None:
    _, mail = mail_service
    app, service = user_app(VERIFICATION__TTL="-1")
    client = app.test_client()
    answer = client.post("/v1/users", json={"email": f"e-{uuid.uuid4().hex[:10]}@example.com",
                                            "password": PASSWORD, "name": "E"})
    _drain(service)
    link = mail.models.Mail.find_by("idempotency_key", f"confirm:{answer.get_json()['user']['user_id']}").data["link"]
    problem = problem_of(client.post("/v1/users/verify", json={"token": _token(link)}), 400,
                             "VERIFY_TOKEN_INVALID")
    assert problem["errors"] == [{"path": "/body/token", "message": "has expired"}]
