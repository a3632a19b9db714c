"""A 3.x spec's security schemes on a real service: ``http`` bearer, ``oauth2`` and ``openIdConnect``
are bearer JWTs with their scopes enforced, ``http`` basic calls the service's verifier, and a scheme
macaron cannot enforce (an API key in a cookie) stops start-up naming it — as for Swagger 2.0."""

from __future__ import annotations

import base64
import textwrap
from pathlib import Path

import pytest
from macaron import Service, SpecError, create_app
from macaron.auth import generate_token
from macaron.testing import Api, assert_problem, serve_app

ENV = {"VAULT_JWT_SECRET": "a-test-secret-of-enough-length-0123456789"}
SPEC = """\
openapi: 3.1.0
info: {title: Secured (3.1), version: "1"}
security:
  - bearer: []
paths:
  /me:
    get:
      operationId: me
      responses: {"200": {description: the caller, content: {application/json: {schema: {type: object}}}}}
  /stock:
    post:
      operationId: addStock
      security: [{oauth: ["stock:write"]}]
      responses: {"201": {description: added}}
  /reports:
    get:
      operationId: reports
      security: [{oidc: ["reports.read"]}, {basic: []}]
      responses: {"200": {description: reports, content: {application/json: {schema: {type: object}}}}}
  /open:
    get:
      operationId: openDoor
      security: []
      responses: {"200": {description: open, content: {application/json: {schema: {type: object}}}}}
components:
  securitySchemes:
    bearer: {type: http, scheme: bearer, bearerFormat: JWT}
    basic: {type: http, scheme: basic, x-verify-server: handlers.verify}
    oauth:
      type: oauth2
      flows: {clientCredentials: {tokenUrl: 'https://id.example.com/token', scopes: {"stock:write": write}}}
    oidc: {type: openIdConnect, openIdConnectUrl: 'https://id.example.com/.well-known/openid-configuration'}
"""
HANDLERS = """\
from macaron.auth import current_user


def me():
    return {"sub": current_user()["sub"]}


def addStock():
    return None, 201


def reports():
    return {"sub": current_user()["sub"]}


def openDoor():
    return {}


def verify(user, password):
    return password == "pw"
"""


def service_dir(tmp_path: Path, spec: str) -> Path:
    (tmp_path / "api.yaml").write_text(spec)
    (tmp_path / "handlers.py").write_text(HANDLERS)
    (tmp_path / "service.yaml").write_text(textwrap.dedent("""\
        port: 18095
        auth: {issuer: macaron-tests}
        secrets: {jwt_secret: VAULT_JWT_SECRET}
        """))
    return tmp_path


def test_bearer_oauth2_oidc_and_basic_schemes_are_enforced(tmp_path: Path) -> None:
    service = Service.load(service_dir(tmp_path, SPEC), environ=ENV)
    plain = generate_token("ada", service=service)
    writer = generate_token("bob", scopes=["stock:write"], service=service)
    reader = generate_token("cy", scopes=["reports.read"], service=service)
    with serve_app(create_app(service)) as url:
        api = Api(url)
        assert_problem(api.get("/me"), 401, "AUTHORIZATION_HEADER_MISSING")
        assert api.get("/me", headers={"Authorization": f"Bearer {plain}"}).json() == {"sub": "ada"}
        assert_problem(api.post("/stock", headers={"Authorization": f"Bearer {plain}"}), 403, "INSUFFICIENT_SCOPE")
        assert api.post("/stock", headers={"Authorization": f"Bearer {writer}"}).status_code == 201
        assert api.get("/reports", headers={"Authorization": f"Bearer {reader}"}).json() == {"sub": "cy"}
        basic = "Basic " + base64.b64encode(b"dee:pw").decode()
        assert api.get("/reports", headers={"Authorization": basic}).json() == {"sub": "dee"}
        wrong = "Basic " + base64.b64encode(b"dee:nope").decode()
        assert_problem(api.get("/reports", headers={"Authorization": wrong}), 401, "CREDENTIALS_INVALID")
        assert api.get("/open").status_code == 200
        served = api.get("/api.json").json()
        assert served["paths"]["/stock"]["post"]["responses"]["403"]["content"]["application/problem+json"]


def test_a_scheme_macaron_cannot_enforce_stops_start_up(tmp_path: Path) -> None:
    spec = SPEC.replace("bearer: {type: http, scheme: bearer, bearerFormat: JWT}",
                        "bearer: {type: apiKey, in: cookie, name: SESSION}")
    service = Service.load(service_dir(tmp_path, spec), environ=ENV)
    with pytest.raises(SpecError, match=r"security scheme 'bearer' is neither a bearer JWT scheme nor HTTP Basic"):
        create_app(service)
