"""Webhooks a service's OpenAPI 3.1 spec declares (``fixtures/shop31``'s ``itemSold``), sent to a
subscriber on 127.0.0.1: validated against the spec before anything leaves, carrying the request
id, the subscriber's answer checked against the webhook's declared responses."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, request
from macaron import Service
from macaron.clients import UpstreamInvalid, WebhookInvalid, send_webhook, webhooks
from macaron.testing import serve_app

from ..conftest import FIXTURES, SHOP_ENV


@pytest.fixture(scope="module")
def shop() -> Service:
    return Service.load(FIXTURES / "shop31", environ=SHOP_ENV)


@pytest.fixture(scope="module")
def subscriber() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    got: list[dict[str, Any]] = []
    app = Flask("subscriber")

    @app.post("/hooks/<kind>")
    def hook(kind: str) -> tuple[str, int]:
        got.append({"kind": kind, "body": request.get_json(), "headers": dict(request.headers)})
        return "", {"ok": 200, "gone": 410, "odd": 202}[kind]

    with serve_app(app) as url:
        yield url, got


def test_the_spec_lists_its_webhooks(shop: Service) -> None:
    assert webhooks(shop) == ["itemSold"]


def test_a_webhook_is_sent_as_the_spec_says(shop: Service, subscriber: tuple[str, list[dict[str, Any]]]) -> None:
    url, got = subscriber
    answer = send_webhook("itemSold", f"{url}/hooks/ok", body={"name": "lamp", "price": 12.5}, service=shop)
    assert answer.status == 200
    sent = got[-1]
    assert sent["body"] == {"name": "lamp", "price": 12.5}
    assert sent["headers"]["Content-Type"] == "application/json" and sent["headers"].get("X-Request-Id")


def test_a_body_the_spec_refuses_is_never_sent(shop: Service, subscriber: tuple[str, list[dict[str, Any]]]) -> None:
    url, got = subscriber
    before = len(got)
    with pytest.raises(WebhookInvalid) as caught:
        send_webhook("itemSold", f"{url}/hooks/ok", body={"name": "", "price": -1, "id": 3}, service=shop)
    paths = sorted(e.path for e in caught.value.errors)
    assert paths == ["/body/id", "/body/name", "/body/price"]  # id is readOnly: not sent by a client
    assert len(got) == before
    with pytest.raises(KeyError, match="itemShipped"):
        send_webhook("itemShipped", f"{url}/hooks/ok", body={}, service=shop)


def test_the_subscribers_answer_is_checked_against_the_declared_responses(
    shop: Service, subscriber: tuple[str, list[dict[str, Any]]]
) -> None:
    url, _ = subscriber
    with pytest.raises(UpstreamInvalid) as caught:
        send_webhook("itemSold", f"{url}/hooks/odd", body={"name": "lamp", "price": 1}, service=shop)
    assert caught.value.upstream_status == 202  # only 200 is declared
    with pytest.raises(UpstreamInvalid):
        send_webhook("itemSold", f"{url}/hooks/gone", body={"name": "lamp", "price": 1}, service=shop)
