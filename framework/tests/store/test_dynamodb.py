"""macaron.store._dynamodb specifics, against moto in server mode on 127.0.0.1: table
layout, guard items, number limits, unreachable endpoints, racing saves."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from macaron import Service, ServiceUnavailable, ValidationFailed
from macaron._local.ports import free_port
from macaron.store import Index, StoreError, StoreUnavailable, TableSpec
from macaron.store._dynamodb import DynamoStore

from .._storekit import PERSIST, load, moto_dynamodb, store_environ


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    with moto_dynamodb() as url:
        yield url


@pytest.fixture
def service(moto_url: str, tmp_path: Path) -> Iterator[Service]:
    svc = load(PERSIST, store_environ("dynamodb", tmp_path, moto_url))
    yield svc
    svc.store().close()


def raw_client(url: str) -> Any:
    return boto3.session.Session().client("dynamodb", region_name="us-east-1", endpoint_url=url)


def rows(url: str, table: str) -> dict[str, dict[str, Any]]:
    return {item["_pk"]["S"]: item for item in raw_client(url).scan(TableName=table)["Items"]}


def test_tables_are_created_on_first_use_pay_per_request(service: Service, moto_url: str) -> None:
    store = service.store()
    assert isinstance(store, DynamoStore) and store._client is None  # nothing contacted yet
    users = store.table_name(service.models.User.__persist__)
    assert users not in raw_client(moto_url).list_tables()["TableNames"]
    assert service.models.User.get("nobody") is None
    table = raw_client(moto_url).describe_table(TableName=users)["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == [{"AttributeName": "_pk", "KeyType": "HASH"}]
    assert [g["IndexName"] for g in table["GlobalSecondaryIndexes"]] == ["by_country"]  # unique fields use guards


def test_guard_items_follow_the_unique_values(service: Service, moto_url: str) -> None:
    User = service.models.User
    table = service.store().table_name(User.__persist__)
    user = User(user_id="u1", email="a@example.com", handle="ada", score=1.5)
    user.create()
    stored = rows(moto_url, table)
    assert set(stored) == {"item#u1", "unique#email#a@example.com", "unique#handle#ada"}
    assert stored["item#u1"]["score"] == {"N": "1.5"} and stored["item#u1"]["user_id"] == {"S": "u1"}
    guard = stored["unique#email#a@example.com"]
    assert guard == {"_pk": {"S": "unique#email#a@example.com"}, "_owner": {"S": "item#u1"}}
    user.email, user.handle = "b@example.com", None
    user.save()
    assert set(rows(moto_url, table)) == {"item#u1", "unique#email#b@example.com"}
    user.delete()
    assert rows(moto_url, table) == {}


def test_numbers_dynamodb_cannot_hold_are_named(service: Service) -> None:
    Reading = service.models.Reading
    with pytest.raises(ValidationFailed) as info:
        Reading(reading_id=1, sensor="s", count=10**40, value=1e200, values=[1.0, 1e-200]).save()
    assert sorted(e.path for e in info.value.errors) == ["/count", "/value", "/values/1"]
    assert Reading.get(1) is None


def test_numbers_are_stored_as_exact_decimals(service: Service, moto_url: str) -> None:
    Reading = service.models.Reading
    Reading(reading_id=5, sensor="s", value=0.1, count=2**63 + 1, values=[1 / 3]).save()
    item = rows(moto_url, service.store().table_name(Reading.__persist__))["item#5"]
    assert item["value"] == {"N": "0.1"} and item["count"] == {"N": str(2**63 + 1)}
    assert item["values"] == {"L": [{"N": repr(1 / 3)}]}


def test_unreachable_endpoint_is_503_not_a_crash() -> None:
    store = DynamoStore("x-", region="us-east-1", endpoint_url=f"http://127.0.0.1:{free_port()}")
    spec = TableSpec(model="Thing", table="things", key="id", key_type="string")
    with pytest.raises(StoreUnavailable) as info:
        store.get(spec, "a")
    assert isinstance(info.value, ServiceUnavailable) and info.value.status == 503


def test_a_missing_gsi_is_reported_clearly(moto_url: str) -> None:
    store = DynamoStore("gsi-", region="us-east-1", endpoint_url=moto_url)
    plain = TableSpec(model="Thing", table="things", key="id", key_type="string")
    store.put(plain, {"id": "a"})
    indexed = TableSpec("Thing", "things", "id", "string", (Index("colour", "string", unique=False),))
    fresh = DynamoStore("gsi-", region="us-east-1", endpoint_url=moto_url)
    with pytest.raises(StoreError, match="has no index by_colour for Thing"):
        fresh.find(indexed, "colour", "red")
    store.close()
    fresh.close()


def test_racing_saves_of_one_item_keep_exactly_its_guard(service: Service, moto_url: str) -> None:
    User = service.models.User
    User(user_id="u1", email="start@example.com").create()
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(8):
                User(user_id="u1", email=f"w{n}-{i}@example.com").save()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    final = User.get("u1").email
    guards = [pk for pk in rows(moto_url, service.store().table_name(User.__persist__)) if pk.startswith("unique#")]
    assert guards == [f"unique#email#{final}"]
    assert User.find_by("email", final).user_id == "u1"


def test_dynamodb_failing_inside_is_503_not_500(moto_url: str) -> None:
    """DynamoDB's InternalServerError (HTTP 500, after botocore's own retries) is the store being
    unavailable, as a throttle is: a 503 a caller may retry, not an internal error of the service.
    Found with several instances on one moto (docs/scaling.md)."""
    from botocore.stub import Stubber

    store = DynamoStore("s-", region="us-east-1", endpoint_url=moto_url)
    spec = TableSpec(model="Thing", table="things", key="id", key_type="string")
    store.put(spec, {"id": "a"})  # the table exists (and is known to the store)
    with Stubber(store.client) as stub:
        stub.add_client_error("get_item", service_error_code="InternalServerError", http_status_code=500)
        with pytest.raises(StoreUnavailable, match="failed to answer"):
            store.get(spec, "a")
        stub.add_client_error("get_item", service_error_code="ValidationException", http_status_code=400)
        with pytest.raises(StoreError) as info:
            store.get(spec, "a")
    assert not isinstance(info.value, StoreUnavailable)
