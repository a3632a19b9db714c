"""The fakes' state kept across restarts: ``macaron dev`` gives each fake a file under
``.data/fakes/`` (``MACARON_FAKE_STATE_DIR``), so the Auth0 fake's identities stay as long as the
user service's profiles in ``.data/`` do, and ``nox -s dev -- --reset`` wipes both.

A fake loads its file when its app is built and writes it (atomically) after each request that
changed the handlers' state, ``DELETE /__fake__/state`` included. Without the variable (tests, a
bare ``macaron fake``) state lives in memory only, as before. Values that JSON cannot hold are
kept as their ``str()``.

Rule: standard library and Flask only; ``fakecontrol`` calls :func:`persist_state`.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from flask import Flask, Response

STATE_DIR_ENV = "MACARON_FAKE_STATE_DIR"


def state_file(app: Flask) -> Path | None:
    """Where the state of the fake ``app`` (named ``macaron.fake.<spec>``) is kept, if anywhere."""
    directory = os.environ.get(STATE_DIR_ENV)
    if not directory:
        return None
    return Path(directory) / f"{app.name.rpartition('.')[2]}.json"


def _dump(data: Any) -> str:
    return json.dumps(data, default=str, sort_keys=True)


def persist_state(app: Flask, state: Any) -> None:
    """Load ``state.data`` from the fake's file, and save it after each request that changed it."""
    path = state_file(app)
    if path is None:
        return
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        loaded = {}
    except (OSError, ValueError) as exc:
        app.logger.warning("fake state in %s is unreadable (%s); starting empty", path, exc)
        loaded = {}
    if isinstance(loaded, dict):
        state.data.update(loaded)
    saved = {"text": _dump(state.data)}

    @app.after_request
    def save(response: Response) -> Response:
        with state.lock:
            text = _dump(state.data)
        if text != saved["text"]:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".json")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(tmp, path)
            saved["text"] = text
        return response
