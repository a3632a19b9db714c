"""Errors: the exception hierarchy and its one wire format, RFC 7807 problem+json.

Every failure a client can see leaves the service through :func:`problem_response`,
so the body shape (``type``, ``title``, ``status``, ``detail``, ``code``,
``request_id`` and, for validation, ``errors``) is the same everywhere.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

PROBLEM_JSON = "application/problem+json"


@dataclass(frozen=True, slots=True)
class FieldError:
    """One bad field: a JSON-pointer-like ``path`` (``/body/email``) and a message."""

    path: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


class MacaronError(Exception):
    """Root of every exception the framework raises."""


class ConfigError(MacaronError):
    """Configuration, secrets or a spec prevent a service from starting."""


class SpecError(ConfigError):
    """The spec is invalid or an operation cannot be bound; the message names where."""


class SpecWarning(UserWarning):
    """The spec breaks a rule the loader can work around (it says how); loading goes on."""


class ApiError(MacaronError):
    """An error meant for the client: rendered as problem+json with ``status`` and ``code``.

    Subclass it with your own ``status``/``code``/``title`` or pass them per instance.
    """

    status: int = 500
    code: str = "INTERNAL_ERROR"
    title: str = "Internal Server Error"

    def __init__(
        self,
        detail: str | None = None,
        *,
        status: int | None = None,
        code: str | None = None,
        title: str | None = None,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code
        if title is not None:
            self.title = title
        self.detail = detail if detail is not None else self.title
        self.errors = list(errors or [])
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})
        super().__init__(self.detail)

    def to_problem(self, request_id: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"urn:macaron:problem:{self.code}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
            "request_id": request_id,
        }
        if self.errors:
            body["errors"] = [e.to_json() for e in self.errors]
        body.update(self.extra)
        return body


class BadRequest(ApiError):
    status, code, title = 400, "BAD_REQUEST", "Bad Request"


class ValidationFailed(BadRequest):
    """The request breaks the spec; ``errors`` lists every bad field."""

    code, title = "VALIDATION_ERROR", "Request Validation Failed"


class MalformedJson(BadRequest):
    code, title = "MALFORMED_JSON", "Malformed JSON Body"


class Unauthorized(ApiError):
    status, code, title = 401, "UNAUTHORIZED", "Unauthorized"


class Forbidden(ApiError):
    status, code, title = 403, "FORBIDDEN", "Forbidden"


class NotFound(ApiError):
    status, code, title = 404, "NOT_FOUND", "Not Found"


class MethodNotAllowed(ApiError):
    status, code, title = 405, "METHOD_NOT_ALLOWED", "Method Not Allowed"


class Conflict(ApiError):
    status, code, title = 409, "CONFLICT", "Conflict"


class PayloadTooLarge(ApiError):
    status, code, title = 413, "PAYLOAD_TOO_LARGE", "Payload Too Large"


class UnsupportedMediaType(ApiError):
    status, code, title = 415, "UNSUPPORTED_MEDIA_TYPE", "Unsupported Media Type"


class InternalError(ApiError):
    status, code, title = 500, "INTERNAL_ERROR", "Internal Server Error"


class ResponseInvalid(InternalError):
    """The handler's response breaks the spec (undeclared status or invalid body)."""

    code = "RESPONSE_INVALID"


class ServiceUnavailable(ApiError):
    status, code, title = 503, "SERVICE_UNAVAILABLE", "Service Unavailable"


def problem_body(error: ApiError, request_id: str | None) -> bytes:
    """Serialise an error as problem+json bytes."""
    return json.dumps(error.to_problem(request_id), separators=(",", ":")).encode()
