"""Each service's ``/docs`` page, opened in a real headless Chromium: Swagger UI renders,
lists every operation of the served spec (built-ins included), loads nothing from outside
127.0.0.1, throws no script error; a full-page screenshot is kept for a human to look at.

Chromium is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``:
NUL-terminated JSON on fds 3 and 4), so the test needs no driver, websocket library or
browser download: Debian's ``chromium`` package is enough (``.ci/run`` installs it). Without
a Chromium the test skips, unless ``CI`` is set: there it fails, so CI cannot skip it silently.
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from macaron import Service, create_app
from macaron._local.devenv import dev_environ
from macaron.testing import Api, serve_app

ROOT = Path(__file__).resolve().parents[3]
SERVICES = sorted(p.parent for p in ROOT.glob("services/*/service.yaml"))
ARTIFACTS = ROOT / "artifacts" / "docs"  # git-ignored; the screenshots of the last run
METHODS = ("get", "put", "post", "delete", "options", "head", "patch")
RENDER_DEADLINE = 20.0  # seconds to wait for Swagger UI before reporting what is missing
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
    "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-extensions", "--mute-audio",
    "--hide-scrollbars", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
)  # fmt: skip
# Chromium reads commands on fd 3 and answers on fd 4: a tiny trampoline puts the pipes there
# (dash's `3<&N` takes one-digit fds only, and preexec_fn is unsafe while server threads run).
EXEC_ON_FDS_3_4 = (
    "import os, sys; os.dup2(int(sys.argv[1]), 3); os.dup2(int(sys.argv[2]), 4); os.execv(sys.argv[3], sys.argv[3:])"
)
# What Swagger UI shows: the title, each operation block's method, spec path and lock, any error box.
RENDERED = """JSON.stringify({
  title: document.querySelector('.info .title')?.textContent ?? null,
  ops: [...document.querySelectorAll('.opblock')].map(b => [
    b.querySelector('.opblock-summary-method')?.textContent ?? '',
    b.querySelector('.opblock-summary-path')?.dataset.path ?? '',
    !!b.querySelector('.authorization__btn')]),
  errors: [...document.querySelectorAll('.errors-wrapper')].map(e => e.textContent),
})"""


def _chromium() -> str:
    """The browser to use; skip (or fail on CI) saying how to get one."""
    names = [os.environ.get("CHROMIUM", ""), "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"]
    found = next((exe for name in names if name and (exe := shutil.which(name))), None)
    if found:
        return found
    if os.environ.get("CI", "").lower() not in ("", "0", "false"):
        pytest.fail("CI is set but no Chromium is on PATH: .ci/run installs Debian's `chromium` package")
    pytest.skip("no Chromium on PATH: `apt-get install chromium` (Debian/Ubuntu), `brew install --cask chromium` "
                "(macOS), or set CHROMIUM to a Chrome/Chromium binary")  # fmt: skip


class Chromium:
    """One headless Chromium; ``call`` sends a DevTools command and returns its result, keeping events."""

    def __init__(self, executable: str, profile: Path, log: Path) -> None:
        to_browser, browser_in = os.pipe()
        browser_out, from_browser = os.pipe()
        self._log = log
        with log.open("wb") as stderr:  # the browser's chatter (dbus, GPU), shown if something breaks
            self._proc = subprocess.Popen(
                [sys.executable, "-c", EXEC_ON_FDS_3_4, str(to_browser), str(from_browser), executable,
                 *FLAGS, "--remote-debugging-pipe", f"--user-data-dir={profile}", "about:blank"],
                pass_fds=(to_browser, from_browser), stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr,
            )  # fmt: skip
        os.close(to_browser)
        os.close(from_browser)
        self._in, self._out = browser_in, browser_out
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, session: str | None = None, timeout: float = 15.0, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._in, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") != self._next_id:
                self.events.append(reply)
            elif "error" in reply:
                raise RuntimeError(f"{method}: {reply['error']}")
            else:
                return dict(reply["result"])

    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._out], [], [], max(0.0, deadline - time.monotonic()))
            chunk = os.read(self._out, 1 << 20) if ready else b""
            if not chunk:
                tail = self._log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"Chromium {'timed out' if not ready else 'closed the pipe'}; stderr:\n{tail}")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\0")
        return dict(json.loads(line))

    def close(self) -> None:
        try:
            self.call("Browser.close", timeout=5)
        except (RuntimeError, OSError):
            pass
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        os.close(self._in)
        os.close(self._out)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    executable = _chromium()
    work = tmp_path_factory.mktemp("chromium")
    chromium = Chromium(executable, work / "profile", work / "stderr.log")
    try:
        yield chromium
    finally:
        chromium.close()


def spec_operations(spec: dict[str, Any]) -> set[tuple[str, str]]:
    """(METHOD, path) of every operation of a Swagger 2.0 document."""
    return {(m.upper(), path) for path, item in spec.get("paths", {}).items() for m in item if m in METHODS}


def secured_operations(spec: dict[str, Any]) -> set[tuple[str, str]]:
    """The operations whose effective security (their own, else the spec's) asks for credentials."""
    return {
        (m.upper(), path)
        for path, item in spec.get("paths", {}).items()
        for m, op in item.items()
        if m in METHODS and op.get("security", spec.get("security", []))
    }


def open_docs(browser: Chromium, url: str, expected: set[tuple[str, str]]) -> tuple[dict[str, Any], str, bytes]:
    """Open ``url`` in a new tab, wait until Swagger UI lists ``expected`` (or the deadline); return
    what was rendered, the tab's session (for its events) and a full-page PNG."""
    target = browser.call("Target.createTarget", url="about:blank")["targetId"]
    session = browser.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
    for method in ("Page.enable", "Runtime.enable", "Network.enable"):
        browser.call(method, session)
    browser.call("Emulation.setDeviceMetricsOverride", session, width=1280, height=900, deviceScaleFactor=1,
                 mobile=False)  # fmt: skip
    browser.call("Page.navigate", session, url=url)
    deadline = time.monotonic() + RENDER_DEADLINE
    while True:
        value = browser.call("Runtime.evaluate", session, expression=RENDERED, returnByValue=True)["result"]
        rendered = json.loads(value.get("value") or "{}") if value.get("type") == "string" else {}
        shown = {(m.upper(), p) for m, p, _ in rendered.get("ops", [])}
        if (expected <= shown and rendered.get("title")) or rendered.get("errors") or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    size = browser.call("Page.getLayoutMetrics", session)["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
    png = browser.call("Page.captureScreenshot", session, format="png", captureBeyondViewport=True, clip=clip)
    browser.call("Target.closeTarget", targetId=target)
    return rendered, session, base64.b64decode(png["data"])


@pytest.mark.parametrize("service_dir", SERVICES, ids=[p.name for p in SERVICES])
def test_docs_page_lists_every_operation(browser: Chromium, service_dir: Path, tmp_path: Path) -> None:
    service = Service.load(service_dir, environ={**dev_environ(ROOT), **os.environ})
    with serve_app(create_app(service)) as base:
        spec = Api(base).get("/api.json").json()
        expected = spec_operations(spec)
        rendered, session, png = open_docs(browser, f"{base}/docs", expected)

    shot = tmp_path / f"{service.name}-docs.png"
    shot.write_bytes(png)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, ARTIFACTS / shot.name)

    shown = {(m.upper(), p) for m, p, _ in rendered.get("ops", [])}
    assert not rendered.get("errors"), f"Swagger UI reports errors: {rendered['errors']} (see {shot})"
    assert expected, "the served spec has no operations"
    assert expected - shown == set(), f"operations missing from /docs (see {shot})"
    assert shown - expected == set(), "/docs lists operations the spec lacks"
    assert (rendered.get("title") or "").startswith(spec["info"]["title"])
    assert spec.get("basePath") or {("GET", "/ping"), ("GET", "/api.json")} <= shown  # built-ins are listed too
    locked = {(m.upper(), p) for m, p, lock in rendered.get("ops", []) if lock}
    assert locked == secured_operations(spec), "the page's locks differ from the spec's security"
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000

    events = [e for e in browser.events if e.get("sessionId") == session]
    requested = [e["params"]["request"]["url"] for e in events if e.get("method") == "Network.requestWillBeSent"]
    assert f"{base}/api.json" in requested
    assert [u for u in requested if not u.startswith((base + "/", "data:"))] == [], "the page reached outside"
    failed = [e["params"] for e in events if e.get("method") == "Network.loadingFailed"]
    assert failed == []
    bad = [(e["params"]["response"]["url"], e["params"]["response"]["status"]) for e in events
           if e.get("method") == "Network.responseReceived" and e["params"]["response"]["status"] >= 400]  # fmt: skip
    assert bad == []
    thrown = [e["params"]["exceptionDetails"] for e in events if e.get("method") == "Runtime.exceptionThrown"]
    assert thrown == []
    console_errors = [e["params"]["args"] for e in events
                      if e.get("method") == "Runtime.consoleAPICalled" and e["params"]["type"] == "error"]  # fmt: skip
    assert console_errors == []


@pytest.mark.parametrize("service_dir", SERVICES, ids=[p.name for p in SERVICES])
def test_docs_locks_match_the_guard(service_dir: Path) -> None:
    """What /docs shows as open answers without a token; what it shows locked answers 401."""
    service = Service.load(service_dir, environ={**dev_environ(ROOT), **os.environ})
    with serve_app(create_app(service)) as base:
        api = Api(base)
        spec = api.get("/api.json").json()
        secured = secured_operations(spec)
        prefix = spec.get("basePath", "").rstrip("/")
        answers = {  # no token, no body: a locked operation's guard answers before validation does
            (method, path): api.request(method, prefix + path.replace("{", "").replace("}", "")).status_code
            for method, path in spec_operations(spec)
        }
    assert secured, "no secured operation to check"
    assert {op: s for op, s in answers.items() if (s == 401) != (op in secured)} == {}
