"""The core: a directory becomes a :class:`~macaron._core.service.Service`.

What lives here: errors and their wire format, configuration and secrets, ``$ref``
resolution, spec loading, schema compilation, models, handler binding, observability, and
:mod:`.context` — the one answer to "which service, which request, which task is this?" for
the web, the worker and outgoing clients alike.

Rule: ``_core`` imports only the standard library, third-party packages and itself. Every
other package of macaron may import it; it imports none of them (the layer test,
``framework/tests/contracts/test_layers.py``, checks it). Where a higher layer must plug into
the core (the store binding models with ``x-persist``), it registers itself here through
:mod:`.plugins`, so the dependency points down.
"""
