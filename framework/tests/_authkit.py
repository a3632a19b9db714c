"""Shared by the auth tests: key material, token forging, the fixture services served over HTTP,
and a capture of every log line (unmasked) for the log audit."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from macaron import Config, Service, create_app, load_config
from macaron._core.observability import JsonFormatter
from macaron.testing import serve_app

FIXTURES = Path(__file__).parent / "fixtures"
ISSUER = "macaron-tests"


def pem_private(key: Any) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def pem_public(key: Any) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@dataclass
class Material:
    """The keys of one test run; ``never_logged`` lists every string that must not reach a log."""

    secret: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    rsa: Any = field(default_factory=lambda: rsa.generate_private_key(65537, 2048))
    attacker_rsa: Any = field(default_factory=lambda: rsa.generate_private_key(65537, 2048))
    ec: Any = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))

    def never_logged(self) -> list[str]:
        out = [self.secret]
        for key in (self.rsa, self.ec):
            body = pem_private(key).splitlines()[1:-1]
            out += [line for line in body if len(line) >= 16]
        return out


def b64(data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def claims(audience: str | list[str], /, **changes: Any) -> dict[str, Any]:
    """Valid claims for ``aud``; a change to None removes the claim."""
    now = int(time.time())
    out: dict[str, Any] = {"iss": ISSUER, "sub": "alice", "aud": audience, "iat": now, "exp": now + 300}
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def hmac_token(payload: dict[str, Any] | str, key: bytes | str, alg: str = "HS256", **header: Any) -> str:
    """An HMAC-signed JWT built by hand (PyJWT refuses PEM keys as HMAC secrets; attackers do not).
    A ``str`` payload is sent as is (to sign a payload that is not a JSON object)."""
    key_bytes = key.encode() if isinstance(key, str) else key
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    body = payload if isinstance(payload, str) else json.dumps(payload)
    signing_input = f"{b64(json.dumps({'alg': alg, 'typ': 'JWT', **header}))}.{b64(body)}"
    return f"{signing_input}.{b64(hmac.new(key_bytes, signing_input.encode(), digest).digest())}"


def unsigned_token(payload: dict[str, Any], alg: str = "none") -> str:
    return f"{b64(json.dumps({'alg': alg, 'typ': 'JWT'}))}.{b64(json.dumps(payload))}."


def signed_token(payload: dict[str, Any], key: Any, alg: str = "RS256", **header: Any) -> str:
    return jwt.encode(payload, key, algorithm=alg, headers=header or None)


def service_config(
    tmp_path: Path,
    auth: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
    name: str = "svc",
) -> Config:
    """A config from a throwaway service.yaml with ``auth:`` and ``secrets:`` as given."""
    directory = tmp_path / name
    directory.mkdir(exist_ok=True)
    data: dict[str, Any] = {"port": 1}
    if auth is not None:
        data["auth"] = auth
    if secrets is not None:
        data["secrets"] = secrets
    (directory / "service.yaml").write_text(yaml.safe_dump(data))
    return load_config(directory, environ or {})


@dataclass
class Served:
    """A fixture service and the URL it is served at."""

    service: Service
    url: str

    @property
    def calls(self) -> list[str]:
        return self.service.extensions.setdefault("calls", [])  # type: ignore[no-any-return]


@dataclass
class System:
    material: Material
    vault: Served
    issuer: Served
    relying: Served

    @property
    def all(self) -> list[Served]:
        return [self.vault, self.issuer, self.relying]


@contextmanager
def serve(directory: Path, environ: dict[str, str]) -> Iterator[Served]:
    service = Service.load(directory, environ=environ)
    with serve_app(create_app(service)) as url:
        yield Served(service, url)


@contextmanager
def system(material: Material | None = None) -> Iterator[System]:
    """Vault (HS256), issuer (RS256, private key) and relying (RS256 via the issuer's JWKS), served."""
    m = material or Material()
    with ExitStack() as stack:
        vault = stack.enter_context(serve(FIXTURES / "vault", {"VAULT_JWT_SECRET": m.secret}))
        issuer = stack.enter_context(serve(FIXTURES / "issuer", {"ISSUER_PRIVATE_KEY": pem_private(m.rsa)}))
        relying = stack.enter_context(
            serve(FIXTURES / "relying", {"MACARON_AUTH__JWKS_URL": f"{issuer.url}/.well-known/jwks.json"})
        )
        issuer.service.extensions["relying_url"] = relying.url
        yield System(m, vault, issuer, relying)


class _Collect(logging.Handler):
    def __init__(self, lines: list[str], formatter: logging.Formatter) -> None:
        super().__init__(logging.DEBUG)
        self.lines = lines
        self.setFormatter(formatter)

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextmanager
def capture_all_logs(services: list[Service]) -> Iterator[list[str]]:
    """Every log line of ``services`` (formatted as JSON with all extras, *without* secret masking)
    and of every other logger reaching the root (werkzeug's request lines...), while the block runs."""
    lines: list[str] = []
    handlers = [(s.log, _Collect(lines, JsonFormatter(s.name, ()))) for s in services]
    handlers.append((logging.getLogger(), _Collect(lines, logging.Formatter("%(name)s %(levelname)s %(message)s"))))
    levels = [(s.log, s.log.level) for s in services]
    for logger, handler in handlers:
        logger.addHandler(handler)
    for s in services:
        s.log.setLevel(logging.DEBUG)
    try:
        yield lines
    finally:
        for logger, handler in handlers:
            logger.removeHandler(handler)
        for logger, level in levels:
            logger.setLevel(level)
