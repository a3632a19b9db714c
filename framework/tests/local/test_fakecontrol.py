"""The fake's control side: credential fingerprints, fault accounting, credential headers."""

from __future__ import annotations

from pathlib import Path

from macaron import load_spec
from macaron._local.fakecontrol import FakeState, Fault, credential_names, fingerprint

ROOT = Path(__file__).resolve().parents[3]


def test_fingerprint_hides_the_secret_but_is_stable() -> None:
    shown = fingerprint("Bearer SG.very-secret-key")
    assert shown.startswith("Bearer sha256:") and "very-secret" not in shown
    assert shown == fingerprint("Bearer SG.very-secret-key")
    assert fingerprint("raw-key").startswith("sha256:")


def test_faults_are_consumed_per_operation() -> None:
    state = FakeState()
    state.faults.append(Fault(operation="sendMail", status=503, delay_ms=0, times=2, retry_after=None))
    assert state.take_fault("other") is None
    assert state.take_fault("sendMail").status == 503
    assert state.take_fault("sendMail").status == 503
    assert state.take_fault("sendMail") is None and state.faults == []


def test_credential_headers_include_the_spec_api_key_header() -> None:
    names = credential_names(load_spec(ROOT / "shared_apis" / "sendgrid.yaml"))
    assert {"authorization", "cookie", "proxy-authorization"} <= names


def test_recorded_requests_carry_their_arrival_time() -> None:
    import time

    from flask import Flask, request
    from macaron._local.fakecontrol import record

    before = time.time()
    with Flask("t").test_request_context("/v3/mail/send", method="POST", json={"a": 1}):
        entry = record(request, "sendMail", {"authorization"})
    assert before - 0.01 <= entry["at"] <= time.time() + 0.01 and entry["body"] == {"a": 1}
