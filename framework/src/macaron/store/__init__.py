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
Backends live in :mod:`macaron.store._sqlite` and :mod:`macaron.store._dynamodb`, imported
only when chosen.

Rule: imports only ``_core`` (and boto3 for DynamoDB, when chosen); it plugs into the core
through ``_core.plugins`` at import. Public names here; the backends are private modules.
"""

from ._base import AlreadyExists, ConditionFailed, Index, Store, StoreError, StoreUnavailable, TableSpec
from ._binding import PersistedModel
from ._open import provide as _provide

_provide()  # the core's x-persist models and Service.store() come from here (_core.plugins)

__all__ = [
    "AlreadyExists",
    "ConditionFailed",
    "Index",
    "PersistedModel",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "TableSpec",
]
