"""Sending the webhooks a service's own OpenAPI 3.1 spec declares (``webhooks:``).

::

    from macaron.clients import send_webhook

    send_webhook("newPet", "https://subscriber.example/hooks", body={"id": 7, "name": "Rex"})

The body (and any header parameters, as keyword arguments ``headers=``) is validated against the
webhook's ``requestBody`` before anything is sent: a body the spec refuses raises
:class:`WebhookInvalid` naming the fields, and nothing leaves the service. The call then goes
out like any client call: the request id of the request or task it is made in, the client
timeouts and retry policy (retried only with an ``idempotency_key``, sent as
``Idempotency-Key``, as a POST of a client is), the pooled session the service's clients share
(one per process). The subscriber's answer is checked against the webhook's declared
``responses``: a status it does not declare (and no ``default``) raises
:class:`UpstreamInvalid`; a 4xx/5xx it declares raises :class:`UpstreamError` (the subscriber
refused); otherwise a :class:`ClientResponse` is returned.

Rule: imports ``_core`` and this package only, as :mod:`._api` does.
"""

from __future__ import annotations

import json
from typing import Any

from .._core.errors import ApiError, FieldError
from .._core.observability import REQUEST_ID_HEADER
from .._core.schema import REQUEST
from .._core.service import Service
from ._api import _registry, _service_here
from ._http import CallFailed, RetryPolicy, Timeouts
from ._propagation import outgoing_headers
from ._upstream import ClientResponse, UpstreamError, UpstreamInvalid, UpstreamTimeout, UpstreamUnavailable


class WebhookInvalid(ApiError):
    """A webhook body (or header) the service's own spec refuses: a bug of the sender, not sent."""

    status, code, title = 500, "WEBHOOK_INVALID", "Webhook Invalid"


def webhooks(service: Service) -> list[str]:
    """The names of the webhooks ``service``'s spec declares (OpenAPI 3.1 ``webhooks``)."""
    return sorted(service.spec.document.get("x-webhooks") or {})


def send_webhook(name: str, url: str, body: Any = None, *, service: Service | None = None,
                 method: str | None = None, headers: dict[str, str] | None = None,
                 timeout: float | tuple[float, float] | None = None, idempotency_key: str | None = None,
                 retries: int | None = None) -> ClientResponse[Any]:
    """Send webhook ``name`` of ``service``'s spec (default: the current request's or task's) to
    ``url``, after checking ``body`` and ``headers`` against it; the subscriber's answer, checked."""
    service = service or _service_here()
    declared = service.spec.document.get("x-webhooks") or {}
    if name not in declared:
        raise KeyError(f"{service.name}'s spec declares no webhook {name!r}; it declares {sorted(declared)}")
    operations = declared[name]
    verb = (method or next(iter(operations), "post")).lower()
    if verb not in operations:
        raise KeyError(f"webhook {name!r} has no {verb.upper()} operation; it has {sorted(operations)}")
    op = operations[verb]
    sent_headers = {str(k): str(v) for k, v in (headers or {}).items()}
    errors = _check(service, op, body, sent_headers)
    if errors:
        raise WebhookInvalid(f"webhook {name} breaks {service.name}'s spec; nothing was sent", errors=errors)
    out = {**outgoing_headers(None), **sent_headers}
    data = None
    if body is not None:
        data = json.dumps(body.to_json() if hasattr(body, "to_json") else body).encode()
        out.setdefault("Content-Type", _json_type(op))
    if idempotency_key is not None:
        out["Idempotency-Key"] = str(idempotency_key)
    policy = RetryPolicy() if retries is None else RetryPolicy(retries=int(retries))
    try:
        outcome = _registry(service).transport.send(verb.upper(), url, headers=out, data=data,
                                    timeouts=Timeouts.of(timeout, Timeouts()), policy=policy,
                                    repeatable=idempotency_key is not None)
    except CallFailed as exc:
        kind = UpstreamTimeout if exc.kind == "timeout" else UpstreamUnavailable
        raise kind(url, f"webhook {name}", upstream_request_id=out[REQUEST_ID_HEADER], attempts=exc.attempts) from None
    response = outcome.response
    rid = response.headers.get(REQUEST_ID_HEADER) or out[REQUEST_ID_HEADER]
    status = response.status_code
    responses = op.get("responses") or {}
    if str(status) not in responses and f"{str(status)[0]}XX" not in responses and "default" not in responses:
        raise UpstreamInvalid(url, f"webhook {name}", upstream_status=status, upstream_request_id=rid,
                              attempts=outcome.attempts,
                              detail=f"the subscriber at {url} answered {status}, which webhook {name} "
                                     "does not declare")
    if status >= 400:
        raise UpstreamError(url, f"webhook {name}", upstream_status=status, upstream_request_id=rid,
                            attempts=outcome.attempts, body=response.text[:2000])
    return ClientResponse(response.text or None, status, dict(response.headers), rid, outcome.attempts)


def _check(service: Service, op: dict[str, Any], body: Any, headers: dict[str, str]) -> list[FieldError]:
    errors: list[FieldError] = []
    compiler = service.compiler
    for param in op.get("parameters") or []:
        where = param.get("in")
        if where == "body":
            plain = body.to_json() if hasattr(body, "to_json") else body
            if plain is None:
                if param.get("required"):
                    errors.append(FieldError("/body", "is required"))
                continue
            content = param.get("x-content") or {}
            media = next((m for m in content if m.split(";")[0].strip().endswith("json")), None)
            schema = (content.get(media) or {}).get("schema") if media else param.get("schema")
            if isinstance(schema, dict):
                errors += compiler.validator(schema, direction=REQUEST)(plain, ["body"])[1]
        elif where == "header":
            value = next((v for k, v in headers.items() if k.lower() == str(param.get("name")).lower()), None)
            if value is None and param.get("required"):
                errors.append(FieldError(f"/header/{param.get('name')}", "is required"))
            elif value is not None and isinstance(param.get("x-schema"), dict) and param["x-schema"].get("type") in (
                    None, "string"):
                errors += compiler.validator(param["x-schema"], direction=REQUEST)(value, ["header", param["name"]])[1]
    return errors


def _json_type(op: dict[str, Any]) -> str:
    return next((m for m in op.get("consumes") or [] if m.split(";")[0].strip().endswith("json")), "application/json")
