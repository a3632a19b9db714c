"""DynamoDB wire shapes for :mod:`macaron.store._dynamodb`: item and guard keys, the
condition expressions of its writes, and table creation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._base import Item, Scalar, StoreError, TableSpec
from ._codec import encode_value, to_decimal

PK, OWNER = "_pk", "_owner"
_KINDS = {"string": "S", "integer": "N", "number": "N"}


def item_pk(key: Any) -> dict[str, str]:
    return {"S": f"item#{key}"}


def guard_pk(field: str, value: Any) -> dict[str, str]:
    """The guard's key; numbers normalised so that 100 and 100.0 are the same value."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = to_decimal(value).normalize()
    return {"S": f"unique#{field}#{value}"}


def absent() -> dict[str, Any]:
    return {"ConditionExpression": "attribute_not_exists(#pk)", "ExpressionAttributeNames": {"#pk": PK}}


def owned(me: dict[str, str]) -> dict[str, Any]:
    return {
        "ConditionExpression": "#owner = :me",
        "ExpressionAttributeNames": {"#owner": OWNER},
        "ExpressionAttributeValues": {":me": me},
    }


def owned_or_absent(me: dict[str, str]) -> dict[str, Any]:
    return {
        "ConditionExpression": "attribute_not_exists(#pk) OR #owner = :me",
        "ExpressionAttributeNames": {"#pk": PK, "#owner": OWNER},
        "ExpressionAttributeValues": {":me": me},
    }


def condition(old: Item | None, unique: tuple[str, ...], expect: Mapping[str, Scalar] | None) -> dict[str, Any]:
    """The item's write condition: unchanged since ``old`` was read (its unique fields
    included) and matching ``expect``; absent when ``old`` is ``None`` and no ``expect``."""
    names: dict[str, str] = {"#pk": PK}
    values: dict[str, Any] = {}
    if old is None and expect is None:
        return absent()
    parts = ["attribute_exists(#pk)"]
    checks = [(f, (old or {}).get(f)) for f in unique] if old is not None else []
    checks += list((expect or {}).items())
    for n, (field, value) in enumerate(checks):
        names[f"#f{n}"] = field
        if value is None:
            parts.append(f"(attribute_not_exists(#f{n}) OR attribute_type(#f{n}, :null))")
            values[":null"] = {"S": "NULL"}
        else:
            parts.append(f"#f{n} = :v{n}")
            values[f":v{n}"] = encode_value(value)
    out: dict[str, Any] = {"ConditionExpression": " AND ".join(parts), "ExpressionAttributeNames": names}
    if values:
        out["ExpressionAttributeValues"] = values
    return out


def create_table_params(name: str, spec: TableSpec) -> dict[str, Any]:
    """The ``CreateTable`` request of a model's table (PAY_PER_REQUEST, a GSI per non-unique index):
    what the store creates on first use, and what ``macaron deploy`` creates or prints beforehand."""
    lookups = [i for i in spec.indexes if not i.unique]
    definitions = [{"AttributeName": PK, "AttributeType": "S"}]
    definitions += [{"AttributeName": i.field, "AttributeType": _KINDS[i.type]} for i in lookups]
    gsis = [
        {
            "IndexName": f"by_{i.field}",
            "KeySchema": [{"AttributeName": i.field, "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"},
        }
        for i in lookups
    ]
    return {"TableName": name, "KeySchema": [{"AttributeName": PK, "KeyType": "HASH"}],
            "AttributeDefinitions": definitions, "BillingMode": "PAY_PER_REQUEST",
            **({"GlobalSecondaryIndexes": gsis} if gsis else {})}


def ensure_table(client: Any, name: str, spec: TableSpec) -> None:
    """Create the table (:func:`create_table_params`) unless it exists."""
    lookups = [i for i in spec.indexes if not i.unique]
    try:
        table = client.describe_table(TableName=name)["Table"]
    except client.exceptions.ResourceNotFoundException:
        try:
            client.create_table(**create_table_params(name, spec))
        except client.exceptions.ResourceInUseException:
            pass  # another process created it first
        client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
        table = client.describe_table(TableName=name)["Table"]
    present = {g["IndexName"] for g in table.get("GlobalSecondaryIndexes") or []}
    if missing := [f"by_{i.field}" for i in lookups if f"by_{i.field}" not in present]:
        raise StoreError(
            f"DynamoDB table {name} has no index {', '.join(missing)} for {spec.model}; "
            "add the GSI (hash key: the field) or use a new table_prefix"
        )
