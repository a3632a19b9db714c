"""Model binding: ``x-persist`` on a definition gives its model class store methods.

``ModelRegistry`` calls :func:`bind_persistence` while it builds a class whose
definition carries ``x-persist``; the class gains :class:`PersistedModel` as a base and
a ``__persist__`` :class:`TableSpec`. The store itself is found at call time through the
registry's ``store`` getter, which the service sets: no module globals.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar, Self

from .._core.errors import FieldError, SpecError, ValidationFailed
from .._core.models import Model
from ._base import Index, Scalar, Store, StoreError, TableSpec, check_expect, reject_bad_numbers

_KEYS = {"table", "key", "indexes", "unique"}
_TABLE = re.compile(r"[A-Za-z0-9_.-]{1,200}")
_METHODS = ("get", "find_by", "find_all_by", "create", "save", "delete", "store")
_RESERVED = ("_pk", "_owner")


class PersistedModel:
    """Store methods of a model whose definition has ``x-persist``."""

    __slots__ = ()
    __persist__: ClassVar[TableSpec]
    __registry__: ClassVar[Any]
    __model_name__: ClassVar[str]
    _data: dict[str, Any]

    @classmethod
    def store(cls) -> Store:
        """The store of the service this model belongs to (opened on first use)."""
        getter = getattr(cls.__registry__, "store", None)
        if getter is None:
            raise StoreError(f"{cls.__model_name__} is not bound to a service, so it has no store")
        return getter()  # type: ignore[no-any-return]

    @classmethod
    def get(cls, key: Any) -> Self | None:
        """The stored model with this key, or ``None``."""
        item = cls.store().get(cls.__persist__, key)
        return None if item is None else cls.__registry__.build(cls, item)  # type: ignore[no-any-return]

    @classmethod
    def find_by(cls, field: str, value: Any) -> Self | None:
        """The one stored model whose indexed ``field`` equals ``value``, or ``None``.

        On a non-unique index, more than one match is an error: use :meth:`find_all_by`.
        """
        index = cls.__persist__.index(field)
        items = cls.store().find(cls.__persist__, field, value, limit=None if index.unique else 2)
        if len(items) > 1:
            raise StoreError(f"several {cls.__model_name__} have this {field}; use find_all_by")
        return cls.__registry__.build(cls, items[0]) if items else None  # type: ignore[no-any-return]

    @classmethod
    def find_all_by(cls, field: str, value: Any, *, limit: int | None = None) -> list[Self]:
        """Every stored model whose indexed ``field`` equals ``value``, ordered by key."""
        cls.__persist__.index(field)
        items = cls.store().find(cls.__persist__, field, value, limit=limit)
        return [cls.__registry__.build(cls, item) for item in items]

    def create(self) -> Self:
        """Store a new model: :class:`AlreadyExists` when its key or a unique field is taken."""
        self.store().create(self.__persist__, self._checked())
        return self

    def save(self, *, expect: Mapping[str, Scalar] | None = None) -> Self:
        """Insert or replace. With ``expect={"status": "queued"}``, only when the stored
        model has those values (:class:`ConditionFailed` otherwise)."""
        self.store().put(self.__persist__, self._checked(), expect=check_expect(expect) if expect else None)
        return self

    def delete(self) -> bool:
        """Remove the stored model; ``False`` when it was not stored."""
        return self.store().delete(self.__persist__, self._key())

    def _key(self) -> Any:
        key = self.__persist__.key
        value = self._data.get(key)
        if value is None:
            raise ValidationFailed(
                f"a {self.__model_name__} needs its key to be stored",
                errors=[FieldError(f"/{key}", "is required to store this model")],
            )
        return value

    def _checked(self) -> dict[str, Any]:
        """Validate against the spec (and reject NaN/infinity), then return the JSON form."""
        self.validate()  # type: ignore[attr-defined]
        self._key()
        item: dict[str, Any] = self.to_json()  # type: ignore[attr-defined]
        reject_bad_numbers(self.__persist__, item)
        return item


def _properties(definitions: Mapping[str, Any], name: str, seen: tuple[str, ...] = ()) -> dict[str, Any]:
    """Every property schema of a definition, ``allOf`` parts included."""
    schema = definitions.get(name)
    if not isinstance(schema, dict) or name in seen:
        return {}
    out: dict[str, Any] = {}
    for part in schema.get("allOf") or []:
        ref = part.get("$ref", "") if isinstance(part, dict) else ""
        if ref.startswith("#/definitions/"):
            out.update(_properties(definitions, ref.split("/", 2)[2], (*seen, name)))
        elif isinstance(part, dict):
            out.update(part.get("properties") or {})
    out.update(schema.get("properties") or {})
    return out


def _field_type(where: str, props: Mapping[str, Any], field: Any, allowed: tuple[str, ...]) -> str:
    if not isinstance(field, str) or field not in props:
        raise SpecError(f"{where}: {field!r} is not a property of this definition")
    kind = props[field].get("type") if isinstance(props[field], dict) else None
    if kind not in allowed:
        raise SpecError(f"{where}: property {field!r} must be of type {' or '.join(allowed)} to be a key or index")
    return str(kind)


def table_spec(name: str, definitions: Mapping[str, Any]) -> TableSpec:
    """Read and check the ``x-persist`` block of definition ``name``."""
    where = f"definition {name!r}: x-persist"
    block = definitions[name].get("x-persist")
    if not isinstance(block, dict):
        raise SpecError(f"{where} must be a mapping such as {{table: users, key: user_id, unique: [email]}}")
    if unknown := sorted(set(block) - _KEYS):
        raise SpecError(f"{where}: unknown keys {unknown} (allowed: {sorted(_KEYS)})")
    props = _properties(definitions, name)
    for clash in (*_METHODS, *_RESERVED):
        if clash in props:
            raise SpecError(f"{where}: a persisted model cannot have a property named {clash!r}")
    table = block.get("table", name.lower())
    if not isinstance(table, str) or not _TABLE.fullmatch(table):
        raise SpecError(f"{where}: table {table!r} must be letters, digits, '_', '.' or '-'")
    key = block.get("key")
    key_type = _field_type(f"{where}: key", props, key, ("string", "integer"))
    lists = {}
    for entry in ("indexes", "unique"):
        fields = block.get(entry) or []
        if not isinstance(fields, list):
            raise SpecError(f"{where}: {entry} must be a list of property names")
        lists[entry] = fields
    unique = set(lists["unique"])
    indexes = []
    for field in dict.fromkeys([*lists["indexes"], *lists["unique"]]):
        kind = _field_type(f"{where}: index", props, field, ("string", "integer", "number"))
        if field == key:
            raise SpecError(f"{where}: the key {key!r} is already unique; do not index it")
        indexes.append(Index(field=field, type=kind, unique=field in unique))
    return TableSpec(model=name, table=table, key=str(key), key_type=key_type, indexes=tuple(indexes))


def bind_persistence(
    name: str, definitions: Mapping[str, Any], bases: list[type[Model]], namespace: dict[str, Any]
) -> list[Any]:
    """Called by ``ModelRegistry`` for a definition with ``x-persist``: the class's bases."""
    namespace["__persist__"] = table_spec(name, definitions)
    if any(issubclass(b, PersistedModel) for b in bases):
        return list(bases)
    return [*(bases or [Model]), PersistedModel]
