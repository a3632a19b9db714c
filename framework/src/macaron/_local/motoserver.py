"""DynamoDB for a local system of several instances: moto in server mode, as a process of its own
on 127.0.0.1 (never AWS), so that every instance of a service reads and writes one store, as
they share one DynamoDB table set in production.

A process, not moto's ``ThreadedMotoServer`` in the caller: the instances hammer it, and in the
caller's interpreter it would compete for the GIL with the test driving the load. Its clients
get fake credentials (:data:`FAKE_AWS`) and the endpoint through the environment.

**One request at a time.** moto's ``TransactWriteItems`` deep-copies every table it touches (its
rollback copy) while other threads change them: under concurrent signups from several instances
``python -m moto.server`` (threaded) failed 1,575 of ~26,000 requests with ``RuntimeError:
dictionary changed size during iteration`` (HTTP 500). Served by one thread it answers them all;
that copy also makes each transaction cost time in proportion to the table's size, so moto is a
stand-in for DynamoDB's semantics, not its throughput (docs/scaling.md).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from .._core.errors import ConfigError
from .ports import free_port

#: What every process talking to the local moto needs: credentials that are no one's, no AWS
#: config files, no instance metadata lookups.
FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    "AWS_EC2_METADATA_DISABLED": "true",
}


#: ``python -m moto.server``, minus its thread per request.
_SERVE = """
import sys
from werkzeug.serving import run_simple
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
run_simple(sys.argv[1], int(sys.argv[2]), DomainDispatcherApplication(create_backend_app), threaded=False,
           request_handler=MotoRequestHandler)
"""


class MotoServer:
    """``python -m moto.server`` on 127.0.0.1; ``url`` is the endpoint to give boto3."""

    def __init__(self, *, port: int | None = None, log_path: Path | None = None) -> None:
        self.port = port or free_port()
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> MotoServer:
        if self.process is not None and self.process.poll() is None:
            return self
        argv = [sys.executable, "-c", _SERVE, "127.0.0.1", str(self.port)]
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # closed below, once Popen has it
        try:
            self.process = subprocess.Popen(argv, env={**os.environ, **FAKE_AWS}, stdin=subprocess.DEVNULL,
                                            stdout=out, stderr=out, start_new_session=True)
        finally:
            if out is not subprocess.DEVNULL:
                out.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ConfigError(f"moto server exited with status {self.process.returncode} "
                                  f"(is moto[server] installed? it comes with the framework's test extra)")
            try:
                with urllib.request.urlopen(f"{self.url}/moto-api/data.json", timeout=1):
                    return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise ConfigError(f"moto server did not answer on {self.url} within {timeout:.0f} s")

    def stop(self, timeout: float = 10.0) -> None:
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
