"""Handlers of the mail service: queue a mail, report where it is."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from macaron import Conflict, FieldError, NotFound, current_service, models
from macaron.auth import get_user_id
from macaron.store import AlreadyExists
from macaron.tasks import QueueUnavailable

from .rendering import check_data, pick
from .tasks import _templates, deliver


def _queued(mail: Any) -> tuple[dict[str, str], int]:
    return {"id": mail.id, "status": mail.status}, 202


def _same_request(mail: Any, body: Any) -> bool:
    return mail.to == body.to and mail.template == body.template and (mail.data or {}) == (body.data or {})


def sendMail(body: Any) -> tuple[dict[str, str], int]:
    """Store the mail, then queue its delivery; a known idempotency key answers the first mail."""
    template = pick(_templates(current_service()), body.template)
    data = body.data or {}
    check_data(template, data)
    Mail = models().Mail
    if body.idempotency_key:
        earlier = Mail.find_by("idempotency_key", body.idempotency_key)
        if earlier is not None:
            return _replay(earlier, body)
    mail = Mail(id=uuid.uuid4().hex, to=body.to, template=template.name, template_version=template.version,
                data=data, status="queued", attempts=0, requested_by=get_user_id() or "",
                created_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    if body.idempotency_key:
        mail.idempotency_key = body.idempotency_key
    try:
        mail.create()
    except AlreadyExists:  # the same key, concurrently
        return _replay(Mail.find_by("idempotency_key", body.idempotency_key), body)
    try:
        deliver.delay(mail.id)
    except QueueUnavailable:
        mail.delete()  # nothing half-accepted: the caller retries the whole request
        raise
    return _queued(mail)


def _replay(earlier: Any, body: Any) -> tuple[dict[str, str], int]:
    if not _same_request(earlier, body):
        raise Conflict("this idempotency key was used for a different mail", code="IDEMPOTENCY_KEY_REUSED",
                       errors=[FieldError("/body/idempotency_key", "was used for a different mail")])
    return _queued(earlier)


def getMail(id: str) -> dict[str, Any]:
    mail = models().Mail.get(id)
    if mail is None:
        raise NotFound(f"no mail {id}", code="MAIL_NOT_FOUND")
    return {"id": mail.id, "status": mail.status, "attempts": mail.attempts, "last_error": mail.last_error,
            "sent_at": mail.sent_at}
