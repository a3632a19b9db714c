"""Mails this service asks the mail service for, as durable tasks (``macaron worker services/user``).

A signup or a password reset has already happened when its mail is asked for, so a mail-service
outage must delay the mail, not lose it: the request is a task, retried with backoff (at least
the mail service's ``Retry-After``) while the mail service is down or overloaded. A refusal it
would repeat (a 4xx other than 408 and 429) is logged and ends the task. The idempotency key
makes every retry the same mail at the mail service.
"""

from __future__ import annotations

from typing import Any

from macaron import current_service, tasks
from macaron.clients import UpstreamError, client
from macaron.tasks import task

from . import identity

#: Finished jobs' records (~7 KB each in Redis) for an hour, not a day: what these jobs did is in the
#: store (the outbox) and at the mail service; a day of them at signup peaks is gigabytes of Redis.
RESULT_TTL = 3600


@task(queue="default", retries=8, backoff=[2, 10, 30, 60, 300, 900, 1800, 3600], timeout=30, result_ttl=RESULT_TTL)
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


@task(queue="default", retries=8, backoff=[2, 10, 30, 60, 300, 900, 1800, 3600], timeout=60, result_ttl=RESULT_TTL)
def deliver_outbox(entry_id: str) -> str:
    """Try outbox entry ``entry_id`` (``outbox.attempt``); raise while it is not delivered, so the
    worker retries it too (the web processes' drainers also do, under the same lease)."""
    from .outbox import attempt

    outcome = attempt(current_service(), entry_id)
    if outcome == "later":
        raise RuntimeError(f"outbox entry {entry_id} not delivered yet")
    return outcome


@task(queue="default", retries=5, backoff=[2, 10, 30, 60, 300], timeout=60, result_ttl=RESULT_TTL)
def start_password_reset(email: str, stamp: str) -> bool:
    """The work of a password reset, done here rather than before the answer, so that the answer
    says nothing about the account (not even by its timing): the Auth0 reset (once per job) and
    the reset mail, when ``email`` has an account; nothing otherwise. ``stamp`` (the minute it was
    asked for) makes repeated requests of one minute one mail."""
    service = current_service()
    user = service.models.User.find_by("email", email)
    if user is None:
        return False
    tasks.once("auth0-change-password", identity.start_password_reset, email)
    # the name is the signer's own text: only mailed once the address is shown to be theirs
    data = {"name": user.name if user.verified_at else "there"}
    request_mail.run_now(email, "password_reset", data, f"reset:{user.user_id}:{stamp}")
    return True
