"""The fake's own side: recorded requests, injected faults and handler state, and the
``/__fake__/...`` endpoints that show and change them (see :mod:`macaron._local.fakes`).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Request, Response, request

from .._core.errors import BadRequest
from .._core.spec import Spec
from .fakestate import persist_state

CREDENTIAL_HEADERS = ("authorization", "proxy-authorization", "cookie")


@dataclass
class Fault:
    """One injected fault: answer ``status`` (and/or wait ``delay_ms``) for the next ``times`` calls."""

    operation: str | None
    status: int | None
    delay_ms: int
    times: int
    retry_after: str | None

    def to_json(self) -> dict[str, Any]:
        return {"operation": self.operation, "status": self.status, "delay_ms": self.delay_ms,
                "times": self.times, "retry_after": self.retry_after}


@dataclass
class FakeState:
    """Recorded requests, pending faults and the handlers' state of one fake app."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: list[dict[str, Any]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def take_fault(self, operation: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.operation in (None, operation):
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                    return fault
        return None


def fingerprint(value: str) -> str:
    """A credential shown safely: its scheme and a short hash of the rest."""
    scheme, _, rest = value.partition(" ")
    if not rest:
        scheme, rest = "", value
    digest = hashlib.sha256(rest.strip().encode()).hexdigest()[:12]
    return f"{scheme} sha256:{digest}".strip()


def credential_names(spec: Spec) -> set[str]:
    names = set(CREDENTIAL_HEADERS)
    for scheme in (spec.document.get("securityDefinitions") or {}).values():
        if scheme.get("type") == "apiKey" and scheme.get("in") == "header":
            names.add(str(scheme["name"]).lower())
        elif scheme.get("type") == "apiKey" and scheme.get("in") == "cookie":  # OpenAPI 3.x: a key in a cookie
            names.add("cookie")
    return names


def record(req: Request, operation: str, secret_headers: set[str]) -> dict[str, Any]:
    headers: dict[str, str] = {}
    credentials: dict[str, str] = {}
    for name, value in req.headers.items():
        if name.lower() in secret_headers:
            credentials[name] = fingerprint(value)
        else:
            headers[name] = value
    raw = req.get_data(cache=True)
    body: Any = None
    if raw:
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
    return {"operation": operation, "method": req.method, "path": req.path, "query": req.args.to_dict(flat=False),
            "headers": headers, "credentials": credentials, "body": body, "status": None,
            "at": round(time.time(), 3)}  # when it arrived: tests check the spacing of retries


def control_routes(app: Flask, state: FakeState, operations: list[str]) -> None:
    def requests_view() -> Any:
        if request.method == "DELETE":
            with state.lock:
                state.requests.clear()
            return Response(status=204)
        wanted = request.args.get("operation")
        with state.lock:
            return [r for r in state.requests if wanted in (None, r["operation"])]

    def faults_view() -> Any:
        if request.method == "DELETE":
            with state.lock:
                state.faults.clear()
            return Response(status=204)
        if request.method == "GET":
            with state.lock:
                return [f.to_json() for f in state.faults]
        fault = _parse_fault(request.get_json(silent=True), operations)
        with state.lock:
            state.faults.append(fault)
        return fault.to_json(), 201

    def state_view() -> Any:
        with state.lock:
            if request.method == "DELETE":
                state.data.clear()
                return Response(status=204)
            return Response(json.dumps(state.data, default=str), mimetype="application/json")

    app.add_url_rule("/__fake__/requests", "fake.requests", requests_view, methods=["GET", "DELETE"])
    app.add_url_rule("/__fake__/faults", "fake.faults", faults_view, methods=["GET", "POST", "DELETE"])
    app.add_url_rule("/__fake__/state", "fake.state", state_view, methods=["GET", "DELETE"])
    app.add_url_rule("/__fake__/ping", "fake.ping", lambda: {}, methods=["GET"])
    persist_state(app, state)  # kept in MACARON_FAKE_STATE_DIR when set (macaron dev), see .fakestate


def _parse_fault(data: Any, operations: list[str]) -> Fault:
    if not isinstance(data, dict):
        raise BadRequest('send a JSON object like {"operation": "sendMail", "status": 503, "times": 2}')
    if data.get("operation") is not None and data["operation"] not in operations:
        raise BadRequest(f"operation {data['operation']!r} is not in the spec; known: {', '.join(operations)}")
    status, delay, times = data.get("status"), data.get("delay_ms", 0), data.get("times", 1)
    if status is not None and (not isinstance(status, int) or not 100 <= status <= 599):
        raise BadRequest("status must be an HTTP status code")
    if not isinstance(delay, int) or delay < 0 or not isinstance(times, int) or times < 1:
        raise BadRequest("delay_ms must be an integer >= 0 and times an integer >= 1")
    if status is None and not delay:
        raise BadRequest("a fault needs a status or a delay_ms")
    retry_after = data.get("retry_after")
    return Fault(operation=data.get("operation"), status=status, delay_ms=delay, times=times,
                 retry_after=None if retry_after is None else str(retry_after))
