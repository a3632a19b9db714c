"""A local load balancer: nginx (Debian's package, or any on ``PATH``) on 127.0.0.1, one listening
port per service, round robin over that service's instances, as the ALB spreads requests over
a Beanstalk environment's instances.

Like a real proxy it appends the address it got each request from to ``X-Forwarded-For``
(``$proxy_add_x_forwarded_for``), keeps the client's ``Host``, passes bodies and large headers
through unbuffered and unrefused (the services answer those with their own problem+json, as
they do without it) and retries only what nginx retries by itself: a request that never reached
an instance (connection refused) goes to the next one, so stopping an instance loses nothing
not yet sent to it. ``source`` (``proxy_bind``) makes it reach the instances from another
loopback address (``127.0.0.2``), so a test can tell the proxy from the client it forwards.

Started by :class:`macaron.testing.LocalSystem` (``instances=N``) and the trusted-proxy tests;
the generated ``nginx.conf``, its logs and temp files live in a directory of their own.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from .._core.errors import ConfigError
from .ports import free_port

INSTALL_HINT = "install nginx (Debian: apt-get install nginx-light) or put an nginx binary on PATH"


def nginx_binary() -> str:
    """The path of an ``nginx``: ``PATH``'s, else Debian's ``/usr/sbin/nginx``; ConfigError when none."""
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx")
                                           if os.access(p, os.X_OK)), None)
    if not found:
        raise ConfigError(f"no nginx found for the local load balancer: {INSTALL_HINT}")
    return found


def _upstream_name(service: str) -> str:
    return "up_" + "".join(c if c.isalnum() else "_" for c in service)


def render(directory: Path, upstreams: Mapping[str, Sequence[str]], ports: Mapping[str, int], *,
           host: str = "127.0.0.1", source: str | None = None) -> str:
    """The ``nginx.conf`` text: a server per service on ``host:ports[service]``, round robin over
    ``upstreams[service]`` (``host:port`` strings)."""
    tmp = directory / "tmp"
    lines = [
        *(["user root;"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []),  # its temp files are ours
        "worker_processes 1;",
        "daemon off;",
        "master_process on;",
        f"pid {directory / 'nginx.pid'};",
        f"error_log {directory / 'error.log'} warn;",
        "events { worker_connections 4096; }",
        "http {",
        "  log_format upstream '$remote_addr \"$request\" $status $upstream_addr';",
        f"  access_log {directory / 'access.log'} upstream;  # which instance answered each request",
        *(f"  {kind}_temp_path {tmp / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")),
        "  client_max_body_size 0;              # the services refuse big bodies themselves (413 problem+json)",
        "  client_header_buffer_size 8k;",
        "  large_client_header_buffers 16 256k;  # and big headers (431)",
        "  proxy_request_buffering off;",
        "  proxy_buffering off;",
        "  proxy_http_version 1.1;",
        "  proxy_connect_timeout 2s;",
        "  proxy_read_timeout 120s;",
        "  proxy_send_timeout 120s;",
        "  proxy_next_upstream error timeout;   # nginx never resends a POST that reached an instance",
        "  proxy_next_upstream_tries 0;",
        "  keepalive_timeout 75s;",
    ]
    for service, servers in upstreams.items():
        name = _upstream_name(service)
        lines.append(f"  upstream {name} {{")
        lines += [f"    server {server} max_fails=1 fail_timeout=2s;" for server in servers]
        lines += ["  }", "  server {", f"    listen {host}:{ports[service]};", "    location / {",
                  f"      proxy_pass http://{name};",
                  "      proxy_set_header Host $http_host;",
                  "      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
                  "      proxy_set_header X-Forwarded-Proto $scheme;",
                  "      proxy_set_header Connection close;",
                  *([f"      proxy_bind {source};"] if source else []),
                  "    }", "  }"]
    lines.append("}")
    return "\n".join(lines) + "\n"


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


class Balancer:
    """nginx in front of each service's instances; ``url(service)`` is where to send requests.

    ``upstreams`` maps a service to its instances (``127.0.0.1:PORT``); ``ports`` optionally
    fixes the port each service is balanced on (default: a free one)."""

    def __init__(self, upstreams: Mapping[str, Sequence[str]], *, ports: Mapping[str, int] | None = None,
                 host: str = "127.0.0.1", source: str | None = None, directory: Path | None = None,
                 binary: str | None = None) -> None:
        self.binary = binary or nginx_binary()
        self.host = host
        self.source = source
        self.upstreams = {k: list(v) for k, v in upstreams.items()}
        self.ports = {name: (ports or {}).get(name) or free_port(host) for name in self.upstreams}
        self._own_dir = directory is None
        self.directory = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="macaron-nginx-"))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def conf(self) -> Path:
        return self.directory / "nginx.conf"

    def url(self, service: str) -> str:
        return f"http://{self.host}:{self.ports[service]}"

    def write(self) -> None:
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.directory / "tmp" / kind).mkdir(parents=True, exist_ok=True)
        self.conf.write_text(render(self.directory, self.upstreams, self.ports, host=self.host, source=self.source))

    def start(self, timeout: float = 15.0) -> Balancer:
        """Write the config, start nginx and wait until every port accepts connections."""
        if self.running:
            return self
        self.write()
        argv = [self.binary, "-p", str(self.directory), "-c", str(self.conf)]
        check = subprocess.run([*argv, "-t", "-q"], capture_output=True, text=True)
        if check.returncode != 0:
            raise ConfigError(f"nginx refused its generated config {self.conf}: {check.stderr.strip()}")
        self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ConfigError(f"nginx exited with status {self.process.returncode}: {self._errors()}")
            if all(_answers(self.host, port) for port in self.ports.values()):
                return self
            time.sleep(0.05)
        self.stop()
        raise ConfigError(f"nginx did not listen on {sorted(self.ports.values())} within {timeout:.0f} s")

    def reload(self, upstreams: Mapping[str, Sequence[str]] | None = None) -> None:
        """Rewrite the config (new ``upstreams`` for some services) and have nginx reload it
        (SIGHUP: new workers take over, requests in flight finish on the old ones)."""
        self.upstreams.update({k: list(v) for k, v in (upstreams or {}).items()})
        self.write()
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGHUP)

    def answered_by(self) -> list[str]:
        """The upstream (``host:port``) of every request logged so far, in order."""
        log = self.directory / "access.log"
        lines = log.read_text(errors="replace").splitlines() if log.exists() else []
        return [line.rsplit(" ", 1)[-1] for line in lines if line.strip()]

    def _errors(self) -> str:
        err = self.process.stderr.read().decode(errors="replace") if self.process and self.process.stderr else ""
        log = self.directory / "error.log"
        return (err + (log.read_text(errors="replace")[-2000:] if log.exists() else "")).strip()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """Stop nginx (SIGQUIT: a graceful shutdown; SIGKILL to the group after ``timeout``)."""
        proc, self.process = self.process, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGQUIT)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait()
        if proc.stderr:
            proc.stderr.close()

    def close(self) -> None:
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> Balancer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
