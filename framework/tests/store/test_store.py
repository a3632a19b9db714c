"""macaron.store: one behaviour suite, run on SQLite and on DynamoDB (moto server mode,
127.0.0.1 only), through the models of the persist fixture service."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from macaron import Conflict, Service, ValidationFailed, create_app
from macaron.store import AlreadyExists, ConditionFailed, PersistedModel, StoreError
from macaron.testing import Api, assert_problem, serve_app

from .._storekit import PERSIST, copy_service, load, moto_dynamodb, store_environ

BACKENDS = ["sqlite", "dynamodb"]


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    with moto_dynamodb() as url:
        yield url


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def environ(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, str]:
    moto = request.getfixturevalue("moto_url") if backend == "dynamodb" else None
    return store_environ(backend, tmp_path, moto)


@pytest.fixture
def service(environ: dict[str, str]) -> Iterator[Service]:
    svc = load(PERSIST, environ)
    yield svc
    if "store" in svc.extensions:
        svc.store().close()


def test_store_is_the_configured_backend_and_lazy(service: Service, backend: str) -> None:
    assert "store" not in service.extensions  # nothing opened at load
    assert service.store().backend == backend
    assert service.store() is service.extensions["store"] is service.store()


def test_create_get_find_save_delete(service: Service) -> None:
    User = service.models.User
    user = User(user_id="u1", email="ada@example.com", handle="ada", name="Ada", country="UK")
    assert user.create() is user
    assert User.get("u1") == user and type(User.get("u1")) is User
    assert User.get("nobody") is None
    assert User.find_by("email", "ada@example.com") == user
    assert User.find_by("handle", "ada") == user
    assert User.find_by("email", "bob@example.com") is None
    user.name = "Ada L."
    user.save()
    assert User.get("u1").name == "Ada L."
    assert user.delete() is True
    assert User.get("u1") is None and User.find_by("email", "ada@example.com") is None
    assert user.delete() is False


def test_class_call_forms(service: Service) -> None:
    User = service.models.User
    user = User(user_id="u1", email="a@example.com")
    User.create(user)
    User.save(user)
    assert User.delete(user) is True


def test_non_unique_index_finds_all_ordered_by_key(service: Service) -> None:
    User = service.models.User
    for n in (3, 1, 2):
        User(user_id=f"u{n}", email=f"u{n}@example.com", country="NO").create()
    User(user_id="u4", email="u4@example.com", country="SE").create()
    assert [u.user_id for u in User.find_all_by("country", "NO")] == ["u1", "u2", "u3"]
    assert [u.user_id for u in User.find_all_by("country", "NO", limit=2)] == ["u1", "u2"]
    assert User.find_by("country", "SE").user_id == "u4"
    assert User.find_all_by("country", "DK") == []
    with pytest.raises(StoreError, match="several User"):
        User.find_by("country", "NO")
    with pytest.raises(StoreError, match="no index 'name'"):
        User.find_by("name", "x")


def test_create_conflicts_on_key_and_on_each_unique_field(service: Service) -> None:
    User = service.models.User
    User(user_id="u1", email="a@example.com", handle="a").create()
    with pytest.raises(AlreadyExists) as on_key:
        User(user_id="u1", email="other@example.com").create()
    assert on_key.value.field == "user_id" and isinstance(on_key.value, Conflict)
    with pytest.raises(AlreadyExists) as on_email:
        User(user_id="u2", email="a@example.com").create()
    assert on_email.value.field == "email" and on_email.value.status == 409
    assert [e.path for e in on_email.value.errors] == ["/email"]
    with pytest.raises(AlreadyExists) as on_handle:
        User(user_id="u2", email="b@example.com", handle="a").create()
    assert on_handle.value.field == "handle"
    assert User.get("u2") is None  # nothing half-written
    User(user_id="u2", email="b@example.com").create()  # the failed attempts left no claims behind
    assert User.find_by("email", "b@example.com").user_id == "u2"


def test_save_is_an_upsert_that_keeps_unique_fields_unique(service: Service) -> None:
    User = service.models.User
    User(user_id="u1", email="a@example.com").save()  # save inserts too
    User(user_id="u2", email="b@example.com").save()
    with pytest.raises(AlreadyExists) as info:
        User(user_id="u2", email="a@example.com").save()
    assert info.value.field == "email"
    assert User.get("u2").email == "b@example.com"


def test_changing_a_unique_value_releases_the_old_one(service: Service) -> None:
    User = service.models.User
    user = User(user_id="u1", email="old@example.com", handle="h1")
    user.create()
    user.email, user.handle = "new@example.com", None
    user.save()
    assert User.find_by("email", "old@example.com") is None
    assert User.find_by("email", "new@example.com").user_id == "u1"
    assert User.find_by("handle", "h1") is None
    User(user_id="u2", email="old@example.com", handle="h1").create()  # both free again
    user.delete()
    User(user_id="u3", email="new@example.com").create()  # delete released its email


def test_conditional_save_with_expect(service: Service) -> None:
    for model, key in ((service.models.User, "user_id"), (service.models.Reading, "reading_id")):
        fields = {"user_id": "u1", "email": "a@example.com"} if key == "user_id" else {"reading_id": 1, "sensor": "s"}
        item = model(**fields, status="new") if key == "user_id" else model(**fields, state="new")
        field = "status" if key == "user_id" else "state"
        with pytest.raises(ConditionFailed):
            item.save(expect={field: "new"})  # not stored yet
        item.save()
        setattr(item, field, "active")
        item.save(expect={field: "new"})
        with pytest.raises(ConditionFailed) as info:
            item.save(expect={field: "new"})
        assert info.value.fields == [field] and info.value.status == 409
        assert getattr(model.get(fields[key]), field) == "active"
        item.save(expect={field: "active", "name" if key == "user_id" else "count": None})


def test_numbers_round_trip(service: Service) -> None:
    Reading = service.models.Reading
    values = [0.1, 1 / 3, -2.5e-7, 1.7976931348623157e100, 123456.789]
    detail = {"nested": {"f": 0.30000000000000004, "i": 7, "big": 2**63 + 1}, "list": [1, 2.25, {"x": -0.0001}]}
    reading = Reading(reading_id=2**53 + 1, sensor="s1", count=9_007_199_254_740_993, value=3.14, values=values)
    reading.detail = detail
    reading.create()
    back = Reading.get(2**53 + 1)
    assert back == reading
    assert back.to_json() == reading.to_json()
    assert type(back.count) is int and back.count == 9_007_199_254_740_993
    assert type(back.reading_id) is int and type(back.detail["nested"]["i"]) is int
    assert type(back.value) is float and back.values == values
    assert back.detail["nested"]["big"] == 2**63 + 1
    assert Reading.find_by("sensor", "s1") == reading


def test_integral_float_reads_back_equal(service: Service) -> None:
    Reading = service.models.Reading
    Reading(reading_id=1, sensor="s", value=2.0, values=[1e20]).create()
    back = Reading.get(1)
    assert back.value == 2.0 and back.values == [1e20]  # DynamoDB may hand back the int 2: equal in JSON


def test_saving_validates_against_the_spec(service: Service) -> None:
    User = service.models.User
    with pytest.raises(ValidationFailed) as info:
        User(user_id="u1", email="not an email", score="high").create()
    assert sorted(e.path for e in info.value.errors) == ["/email", "/score"]
    with pytest.raises(ValidationFailed) as missing:
        User(email="a@example.com").save()
    assert [e.path for e in missing.value.errors] == ["/user_id"]
    with pytest.raises(ValidationFailed) as nan:
        service.models.Reading(reading_id=1, sensor="s", value=float("nan")).save()
    assert [e.path for e in nan.value.errors] == ["/value"]
    assert User.get("u1") is None


def test_models_without_x_persist_have_no_store_methods(service: Service) -> None:
    assert issubclass(service.models.User, PersistedModel)
    assert not issubclass(service.models.Note, PersistedModel)
    assert not hasattr(service.models.Note, "find_by")


def test_two_services_same_model_never_share_a_table(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    moto = request.getfixturevalue("moto_url") if backend == "dynamodb" else None
    env = {"MACARON_ENV": "iso" + uuid.uuid4().hex[:8]}  # default prefixes: <env>-persist-, <env>-other-
    for name in ("persist", "other"):  # one SQLite file / one DynamoDB for both services
        env.update({k: v for k, v in store_environ(backend, tmp_path, moto, name).items() if "PREFIX" not in k})
    one, two = load(PERSIST, env), load(copy_service(tmp_path, "other"), env)
    try:
        names = {svc.store().table_name(svc.models.User.__persist__) for svc in (one, two)}
        assert names == {f"{env['MACARON_ENV']}-persist-users", f"{env['MACARON_ENV']}-other-users"}
        one.models.User(user_id="u1", email="a@example.com").create()
        assert two.models.User.get("u1") is None and two.models.User.find_by("email", "a@example.com") is None
        two.models.User(user_id="u1", email="a@example.com", name="two").create()  # no conflict across services
        assert one.models.User.get("u1").name is None and two.models.User.get("u1").name == "two"
    finally:
        one.store().close()
        two.store().close()


def test_concurrent_writers(service: Service) -> None:
    User = service.models.User
    errors: list[BaseException] = []
    won: list[str] = []

    def writer(n: int) -> None:
        try:
            for i in range(10):
                User(user_id=f"t{n}-{i}", email=f"t{n}-{i}@example.com", country="NO").create()
            try:  # every thread races for the same email: exactly one wins
                User(user_id=f"race{n}", email="race@example.com").create()
                won.append(f"race{n}")
            except AlreadyExists as exc:
                assert exc.field == "email"
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(User.find_all_by("country", "NO")) == 60
    assert len(won) == 1 and User.find_by("email", "race@example.com").user_id == won[0]


def test_conflict_over_http_is_a_409_naming_the_field(service: Service) -> None:
    with serve_app(create_app(service)) as url:
        api = Api(url)
        created = api.post("/users", json={"user_id": "u1", "email": "a@example.com"})
        assert created.status_code == 201 and created.json()["email"] == "a@example.com"
        assert api.get("/users/u1").json() == {"user_id": "u1", "email": "a@example.com"}
        taken = api.post("/users", json={"user_id": "u2", "email": "a@example.com"})
        body = assert_problem(taken, 409, "ALREADY_EXISTS")
        assert body["errors"] == [{"path": "/email", "message": "is already taken"}]
        assert_problem(api.get("/users/u2"), 404, "NOT_FOUND")
