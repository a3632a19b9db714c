"""HTTP Basic (``type: basic``): a service checks the credentials with its own verifier
(``x-verify-server``) and refuses a bearer token or malformed ones; a fake accepts any
well-formed Basic credentials and nothing else."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from macaron import SpecError

from .._speckit import fake_app, service_app

SPEC = """\
securityDefinitions:
  login: {type: basic, x-verify-server: handlers.verify}
  jwt: {type: apiKey, in: header, name: Authorization}
security: [{login: []}]
paths:
  /me:
    get:
      responses: {200: {description: ok, schema: {type: object}}}
  /either:
    post:
      security: [{login: []}, {jwt: []}]
      responses: {200: {description: ok, schema: {type: object}}}
  /maybe:
    get:
      security: [{}, {login: []}]
      responses: {200: {description: ok, schema: {type: object}}}
"""
HANDLERS = """\
from macaron.auth import current_user

def verify(user, password):
    if (user, password) == ("ada", "pa:ss"):
        return {"role": "admin"}
    return user == "bob" and password == "builder"

def get_me():
    return current_user()

def post_either():
    return current_user()

def get_maybe():
    return current_user() or {}
"""
ENV = {"MACARON_JWT_SECRET": "s" * 40}


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture
def api(tmp_path: Path) -> FlaskClient:
    return service_app(tmp_path, SPEC, HANDLERS, environ=ENV)


def refused(answer, code: str) -> str:
    assert answer.status_code == 401 and answer.json["code"] == code, answer.json
    return answer.headers["WWW-Authenticate"]


def test_the_service_verifier_decides_and_its_claims_are_current_user(api: FlaskClient) -> None:
    assert api.get("/me", headers=basic("ada", "pa:ss")).json == {"sub": "ada", "role": "admin"}
    assert api.get("/me", headers=basic("bob", "builder")).json == {"sub": "bob"}
    challenge = refused(api.get("/me", headers=basic("bob", "wrong")), "CREDENTIALS_INVALID")
    assert challenge == 'Basic realm="svc", charset="UTF-8"'


def test_a_bearer_token_or_malformed_credentials_do_not_pass_a_basic_scheme(api: FlaskClient) -> None:
    refused(api.get("/me"), "AUTHORIZATION_HEADER_MISSING")
    refused(api.get("/me", headers={"Authorization": "Bearer a.b.c"}), "CREDENTIALS_INVALID")
    for bad in ("Basic", "Basic !!!", "Basic " + base64.b64encode(b"no-colon").decode(), "Basic YWRh OnBh"):
        refused(api.get("/me", headers={"Authorization": bad}), "CREDENTIALS_INVALID")
    assert "ada" not in api.get("/me", headers=basic("ada", "x")).json["detail"]


def test_basic_or_bearer_alternatives_and_optional_basic(api: FlaskClient) -> None:
    assert api.post("/either", headers=basic("bob", "builder")).json == {"sub": "bob"}
    challenge = refused(api.post("/either"), "AUTHORIZATION_HEADER_MISSING")
    assert challenge.startswith('Basic realm="svc"') and ', Bearer realm="svc"' in challenge
    refused(api.post("/either", headers={"Authorization": "Bearer a.b.c"}), "TOKEN_INVALID")
    assert api.get("/maybe").json == {}
    assert api.get("/maybe", headers=basic("bob", "builder")).json == {"sub": "bob"}
    refused(api.get("/maybe", headers=basic("bob", "x")), "CREDENTIALS_INVALID")


def test_a_cross_site_write_with_basic_credentials_is_refused(api: FlaskClient) -> None:
    answer = api.post("/either", headers={**basic("bob", "builder"), "Origin": "https://evil.example"})
    assert answer.status_code == 403 and answer.json["code"] == "CSRF_REJECTED"


@pytest.mark.parametrize(
    ("schemes", "security", "message"),
    [
        ("{login: {type: basic}}", "[{login: []}]", "'login' is type: basic; say which function checks"),
        ("{login: {type: basic, x-verify-server: handlers.verify}}", "[{login: [admin]}]", "which has no scopes"),
        ("{login: {type: basic, x-verify-server: handlers.nope}}", "[{login: []}]", "has no function 'nope'"),
        ("{login: {type: basic, x-verify-server: handlers.verify}, jwt: {type: oauth2, flow: implicit, "
         "authorizationUrl: 'http://127.0.0.1:9/a', scopes: {}}}", "[{login: [], jwt: []}]", "one Authorization"),
    ],
)
def test_what_macaron_cannot_enforce_stops_start_up(tmp_path: Path, schemes: str, security: str, message: str) -> None:
    spec = f"securityDefinitions: {schemes}\nsecurity: {security}\n"
    spec += "paths: {/me: {get: {responses: {200: {description: ok}}}}}\n"
    with pytest.raises(SpecError, match=message):
        service_app(tmp_path, spec, HANDLERS, environ=ENV)


def test_a_fake_accepts_any_well_formed_basic_credentials_and_nothing_else(tmp_path: Path) -> None:
    fake = fake_app(tmp_path, SPEC).test_client()
    assert fake.get("/me", headers=basic("anyone", "anything")).status_code == 200
    assert fake.get("/me", headers={"Authorization": "Bearer a.b.c"}).status_code == 401
    assert fake.get("/me", headers={"Authorization": "Basic !!!"}).status_code == 401
    assert fake.get("/me").status_code == 401
    assert fake.post("/either", headers={"Authorization": "Bearer a.b.c"}).status_code == 200


def test_a_service_secured_by_basic_alone_needs_no_token_key(tmp_path: Path) -> None:
    spec = "securityDefinitions: {login: {type: basic, x-verify-server: handlers.verify}}\n"
    spec += "security: [{login: []}]\n"
    spec += "paths: {/me: {get: {responses: {200: {description: ok, schema: {type: object}}}}}}\n"
    api = service_app(tmp_path, spec, HANDLERS)
    assert api.get("/me", headers=basic("bob", "builder")).json == {"sub": "bob"}
