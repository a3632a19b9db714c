"""The user's identity in Auth0: create it, check a password, reset it, delete it.

Auth0's own errors become this service's: a taken email → 409 ``EMAIL_TAKEN``, a
password Auth0 refuses → 400 naming ``/body/password``, wrong credentials → ``False``,
logins blocked by Auth0's brute-force protection → 429 ``TOO_MANY_ATTEMPTS``, and Auth0
down or overloaded → 503 ``AUTH_UNAVAILABLE``, so callers never see a 502.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, TypeVar

from macaron import ApiError, Conflict, FieldError, ServiceUnavailable, ValidationFailed, current_service
from macaron.clients import UpstreamError, UpstreamInvalid, client

T = TypeVar("T")
PASSWORD_REALM: Final = "http://auth0.com/oauth/grant-type/password-realm"


class AuthUnavailable(ServiceUnavailable):
    code, title = "AUTH_UNAVAILABLE", "Identity Provider Unavailable"


class TooManyAttempts(ApiError):
    status, code, title = 429, "TOO_MANY_ATTEMPTS", "Too Many Attempts"


def _settings() -> tuple[dict[str, Any], str]:
    service = current_service()
    return service.config["auth0"], service.config.secret("auth0_client_secret")


def _call(fn: Callable[[], T]) -> T:
    """Run one Auth0 call; a refusal stays an UpstreamError, an outage becomes AUTH_UNAVAILABLE."""
    try:
        return fn()
    except UpstreamError as err:
        status = err.upstream_status
        if status == 429 and (err.problem or {}).get("error") == "too_many_attempts":
            raise TooManyAttempts("too many failed logins for this account from your address; "
                                  "reset the password to unblock it") from err
        if isinstance(err, UpstreamInvalid) or status is None or status >= 500 or status == 429:
            raise AuthUnavailable("the identity provider is unavailable; try again shortly",
                                  headers={"Retry-After": "5"}) from err
        raise


def create(email: str, password: str, name: str) -> str:
    """Create the Auth0 user; return its id (``auth0|...``)."""
    conf, _ = _settings()
    try:
        created = _call(lambda: client("auth0").signup(body={
            "client_id": conf["client_id"], "email": email, "password": password,
            "connection": conf["connection"], "name": name,
        }))
    except UpstreamError as err:
        code = (err.problem or {}).get("code")
        if code == "user_exists":
            raise Conflict("an account with this email already exists", code="EMAIL_TAKEN",
                           errors=[FieldError("/body/email", "is already taken")]) from err
        if code in ("invalid_password", "password_strength_error", "password_dictionary_error"):
            raise ValidationFailed("the password is too weak",
                                   errors=[FieldError("/body/password", "is too weak")]) from err
        raise ApiError("the identity provider refused the signup", status=400, code="SIGNUP_REFUSED") from err
    return f"auth0|{created._id}"


def password_ok(email: str, password: str, client_ip: str | None) -> bool:
    """Whether Auth0 accepts this email and password (a password-realm grant).

    ``client_ip`` (the end user's address) goes to Auth0 as ``auth0-forwarded-for``, so its
    brute-force protection blocks the attacker's address for that user, not this server's."""
    conf, secret = _settings()
    try:
        _call(lambda: client("auth0").getToken(auth0_forwarded_for=client_ip, body={
            "grant_type": PASSWORD_REALM, "client_id": conf["client_id"], "client_secret": secret,
            "username": email, "password": password, "realm": conf["connection"], "scope": "openid",
        }))
    except UpstreamError as err:
        if err.upstream_status in (400, 401, 403):
            return False
        raise
    return True


def start_password_reset(email: str) -> None:
    conf, _ = _settings()
    _call(lambda: client("auth0").changePassword(body={
        "client_id": conf["client_id"], "email": email, "connection": conf["connection"],
    }))


def delete(auth0_id: str) -> None:
    """Delete the Auth0 user, with a Management API token from the client-credentials grant."""
    conf, secret = _settings()
    grant = _call(lambda: client("auth0").getToken(body={
        "grant_type": "client_credentials", "client_id": conf["client_id"], "client_secret": secret,
        "audience": conf["management_audience"],
    }))
    _call(lambda: client("auth0").deleteUser(id=auth0_id, _headers={"Authorization": f"Bearer {grant.access_token}"}))
