"""The store interface: what every backend does, the table description it works from,
and the errors it raises.

A backend stores *items* (the JSON form of a model, a plain dict) in one table per
persisted model. It knows nothing of models: :mod:`macaron.store._binding` turns
``x-persist`` into a :class:`TableSpec` and model calls into these methods.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from .._core.errors import Conflict, FieldError, MacaronError, ServiceUnavailable, ValidationFailed

Item = dict[str, Any]
Scalar = str | int | float | bool | None


@dataclass(frozen=True)
class Index:
    """A field items can be looked up by; ``unique`` ones are enforced by the store."""

    field: str
    type: str  # "string" | "integer" | "number", from the spec
    unique: bool


@dataclass(frozen=True)
class TableSpec:
    """One persisted model: its table (without the store's prefix), key and indexes."""

    model: str
    table: str
    key: str
    key_type: str  # "string" | "integer"
    indexes: tuple[Index, ...] = ()

    @property
    def unique(self) -> tuple[str, ...]:
        return tuple(i.field for i in self.indexes if i.unique)

    def index(self, field: str) -> Index:
        for index in self.indexes:
            if index.field == field:
                return index
        known = ", ".join(i.field for i in self.indexes) or "none"
        raise StoreError(f"{self.model} has no index {field!r} (x-persist indexes: {known})")


class StoreError(MacaronError):
    """The store is misused or misconfigured, or its data is inconsistent."""


class StoreUnavailable(ServiceUnavailable):
    """The backend cannot be reached or is busy; the client may retry (503)."""

    code = "STORE_UNAVAILABLE"


class AlreadyExists(Conflict):
    """A create or save would duplicate the key or a unique field; ``field`` names it."""

    code, title = "ALREADY_EXISTS", "Already Exists"

    def __init__(self, model: str, field: str) -> None:
        super().__init__(
            f"a {model} with this {field} already exists",
            errors=[FieldError(f"/{field}", "is already taken")],
        )
        self.model = model
        self.field = field


class ConditionFailed(Conflict):
    """A conditional save found the stored item missing or different from ``expect``."""

    code, title = "CONDITION_FAILED", "Condition Failed"

    def __init__(self, model: str, fields: list[str]) -> None:
        super().__init__(f"the stored {model} is missing or changed ({', '.join(fields)})")
        self.model = model
        self.fields = fields


def check_numbers(value: Any, path: str = "") -> list[FieldError]:
    """Field errors for numbers no backend stores faithfully (NaN, infinities)."""
    if isinstance(value, float) and not math.isfinite(value):
        return [FieldError(path or "/", "must be a finite number")]
    if isinstance(value, Mapping):
        return [e for k, v in value.items() for e in check_numbers(v, f"{path}/{k}")]
    if isinstance(value, list):
        return [e for i, v in enumerate(value) for e in check_numbers(v, f"{path}/{i}")]
    return []


def check_expect(expect: Mapping[str, Any] | None) -> dict[str, Scalar]:
    """``expect`` compares top-level fields to scalars; anything else is a programming error."""
    out: dict[str, Scalar] = {}
    for field, value in (expect or {}).items():
        if not isinstance(value, str | int | float | bool) and value is not None:
            raise StoreError(f"expect[{field!r}] must be a string, number, boolean or None")
        out[field] = value
    return out


def expect_mismatch(stored: Mapping[str, Any] | None, expect: Mapping[str, Scalar]) -> list[str]:
    """Fields of ``expect`` the stored item does not match (all of them when it is missing)."""
    if stored is None:
        return list(expect) or ["missing"]
    return [f for f, v in expect.items() if not _same(stored.get(f), v)]


def _same(a: Any, b: Any) -> bool:
    return bool(a == b) and isinstance(a, bool) == isinstance(b, bool)


def reject_bad_numbers(spec: TableSpec, item: Mapping[str, Any]) -> None:
    errors = check_numbers(item)
    if errors:
        raise ValidationFailed(f"a {spec.model} cannot be stored", errors=errors)


class Store(ABC):
    """Items in tables named ``<prefix><table>``. Backends are thread-safe."""

    backend: ClassVar[str]

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def table_name(self, spec: TableSpec) -> str:
        return f"{self.prefix}{spec.table}"

    @abstractmethod
    def create(self, spec: TableSpec, item: Item) -> None:
        """Insert ``item``; :class:`AlreadyExists` when its key or a unique value is taken."""

    @abstractmethod
    def put(self, spec: TableSpec, item: Item, *, expect: Mapping[str, Scalar] | None = None) -> None:
        """Insert or replace ``item``. Unique values stay unique (:class:`AlreadyExists`);
        with ``expect``, only when the stored item exists and has those field values
        (else :class:`ConditionFailed`)."""

    @abstractmethod
    def get(self, spec: TableSpec, key: Any) -> Item | None:
        """The item with this key, read consistently, or ``None``."""

    @abstractmethod
    def find(self, spec: TableSpec, field: str, value: Any, *, limit: int | None = None) -> list[Item]:
        """Items whose indexed ``field`` equals ``value``, ordered by key."""

    @abstractmethod
    def delete(self, spec: TableSpec, key: Any) -> bool:
        """Remove the item (and its unique values); ``False`` when there was none."""

    @abstractmethod
    def close(self) -> None:
        """Release connections; the store reopens them on next use."""

    def warm(self) -> None:
        """Build now what the first call would build, connecting nothing: a worker does this before
        it forks a work horse per job, so each job inherits it instead of building it again."""
        return None  # nothing to build ahead for this backend

    def __repr__(self) -> str:
        return f"{type(self).__name__}(prefix={self.prefix!r})"
