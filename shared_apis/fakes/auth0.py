"""Stateful behaviour of the Auth0 fake (``macaron fake shared_apis/auth0.yaml``).

Keeps signed-up users (``state["users"]``, by lower-cased email), refuses a duplicate
signup and a wrong password with Auth0's own error bodies, issues tokens for the
password grants, ``client_credentials`` and ``refresh_token``, and answers
``/userinfo`` for the access tokens it issued. Like Auth0's brute-force protection, 10
consecutive wrong passwords for one user from one address (``auth0-forwarded-for``, else
the caller's) block that pair with 429 ``too_many_attempts``; a success resets the count.
As in Auth0, a password-reset *request* does not lift a block (else anyone could unblock an
attacker's address by asking for a reset mail): only a changed password, the unblock link or the
Management API do, none of which this fake's spec has, so a block lasts until ``DELETE
/__fake__/state``. Client secrets cannot be checked (they are unknown here): any non-empty one
is accepted. Passwords are kept as salted hashes, never in clear, and the request log
(``/__fake__/requests``) shows passwords and client secrets only as fingerprints
(``sha256:1a2b3c4d5e6f``), as it shows credentials. Handlers run one at a time (the fake
serialises them).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Any

from flask import current_app, has_app_context

_PASSWORD_GRANTS = ("http://auth0.com/oauth/grant-type/password-realm", "password")
_MIN_PASSWORD = 8  # Auth0's "fair" policy: at least 8 characters (this fake checks the length only)
_TTL = 86400
_BLOCK_AFTER = 10  # Auth0's default brute-force threshold
#: Body fields never shown in clear in the request log (``/__fake__/requests``).
SECRET_FIELDS = frozenset({"password", "client_secret", "refresh_token"})


def _fingerprint(value: Any) -> str:
    """What the log shows of a secret: as the fake shows credentials, a short digest (equal values
    still compare equal, so tests can tell which secret was sent without reading it)."""
    return "sha256:" + hashlib.sha256(str(value).encode()).hexdigest()[:12]


def _masked(entry: Any) -> Any:
    body = entry.get("body") if isinstance(entry, dict) else None
    if isinstance(body, dict):
        for field in SECRET_FIELDS & body.keys():
            if isinstance(body[field], str) and not body[field].startswith("sha256:"):
                body[field] = _fingerprint(body[field])
    return entry


class _MaskingLog(list):  # type: ignore[type-arg]
    """The fake's request log, masking secret body fields as each request is recorded."""

    def append(self, entry: Any) -> None:
        super().append(_masked(entry))


def mask_request_log() -> None:
    """Make the running fake's request log mask :data:`SECRET_FIELDS` from now on, and mask what
    it holds already. The framework records each request before its handler runs and has no hook
    for body fields, so the first handler call swaps the log for a masking one."""
    if not has_app_context():
        return
    log_state = current_app.extensions.get("macaron.fake")
    requests = getattr(log_state, "requests", None)
    if log_state is None or isinstance(requests, _MaskingLog) or not isinstance(requests, list):
        return
    log_state.requests = _MaskingLog(_masked(e) for e in requests)


def _hash(password: str, salt: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), 1000).hex()


def _oauth_error(status: int, error: str, description: str) -> tuple[dict[str, str], int]:
    return {"error": error, "error_description": description}, status


def signup(fake: Any, body: Any) -> Any:
    """Create a database user; 400 ``user_exists`` for a taken email, 400 ``invalid_password`` for a weak one."""
    mask_request_log()
    users = fake.state.setdefault("users", {})
    email = body.email.lower()
    if email in users:
        return {"name": "BadRequestError", "code": "user_exists", "description": "The user already exists.",
                "statusCode": 400}, 400
    if len(body.password) < _MIN_PASSWORD:
        return {"name": "PasswordStrengthError", "message": "Password is too weak", "code": "invalid_password",
                "description": {"rules": [{"message": "At least %d characters in length", "format": [_MIN_PASSWORD],
                                           "code": "lengthAtLeast", "verified": False}], "verified": False},
                "statusCode": 400}, 400
    profile = {k: v for k, v in body.to_json().items()
               if k in ("username", "given_name", "family_name", "name", "nickname", "picture", "user_metadata")}
    salt = secrets.token_hex(8)
    user = {"_id": secrets.token_hex(12), "email_verified": False, "email": body.email, **profile}
    users[email] = {**user, "connection": body.connection, "salt": salt, "password_hash": _hash(body.password, salt)}
    return user


def _issue(fake: Any, sub: str | None, request: Any, *, refresh: bool) -> dict[str, Any]:
    tokens = fake.state.setdefault("access_tokens", {})
    access = secrets.token_urlsafe(32)
    tokens[access] = {"sub": sub, "audience": request.audience, "expires_at": int(time.time()) + _TTL}
    out: dict[str, Any] = {"access_token": access, "token_type": "Bearer", "expires_in": _TTL}
    if request.scope:
        out["scope"] = request.scope
    if sub is not None and "openid" in (request.scope or "").split():
        out["id_token"] = _id_token(fake, sub, request)
    if refresh and "offline_access" in (request.scope or "").split():
        refresh_token = "v1." + secrets.token_urlsafe(32)
        fake.state.setdefault("refresh_tokens", {})[refresh_token] = {"sub": sub, "scope": request.scope}
        out["refresh_token"] = refresh_token
    return out


def _id_token(fake: Any, sub: str, request: Any) -> str:
    import jwt

    now = int(time.time())
    host = fake.request.host
    claims = {"iss": f"http://{host}/", "sub": sub, "aud": request.client_id, "iat": now, "exp": now + 36000}
    user = _user_by_sub(fake, sub)
    if user is not None:
        claims.update(email=user["email"], email_verified=user["email_verified"])
    key = (request.client_secret or "fake-auth0-client-secret").ljust(32, "-")
    return jwt.encode(claims, key, algorithm="HS256")


def _user_by_sub(fake: Any, sub: str) -> dict[str, Any] | None:
    for user in fake.state.get("users", {}).values():
        if f"auth0|{user['_id']}" == sub:
            return user  # type: ignore[no-any-return]
    return None


def getToken(fake: Any, body: Any, auth0_forwarded_for: str | None = None) -> Any:
    """The token endpoint: password grants, client_credentials and refresh_token."""
    mask_request_log()
    grant = body.grant_type
    if grant in _PASSWORD_GRANTS:
        for name in ("username", "password") + (("realm",) if grant != "password" else ()):
            if not getattr(body, name):
                return _oauth_error(400, "invalid_request", f"Missing required parameter: {name}")
        username = body.username.lower()
        failures = fake.state.setdefault("failed_logins", {})  # "<user> <address>" -> consecutive failures
        key = f"{username} {auth0_forwarded_for or fake.request.remote_addr}"
        if failures.get(key, 0) >= _BLOCK_AFTER:
            return _oauth_error(429, "too_many_attempts", "Your account has been blocked after multiple consecutive "
                                "login attempts. We've sent you an email with instructions on how to unblock it.")
        user = fake.state.get("users", {}).get(username)
        if user is None or (grant != "password" and user["connection"] != body.realm) or \
                not secrets.compare_digest(user["password_hash"], _hash(body.password, user["salt"])):
            failures[key] = failures.get(key, 0) + 1
            return _oauth_error(403, "invalid_grant", "Wrong email or password.")
        failures.pop(key, None)
        return _issue(fake, f"auth0|{user['_id']}", body, refresh=True)
    if grant == "client_credentials":
        if not body.client_secret:
            return _oauth_error(401, "access_denied", "Unauthorized")
        if not body.audience:
            return _oauth_error(403, "access_denied",
                                "No audience parameter was provided, and no default audience has been configured")
        return _issue(fake, None, body, refresh=False)
    if grant == "refresh_token":
        known = fake.state.get("refresh_tokens", {}).get(body.refresh_token or "")
        if known is None:
            return _oauth_error(403, "invalid_grant", "Unknown or invalid refresh token.")
        return _issue(fake, known["sub"], body, refresh=False)
    return _oauth_error(403, "invalid_grant", "Invalid authorization code")


def changePassword(fake: Any, body: Any) -> Any:
    """Always 200 (Auth0 does not reveal whether the user exists); known users get a reset recorded.
    A brute-force block stays: asking for a reset changes no password."""
    mask_request_log()
    email = body.email.lower()
    if email in fake.state.get("users", {}):
        fake.state.setdefault("password_resets", []).append({"email": body.email, "connection": body.connection})
    return "We've just sent you an email to reset your password."


def getUserInfo(fake: Any) -> Any:
    """The profile of the user an issued access token belongs to; plain-text 401 otherwise."""
    grant = fake.state.get("access_tokens", {}).get(fake.bearer() or "")
    user = _user_by_sub(fake, grant["sub"]) if grant and grant["sub"] else None
    if grant is None or grant["expires_at"] < time.time() or user is None:
        reason = 'error="invalid_token", error_description="Invalid token"'
        return "Unauthorized", 401, {"WWW-Authenticate": f'Bearer realm="Users", {reason}'}
    info = {"sub": grant["sub"], "email": user["email"], "email_verified": user["email_verified"],
            "updated_at": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())}
    info.update({k: user[k] for k in ("name", "given_name", "family_name", "nickname", "picture") if k in user})
    info.setdefault("nickname", user["email"].split("@")[0])
    return info


def deleteUser(fake: Any, id: str) -> Any:
    """Management API: delete a user; needs a client_credentials token for ``.../api/v2/``."""
    grant = fake.state.get("access_tokens", {}).get(fake.bearer() or "")
    if grant is None or grant["expires_at"] < time.time():
        return {"statusCode": 401, "error": "Unauthorized", "message": "Invalid token"}, 401
    if grant["sub"] is not None or not str(grant["audience"] or "").endswith("/api/v2/"):
        return {"statusCode": 403, "error": "Forbidden", "message": "Insufficient scope, expected any of: delete:users",
                "errorCode": "insufficient_scope"}, 403
    users = fake.state.get("users", {})
    for email, user in list(users.items()):
        if f"auth0|{user['_id']}" == id:
            del users[email]
    return None, 204
