"""Extension points of the core, filled in by the layers above it.

The core builds models and services but knows nothing of how they are stored: the store
(``macaron.store``, a higher layer) provides that when it is imported, and the root package
imports it, so the dependency points down and ``_core`` imports nothing above itself.
What is registered here is code, set once at import; no request or service state lives here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import SpecError

#: (model name, definitions, base classes, class namespace) → the base classes of a persisted model.
Binder = Callable[[str, dict[str, Any], list[type], dict[str, Any]], list[type]]


@dataclass(frozen=True)
class Persistence:
    """How models marked ``x-persist`` get their store methods, and how a service's store opens."""

    bind: Binder
    open: Callable[[Any], Any]


_PERSISTENCE: list[Persistence] = []


def provide_persistence(persistence: Persistence) -> None:
    """Called once by ``macaron.store`` at import."""
    _PERSISTENCE[:] = [persistence]


def persistence() -> Persistence:
    """The registered persistence; a SpecError when no store package was imported."""
    if not _PERSISTENCE:
        raise SpecError("a definition is marked x-persist but macaron.store is not loaded (import macaron first)")
    return _PERSISTENCE[0]
