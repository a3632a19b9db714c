"""Fuzzing a service from its served spec with schemathesis: ``macaron fuzz``.

The spec a client reads at ``/api.json`` (built-ins and framework errors included) drives
schemathesis's engine: examples, coverage, fuzzing with positive and negative data, and
stateful sequences along the links it infers between operations. Every response goes
through the checks in :data:`CHECKS`. Secured operations get a valid bearer token for
positive cases; ``ignored_auth`` checks that the same request without it is refused.

A second pass (:func:`hostile_cases`) sends each JSON body the spec declares with one value
that is valid JSON but that Python, a store or a client library cannot take (a 5,000-digit or
beyond-64-bit integer, ``1e999``, ``NaN``, a lone surrogate, 100 levels of nesting): each must
be a 4xx JSON error — problem+json, or the error format the spec declares for it — (check
``hostile_json``), which schemathesis's generators never try.

Two targets: a service's WSGI app in this process (:func:`fuzz_app`), or a live URL
(:func:`fuzz_url`); fakes of any spec have their own runner (:mod:`._fuzzfake`). All return a
:class:`FuzzReport`; a run with a fixed ``seed`` and ``max_examples`` generates the same cases
every time.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .._core.errors import ConfigError
from .._server.builtins import served_spec
from ..auth import generate_token

if TYPE_CHECKING:
    from .._core.service import Service

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "ignored_auth",
)


@dataclass(frozen=True)
class FuzzFailure:
    """One distinct failure: which operation, which check, what was wrong, how to reproduce it."""

    operation: str
    check: str
    title: str
    message: str
    reproduce: str
    # Why this is not the server's fault, when it is not (see :func:`excuse`): "" for a real failure.
    excused: str = ""

    def __str__(self) -> str:
        return f"{self.operation}: {self.check}: {self.title}\n  {self.message.strip()}\n  {self.reproduce}"


@dataclass
class FuzzReport:
    """What a run did: requests sent (``cases``), distinct failures, engine errors, time taken."""

    service: str
    target: str
    cases: int = 0
    operations: set[str] = field(default_factory=set)
    failures: list[FuzzFailure] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    statuses: Counter[int] = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        return not self.failures and not self.errors and self.cases > 0

    def summary(self) -> str:
        statuses = ", ".join(f"{status}: {n}" for status, n in sorted(self.statuses.items()))
        head = (f"fuzz {self.service} ({self.target}): {self.cases} cases over {len(self.operations)} operations "
                f"in {self.seconds:.1f} s, {len(self.failures)} failures, {len(self.errors)} errors\n"
                f"  responses by status: {statuses}")
        return "\n".join([head, *(str(f) for f in self.failures), *self.errors])


def required_scopes(spec: dict[str, Any]) -> list[str] | None:
    """Every scope any operation of the (served) spec requires, so one token passes every guard;
    ``None`` when no operation needs a token."""
    secured, scopes = False, set[str]()
    for item in (spec.get("paths") or {}).values():
        for method, op in item.items():
            if method == "parameters" or not isinstance(op, dict):
                continue
            for alternative in op.get("security", spec.get("security")) or []:
                secured = secured or bool(alternative)
                scopes.update(scope for listed in alternative.values() for scope in listed or [])
    return sorted(scopes) if secured else None


def fuzz_config(spec: dict[str, Any], *, token: str | None, seed: int, max_examples: int,
                max_time: int | None = None, base_url: str | None = None, checks: tuple[str, ...] = CHECKS,
                auth: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> Any:
    """The schemathesis configuration of a run: both data modes, ``checks``, the token on every bearer
    scheme (or ``auth``: schemathesis's per-scheme credentials, as given; ``headers``: sent on every
    request)."""
    from schemathesis.config import SchemathesisConfig

    schemes = [name for name, d in (spec.get("securityDefinitions") or {}).items()
               if d.get("type") == "apiKey" and str(d.get("name", "")).lower() == "authorization"]
    schemes += [name for name, d in ((spec.get("components") or {}).get("securitySchemes") or {}).items()
                if d.get("type") == "apiKey" and str(d.get("name", "")).lower() == "authorization"]
    bearers = [name for name, d in ((spec.get("components") or {}).get("securitySchemes") or {}).items()
               if d.get("type") == "http" and str(d.get("scheme", "")).lower() == "bearer"]  # OpenAPI 3.x
    settings: dict[str, Any] = {
        "seed": seed,
        "workers": 1,
        "request-timeout": 15,
        "generation": {"mode": "all", "max-examples": max_examples, "database": "none"},
        "checks": {"enabled": False, **{name: {"enabled": True} for name in checks}},
        "output": {"sanitization": {"enabled": True}},
    }
    if max_time is not None:
        settings["max-time"] = max_time
    if base_url is not None:
        settings["base-url"] = base_url
    if token and (schemes or bearers):
        settings["auth"] = {"openapi": {**{name: {"api_key": f"Bearer {token}"} for name in schemes},
                                        **{name: {"bearer": token} for name in bearers}}}
    if auth:
        settings["auth"] = {"openapi": auth}
    if headers:
        settings["headers"] = dict(headers)
    return SchemathesisConfig.from_dict(settings)


def _served_spec(service: Service) -> dict[str, Any]:
    return served_spec(service)


def fuzz_app(service: Service, app: Any, *, token: str | None = None, seed: int = 0, max_examples: int = 20,
             max_time: int | None = None) -> FuzzReport:
    """Fuzz ``app`` (``create_app(service)``) in this process; ``token`` defaults to one with every scope."""
    import schemathesis

    spec = _served_spec(service)
    scopes = required_scopes(spec)
    if token is None and scopes is not None:
        try:
            token = generate_token("fuzzer", ttl=3600, scopes=scopes, service=service)
        except ConfigError:  # a service that cannot sign (no secret): only its refusals are fuzzed
            token = None
    config = fuzz_config(spec, token=token, seed=seed, max_examples=max_examples, max_time=max_time)
    with _wsgi_probe_fix():
        schema = schemathesis.openapi.from_wsgi("/api.json", app, config=config)
        report = _run(schema, FuzzReport(service.name, "in-process WSGI app"))
    client = app.test_client()

    def send(method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        answer = client.open(path, method=method, data=body, headers=headers)
        return answer.status_code, answer.headers.get("Content-Type", "")

    return _hostile_pass(spec if service.spec.version == "2.0" else service.spec.document, token, send, report)


def fetch_spec(base_url: str) -> dict[str, Any]:
    """The spec a running service serves at ``/api.json``."""
    import requests

    spec: dict[str, Any] = requests.get(f"{base_url.rstrip('/')}/api.json", timeout=10).json()
    return spec


def fuzz_url(base_url: str, *, token: str | None, seed: int = 0, max_examples: int = 20,
             max_time: int | None = None, name: str = "") -> FuzzReport:
    """Fuzz the service answering at ``base_url`` (127.0.0.1, staging, ...) from its ``/api.json``;
    ``token`` should carry :func:`required_scopes` of that spec."""
    import schemathesis

    spec = fetch_spec(base_url)
    config = fuzz_config(spec, token=token, seed=seed, max_examples=max_examples, max_time=max_time,
                         base_url=base_url.rstrip("/"))
    schema = schemathesis.openapi.from_dict(spec, config=config)
    report = _run(schema, FuzzReport(name or str(spec.get("info", {}).get("title", "")), base_url))
    import requests

    def send(method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        answer = requests.request(method, base_url.rstrip("/") + path, data=body, headers=headers, timeout=30)
        return answer.status_code, answer.headers.get("Content-Type", "")

    return _hostile_pass(spec, token, send, report)


HOSTILE_JSON = (  # valid JSON text that Python, a store or a client library cannot take
    "1" * 5000, "-18446744073709551616", "1e999", "-1E+400", "NaN", "Infinity", '"a\\ud800b"', '"\\udfff"',
    "[" * 100 + "]" * 100,
)


def hostile_cases(spec: dict[str, Any]) -> Iterator[tuple[str, str, str, bytes]]:
    """(operation, method, path, body) for every operation with a JSON body: the body an object of
    its schema's top-level properties, each in turn holding each :data:`HOSTILE_JSON` value (or, for
    a body without properties, the value itself). Path parameters are ``1``."""
    import json
    import re

    definitions = spec.get("definitions") or {}
    base = str(spec.get("basePath") or "").rstrip("/")
    for route, item in (spec.get("paths") or {}).items():
        for method, op in item.items():
            if method == "parameters" or not isinstance(op, dict):
                continue
            params = [*item.get("parameters", []), *op.get("parameters", [])]
            body = next((p for p in params if isinstance(p, dict) and p.get("in") == "body"), None)
            if body is None:
                continue
            schema = body.get("schema") or {}
            for _ in range(16):
                if "$ref" not in schema:
                    break
                schema = definitions.get(str(schema["$ref"]).rsplit("/", 1)[-1], {})
            names = list(schema.get("properties") or {}) or [None]
            path = base + re.sub(r"\{[^}]+\}", "1", route)
            for name in names:
                for value in HOSTILE_JSON:
                    text = value if name is None else "{" + json.dumps(name) + ": " + value + "}"
                    yield str(op.get("operationId") or route), method.upper(), path, text.encode()


def _hostile_pass(spec: dict[str, Any], token: str | None, send: Any, report: FuzzReport) -> FuzzReport:
    started = time.monotonic()
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    seen: set[str] = set()
    for operation, method, path, body in hostile_cases(spec):
        status, content_type = send(method, path, body, headers)
        report.cases += 1
        report.statuses[status] += 1
        main = content_type.split(";", 1)[0].strip().lower()  # problem+json, or the spec's own error format:
        refused = 400 <= status < 500 and (main == "application/json" or main.endswith("+json"))
        if not refused and operation not in seen:
            seen.add(operation)
            shown = body[:80].decode("utf-8", "replace")
            report.failures.append(FuzzFailure(
                operation, "hostile_json", f"valid but unfit JSON answered {status} ({content_type or 'no type'})",
                f"body: {shown}{'...' if len(body) > 80 else ''}",
                f"curl -X {method} <url>{path} -H 'Content-Type: application/json' -d '{shown}'"))
    report.seconds += time.monotonic() - started
    return report


def _run(schema: Any, report: FuzzReport) -> FuzzReport:
    from schemathesis.engine import events, from_schema

    started = time.monotonic()
    seen: set[tuple[str, str, str]] = set()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            report.cases += len(recorder.cases)
            report.operations.add(recorder.label)
            report.statuses.update(i.response.status_code for i in recorder.interactions.values() if i.response)
            for case_id, checks in recorder.checks.items():
                for check in checks:
                    info = check.failure_info
                    if info is None:
                        continue
                    failure = info.failure
                    if _no_content(failure, recorder, case_id):
                        continue
                    key = (failure.operation or recorder.label, check.name, failure.title)
                    if key not in seen:
                        seen.add(key)
                        report.failures.append(FuzzFailure(key[0], check.name, failure.title, failure.message,
                                                           info.code_sample, excuse(check.name, recorder, case_id)))
        elif isinstance(event, events.NonFatalError):
            report.errors.append(f"{event.label}: {type(event.value).__name__}: {event.value}")
        elif isinstance(event, events.FatalError):
            report.errors.append(f"fatal: {type(event.exception).__name__}: {event.exception}")
    report.seconds = time.monotonic() - started
    return report


UNDECLARED_REFUSAL = "a refusal of invalid data under a status the operation does not declare"
NO_SUCCESS = "valid data answered as declared, but the operation declares no 2xx, 3xx or default"
CARRIED_OVER = ("a stateful step, whose values schemathesis carries over from earlier answers and "
                "counts as valid without checking them against the parameter's schema")
BEYOND_64_BITS = "an integer beyond 64 bits, which macaron refuses by design (stores and clients cannot take it)"


def excuse(check: str, recorder: Any, case_id: str) -> str:
    """Why a failure is the spec's (or a deliberate limit), not a wrong answer; "" when it is one.

    - ``status_code_conformance`` on a 4xx answered to data schemathesis made invalid on purpose
      (negative mode: a bad value, a missing credential) by an operation that declares neither that
      status nor ``default``: the spec leaves no conformant answer (a 2xx would fail
      ``negative_data_rejection``);
    - ``positive_data_acceptance`` on the operation's own declared 4xx where it declares no success
      at all (the Petstore's ``DELETE /pet/{petId}`` declares only 400);
    - ``positive_data_acceptance`` on a request carrying an integer beyond 64 bits (``jsonbody``);
    - ``positive_data_acceptance`` in the stateful phase, whose values come from earlier answers
      (``GET /browse/string/`` for an integer ``id``: schemathesis does not check them)."""
    interaction = recorder.interactions.get(case_id)
    node = recorder.cases.get(case_id)
    case = getattr(node, "value", None)
    meta = getattr(case, "meta", None)
    if interaction is None or interaction.response is None or meta is None or case is None:
        return ""
    status = interaction.response.status_code
    declared = [str(code).upper() for code in case.operation.responses.status_codes]
    if check == "status_code_conformance":
        undeclared = not any(code in ("DEFAULT", str(status), f"{str(status)[0]}XX") for code in declared)
        return UNDECLARED_REFUSAL if 400 <= status < 500 and meta.generation.mode.is_negative and undeclared else ""
    if check == "positive_data_acceptance" and 400 <= status < 500:
        if not any(code == "DEFAULT" or code[0] in "23" for code in declared):
            return NO_SUCCESS
        if str(getattr(meta.phase, "name", "")).lower() == "stateful":
            return CARRIED_OVER  # the same operation's own cases (examples, coverage, fuzzing) still count
        if _has_big_int([case.body, case.query, case.path_parameters, case.headers]):
            return BEYOND_64_BITS
    return ""


def _has_big_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return not -(2**63) <= value < 2**63
    if isinstance(value, str):
        digits = value.lstrip("-")
        return digits.isdigit() and len(digits) >= 19 and not -(2**63) <= int(value) < 2**63
    if isinstance(value, dict):
        return any(_has_big_int(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_big_int(v) for v in value)
    return False


def _no_content(failure: Any, recorder: Any, case_id: str) -> bool:
    """A response without content needs no Content-Type (RFC 9110, 8.3), but with Swagger 2.0
    schemathesis applies ``produces`` to every response, a 204 included: not a failure."""
    if type(failure).__name__ != "MissingContentType":
        return False
    interaction = recorder.interactions.get(case_id)
    return interaction is not None and interaction.response is not None and not interaction.response.content


@contextmanager
def _wsgi_probe_fix() -> Iterator[None]:
    """Work around schemathesis 4.32's WSGI transport: the credential-less probe of ``ignored_auth``
    drops the session but keeps socket-level options (``max_redirects``, ``verify``...), which
    werkzeug's test client rejects. Drop them for in-process calls while a run lasts."""
    from schemathesis.transport.wsgi import WSGITransport

    original = WSGITransport.send

    def send(self: Any, case: Any, *, session: Any = None, **kwargs: Any) -> Any:
        if session is None:
            for name in ("max_redirects", "verify", "cert", "proxies"):
                kwargs.pop(name, None)
        return original(self, case, session=session, **kwargs)

    WSGITransport.send = send  # type: ignore[method-assign]
    try:
        yield
    finally:
        WSGITransport.send = original  # type: ignore[method-assign]
