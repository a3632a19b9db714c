"""The schemathesis runner: it finds real defects (a 500, ignored auth), passes a correct service,
is deterministic under a fixed seed, and works in process and over HTTP (``macaron fuzz`` too)."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

from macaron import Service, create_app
from macaron.testing import serve_app
from macaron.testing._fuzz import fuzz_app, fuzz_url, required_scopes
from macaron.testing._fuzzrun import run_fuzz

from ..conftest import FIXTURES, SHOP_ENV

VAULT_ENV = {"VAULT_JWT_SECRET": "a-vault-secret-of-at-least-32-bytes!!"}


def shop() -> Service:
    return Service.load(FIXTURES / "shop", environ={**SHOP_ENV, "MACARON_LOG_LEVEL": "CRITICAL"})


def test_finds_the_crashing_operation_and_nothing_else() -> None:
    service = shop()
    report = fuzz_app(service, create_app(service), seed=0, max_examples=5)
    assert {(f.operation, f.check) for f in report.failures} == {("GET /faults/{kind}", "not_a_server_error")}
    assert not report.errors and report.cases > 100 and not report.ok
    assert {200, 201, 400} <= set(report.statuses)  # positive and negative cases both reached the handlers
    assert "curl" in report.failures[0].reproduce and "GET /faults/{kind}" in report.summary()


def test_a_fixed_seed_generates_the_same_cases() -> None:
    one, two = shop(), shop()
    first = fuzz_app(one, create_app(one), seed=3, max_examples=2)
    second = fuzz_app(two, create_app(two), seed=3, max_examples=2)
    assert first.cases == second.cases and first.statuses == second.statuses


def test_ignored_auth_is_caught_and_a_guarded_service_passes() -> None:
    vault = Service.load(FIXTURES / "vault", environ={**VAULT_ENV, "MACARON_LOG_LEVEL": "CRITICAL"})
    guarded = fuzz_app(vault, create_app(vault), seed=0, max_examples=5)
    assert guarded.ok, guarded.summary()
    assert {200, 401} <= set(guarded.statuses)  # the token reached the handlers; its absence was refused
    unguarded = fuzz_app(vault, create_app(vault, security=False), seed=0, max_examples=5)
    assert "ignored_auth" in {f.check for f in unguarded.failures}


def test_over_http_from_the_served_spec() -> None:
    service = shop()
    with serve_app(create_app(service)) as url:
        report = fuzz_url(url, token=None, seed=0, max_examples=2, name="shop")
    assert report.target == url and report.cases > 50
    assert {f.operation for f in report.failures} == {"GET /faults/{kind}"}


def test_required_scopes_from_the_spec() -> None:
    spec = {"security": [{"bearer": ["a"]}], "paths": {
        "/x": {"parameters": [], "get": {}, "post": {"security": [{"bearer": ["b", "c"]}, {"other": []}]}},
        "/open": {"get": {"security": []}}}}
    assert required_scopes(spec) == ["a", "b", "c"]
    assert required_scopes({"paths": {"/x": {"get": {}}}}) is None
    assert required_scopes({"paths": {"/x": {"get": {"security": [{"bearer": []}]}}}}) == []


def test_cli_fuzzes_every_service_of_a_root(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "shop", tmp_path / "services" / "shop")
    shutil.copytree(FIXTURES / "shared", tmp_path / "services" / "shared")  # the shop's $refs reach it
    out = io.StringIO()
    status = run_fuzz(tmp_path, seed=0, max_examples=3, live=False, max_time=None, min_cases=10, out=out)
    assert status == 1, out.getvalue()  # the fixture's /faults/crash
    assert "fuzz shop (in-process WSGI app)" in out.getvalue() and "not_a_server_error" in out.getvalue()
    assert "seed 0" in out.getvalue()
