"""JSON values ↔ DynamoDB attribute values, numbers done right.

DynamoDB numbers are decimals (38 significant digits, magnitude 1e-130 … 1e126) and
boto3 refuses floats. Writing, a float becomes ``Decimal(repr(f))`` (the shortest
text that reads back as the same float, so ``0.1`` stays ``0.1``) and an int becomes
an exact Decimal; numbers DynamoDB cannot hold exactly are a :class:`ValidationFailed`
naming the field. Reading, a number written as plain digits becomes an ``int`` and any
other a ``float``, so ints stay ints and floats come back bit for bit. (DynamoDB itself
trims trailing zeros, so there a float such as ``2.0`` may read back as the equal int ``2``.)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal, DecimalException
from typing import Any

from boto3.dynamodb.types import DYNAMODB_CONTEXT, TypeDeserializer, TypeSerializer

from .._core.errors import FieldError

_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()
_NUMBER_HELP = "is a number DynamoDB cannot store exactly (at most 38 digits, magnitude 1e-130 to 1e126)"


def to_decimal(value: int | float) -> Decimal:
    """The exact Decimal DynamoDB stores for ``value``; DecimalException when it cannot."""
    return DYNAMODB_CONTEXT.create_decimal(repr(value) if isinstance(value, float) else value)


def _prepare(value: Any, path: str, errors: list[FieldError]) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            errors.append(FieldError(path or "/", "must be a finite number"))
            return None
        try:
            return to_decimal(value)
        except DecimalException:
            errors.append(FieldError(path or "/", _NUMBER_HELP))
            return None
    if isinstance(value, Mapping):
        return {str(k): _prepare(v, f"{path}/{k}", errors) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_prepare(v, f"{path}/{i}", errors) for i, v in enumerate(value)]
    errors.append(FieldError(path or "/", f"cannot be stored (a {type(value).__name__})"))
    return None


def encode(item: Mapping[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
    """``(attribute map, errors)`` for a JSON item."""
    errors: list[FieldError] = []
    prepared = _prepare(item, "", errors)
    if errors:
        return {}, errors
    return {k: _SERIALIZER.serialize(v) for k, v in prepared.items()}, []


def encode_value(value: Any) -> dict[str, Any]:
    """One scalar as an attribute value (keys, index values, conditions)."""
    errors: list[FieldError] = []
    prepared = _prepare(value, "", errors)
    if errors:
        raise ValueError(errors[0].message)
    return _SERIALIZER.serialize(prepared)  # type: ignore[no-any-return]


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        # Python ints are written as plain digits, floats always with a '.' or an exponent.
        return int(value) if value.as_tuple().exponent == 0 else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def decode(attributes: Mapping[str, Any], drop: tuple[str, ...] = ()) -> dict[str, Any]:
    """A JSON item from an attribute map, without the attributes in ``drop``."""
    return {k: _plain(_DESERIALIZER.deserialize(v)) for k, v in attributes.items() if k not in drop}
