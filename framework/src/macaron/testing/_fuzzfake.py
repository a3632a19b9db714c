"""Fuzzing the fake of any spec (``macaron fake``): does it answer as the spec it serves declares?

The fake is served over HTTP on 127.0.0.1 and schemathesis drives it from the same spec, positive
and negative data, with the checks in :data:`FAKE_CHECKS` — every status, media type, body and
header of every answer must be one the spec declares. ``negative_data_rejection`` and
``ignored_auth`` are left out: a fake validates as the spec says, but cannot know every rule a real
API enforces. Every security scheme gets a made-up credential (a fake checks only that one is sent).

An OpenAPI 3.x spec is fuzzed from the document as written (``Spec.source``: cookies, styles,
request bodies per media type are schemathesis's to generate), its fake built from the normalised
model as always; bearer schemes (``http`` bearer, ``oauth2``, ``openIdConnect``) get a made-up token.

schemathesis validates JSON and YAML bodies only; while a run lasts, XML bodies are read back with
:func:`macaron._local.fakexml.from_xml` (typed by the response's schema), so they are checked too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .._core.spec import load_spec
from .._local.fakes import create_fake_app
from .._local.fakexml import from_xml
from ._fuzz import FuzzReport, _run, fuzz_config
from ._http import serve_app

FAKE_CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
)
XML_TYPES = ("application/xml", "text/xml")


def credentials(spec: dict[str, Any]) -> dict[str, Any]:
    """Made-up credentials for every security scheme of ``spec``, as schemathesis takes them."""
    out: dict[str, Any] = {}
    for name, scheme in (spec.get("securityDefinitions") or {}).items():
        if scheme.get("type") == "basic":
            out[name] = {"username": "fuzzer", "password": "fuzz-password"}
        elif scheme.get("type") == "apiKey":
            bearer = str(scheme.get("name", "")).lower() == "authorization"
            out[name] = {"api_key": "Bearer fuzz-token" if bearer else "fuzz-key"}
    return out


def credentials_3(source: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Made-up credentials for an OpenAPI 3.x document's schemes, as schemathesis takes them, and the
    headers to send on every request for the bearer schemes schemathesis does not fill itself."""
    out: dict[str, Any] = {}
    headers: dict[str, str] = {}
    schemes = (source.get("components") or {}).get("securitySchemes") or {}
    for name, scheme in schemes.items():
        kind, word = scheme.get("type"), str(scheme.get("scheme", "")).lower()
        if kind == "http" and word == "basic":
            out[name] = {"username": "fuzzer", "password": "fuzz-password"}
        elif kind == "http" and word == "bearer":
            out[name] = {"bearer": "fuzz-token"}
        elif kind == "apiKey":
            bearer = str(scheme.get("name", "")).lower() == "authorization"
            out[name] = {"api_key": "Bearer fuzz-token" if bearer else "fuzz-key"}
        elif kind in ("oauth2", "openIdConnect"):
            headers["Authorization"] = "Bearer fuzz-token"
    if any("username" in c for c in out.values()):
        headers.pop("Authorization", None)  # Basic would be overridden: those operations answer 401
    return out, headers


def fuzz_fake(spec_path: str | Path, *, seed: int = 0, max_examples: int = 20, max_time: int | None = None,
              checks: tuple[str, ...] = FAKE_CHECKS, stateful: bool = False) -> FuzzReport:
    """Serve the fake of ``spec_path`` (stateless by default: the spec's own answers) and fuzz it."""
    import schemathesis  # heavy, and only for test runs

    loaded = load_spec(Path(spec_path))
    spec = loaded.document
    app = create_fake_app(spec_path, stateful=stateful)
    with serve_app(app) as url, _xml_bodies(spec):
        base = url + str(spec.get("basePath") or "").rstrip("/")
        headers: dict[str, str] = {}
        if loaded.version == "2.0":
            auth = credentials(spec)
        else:
            auth, headers = credentials_3(loaded.source)
        config = fuzz_config(spec, token=None, seed=seed, max_examples=max_examples, max_time=max_time,
                             base_url=base, checks=checks, auth=auth or None, headers=headers or None)
        schema = schemathesis.openapi.from_dict(loaded.source, config=config)
        return _run(schema, FuzzReport(str(spec.get("info", {}).get("title", spec_path)), f"fake at {url}"))


@contextmanager
def _xml_bodies(spec: dict[str, Any]) -> Iterator[None]:
    """Let schemathesis read XML answers (as the response schema types them) while a run lasts."""
    from schemathesis.core import deserialization  # heavy, and only for test runs

    def read(ctx: Any, response: Any) -> Any:
        operation = (spec.get("paths") or {}).get(ctx.operation.path, {}).get(ctx.operation.method.lower(), {})
        responses = operation.get("responses") or {}
        declared = responses.get(str(response.status_code)) or responses.get("default") or {}
        return from_xml(response.content, declared.get("schema"), spec.get("definitions") or {})

    saved = {media: deserialization._DESERIALIZERS.get(media) for media in XML_TYPES}
    deserialization.register_deserializer(read, *XML_TYPES)
    try:
        yield
    finally:
        for media, previous in saved.items():
            if previous is None:
                deserialization._DESERIALIZERS.pop(media, None)
            else:
                deserialization._DESERIALIZERS[media] = previous
