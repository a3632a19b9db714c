"""The DynamoDB backend (boto3): one table per persisted model, ``<prefix><table>``.

Items are stored as native attributes plus ``_pk = "item#<key>"``. Unique fields are
kept unique with *guard items* in the same table (``_pk = "unique#<field>#<value>"``,
``_owner = "item#<key>"``), written in the same ``TransactWriteItems`` as the item
with ``attribute_not_exists`` conditions; changing or deleting an item releases its
old guards in the same transaction. ``find_by`` on a unique field reads the guard, so
it is strongly consistent; other indexes are GSIs (``by_<field>``, eventually
consistent on AWS). Tables are created on first use (PAY_PER_REQUEST).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .._core.errors import ValidationFailed
from ._base import (
    AlreadyExists,
    ConditionFailed,
    Item,
    Scalar,
    Store,
    StoreError,
    StoreUnavailable,
    TableSpec,
    expect_mismatch,
)
from ._codec import decode, encode, encode_value
from ._dynamo import OWNER, PK, absent, condition, ensure_table, guard_pk, item_pk, owned, owned_or_absent

__all__ = ["DynamoStore"]

_ATTEMPTS = 10
_RETRIES: Any = {"mode": "standard", "max_attempts": 4}  # throttling and transient errors
_RETRY_CODES = {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}


class _Retry(Exception):
    """The item changed between our read and our write: read again."""


class DynamoStore(Store):
    """Items in DynamoDB (``endpoint_url`` for moto or DynamoDB Local)."""

    backend = "dynamodb"

    def __init__(self, prefix: str, *, region: str | None = None, endpoint_url: str | None = None) -> None:
        super().__init__(prefix)
        self.region = region
        self.endpoint_url = endpoint_url
        self._client: Any = None
        self._lock = threading.RLock()
        self._ready: set[str] = set()

    @property
    def client(self) -> Any:
        """A boto3 DynamoDB client (thread-safe), built on first use from its own session."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    import boto3
                    from botocore.config import Config

                    session = boto3.session.Session()
                    self._client = session.client(
                        "dynamodb",
                        region_name=self.region,
                        endpoint_url=self.endpoint_url,
                        config=Config(connect_timeout=3, read_timeout=10, retries=_RETRIES),
                    )
        return self._client

    # -- tables ---------------------------------------------------------------------------

    def _table(self, spec: TableSpec) -> str:
        name = self.table_name(spec)
        if name not in self._ready:
            with self._lock, _errors(spec):
                if name not in self._ready:
                    ensure_table(self.client, name, spec)
                    self._ready.add(name)
        return name

    # -- reads --------------------------------------------------------------------------

    def _read(self, name: str, key: Any) -> dict[str, Any] | None:
        response = self.client.get_item(TableName=name, Key={PK: item_pk(key)}, ConsistentRead=True)
        return response.get("Item")  # type: ignore[no-any-return]

    def get(self, spec: TableSpec, key: Any) -> Item | None:
        name = self._table(spec)
        with _errors(spec):
            raw = self._read(name, key)
        return None if raw is None else decode(raw, (PK,))

    def find(self, spec: TableSpec, field: str, value: Any, *, limit: int | None = None) -> list[Item]:
        index = spec.index(field)
        name = self._table(spec)
        with _errors(spec):
            if index.unique:
                guard = self.client.get_item(TableName=name, Key={PK: guard_pk(field, value)}, ConsistentRead=True)
                owner = guard.get("Item", {}).get(OWNER)
                raw = (
                    None
                    if owner is None
                    else self.client.get_item(TableName=name, Key={PK: owner}, ConsistentRead=True).get("Item")
                )
                item = None if raw is None else decode(raw, (PK,))
                return [item] if item is not None and item.get(field) == value else []
            items = [decode(raw, (PK,)) for raw in self._query(name, field, value)]
        items.sort(key=lambda item: item[spec.key])
        return items if limit is None else items[:limit]

    def _query(self, name: str, field: str, value: Any) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "TableName": name,
            "IndexName": f"by_{field}",
            "KeyConditionExpression": "#f = :v",
            "ExpressionAttributeNames": {"#f": field},
            "ExpressionAttributeValues": {":v": encode_value(value)},
        }
        while True:
            page = self.client.query(**kwargs)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # -- writes -------------------------------------------------------------------------

    def _encode(self, spec: TableSpec, item: Item) -> dict[str, Any]:
        attributes, errors = encode(item)
        if errors:
            raise ValidationFailed(f"a {spec.model} cannot be stored in DynamoDB", errors=errors)
        for index in spec.indexes:  # a GSI key or guard cannot be NULL: leave the attribute out
            if item.get(index.field) is None:
                attributes.pop(index.field, None)
        return {PK: item_pk(item[spec.key]), **attributes}

    def create(self, spec: TableSpec, item: Item) -> None:
        name, attributes = self._table(spec), self._encode(spec, item)
        with _errors(spec):
            if not spec.unique:
                try:
                    self.client.put_item(TableName=name, Item=attributes, **absent())
                except self.client.exceptions.ConditionalCheckFailedException:
                    raise AlreadyExists(spec.model, spec.key) from None
                return
            me = attributes[PK]
            writes = [("key", {"Put": {"TableName": name, "Item": attributes, **absent()}})]
            for field in spec.unique:
                if item.get(field) is not None:
                    guard = {PK: guard_pk(field, item[field]), OWNER: me}
                    writes.append((field, {"Put": {"TableName": name, "Item": guard, **absent()}}))
            self._transact(spec, writes, retry_on_item=False)

    def put(self, spec: TableSpec, item: Item, *, expect: Mapping[str, Scalar] | None = None) -> None:
        name, attributes = self._table(spec), self._encode(spec, item)
        with _errors(spec):
            if not spec.unique:
                checked = condition(None, (), expect) if expect is not None else {}
                try:
                    self.client.put_item(TableName=name, Item=attributes, **checked)
                except self.client.exceptions.ConditionalCheckFailedException:
                    stored = self.get(spec, item[spec.key])
                    raise ConditionFailed(spec.model, expect_mismatch(stored, expect or {})) from None
                return
            self._with_retries(lambda: self._put_unique(spec, name, item, attributes, expect))

    def _put_unique(
        self, spec: TableSpec, name: str, item: Item, attributes: dict[str, Any], expect: Mapping[str, Scalar] | None
    ) -> None:
        me = attributes[PK]
        raw = self._read(name, item[spec.key])
        old = None if raw is None else decode(raw, (PK,))
        if expect is not None and (bad := expect_mismatch(old, expect)):
            raise ConditionFailed(spec.model, bad)
        put = {"TableName": name, "Item": attributes, **condition(old, spec.unique, expect)}
        writes = [("item", {"Put": put})]
        for field in spec.unique:
            new_value, old_value = item.get(field), (old or {}).get(field)
            if new_value == old_value:
                continue
            if new_value is not None:
                guard = {PK: guard_pk(field, new_value), OWNER: me}
                writes.append((field, {"Put": {"TableName": name, "Item": guard, **owned_or_absent(me)}}))
            if old_value is not None:
                key = {PK: guard_pk(field, old_value)}
                writes.append(("guard", {"Delete": {"TableName": name, "Key": key, **owned(me)}}))
        self._transact(spec, writes, retry_on_item=True)

    def delete(self, spec: TableSpec, key: Any) -> bool:
        name = self._table(spec)
        with _errors(spec):
            if not spec.unique:
                response = self.client.delete_item(TableName=name, Key={PK: item_pk(key)}, ReturnValues="ALL_OLD")
                return "Attributes" in response
            return self._with_retries(lambda: self._delete_unique(spec, name, key))

    def _delete_unique(self, spec: TableSpec, name: str, key: Any) -> bool:
        raw = self._read(name, key)
        if raw is None:
            return False
        old = decode(raw, (PK,))
        me = item_pk(key)
        unchanged = condition(old, spec.unique, None)
        writes = [("item", {"Delete": {"TableName": name, "Key": {PK: me}, **unchanged}})]
        for field in spec.unique:
            if old.get(field) is not None:
                guard_key = {PK: guard_pk(field, old[field])}
                writes.append(("guard", {"Delete": {"TableName": name, "Key": guard_key, **owned(me)}}))
        self._transact(spec, writes, retry_on_item=True)
        return True

    def _with_retries(self, attempt: Callable[[], Any]) -> Any:
        """Read-check-write until no one else wrote in between (jittered backoff)."""
        for n in range(_ATTEMPTS):
            try:
                return attempt()
            except _Retry:
                time.sleep(random.uniform(0, min(0.5, 0.005 * 2**n)))
        raise StoreUnavailable("the item kept changing while being written; retry")

    def _transact(self, spec: TableSpec, writes: list[tuple[str, dict[str, Any]]], *, retry_on_item: bool) -> None:
        """Run the writes as one transaction; map a cancellation to the write that failed."""
        try:
            self.client.transact_write_items(TransactItems=[w for _, w in writes])
            return
        except self.client.exceptions.TransactionCanceledException as exc:
            reasons = exc.response.get("CancellationReasons") or []
        codes = [r.get("Code") for r in reasons]
        if any(code in _RETRY_CODES for code in codes):
            raise _Retry()
        for (label, _), code in zip(writes, codes, strict=False):
            if code != "ConditionalCheckFailed":
                continue
            if label in ("item", "guard") and retry_on_item:
                raise _Retry()  # someone changed the item (or its guards) since we read it
            raise AlreadyExists(spec.model, spec.key if label in ("key", "item") else label)
        raise StoreError(f"{spec.model}: transaction cancelled ({codes})")

    def warm(self) -> None:
        """The boto3 client (its service model loaded: ~0.1 s of CPU), without a request."""
        self.client  # noqa: B018 (the property builds it)

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
            self._ready.clear()
        if client is not None:
            client.close()


@contextmanager
def _errors(spec: TableSpec) -> Iterator[None]:
    """boto errors as store errors: unreachable, throttled or failing inside (5xx, after botocore's
    retries) → 503, others name the model."""
    try:
        yield
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded"):
            raise StoreUnavailable(f"the {spec.model} store is throttled; retry") from exc
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        if code in ("InternalServerError", "ServiceUnavailable") or int(status) >= 500:
            raise StoreUnavailable(f"the {spec.model} store failed to answer ({code or status}); retry") from exc
        raise StoreError(f"{spec.model}: DynamoDB {code}: {exc}") from exc
    except BotoCoreError as exc:
        raise StoreUnavailable(f"the {spec.model} store cannot be reached") from exc
