"""The ``/docs`` page: Swagger UI 5, served offline, for any document the app serves as its spec.

Swagger UI 5 renders Swagger 2.0, OpenAPI 3.0 and OpenAPI 3.1 (3.1's ``webhooks`` in a section of
their own, 3.0/3.1 ``callbacks`` under their operation); 4.x rendered no 3.1. Its assets come from
the pinned PyPI package ``flask-swagger-ui`` (``framework/pyproject.toml``), whose version is the
Swagger UI release it ships (``dist/VERSION``) and which is rebuilt weekly from upstream: no CDN,
no copy in this repository. Only the files the page loads are served (:data:`DOCS_ASSETS`); the
package's own blueprint, index page and OAuth2 redirect page are not used.

Rule: the page is built from the document alone (:func:`docs_page`), so whatever the loader
accepts, ``/docs`` shows; :func:`register_docs` adds the routes to any Flask app, with the
spec's own URL (``/api.json`` in a service, see :mod:`.builtins`).
"""

from __future__ import annotations

import functools
import importlib.util
import json
from collections.abc import Callable, Mapping
from html import escape
from pathlib import Path
from typing import Any

from flask import Flask, Response, request

# What the page loads; nothing else of the package is served (its index.html and
# oauth2-redirect.html are pages of their own, swagger-ui.js is the unbundled build).
DOCS_ASSETS = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png", "favicon-16x16.png"})

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} — API docs</title>
<link rel="stylesheet" href="{static}/swagger-ui.css">
<link rel="icon" type="image/png" href="{static}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{static}/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({config});
</script>
</body>
</html>
"""


@functools.cache
def assets_dir() -> Path:
    """The folder of Swagger UI's built files inside the installed ``flask-swagger-ui`` (found, not
    imported: its blueprint module is not used)."""
    found = importlib.util.find_spec("flask_swagger_ui")
    if found is None or not found.submodule_search_locations:
        raise RuntimeError("flask-swagger-ui is not installed: it ships the /docs assets (pip install macaron)")
    return Path(next(iter(found.submodule_search_locations))).resolve() / "dist"


@functools.cache
def ui_version() -> str:
    """The Swagger UI release served, e.g. ``5.34.0`` (the package's ``dist/VERSION``)."""
    return (assets_dir() / "VERSION").read_text(encoding="utf-8").strip().lstrip("v")


def docs_page(document: Mapping[str, Any], *, spec_url: str, static_url: str) -> str:
    """The HTML of the docs page for ``document``, fetched by the page from ``spec_url``.

    ``static_url`` is where :data:`DOCS_ASSETS` are served. The document gives the page's title;
    its version (``swagger: "2.0"``, ``openapi: 3.0.x`` or ``3.1.x``) needs nothing here, as
    Swagger UI 5 reads each."""
    info = document.get("info")
    title = str(info.get("title") or "API") if isinstance(info, Mapping) else "API"
    config = {"url": spec_url, "dom_id": "#swagger-ui", "deepLinking": True,
              "validatorUrl": None}  # no badge fetched from validator.swagger.io: the page stays offline
    # json.dumps then </ escaped: the config is safe inside <script> whatever the URL holds
    text = json.dumps(config).replace("</", "<\\/")
    return _PAGE.format(title=escape(title), static=escape(static_url), config=text)


def register_docs(app: Flask, document: Mapping[str, Any] | Callable[[], Mapping[str, Any]], *,
                  spec_url: str = "/api.json", prefix: str = "/docs", endpoint: str = "builtin") -> None:
    """Serve the docs page of ``document`` (or of what a callable returns, read per request) at
    ``prefix`` and ``prefix/``, and its assets under ``prefix/static/``; URLs follow the app's
    mount point (``request.script_root``)."""
    folder = assets_dir()

    def page() -> Response:
        doc = document() if callable(document) else document
        root = request.script_root
        return Response(docs_page(doc, spec_url=root + spec_url, static_url=f"{root}{prefix}/static"),
                        mimetype="text/html")

    def static(filename: str) -> Response:
        from flask import send_from_directory
        from werkzeug.exceptions import NotFound

        if filename not in DOCS_ASSETS:
            raise NotFound()
        return send_from_directory(folder, filename, max_age=86400)

    app.add_url_rule(prefix, f"{endpoint}.docs", page, methods=["GET"])
    app.add_url_rule(f"{prefix}/", f"{endpoint}.docs_slash", page, methods=["GET"])
    app.add_url_rule(f"{prefix}/static/<path:filename>", f"{endpoint}.docs_static", static, methods=["GET"])
