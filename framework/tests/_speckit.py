"""Small services and fakes written inline by tests of the Swagger 2.0 features: a spec's
YAML text and a handlers module become a loaded Service, its app, or a fake's app."""

from __future__ import annotations

import textwrap
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from macaron import Service, create_app
from macaron._local.fakes import create_fake_app

HEAD = 'swagger: "2.0"\ninfo: {title: t, version: "1"}\n'


def service_dir(root: Path, spec: str, handlers: str = "", config: str = "port: 9999\n", name: str = "svc") -> Path:
    """A service directory under ``root``: ``spec`` (YAML after the swagger/info head), handlers."""
    directory = root / name
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "service.yaml").write_text(textwrap.dedent(config))
    (directory / "api.yaml").write_text(HEAD + textwrap.dedent(spec))
    (directory / "handlers.py").write_text(textwrap.dedent(handlers))
    return directory


def service_app(root: Path, spec: str, handlers: str = "", config: str = "port: 9999\n",
                environ: dict[str, str] | None = None) -> FlaskClient:
    """The test client of the service made by :func:`service_dir`."""
    service = Service.load(service_dir(root, spec, handlers, config), environ=environ or {})
    return create_app(service).test_client()


def fake_app(root: Path, spec: str) -> Flask:
    """The fake of ``spec`` (no stateful handlers)."""
    path = root / "fake.yaml"
    path.write_text(HEAD + textwrap.dedent(spec))
    return create_fake_app(path)
