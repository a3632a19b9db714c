"""Header names with an underscore (``api_key``, the Petstore's own scheme): kept aside by the
servers, let in by the app only where the spec declares them.

WSGI has one environ key per header, ``HTTP_API_KEY``, for ``api_key`` and ``Api-Key`` alike, so
servers drop names with ``_`` (werkzeug, gunicorn, nginx by default): a client could otherwise send
``X_Auth_User`` past a proxy that strips ``X-Auth-User``. A spec that declares such a header — an
``apiKey`` scheme ``in: header``, a header parameter — would then never receive it, and every
request would answer 401 or 400. So the servers macaron runs (the front, ``http11``; the werkzeug
servers of ``macaron fake``, ``macaron serve --dev`` and the tests, through :class:`KeepAside`) put
such fields in ``environ["macaron.underscore_headers"]`` instead of dropping them, and
:class:`UnderscoreHeaders`, around the app, promotes only the names the spec declares (the
declared spelling wins over a dash spelling of the same key). gunicorn (``--server gunicorn``)
still drops them: its ``header_map`` is all or nothing.

Rule: imports werkzeug and macaron's ``_core`` only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.serving import WSGIRequestHandler

KEY = "macaron.underscore_headers"


def declared_underscore_headers(document: dict[str, Any]) -> frozenset[str]:
    """The lower-case header names with ``_`` a (normalised) spec reads: apiKey schemes in a
    header and header parameters, at any level."""
    names = {str(s.get("name", "")).lower() for s in (document.get("securityDefinitions") or {}).values()
             if isinstance(s, dict) and s.get("type") == "apiKey" and s.get("in") == "header"}
    params: list[Any] = list((document.get("parameters") or {}).values())
    for item in (document.get("paths") or {}).values():
        if isinstance(item, dict):
            params += item.get("parameters") or []
            params += [p for op in item.values() if isinstance(op, dict) for p in op.get("parameters") or []]
    names |= {str(p.get("name", "")).lower() for p in params if isinstance(p, dict) and p.get("in") == "header"}
    return frozenset(n for n in names if "_" in n)


class UnderscoreHeaders:
    """WSGI middleware: the kept-aside fields the spec declares, as ``HTTP_`` keys."""

    def __init__(self, app: Callable[..., Any], names: frozenset[str]) -> None:
        self.app, self.names = app, names

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        kept = environ.pop(KEY, None)
        if kept and self.names:
            promoted: dict[str, str] = {}
            for name, value in kept:
                if name.lower() in self.names:
                    key = "HTTP_" + name.upper().replace("-", "_")
                    promoted[key] = value if key not in promoted else f"{promoted[key]},{value}"
            environ.update(promoted)
        return self.app(environ, start_response)


class KeepAside(WSGIRequestHandler):
    """werkzeug's handler, keeping ``_`` fields aside instead of dropping them."""

    def make_environ(self) -> dict[str, Any]:
        environ = super().make_environ()
        kept = [(k, v) for k, v in self.headers.items() if "_" in k]
        if kept:
            environ[KEY] = kept
        return environ
