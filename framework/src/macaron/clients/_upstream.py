"""Errors of outgoing calls: what a handler catches, and what its client sees when it does not.

Left unhandled in a handler, every one of them is a problem+json naming the callee::

    502 UPSTREAM_ERROR    the callee answered an error, broke its spec, or could not be reached
    504 UPSTREAM_TIMEOUT  the callee did not answer in time

with ``"upstream": {"name", "operation", "status", "request_id"}`` in the body. A handler
that wants the callee's own 4xx to reach its client calls ``err.reraise()``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, NoReturn, TypeVar

from .._core.errors import ApiError, FieldError

T = TypeVar("T")


@dataclass
class ClientResponse(Generic[T]):
    """A call's result with its HTTP details (``client(...).responses.<operation>(...)``)."""

    result: T
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    request_id: str | None = None
    attempts: int = 1


class UpstreamError(ApiError):
    """A call to another service or API failed; ``upstream_status`` and ``body`` say how.

    ``callee`` is the client name, ``operation`` its operationId, ``body`` the callee's
    parsed error body (a dict for JSON, else text), ``upstream_request_id`` the request
    id the callee answered with (or the one sent), ``attempts`` how many were made,
    ``retry_after`` the seconds its ``Retry-After`` asked for (None without one).
    """

    status, code, title = 502, "UPSTREAM_ERROR", "Bad Gateway"

    def __init__(
        self,
        callee: str,
        operation: str,
        *,
        upstream_status: int | None = None,
        body: Any = None,
        upstream_request_id: str | None = None,
        attempts: int = 1,
        detail: str | None = None,
        field_errors: list[FieldError] | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.callee = callee
        self.retry_after = retry_after  # seconds the callee asked to wait (its Retry-After), if it did
        self.operation = operation
        self.upstream_status = upstream_status
        self.body = body
        self.upstream_request_id = upstream_request_id
        self.attempts = attempts
        self.field_errors = list(field_errors or [])
        upstream = {"name": callee, "operation": operation, "status": upstream_status,
                    "request_id": upstream_request_id}
        super().__init__(detail or self._describe(), extra={"upstream": upstream})

    def _describe(self) -> str:
        rid = f" (its request id {self.upstream_request_id})" if self.upstream_request_id else ""
        return f"{self.callee} answered {self.upstream_status} to {self.operation}{rid}"

    @property
    def permanent(self) -> bool:
        """A refusal the callee will repeat (a 4xx other than 408 and 429): retrying cannot help."""
        status = self.upstream_status
        return status is not None and 400 <= status < 500 and status not in (408, 429)

    @property
    def problem(self) -> dict[str, Any] | None:
        """The callee's error body when it is a JSON object."""
        return self.body if isinstance(self.body, dict) else None

    def reraise(self) -> NoReturn:
        """Raise the callee's 4xx as this service's own answer (same status, code, detail, field errors).

        Anything else (5xx, invalid answers, timeouts) stays a 502/504 naming the callee.
        """
        status = self.upstream_status
        if status is None or not 400 <= status < 500 or isinstance(self, UpstreamInvalid):
            raise self
        body = self.problem or {}
        errors = [FieldError(str(e.get("path", "")), str(e.get("message", "")))
                  for e in body.get("errors") or [] if isinstance(e, dict) and "path" in e]
        code = body.get("code") if isinstance(body.get("code"), str) else body.get("error")
        detail = next((body[k] for k in ("detail", "error_description", "description", "message")
                       if isinstance(body.get(k), str)), None)
        if detail is None and isinstance(self.body, str) and self.body.strip():
            detail = self.body.strip()[:500]
        raise ApiError(
            detail or f"{self.callee} refused the request ({status})",
            status=status,
            code=str(code).upper() if code else "UPSTREAM_REJECTED",
            title=str(body.get("title") or "Upstream Rejected"),
            errors=errors,
            extra={"upstream": self.extra["upstream"]},
        ) from self


class UpstreamInvalid(UpstreamError):
    """The callee answered something its spec does not allow (status, content type or body)."""

    def _describe(self) -> str:
        return f"{self.callee}'s answer to {self.operation} breaks its spec"


class UpstreamUnavailable(UpstreamError):
    """The callee could not be reached (connection refused, reset, DNS), after any retries."""

    def _describe(self) -> str:
        return f"{self.callee} could not be reached for {self.operation} after {self.attempts} attempt(s)"


class UpstreamTimeout(UpstreamError):
    """The callee did not answer within the read timeout or the call's time budget."""

    status, code, title = 504, "UPSTREAM_TIMEOUT", "Gateway Timeout"

    def _describe(self) -> str:
        return f"{self.callee} did not answer {self.operation} in time"
