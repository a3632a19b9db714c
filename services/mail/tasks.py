"""The task that sends a stored mail through SendGrid, run by ``macaron worker services/mail``.

Status lives in the store (``queued → sending → sent | failed``), so it survives Redis
and worker restarts. The SendGrid call runs under ``tasks.once``: a re-run of the job
(a retry, or after the worker died) does not send the mail again. A worker killed between
SendGrid's answer and that record is covered too: a re-run first asks SendGrid's activity
feed whether the mail (``custom_args.mail_id``) already went out.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from macaron import tasks
from macaron.clients import UpstreamError, client
from macaron.tasks import task

from .rendering import load_templates, pick, render

RETRIES = 5
#: A finished job's record (~7 KB in Redis) is kept this long, not the framework's day: a mail's
#: state lives in the store (GET /v1/mails/{id}), and at 100 mails/s a day of records is ~60 GB of
#: Redis (docs/scaling.md, capacity model). An hour still shows recent jobs to an operator.
RESULT_TTL = 3600


def _templates(service: Any) -> Any:
    return service.extensions.setdefault("mail.templates", load_templates(service.directory / "templates"))


def _sendgrid_send(service: Any, mail: Any) -> str | None:
    template = pick(_templates(service), mail.template)
    rendered = render(template, mail.data or {})
    sender = service.config["sender"]
    sent = client("sendgrid").responses.sendMail(body={
        "personalizations": [{"to": [{"email": mail.to}], "dynamic_template_data": mail.data or {}}],
        "from": {"email": sender["email"], "name": sender["name"]},
        "subject": rendered.subject,
        "content": [{"type": "text/plain", "value": rendered.text}, {"type": "text/html", "value": rendered.html}],
        "custom_args": {"mail_id": mail.id, "template": f"{template.name}.v{template.version}"},
    })
    return sent.headers.get("X-Message-Id")


def _sent_before(mail: Any) -> str | None:
    """On a re-run: SendGrid's own record of this mail (its message id) if an earlier attempt reached
    it, but died before noting it (a worker killed mid-send). Unknown (search down) counts as not sent."""
    try:
        found = client("sendgrid").searchMessages(query=f"unique_args['mail_id']=\"{mail.id}\"", limit=1)
    except UpstreamError:
        return None
    return str(found.messages[0].msg_id).split(".", 1)[0] if found.messages else None


@task(queue="default", retries=RETRIES, backoff=[2, 10, 30, 60, 120], timeout=60, idempotency_key="mail:{mail_id}",
      result_ttl=RESULT_TTL)
def deliver(mail_id: str) -> str:
    """Send mail ``mail_id`` once; retry on outages, fail for good on permanent refusals."""
    ctx = tasks.current_context()
    assert ctx is not None
    service = ctx.service
    Mail = service.models.Mail
    mail = Mail.get(mail_id)
    if mail is None or mail.status in ("sent", "failed"):
        return mail.status if mail is not None else "missing"
    mail.status, mail.attempts = "sending", ctx.attempt
    mail.save()
    try:
        message_id = _sent_before(mail) if ctx.attempt > 1 else None
        if message_id is None:
            message_id = tasks.once("sendgrid", _sendgrid_send, service, mail)
    except UpstreamError as err:
        last = ctx.attempt > RETRIES or err.permanent  # a refusal SendGrid will repeat
        mail.status = "failed" if last else "queued"
        mail.last_error = f"{err.code}: {err.detail}"[:500]
        mail.save()
        if last:
            return "failed"
        raise
    mail.status, mail.last_error = "sent", None
    mail.sent_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    mail.provider_message_id = message_id
    mail.save()
    return "sent"
