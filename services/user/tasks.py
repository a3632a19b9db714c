"""Mails this service asks the mail service for, as durable tasks (``macaron worker services/user``).

A signup or a password reset has already happened when its mail is asked for, so a mail-service
outage must delay the mail, not lose it: the request is a task, retried with backoff (at least
the mail service's ``Retry-After``) while the mail service is down or overloaded. A refusal it
would repeat (a 4xx other than 408 and 429) is logged and ends the task. The idempotency key
makes every retry the same mail at the mail service.
"""

from __future__ import annotations

from typing import Any

from macaron import current_service
from macaron.clients import UpstreamError, client
from macaron.tasks import task


@task(queue="default", retries=8, backoff=[2, 10, 30, 60, 300, 900, 1800, 3600], timeout=30)
def request_mail(to: str, template: str, data: dict[str, Any], idempotency_key: str) -> str | None:
    """Ask the mail service to send ``template`` to ``to``; the mail's id, or None when refused."""
    try:
        queued = client("mail").sendMail(
            body={"to": to, "template": template, "data": data, "idempotency_key": idempotency_key},
            _idempotency_key=idempotency_key,
        )
    except UpstreamError as err:
        if err.permanent:
            current_service().log.error(
                "the mail service refused the %s mail: %s", template, err.detail,
                extra={"template": template, "upstream": err.extra.get("upstream")},
            )
            return None
        raise
    return str(queued.id)
