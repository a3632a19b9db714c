"""Mails this service asks the mail service for. A mail is never fatal: the account change it
follows has already happened. It is queued as a task (``tasks.request_mail``, retried until the
mail service takes it); with the queue down it is asked for once, now, and logged if that fails."""

from __future__ import annotations

from typing import Any

from macaron import current_service
from macaron.clients import UpstreamError
from macaron.tasks import QueueUnavailable

from .tasks import request_mail as request_mail_task


def request_mail(to: str, template: str, data: dict[str, Any], idempotency_key: str) -> str | None:
    """Queue the request for ``template`` to ``to``; the job's id, None when it was asked for
    directly (the mail service's idempotency key makes every retry, and this fallback, one mail)."""
    log = current_service().log
    try:
        return request_mail_task.delay(to, template, data, idempotency_key).id
    except QueueUnavailable:
        log.warning("the task queue is unavailable; asking for the %s mail directly", template,
                    extra={"template": template})
    try:
        request_mail_task.run_now(to, template, data, idempotency_key)
    except UpstreamError as err:
        log.error("could not request the %s mail: %s", template, err.detail,
                  extra={"template": template, "upstream": err.extra.get("upstream")})
    return None
