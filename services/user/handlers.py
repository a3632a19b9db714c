"""Handlers of the user service: signup, login, profile, password reset.

Order matters for consistency: the identity is created in Auth0 first (nothing is
stored if that fails), then the profile; the welcome mail comes last and never undoes
an account that exists.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from macaron import Conflict, FieldError, NotFound, Unauthorized, client_address, current_service, models
from macaron.auth import generate_token, get_user_id
from macaron.store import AlreadyExists

from . import identity
from .mailer import request_mail


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _profile(user: Any) -> dict[str, Any]:
    out = {"user_id": user.user_id, "email": user.email, "name": user.name, "created_at": user.created_at}
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
    email = body.email.strip().lower()
    if models().User.find_by("email", email) is not None:
        raise _email_taken()
    auth0_id = identity.create(email, body.password, body.name)
    user = models().User(user_id=uuid.uuid4().hex, email=email, name=body.name, auth0_id=auth0_id,
                         created_at=_now())
    try:
        user.create()
    except AlreadyExists as exc:  # a concurrent signup with the same email won the race
        raise _email_taken() from exc
    request_mail(email, "welcome", {"name": user.name}, idempotency_key=f"welcome:{user.user_id}")
    return _session(user), 201


def login(body: Any) -> dict[str, Any]:
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
    """Always 202: whether the account exists is never revealed."""
    email = body.email.strip().lower()
    user = models().User.find_by("email", email)
    if user is not None:
        try:
            identity.start_password_reset(email)
        except identity.AuthUnavailable:
            current_service().log.warning("password reset not started: identity provider unavailable")
            return None, 202
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M")
        request_mail(email, "password_reset", {"name": user.name},
                     idempotency_key=f"reset:{user.user_id}:{stamp}")
    return None, 202
