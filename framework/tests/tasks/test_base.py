"""Task options, the running task's context, and the JSON codec of task arguments."""

from __future__ import annotations

import math
import re

import pytest
from macaron import Service
from macaron._core.context import running_task as running
from macaron._core.models import to_plain
from macaron.tasks import current_context
from macaron.tasks._base import DICT_TAG, MODEL_TAG, TaskContext, TaskOptions, decode, encode

from ..conftest import FIXTURES


@pytest.fixture(scope="module")
def jobs(tmp_path_factory: pytest.TempPathFactory) -> Service:
    return Service.load(FIXTURES / "jobs", environ={"MACARON_JOBS_OUT_DIR": str(tmp_path_factory.mktemp("out"))})


def test_models_round_trip_as_models_with_nested_models(jobs: Service) -> None:
    user = jobs.models.User.from_json({"id": "u1", "email": "a@b.c", "address": {"city": "Lyon"}, "tags": ["x"]})
    data = encode([user, {"by": user}, (1, 2.5, None, True)])
    assert data[0] == {MODEL_TAG: "User", "data": user.to_json()}
    back = decode(data, jobs.models.get)
    assert type(back[0]).__name__ == "User" and type(back[0].address).__name__ == "Address"
    assert back[0] == user and back[1]["by"] == user
    assert back[2] == [1, 2.5, None, True]  # tuples arrive as lists


def test_plain_dicts_that_use_a_tag_key_come_back_unchanged(jobs: Service) -> None:
    for value in ({MODEL_TAG: "User", "data": {}}, {DICT_TAG: {"a": 1}}, {DICT_TAG: 1, "b": 2}):
        assert decode(encode(value), jobs.models.get) == value


@pytest.mark.parametrize(
    ("value", "path"),
    [({"when": object()}, "args.when"), ([1, {2: "x"}], "args[1]"), ([math.nan], "args[0]"), ([{1, 2}], "args[0]")],
)
def test_non_json_arguments_are_refused_naming_the_path(value: object, path: str) -> None:
    with pytest.raises(TypeError, match="^" + re.escape(path) + ":"):
        encode(value)


def test_an_unknown_model_is_a_clear_error(jobs: Service) -> None:
    with pytest.raises(LookupError, match="'Ghost' is not defined"):
        decode({MODEL_TAG: "Ghost", "data": {}}, jobs.models.get)


def test_to_plain_gives_json_for_responses(jobs: Service) -> None:
    user = jobs.models.User(id="u", email="e")
    assert to_plain({"u": [user]}) == {"u": [{"id": "u", "email": "e"}]}


def test_options_validate_and_expand_backoff() -> None:
    assert TaskOptions(retries=4, backoff=(1, 5)).intervals() == [1, 5, 5, 5]
    assert TaskOptions(retries=2).intervals() == [0, 0]
    for bad in ({"queue": "Bad Queue"}, {"retries": -1}, {"timeout": 0}, {"backoff": (1.5,)}, {"delay": -1}):
        with pytest.raises(ValueError):
            TaskOptions(**bad)  # type: ignore[arg-type]


def test_idempotency_keys_from_a_template_or_a_function(jobs: Service) -> None:
    def send(user, kind="welcome"):
        return None

    user = jobs.models.User(id="u7", email="e")
    assert TaskOptions(idempotency_key="{kind}:{user.id}").key_for(send, (user,), {}) == "welcome:u7"
    assert TaskOptions(idempotency_key=lambda user, kind="x": f"k-{user.id}").key_for(send, (user,), {}) == "k-u7"
    assert TaskOptions().key_for(send, (user,), {}) is None
    with pytest.raises(ValueError, match="non-empty string"):
        TaskOptions(idempotency_key=lambda user: "").key_for(send, (user,), {})


def test_the_context_is_set_only_while_a_task_runs(jobs: Service) -> None:
    assert current_context() is None
    ctx = TaskContext(service=jobs, task="tasks.echo", request_id="r1", claims={"sub": "u"})
    with running(ctx):
        assert current_context() is ctx and current_context().service_name == "jobs"
        inner = TaskContext(service=jobs, task="tasks.slow", request_id="r2")
        with running(inner):
            assert current_context() is inner
        assert current_context() is ctx
    assert current_context() is None
