"""Clients for sibling services and external APIs, built from their specs.

::

    from macaron.clients import UpstreamError, client

    mail = client("mail")                      # services/mail/api.yaml, url from clients.mail in service.yaml
    receipt = mail.sendMail(body={"to": "a@example.com", "template": "welcome"})
    full = client("sendgrid").responses.sendMail(body=message)   # ClientResponse: result, status, headers
    client("auth0").getToken(body=..., _timeout=2)               # per-call read timeout (or (connect, read))

A service whose OpenAPI 3.1 spec declares ``webhooks`` sends them with
``send_webhook("itemSold", subscriber_url, body=item)``: checked against its own spec before
anything is sent, the subscriber's answer against the webhook's responses (``_webhooks``).

Operations are methods named by operationId, taking the spec's parameters as keyword
arguments (``X-Trace`` → ``x_trace``, as handlers get them) plus call options
``_timeout``, ``_retries``, ``_idempotency_key`` (sent as ``Idempotency-Key``, makes a
POST retryable) and ``_headers``. Results are the callee's models (``mail.models.Receipt``),
checked against the callee's spec. Failures raise :class:`UpstreamError` subclasses;
unhandled, they answer 502 ``UPSTREAM_ERROR`` / 504 ``UPSTREAM_TIMEOUT`` naming the callee.

A client is built once per process and service (spec, bravado operations, validators,
pooled HTTP session) and kept in ``service.extensions``. Configuration: ``_clientconf``;
propagation of request id and tokens: ``_propagation``; retries: ``_http``.

Rule: imports ``_core``, ``store`` and ``auth`` only; which request or task a call joins comes
from ``_core.context``. Implementation in ``_api.py``, ``_calls.py``, ``_http.py``, ...
"""

from ._api import ApiClient, client
from ._upstream import ClientResponse, UpstreamError, UpstreamInvalid, UpstreamTimeout, UpstreamUnavailable
from ._webhooks import WebhookInvalid, send_webhook, webhooks

__all__ = [
    "ApiClient",
    "ClientResponse",
    "UpstreamError",
    "UpstreamInvalid",
    "UpstreamTimeout",
    "UpstreamUnavailable",
    "WebhookInvalid",
    "client",
    "send_webhook",
    "webhooks",
]
