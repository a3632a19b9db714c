"""Mails this service asks the mail service for. A mail that cannot be requested is
logged, never fatal: the account change it follows has already happened."""

from __future__ import annotations

from typing import Any

from macaron import current_service
from macaron.clients import UpstreamError, client


def request_mail(to: str, template: str, data: dict[str, Any], idempotency_key: str) -> str | None:
    """Ask the mail service to send ``template`` to ``to``; the mail's id, or None if it failed."""
    try:
        queued = client("mail").sendMail(
            body={"to": to, "template": template, "data": data, "idempotency_key": idempotency_key},
            _idempotency_key=idempotency_key,
        )
    except UpstreamError as err:
        current_service().log.error(
            "could not request the %s mail: %s", template, err.detail,
            extra={"template": template, "upstream": err.extra.get("upstream")},
        )
        return None
    return str(queued.id)
