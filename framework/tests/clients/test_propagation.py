"""What outgoing calls carry outside a request: a task's request id and user, or a service token.

Checked on the callee side: echo reports the request id and the claims it verified.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from macaron import Service, create_app
from macaron._core.context import running_task as running
from macaron.clients import client
from macaron.clients._propagation import outgoing_headers, request_id
from macaron.tasks._base import TaskContext
from macaron.testing import serve_app

FIXTURES = Path(__file__).parents[1] / "fixtures"
ENV = {"TEST_JWT_SECRET": "t" * 40, "RELAY_SENDGRID_KEY": "SG.relay-key"}


@pytest.fixture(scope="module")
def relay() -> Iterator[Service]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with serve_app(create_app(Service.load(FIXTURES / "echo", environ=ENV))) as url:
        yield Service.load(FIXTURES / "relay", environ={**ENV, "MACARON_CLIENTS__ECHO__URL": url})


def test_a_task_enqueued_by_a_user_calls_on_behalf_of_that_user(relay: Service) -> None:
    claims = {"sub": "bob", "scope": "profile orders", "aud": "relay"}
    with running(TaskContext(service=relay, task="t", request_id="req-from-enqueue", claims=claims)):
        seen = client("echo").whoami()  # the task's service, found without service=
    assert seen.request_id == "req-from-enqueue"
    assert (seen.sub, seen.aud, seen.act, seen.scope) == ("bob", "echo", {"sub": "relay"}, "orders profile")


def test_a_task_without_a_user_calls_with_a_service_token(relay: Service) -> None:
    with running(TaskContext(service=relay, task="t", request_id="req-nightly")):
        seen = client("echo").whoami()
    assert (seen.request_id, seen.sub, seen.act) == ("req-nightly", "service:relay", None)


def test_nested_acting_chains_are_kept(relay: Service) -> None:
    claims = {"sub": "bob", "act": {"sub": "gateway"}}
    with running(TaskContext(service=relay, task="t", request_id="r", claims=claims)):
        assert client("echo").whoami().act == {"sub": "relay", "act": {"sub": "gateway"}}


def test_outside_everything_a_fresh_request_id_per_call() -> None:
    first, second = request_id(), request_id()
    assert first != second and len(first) == 32
    assert set(outgoing_headers(None)) == {"X-Request-ID"}


def test_client_outside_a_request_or_task_needs_a_service() -> None:
    from macaron import MacaronError

    with pytest.raises(MacaronError, match="pass service="):
        client("echo")
