"""The ``/docs`` page on OpenAPI 3.0 and 3.1 documents, in a real headless Chromium (the browser
of :mod:`.test_docs_browser`): Swagger UI 5 renders each operation, the 3.1 ``webhooks`` in their
section, an operation's ``callbacks`` under its Callbacks tab, the lock of a bearer-secured
operation and the document's OAS version; nothing is loaded from outside 127.0.0.1.

The page is the one every service serves (``macaron._server.docs``), put on a bare Flask app that
serves a static document as ``/api.json``: the page depends only on the document, so this holds
for a service the moment the loader accepts 3.x (then ``test_docs_browser`` covers it too).
"""

from __future__ import annotations

import base64
import copy
import json
import time
from typing import Any

import pytest
from flask import Flask, Response
from macaron._server.docs import register_docs, ui_version
from macaron.testing import serve_app

from .test_docs_browser import ARTIFACTS, RENDER_DEADLINE, Chromium, browser  # noqa: F401 (browser: fixture)

PET = {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}, "tag": {"type": "string"}}}
JSON_PET = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}}}
CALLBACK = {"{$request.body#/callbackUrl}": {"post": {
    "summary": "Told when the pet is adopted", "requestBody": JSON_PET, "responses": {"204": {"description": "Seen"}}}}}
OAS31: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "Pets 3.1", "version": "1.0.0"},
    "paths": {
        "/pets": {
            "get": {"operationId": "listPets", "tags": ["pets"], "responses": {"200": {
                "description": "The pets", "content": {"application/json": {"schema": {
                    "type": "array", "items": {"$ref": "#/components/schemas/Pet"}}}}}}},
            "post": {"operationId": "addPet", "tags": ["pets"], "security": [{"bearer": []}], "requestBody": JSON_PET,
                     "callbacks": {"adopted": CALLBACK}, "responses": {"201": {"description": "Added"}}},
        },
        "/pets/{id}": {"get": {"operationId": "getPet", "tags": ["pets"], "parameters": [
            {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "responses": {"200": {"description": "The pet", **JSON_PET}}}},
    },
    "webhooks": {"newPet": {"post": {"summary": "A pet was added", "requestBody": JSON_PET,
                                     "responses": {"200": {"description": "Received"}}}}},
    "components": {
        "schemas": {"Pet": {**PET, "properties": {**PET["properties"], "tag": {"type": ["string", "null"]},
                                                  "kind": {"const": "pet"}}}},
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
    },
}
OAS30: dict[str, Any] = copy.deepcopy(OAS31)
OAS30.update(openapi="3.0.3", info={"title": "Pets 3.0", "version": "1.0.0"})
del OAS30["webhooks"]  # 3.1 only
OAS30["components"]["schemas"]["Pet"] = {**PET, "properties": {**PET["properties"], "tag": {
    "type": "string", "nullable": True}}}

# The opblocks shown (method, path or webhook name, lock, in the webhooks section), the title, the
# OAS badge and any error box; the tab headers of the open operation.
RENDERED = """JSON.stringify({
  title: document.querySelector('.info .title')?.textContent ?? null,
  ops: [...document.querySelectorAll('.opblock')].map(b => [
    b.querySelector('.opblock-summary-method')?.textContent ?? '',
    b.querySelector('.opblock-summary-path')?.dataset.path ?? '',
    !!b.querySelector('.authorization__btn'), !!b.closest('.webhooks')]),
  errors: [...document.querySelectorAll('.errors-wrapper')].map(e => e.textContent),
  tabs: [...document.querySelectorAll('.opblock.is-open .tab-header .tab-item')].map(e => e.textContent),
})"""
CLICK_CALLBACKS = """[...document.querySelectorAll('.opblock.is-open .tab-header .tab-item')]
  .find(e => e.textContent === 'Callbacks')?.click() ?? null"""


def _app(document: dict[str, Any]) -> Flask:
    app = Flask("oas3-docs")
    body = json.dumps(document)
    app.add_url_rule("/api.json", "spec", lambda: Response(body, mimetype="application/json"))
    register_docs(app, document)
    return app


def _evaluate(chromium: Chromium, session: str, expression: str) -> Any:
    return chromium.call("Runtime.evaluate", session, expression=expression, returnByValue=True)["result"].get("value")


def _until(chromium: Chromium, session: str, done: Any) -> dict[str, Any]:
    deadline = time.monotonic() + RENDER_DEADLINE
    while True:
        rendered = json.loads(_evaluate(chromium, session, RENDERED) or "{}")
        if done(rendered) or rendered.get("errors") or time.monotonic() > deadline:
            return dict(rendered)
        time.sleep(0.1)


def _expected(document: dict[str, Any]) -> set[tuple[str, str, bool, bool]]:
    """(METHOD, path or webhook name, locked, is a webhook) of every operation of a 3.x document."""
    ops = {(m.upper(), path, bool(op.get("security", document.get("security"))), False)
           for path, item in document["paths"].items() for m, op in item.items()}
    hooks = document.get("webhooks") or {}
    return ops | {(m.upper(), name, False, True) for name, item in hooks.items() for m in item}


@pytest.mark.parametrize("document", [OAS31, OAS30], ids=["3.1", "3.0"])
def test_docs_page_renders_openapi_3(browser: Chromium, document: dict[str, Any]) -> None:  # noqa: F811
    expected = _expected(document)
    with serve_app(_app(document)) as base:
        target = browser.call("Target.createTarget", url="about:blank")["targetId"]
        session = browser.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for method in ("Page.enable", "Runtime.enable", "Network.enable"):
            browser.call(method, session)
        browser.call("Emulation.setDeviceMetricsOverride", session, width=1280, height=900, deviceScaleFactor=1,
                     mobile=False)  # fmt: skip
        browser.call("Page.navigate", session, url=f"{base}/docs#/pets/addPet")  # deep link: addPet opens
        rendered = _until(browser, session, lambda r: expected <= {tuple(op) for op in r.get("ops", [])}
                          and "Callbacks" in r.get("tabs", []))
        _evaluate(browser, session, CLICK_CALLBACKS)
        callback = ("POST", "{$request.body#/callbackUrl}", False, False)
        opened = _until(browser, session, lambda r: callback in {tuple(op) for op in r.get("ops", [])})
        stamp = _evaluate(browser, session, "document.querySelector('.info .version-stamp')?.textContent ?? ''")
        size = browser.call("Page.getLayoutMetrics", session)["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
        png = base64.b64decode(browser.call("Page.captureScreenshot", session, format="png",
                                            captureBeyondViewport=True, clip=clip)["data"])
        browser.call("Target.closeTarget", targetId=target)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / f"oas{document['openapi'][:3]}-docs.png"
    shot.write_bytes(png)

    assert not rendered.get("errors"), f"Swagger UI {ui_version()} reports errors: {rendered['errors']} (see {shot})"
    assert (rendered.get("title") or "").startswith(document["info"]["title"])
    assert f"OAS {document['openapi'][:3]}" in stamp, stamp
    shown = {tuple(op) for op in rendered.get("ops", [])}
    assert shown == expected, f"/docs shows {shown}, the document has {expected} (see {shot})"
    assert "Callbacks" in rendered["tabs"], "the operation with callbacks shows no Callbacks tab"
    assert callback in {tuple(op) for op in opened.get("ops", [])}, f"the callback is not listed (see {shot})"

    events = [e for e in browser.events if e.get("sessionId") == session]
    requested = [e["params"]["request"]["url"] for e in events if e.get("method") == "Network.requestWillBeSent"]
    assert f"{base}/api.json" in requested
    assert [u for u in requested if not u.startswith((base + "/", "data:"))] == [], "the page reached outside"
    assert [e for e in events if e.get("method") == "Network.loadingFailed"] == []
    assert [e for e in events if e.get("method") == "Runtime.exceptionThrown"] == []


def test_docs_assets_are_swagger_ui_5() -> None:
    """The UI served renders 3.1 (Swagger UI 5); 4.x, which did not, is gone."""
    assert int(ui_version().split(".")[0]) >= 5
    with serve_app(_app(OAS31)) as base:
        import requests

        page = requests.get(f"{base}/docs", timeout=5).text
        assert "Pets 3.1 — API docs" in page and '"url": "/api.json"' in page and "validatorUrl" in page
        assert requests.get(f"{base}/docs/static/swagger-ui-bundle.js", timeout=5).status_code == 200
        assert requests.get(f"{base}/docs/static/VERSION", timeout=5).status_code == 404


def test_docs_page_copes_with_a_document_without_info() -> None:
    from macaron._server.docs import docs_page

    page = docs_page({}, spec_url="/x</script>.json", static_url="/s")
    assert "<title>API — API docs</title>" in page and "</script>.json" not in page
