"""Handlers of the user service: signup, email confirmation, login, profile, password reset.

Order matters for consistency: the identity is created in Auth0 first (nothing is stored if
that fails), then the confirmation mail is stored in the outbox and then the profile (the
commit point: an outbox entry without its profile is void); the mail is then tried, and never
undoes an account that exists. Nothing a signer typed is mailed before the address is shown to
be theirs: the confirmation mail carries a signed link only, the welcome mail (with the name)
follows POST /v1/users/verify. Signup, login, reset and confirmation are rate limited
(``ratelimit.py``).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from macaron import Conflict, FieldError, NotFound, Unauthorized, client_address, current_service, models
from macaron.auth import generate_token, get_user_id
from macaron.store import AlreadyExists

from . import identity, outbox, verification
from .ratelimit import limit


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _minute() -> str:
    return datetime.now(UTC).strftime("%Y%m%d%H%M")


def _profile(user: Any) -> dict[str, Any]:
    out = {"user_id": user.user_id, "email": user.email, "name": user.name, "created_at": user.created_at,
           "email_verified": bool(user.verified_at)}
    if user.updated_at:
        out["updated_at"] = user.updated_at
    return out


def _session(user: Any) -> dict[str, Any]:
    ttl = int(current_service().config.get("auth", {}).get("ttl", 3600))
    token = generate_token(user.user_id, ttl=ttl, scopes=["user"], email=user.email)
    return {"user": _profile(user), "token": token, "token_type": "Bearer", "expires_in": ttl}


def _email_taken() -> Conflict:
    return Conflict("an account with this email already exists", code="EMAIL_TAKEN",
                    errors=[FieldError("/body/email", "is already taken")])


def _me() -> Any:
    user = models().User.get(get_user_id())
    if user is None:
        raise NotFound("this account no longer exists", code="USER_NOT_FOUND")
    return user


def signup(body: Any) -> tuple[dict[str, Any], int]:
    service = current_service()
    limit(service, "signup")
    email = body.email.strip().lower()
    if models().User.find_by("email", email) is not None:
        raise _email_taken()
    auth0_id = identity.create(email, body.password, body.name)
    user = models().User(user_id=uuid.uuid4().hex, email=email, name=body.name, auth0_id=auth0_id,
                         created_at=_now())
    token = verification.make(service, user.user_id, email)
    owed = outbox.add(service, "mail", email, key=f"confirm:{user.user_id}", template="confirm_email",
                      data={"link": verification.link(service, token)}, user_id=user.user_id)
    try:
        user.create()
    except AlreadyExists as exc:  # a concurrent signup with the same email won the race
        owed.delete()
        raise _email_taken() from exc
    outbox.send_soon(service, owed.id)
    return _session(user), 201


def verifyEmail(body: Any) -> dict[str, Any]:
    """Confirm the address; the first time, the welcome mail (now with the name) is owed."""
    service = current_service()
    limit(service, "verify")
    user = verification.check(service, body.token)
    if not user.verified_at:
        owed = outbox.add(service, "mail", user.email, key=f"welcome:{user.user_id}", template="welcome",
                          data={"name": user.name}, user_id=user.user_id)
        user.verified_at = _now()
        user.save()
        outbox.send_soon(service, owed.id)
    return _profile(user)


def login(body: Any) -> dict[str, Any]:
    service = current_service()
    limit(service, "login")
    outbox.ensure_drainer(service)
    email = body.email.strip().lower()
    failed = Unauthorized("wrong email or password", code="LOGIN_FAILED")
    if not identity.password_ok(email, body.password, client_address()):
        raise failed
    user = models().User.find_by("email", email)
    if user is None:  # an identity without a profile here: same answer, no hint
        raise failed
    return _session(user)


def getMe() -> dict[str, Any]:
    return _profile(_me())


def updateMe(body: Any) -> dict[str, Any]:
    user = _me()
    user.name = body.name if body.name is not None else user.name
    user.updated_at = _now()
    user.save()
    return _profile(user)


def deleteMe() -> tuple[None, int]:
    user = _me()
    identity.delete(user.auth0_id)
    user.delete()
    return None, 204


def requestPasswordReset(body: Any) -> tuple[None, int]:
    """Always 202, after the same work whether or not the account exists (one hand-off to the
    worker: ``tasks.start_password_reset`` looks the account up), so neither the answer nor its
    timing reveals the account."""
    service = current_service()
    limit(service, "password_reset")
    outbox.hand_off_reset(service, body.email.strip().lower(), _minute())
    return None, 202
