"""Request bodies (``_body.py``): read straight from a server that ends the stream, within the limit."""

from __future__ import annotations

import json

import pytest
from flask import Flask, request
from macaron import Service, create_app
from macaron._server.body import MacaronRequest

from ..conftest import FIXTURES, SHOP_ENV


@pytest.fixture(scope="module")
def service() -> Service:
    return Service.load(FIXTURES / "shop", environ=SHOP_ENV)


@pytest.fixture(scope="module")
def app(service: Service) -> Flask:
    return create_app(service)


TERMINATED = {"wsgi.input_terminated": True}  # what gunicorn says: it ends the body itself


def test_a_body_of_known_length_is_read_from_a_server_that_ends_it(app: Flask) -> None:
    body = json.dumps({"name": "lamp", "price": 2}).encode()
    with app.test_request_context("/items", method="POST", data=body, environ_overrides=TERMINATED):
        assert isinstance(request._get_current_object(), MacaronRequest)
        assert request.stream is request.environ["wsgi.input"]  # no LimitedStream around it
    with app.test_request_context("/items", method="POST", data=body):  # a server that does not end it
        assert request.stream is not request.environ["wsgi.input"]
    answer = app.test_client().post("/items", data=body, content_type="application/json", environ_overrides=TERMINATED)
    assert answer.status_code == 201 and answer.get_json()["name"] == "lamp"


def test_the_body_limit_holds_on_the_shortcut(app: Flask, service: Service) -> None:
    limit = int(service.config["max_body_bytes"])
    big = b'{"name": "' + b"x" * limit + b'"}'
    answer = app.test_client().post("/items", data=big, content_type="application/json", environ_overrides=TERMINATED)
    assert answer.status_code == 413 and answer.get_json()["code"] == "PAYLOAD_TOO_LARGE"


def test_a_streamed_body_over_the_limit_is_refused_not_cut_short(app: Flask, service: Service) -> None:
    """werkzeug's capped stream returns a streamed body cut at the limit; a JSON body would then
    be reported as malformed (400) instead of too large (413)."""
    limit = int(service.config["max_body_bytes"])
    chunked = {**TERMINATED, "HTTP_TRANSFER_ENCODING": "chunked"}
    client = app.test_client()
    for size, status in ((limit + 10, 413), (limit - 40, 400)):  # the small one: a long name (maxLength 50)
        body = b'{"name": "' + b"x" * (size - 25) + b'", "price": 1}'
        answer = client.post("/items", data=body, content_type="application/json", environ_overrides=chunked)
        assert answer.status_code == status, answer.get_data()[:200]
    exact = b'{"name": "lamp", "price": 1' + b" " * (limit - 28) + b"}"
    assert len(exact) == limit
    answer = client.post("/items", data=exact, content_type="application/json", environ_overrides=chunked)
    assert answer.status_code == 201  # exactly the limit is allowed
