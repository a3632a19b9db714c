"""``macaron serve``: a service directory served by gunicorn, or by a reloading dev server.

The Service is loaded in the parent before gunicorn forks, so a bad spec or config stops
``macaron serve`` with one clear message, and workers start already warm. A copied service
whose port is its original's gets a free one (``_local.siblings``).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from .._core.errors import ConfigError
from .._core.service import Service
from .._local.siblings import serve_port
from .._server.app import create_app
from .._server.serve import DEFAULT_KEEPALIVE, check_port_free, run


def _wait_for_change(directory: Path) -> None:
    """Block until a file under the service directory or shared_apis/ changes."""
    roots = [directory, directory.resolve().parent.parent / "shared_apis"]

    def snapshot() -> dict[Path, float]:
        return {p: p.stat().st_mtime for root in roots if root.is_dir() for p in root.rglob("*") if p.is_file()}

    before = snapshot()
    while snapshot() == before:
        time.sleep(0.5)


def serve(
    directory: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    workers: int = 1,
    threads: int = 8,
    reload: bool = False,
    keepalive: int | None = None,
) -> None:
    """Serve the service in ``directory`` until interrupted."""
    reloader_child = reload and os.environ.get("WERKZEUG_RUN_MAIN") == "true"
    try:
        service = Service.load(directory)
    except ConfigError as exc:
        if not reloader_child:
            raise
        print(f"macaron serve: error: {exc}\nwaiting for a change to reload...", file=sys.stderr, flush=True)
        _wait_for_change(Path(directory))
        sys.exit(3)  # the werkzeug reloader restarts a child that exits with 3
    if port is None:  # the configured port; a copy whose port is its original's gets a free one
        port = serve_port(service.config, host)
    if not reloader_child:  # the reloader's parent already holds the socket
        check_port_free(host, port, f"service {service.name!r}")
    if reload:
        from werkzeug.serving import run_simple

        watched = [str(p) for p in service.spec.files] + [str(p) for p in service.directory.glob("service*.yaml")]
        run_simple(host, port, create_app(service), use_reloader=True, extra_files=watched, threaded=True)
        return
    run(service, host=host, port=port, workers=workers, threads=threads,
        keepalive=DEFAULT_KEEPALIVE if keepalive is None else keepalive)
