"""Handlers of the mail service: queue a mail, report where it is.

Mails belong to the service that asked for them (the caller: ``act.sub`` of a token a service
sends on a user's behalf, else the token's ``sub``, as ``service:<name>``): a caller reads only
its own mails (another's is a 404, as an unknown one), and an idempotency key is its caller's,
so two services can never collide on one, or learn of another's mails through one.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from macaron import Conflict, FieldError, NotFound, current_service, models
from macaron.auth import current_user
from macaron.store import AlreadyExists
from macaron.tasks import QueueUnavailable

from .rendering import check_data, pick
from .tasks import _templates, deliver


def _caller() -> str:
    """Who asks: the service acting for a user (``act.sub``), else the token's subject."""
    claims = current_user() or {}
    act = claims.get("act")
    if isinstance(act, dict) and isinstance(act.get("sub"), str):
        return f"service:{act['sub']}"
    return str(claims.get("sub") or "")


def _scoped(caller: str, key: str) -> str:
    """The stored key: the caller's own namespace, length-prefixed so no (caller, key) pair can
    spell another's."""
    return f"{len(caller)}:{caller}:{key}"


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
    caller = _caller()
    key = _scoped(caller, body.idempotency_key) if body.idempotency_key else None
    if key:
        earlier = Mail.find_by("caller_key", key)
        if earlier is not None:
            return _replay(earlier, body)
    mail = Mail(id=uuid.uuid4().hex, to=body.to, template=template.name, template_version=template.version,
                data=data, status="queued", attempts=0, requested_by=caller,
                created_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    if key:
        mail.idempotency_key, mail.caller_key = body.idempotency_key, key
    try:
        mail.create()
    except AlreadyExists:  # the same key, concurrently
        return _replay(Mail.find_by("caller_key", key), body)
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
    if mail is None or mail.requested_by != _caller():  # another caller's mail is as unknown as none
        raise NotFound(f"no mail {id}", code="MAIL_NOT_FOUND")
    return {"id": mail.id, "status": mail.status, "attempts": mail.attempts, "last_error": mail.last_error,
            "sent_at": mail.sent_at}
