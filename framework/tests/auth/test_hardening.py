"""Tokens a stranger can forge with the right secret but the wrong shape, answers that carry
credentials, and the cookie's origin check (issue "Hardening: every 500 a stranger can cause")."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
import requests
import yaml
from macaron import ConfigError, Service, create_app
from macaron.auth import generate_token, verify_token
from macaron.testing import assert_problem, serve_app

SECRET = "s" * 40


def _service(directory: Path, auth: dict[str, object] | None = None) -> Service:
    api = {
        "swagger": "2.0",
        "info": {"title": "t", "version": "1"},
        "securityDefinitions": {"bearer": {"type": "apiKey", "in": "header", "name": "Authorization"}},
        "security": [{"bearer": []}],
        "paths": {
            "/notes": {
                "get": {"operationId": "read", "responses": {"200": {"description": "ok", "schema": {}}}},
                "post": {"operationId": "write", "responses": {"204": {"description": "written"}}},
            },
            "/sessions": {
                "post": {
                    "operationId": "login",
                    "security": [],
                    "responses": {"200": {"description": "a session", "schema": {"$ref": "#/definitions/Session"}}},
                }
            },
            "/hello": {
                "get": {"operationId": "hello", "security": [],
                        "responses": {"200": {"description": "ok", "schema": {"type": "object"}}}},
            },
        },
        "definitions": {
            "Session": {
                "type": "object", "properties": {"token": {"type": "string"}, "expires_in": {"type": "integer"}},
            }
        },
    }
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "api.yaml").write_text(yaml.safe_dump(api))
    (directory / "service.yaml").write_text(yaml.safe_dump({"port": 1, **({"auth": auth} if auth else {})}))
    (directory / "handlers.py").write_text(
        "def read():\n    return {}\n"
        "def write():\n    return None, 204\n"
        "def login():\n    return {'token': 'a.b.c', 'expires_in': 60}\n"
        "def hello():\n    return {}\n"
    )
    return Service.load(directory, environ={"MACARON_JWT_SECRET": SECRET})


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Service, str]]:
    service = _service(tmp_path_factory.mktemp("hardening") / "notes")
    with serve_app(create_app(service)) as url:
        yield service, url


def _forge(service: Service, **changes: object) -> str:
    now = int(time.time())
    claims: dict[str, object] = {"iss": "macaron", "aud": service.name, "sub": "alice", "iat": now, "nbf": now,
                                 "exp": now + 600}
    claims.update(changes)
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, SECRET, algorithm="HS256")


NOW = int(time.time())


@pytest.mark.parametrize(
    "changes",
    [
        {"exp": 253402300799},  # 9999-12-31
        {"exp": 2**63},
        {"exp": 2**63, "iat": 2**63 - 100, "nbf": None},  # iat moved along: exp - now still too far
        {"exp": NOW + 86_400 * 2},  # two days, past the default max_ttl of one
        {"exp": str(NOW + 600)},  # numeric strings, which PyJWT takes
        {"iat": str(NOW)},
        {"nbf": str(NOW)},
        {"sub": " alice"},
        {"sub": "alice\n"},
    ],
    ids=["year-9999", "2**63", "2**63-with-iat", "two-days", "exp-string", "iat-string", "nbf-string",
         "sub-leading-space", "sub-trailing-newline"],
)
def test_tokens_of_the_wrong_shape_are_refused(served: tuple[Service, str], changes: dict[str, object]) -> None:
    service, url = served
    answer = requests.get(url + "/notes", headers={"Authorization": f"Bearer {_forge(service, **changes)}"},
                          timeout=10)
    assert_problem(answer, 401, "TOKEN_INVALID")


def test_a_nan_exp_is_refused(served: tuple[Service, str]) -> None:
    """PyJWT's JSON parser takes NaN, and every comparison with it is false."""
    service, url = served
    header = jwt.utils.base64url_encode(b'{"alg":"HS256","typ":"JWT"}')
    payload = jwt.utils.base64url_encode(
        f'{{"iss":"macaron","aud":"{service.name}","sub":"alice","iat":{NOW},"exp":NaN}}'.encode()
    )
    signing = header + b"." + payload
    signature = jwt.utils.base64url_encode(hmac.new(SECRET.encode(), signing, hashlib.sha256).digest())
    token = (signing + b"." + signature).decode()
    answer = requests.get(url + "/notes", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert_problem(answer, 401, "TOKEN_INVALID")


def test_tokens_the_framework_issues_still_verify(tmp_path: Path) -> None:
    service = _service(tmp_path / "a", {"max_ttl": 7200, "ttl": 7200})
    token = generate_token("alice", service=service)
    assert verify_token(token, service=service)["sub"] == "alice"
    with pytest.raises(ValueError, match="max_ttl"):
        generate_token("alice", ttl=7201, service=service)
    with pytest.raises(ValueError, match="whitespace"):
        generate_token(" alice", service=service)
    with pytest.raises(ConfigError, match="max_ttl"):
        create_app(_service(tmp_path / "b", {"max_ttl": 60, "ttl": 3600}))
    with serve_app(create_app(service)) as url:
        assert requests.get(url + "/notes", headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code == 200


def test_answers_with_or_to_credentials_are_never_stored(served: tuple[Service, str]) -> None:
    service, url = served
    token = generate_token("alice", service=service)
    stored = {
        "token in the body": requests.post(url + "/sessions", timeout=10),
        "Authorization sent": requests.get(url + "/notes", headers={"Authorization": f"Bearer {token}"}, timeout=10),
        "cookie sent": requests.get(url + "/notes", headers={"Cookie": f"token={token}"}, timeout=10),
        "refused token": requests.get(url + "/notes", headers={"Authorization": "Bearer x.y.z"}, timeout=10),
        "built-in with a token": requests.get(url + "/auth/version", headers={"Authorization": f"Bearer {token}"},
                                              timeout=10),
        "HEAD with a token": requests.head(url + "/notes", headers={"Authorization": f"Bearer {token}"}, timeout=10),
    }
    assert {what: r.headers.get("Cache-Control") for what, r in stored.items()} == dict.fromkeys(stored, "no-store")
    assert "Cache-Control" not in requests.get(url + "/hello", timeout=10).headers  # nothing private: left alone


def test_the_cookie_origin_check_compares_the_scheme(served: tuple[Service, str]) -> None:
    service, url = served
    token = generate_token("alice", service=service)
    host = url.removeprefix("http://")
    for origin in (f"ftp://{host}", f"ws://{host}", f"file://{host}", f"://{host}"):
        refused = requests.post(url + "/notes", headers={"Cookie": f"token={token}", "Origin": origin}, timeout=10)
        assert_problem(refused, 403, "CSRF_REJECTED")
    for origin in (f"http://{host}", f"https://{host}"):
        allowed = requests.post(url + "/notes", headers={"Cookie": f"token={token}", "Origin": origin}, timeout=10)
        assert allowed.status_code == 204
