"""Mail endpoints, black-box: auth and scope, templates, idempotency, delivery status.

The service under test is the one this file belongs to (``this_service``): a copy tests itself.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from macaron.testing import Api, SystemUnderTest, ThisService, assert_problem


def sender(system: SystemUnderTest, service: str) -> Api:
    return system.api(service, token=system.token(service, sub="service:acceptance", scopes=["mail:send"]))


def wait_status(mail: Api, mail_id: str, wanted: str, timeout: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        body = mail.get(f"/v1/mails/{mail_id}").json()
        if body["status"] == wanted:
            return body
        time.sleep(0.1)
    raise AssertionError(f"mail {mail_id} never reached {wanted}: {body}")


def test_send_and_follow_a_mail(system: SystemUnderTest, this_service: ThisService) -> None:
    mail = sender(system, this_service.name)
    to = f"m-{uuid.uuid4().hex[:8]}@example.com"
    queued = mail.post("/v1/mails", json={"to": to, "template": "welcome", "data": {"name": "Grace"}})
    assert queued.status_code == 202 and queued.json()["status"] == "queued"
    done = wait_status(mail, queued.json()["id"], "sent")
    assert done["attempts"] == 1 and done["last_error"] is None and done["sent_at"]
    sendgrid = system.fake("sendgrid")
    if sendgrid is not None:
        sent = [r for r in sendgrid.get("/__fake__/requests").json()
                if r["body"]["personalizations"][0]["to"][0]["email"] == to]
        assert len(sent) == 1
        assert sent[0]["body"]["subject"] == "Welcome to Macaron, Grace"
        assert "Authorization" not in sent[0]["headers"]  # credentials are kept out of the fake's log


def test_idempotency_key_sends_once(system: SystemUnderTest, this_service: ThisService) -> None:
    mail = sender(system, this_service.name)
    to = f"i-{uuid.uuid4().hex[:8]}@example.com"
    body = {"to": to, "template": "welcome", "data": {"name": "G"}, "idempotency_key": uuid.uuid4().hex}
    first, second = mail.post("/v1/mails", json=body), mail.post("/v1/mails", json=body)
    assert first.json()["id"] == second.json()["id"]
    wait_status(mail, first.json()["id"], "sent")
    reused = mail.post("/v1/mails", json={**body, "to": "someone.else@example.com"})
    assert_problem(reused, 409, "IDEMPOTENCY_KEY_REUSED", paths=["/body/idempotency_key"])
    sendgrid = system.fake("sendgrid")
    if sendgrid is not None:
        sent = [r for r in sendgrid.get("/__fake__/requests").json()
                if r["body"]["personalizations"][0]["to"][0]["email"] == to]
        assert len(sent) == 1


def test_unknown_template_and_missing_data(system: SystemUnderTest, this_service: ThisService) -> None:
    mail = sender(system, this_service.name)
    unknown = mail.post("/v1/mails", json={"to": "a@example.com", "template": "nope"})
    assert_problem(unknown, 400, "UNKNOWN_TEMPLATE", paths=["/body/template"])
    missing = mail.post("/v1/mails", json={"to": "a@example.com", "template": "welcome", "data": {}})
    assert_problem(missing, 400, "VALIDATION_ERROR", paths=["/body/data/name"])


def test_service_auth_and_scope(system: SystemUnderTest, this_service: ThisService) -> None:
    service = this_service.name
    anonymous = system.api(service)
    assert_problem(anonymous.post("/v1/mails", json={}), 401, "AUTHORIZATION_HEADER_MISSING")
    no_scope = system.api(service, token=system.token(service, sub="service:x", scopes=[]))
    assert_problem(no_scope.post("/v1/mails", json={"to": "a@example.com", "template": "welcome"}), 403,
                   "INSUFFICIENT_SCOPE")


def test_unknown_mail_is_404(system: SystemUnderTest, this_service: ThisService) -> None:
    mail = sender(system, this_service.name)
    assert_problem(mail.get(f"/v1/mails/{uuid.uuid4().hex}"), 404, "MAIL_NOT_FOUND")
    assert_problem(mail.get("/v1/mails/../../etc"), 404, "ROUTE_NOT_FOUND")
    assert_problem(mail.get("/v1/mails/NOT-HEX"), 400, "VALIDATION_ERROR", paths=["/path/id"])


def test_a_caller_reads_only_its_own_mails(system: SystemUnderTest, this_service: ThisService) -> None:
    """Regression: any holder of mail:send could read any mail by id (recipient, status, errors)."""
    mine = sender(system, this_service.name)
    other = system.api(this_service.name,
                       token=system.token(this_service.name, sub="service:other", scopes=["mail:send"]))
    queued = mine.post("/v1/mails", json={"to": f"o-{uuid.uuid4().hex[:8]}@example.com", "template": "welcome",
                                          "data": {"name": "O"}})
    assert queued.status_code == 202
    assert mine.get(f"/v1/mails/{queued.json()['id']}").status_code == 200
    assert_problem(other.get(f"/v1/mails/{queued.json()['id']}"), 404, "MAIL_NOT_FOUND")


def test_idempotency_keys_belong_to_their_caller(system: SystemUnderTest, this_service: ThisService) -> None:
    """Regression: keys were global, so one service's key answered (or refused) another's mail."""
    one = sender(system, this_service.name)
    two = system.api(this_service.name,
                     token=system.token(this_service.name, sub="service:other", scopes=["mail:send"]))
    key = uuid.uuid4().hex
    first = one.post("/v1/mails", json={"to": "a@example.com", "template": "welcome", "data": {"name": "A"},
                                        "idempotency_key": key})
    second = two.post("/v1/mails", json={"to": "b@example.com", "template": "welcome", "data": {"name": "B"},
                                         "idempotency_key": key})
    assert first.status_code == 202 and second.status_code == 202  # not 409 IDEMPOTENCY_KEY_REUSED
    assert first.json()["id"] != second.json()["id"]
    again = two.post("/v1/mails", json={"to": "b@example.com", "template": "welcome", "data": {"name": "B"},
                                        "idempotency_key": key})
    assert again.json()["id"] == second.json()["id"]
