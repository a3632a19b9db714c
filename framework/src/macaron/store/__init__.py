"""Persistence: models marked ``x-persist`` in the spec are stored and looked up.

```yaml
definitions:
  User:
    type: object
    x-persist: {table: users, key: user_id, unique: [email], indexes: [country]}
```

gives ``User.get(key)``, ``User.find_by("email", v)``, ``User.find_all_by("country", v)``,
``user.create()`` (raises :class:`AlreadyExists` naming the key or unique field),
``user.save(expect=...)`` and ``user.delete()``. The backend (SQLite by default, or
DynamoDB) comes from the ``store:`` block of ``service.yaml``; see ``docs/store.md``.
Backends live in :mod:`macaron.store.sqlite` and :mod:`macaron.store.dynamodb`, imported
only when chosen.
"""

from ._base import (
    AlreadyExists,
    ConditionFailed,
    Index,
    Store,
    StoreError,
    StoreUnavailable,
    TableSpec,
)
from ._binding import PersistedModel, table_spec
from ._open import default_prefix, open_store, store_for

__all__ = [
    "AlreadyExists",
    "ConditionFailed",
    "Index",
    "PersistedModel",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "TableSpec",
    "default_prefix",
    "open_store",
    "store_for",
    "table_spec",
]
