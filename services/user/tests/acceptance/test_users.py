"""User endpoints one by one: validation, conflicts, auth, no account enumeration."""

from __future__ import annotations

import uuid

from macaron.testing import SystemUnderTest, ThisService, assert_problem

PASSWORD = "correct horse 42"


def new_email() -> str:
    return f"u-{uuid.uuid4().hex[:10]}@example.com"


def test_signup_names_bad_fields(system: SystemUnderTest, this_service: ThisService) -> None:
    users = system.api(this_service.name)
    response = users.post("/v1/users", json={"email": "not-an-email", "password": "short", "name": ""})
    assert_problem(response, 400, "VALIDATION_ERROR", paths=["/body/email", "/body/password", "/body/name"])
    weak = users.post("/v1/users", json={"email": new_email(), "password": "onlyletters", "name": "A"})
    assert_problem(weak, 400, "VALIDATION_ERROR", paths=["/body/password"])
    extra = users.post("/v1/users", json={"email": new_email(), "password": PASSWORD, "name": "A", "admin": True})
    assert_problem(extra, 400, "VALIDATION_ERROR", paths=["/body/admin"])


def test_duplicate_email_is_409_email_taken(system: SystemUnderTest, this_service: ThisService) -> None:
    users = system.api(this_service.name)
    email = new_email()
    assert users.post("/v1/users", json={"email": email, "password": PASSWORD, "name": "A"}).status_code == 201
    again = users.post("/v1/users", json={"email": email.upper(), "password": PASSWORD, "name": "B"})
    assert_problem(again, 409, "EMAIL_TAKEN", paths=["/body/email"])


def test_login_failure_gives_no_hint(system: SystemUnderTest, this_service: ThisService) -> None:
    users = system.api(this_service.name)
    email = new_email()
    users.post("/v1/users", json={"email": email, "password": PASSWORD, "name": "A"})
    wrong = assert_problem(users.post("/v1/login", json={"email": email, "password": "wrong pass 1"}), 401,
                           "LOGIN_FAILED")
    unknown = assert_problem(users.post("/v1/login", json={"email": new_email(), "password": "wrong pass 1"}), 401,
                             "LOGIN_FAILED")
    assert wrong["detail"] == unknown["detail"]


def test_ten_failed_logins_block_the_account_for_the_caller_with_429(
    system: SystemUnderTest, this_service: ThisService
) -> None:
    """Auth0's brute-force protection (10 failures per user and address) reaches callers as a 429."""
    users = system.api(this_service.name)
    email, other = new_email(), new_email()
    for address in (email, other):
        assert users.post("/v1/users", json={"email": address, "password": PASSWORD, "name": "A"}).status_code == 201
    for _ in range(10):
        assert_problem(users.post("/v1/login", json={"email": email, "password": "wrong pass 1"}), 401, "LOGIN_FAILED")
    blocked = users.post("/v1/login", json={"email": email, "password": PASSWORD})
    problem = assert_problem(blocked, 429, "TOO_MANY_ATTEMPTS")
    assert "reset the password" in problem["detail"]
    assert users.post("/v1/login", json={"email": other, "password": PASSWORD}).status_code == 200


def test_profile_needs_a_valid_token(system: SystemUnderTest, this_service: ThisService) -> None:
    users = system.api(this_service.name)
    assert_problem(users.get("/v1/users/me"), 401, "AUTHORIZATION_HEADER_MISSING")
    assert_problem(system.api(this_service.name, token="not.a.token").get("/v1/users/me"), 401, "TOKEN_INVALID")
    other_audience = system.token("mail", sub="someone", scopes=["mail:send"])  # the sibling: another audience
    assert_problem(system.api(this_service.name, token=other_audience).get("/v1/users/me"), 401, "TOKEN_INVALID")


def test_profile_update_is_validated(system: SystemUnderTest, this_service: ThisService) -> None:
    users = system.api(this_service.name)
    session = users.post("/v1/users", json={"email": new_email(), "password": PASSWORD, "name": "A"}).json()
    me = system.api(this_service.name, token=session["token"])
    assert_problem(me.patch("/v1/users/me", json={}), 400, "VALIDATION_ERROR", paths=["/body"])
    assert_problem(me.patch("/v1/users/me", json={"email": "x@y.io"}), 400, "VALIDATION_ERROR", paths=["/body/email"])


def test_password_reset_never_reveals_accounts(system: SystemUnderTest, this_service: ThisService) -> None:
    users = system.api(this_service.name)
    unknown = users.post("/v1/password-reset", json={"email": new_email()})
    assert unknown.status_code == 202 and unknown.content == b""
    assert_problem(users.post("/v1/password-reset", json={"email": "nope"}), 400, "VALIDATION_ERROR",
                   paths=["/body/email"])
