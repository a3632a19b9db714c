"""Stateful behaviour of the SendGrid fake (``macaron fake shared_apis/sendgrid.yaml``).

Keeps every accepted mail in ``state["mails"]`` (see ``GET /__fake__/state``) and
enforces the Mail Send rules that span several fields, answering with SendGrid's
own error body and messages. The schema itself is checked by the fake before this
handler runs; the API key is only checked for presence (the real key is unknown here).
"""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

_HELP = "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html#message."
_MAX_RECIPIENTS = 1000


def _error(message: str, field: str | None, anchor: str | None = None, status: int = 400) -> tuple[Any, int]:
    return {"errors": [{"message": message, "field": field, "help": _HELP + anchor if anchor else None}]}, status


def _rule_errors(mail: dict[str, Any]) -> tuple[Any, int] | None:
    personalizations = mail["personalizations"]
    if not mail.get("template_id") and not mail.get("content"):
        return _error(
            "Unless a valid template_id is provided, the content parameter is required. There must be at least "
            "one defined content block. We typically suggest both text/plain and text/html blocks are included, "
            "but only one block is required.", "content", "content")
    templated = bool(mail.get("template_id"))
    if not templated and not mail.get("subject") and not all(p.get("subject") for p in personalizations):
        return _error(
            "The subject is required. You can get around this requirement if you use a template with a subject "
            "defined or if every personalization has a subject defined.", "subject", "subject")
    total = sum(len(p.get(k) or []) for p in personalizations for k in ("to", "cc", "bcc"))
    if total > _MAX_RECIPIENTS:
        return _error("The personalizations field cannot contain more than 1000 recipients.", "personalizations",
                      "personalizations")
    for index, p in enumerate(personalizations):
        seen: set[str] = set()
        for kind in ("to", "cc", "bcc"):
            for address in p.get(kind) or []:
                email = address["email"].lower()
                if email in seen:
                    return _error("Each email address in the personalization block should be unique between to, "
                                  "cc, and bcc. We found the first duplicate instance of [" + address["email"] +
                                  "] in the personalizations." + str(index) + "." + kind + " field.",
                                  f"personalizations.{index}.{kind}", "personalizations")
                seen.add(email)
    types = [c["type"] for c in mail.get("content") or []]
    if "text/plain" in types and "text/html" in types and types.index("text/plain") > types.index("text/html"):
        return _error("If present, text/plain content must be first, followed by text/html and then any other "
                      "content.", "content", "content")
    if mail.get("reply_to") and mail.get("reply_to_list"):
        return _error("reply_to and reply_to_list cannot be used together", "reply_to_list", "reply_to")
    return None


def sendMail(fake: Any, body: Any) -> Any:
    """Accept a valid mail: keep it, answer 202 with an ``X-Message-Id``."""
    mail = body.to_json()
    rejected = _rule_errors(mail)
    if rejected is not None:
        return rejected
    message_id = secrets.token_urlsafe(16)[:22]
    fake.state.setdefault("mails", []).append(
        {"message_id": message_id, "received_at": int(time.time()), "mail": mail}
    )
    return None, 202, {"X-Message-Id": message_id}


_CLAUSE = re.compile(r"""^\s*unique_args\['([^']+)'\]\s*=\s*"([^"]*)"\s*$""")


def searchMessages(fake: Any, query: str, limit: int = 10) -> Any:
    """The accepted mails whose ``custom_args[key]`` equals the value of ``unique_args['key']="value"``."""
    match = _CLAUSE.match(query)
    if match is None:
        return _error("invalid query: this fake understands unique_args['<key>']=\"<value>\"", "query")
    key, value = match.groups()
    found = [m for m in reversed(fake.state.get("mails", []))
             if str((m["mail"].get("custom_args") or {}).get(key)) == value][:limit]
    return {"messages": [{"msg_id": f"{m['message_id']}.filter0001", "status": "processed",
                          "from_email": m["mail"]["from"]["email"], "subject": m["mail"].get("subject", ""),
                          "to_email": m["mail"]["personalizations"][0]["to"][0]["email"]} for m in found]}
