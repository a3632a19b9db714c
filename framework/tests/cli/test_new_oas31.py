"""``macaron new`` writes an OpenAPI 3.1 spec by default: valid OpenAPI 3.1 (the
``openapi-spec-validator`` package), declaring what the Swagger 2.0 example declares; ``--swagger2``
and a copy of a 2.0 service keep 2.0; and the new 3.1 service serves its example."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from macaron import Service, create_app
from macaron._cli import main, skeleton
from macaron._cli.new import create, source_dialect
from macaron.testing import Api, assert_problem, serve_app

from .test_new import source


def spec(dialect: str) -> dict[str, Any]:
    document = yaml.safe_load(skeleton.files("billing", 8005, "BILLING", dialect=dialect)["api.yaml"])
    assert isinstance(document, dict)
    return document


#: openapi-spec-validator, in a process of its own: importing it registers the OAS 3.1 dialect in
#: jsonschema's process-wide registry, after which bravado-core (the 2.0 clients of every later test
#: in this process) tries to download spec.openapis.org and the clients fail.
_VALIDATE = """
import json, sys
from openapi_spec_validator import validate
from openapi_spec_validator.validation import OpenAPIV2SpecValidator, OpenAPIV31SpecValidator
validate(json.loads(sys.argv[1]), cls=OpenAPIV31SpecValidator if sys.argv[2] == "3.1" else OpenAPIV2SpecValidator)
"""


def validate(document: dict[str, Any], dialect: str) -> None:
    done = subprocess.run([sys.executable, "-c", _VALIDATE, json.dumps(document), dialect],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]  # the validator's error names what is wrong


def test_the_default_spec_is_valid_openapi_3_1() -> None:
    document = spec("3.1")
    assert document["openapi"] == "3.1.0" and document["info"]["title"] == "Billing service"
    validate(document, "3.1")
    validate(spec("2.0"), "2.0")


def test_the_3_1_spec_declares_what_the_2_0_one_does() -> None:
    new, old = spec("3.1"), spec("2.0")
    assert new["paths"].keys() == old["paths"].keys() == {"/v1/hello/{name}"}
    get, get2 = new["paths"]["/v1/hello/{name}"]["get"], old["paths"]["/v1/hello/{name}"]["get"]
    assert get["operationId"] == get2["operationId"] == "hello"  # the handler binds by operationId in both
    assert (get["summary"], get["tags"]) == (get2["summary"], get2["tags"]) == (get2["summary"], ["billing"])
    [param], [param2] = get["parameters"], get2["parameters"]
    assert {k: param[k] for k in ("name", "in", "required")} == {k: param2[k] for k in ("name", "in", "required")}
    assert param["schema"] == {k: param2[k] for k in ("type", "minLength", "maxLength")}
    assert get["responses"]["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Hello"}
    assert get2["responses"]["200"]["schema"] == {"$ref": "#/definitions/Hello"}
    assert get["responses"]["400"] == get2["responses"]["400"]
    assert new["components"]["schemas"] == old["definitions"]
    assert new["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
        "description": "An operation requires a token with `security: [{bearer: []}]` (docs/security.md)."}
    assert old["securityDefinitions"]["bearer"]["name"] == "Authorization"  # the same header, as 2.0 says it


def test_the_swagger2_spec_is_todays() -> None:
    assert skeleton.files("billing", 8005, "BILLING", dialect="2.0")["api.yaml"] == skeleton.render(
        skeleton.API_YAML, "billing", 8005, "BILLING")
    assert skeleton.files("billing", 8005, "BILLING")["api.yaml"].startswith("openapi: 3.1.0\n")


def test_a_copy_keeps_its_sources_dialect_and_swagger2_forces_2_0(tmp_path: Path, capsys: Any) -> None:
    mail = source(tmp_path, "mail", "port: 8002\n")  # a Swagger 2.0 service
    (mail / "api.overlay.yaml").write_text("overlay: 1.0.0\n")  # corrects mail's spec: not the example's
    assert source_dialect(tmp_path, "mail") == "2.0"
    created = create(tmp_path, "billing", "mail")
    assert created.dialect == "2.0"
    assert yaml.safe_load((tmp_path / "services" / "billing" / "api.yaml").read_text())["swagger"] == "2.0"
    assert not (tmp_path / "services" / "billing" / "api.overlay.yaml").exists()
    assert main(["new", "invoices", "--from", "mail", "--swagger2", "--root", str(tmp_path)]) == 0
    assert "the spec (Swagger 2.0)" in capsys.readouterr().out
    (tmp_path / "services" / "orders").mkdir()
    (tmp_path / "services" / "orders" / "service.yaml").write_text("port: 8009\nspec: openapi.yaml\n")
    (tmp_path / "services" / "orders" / "openapi.yaml").write_text("openapi: 3.1.0\n")
    assert source_dialect(tmp_path, "orders") == "3.1"


def test_the_help_names_the_flag(capsys: Any) -> None:
    with pytest.raises(SystemExit):
        main(["new", "--help"])
    assert "--swagger2" in capsys.readouterr().out


def test_a_new_3_1_service_serves_its_example(tmp_path: Path, capsys: Any) -> None:
    source(tmp_path, "user", "port: 8001\n")
    assert main(["new", "billing", "--root", str(tmp_path)]) == 0
    directory = tmp_path / "services" / "billing"
    assert yaml.safe_load((directory / "api.yaml").read_text())["openapi"] == "3.1.0"
    assert "the spec (OpenAPI 3.1)" in capsys.readouterr().out
    service = Service.load(directory, environ={})
    assert [o.operation.operation_id for o in service.operations] == ["hello"]
    with serve_app(create_app(service)) as url:
        api = Api(url)
        assert api.get("/v1/hello/ada").json() == {"message": "Hello, ada!"}
        assert_problem(api.get("/v1/hello/" + "x" * 41), 400, "VALIDATION_ERROR", paths=["/path/name"])
        served = api.get("/api.json").json()
        assert served["openapi"].startswith("3.1") and "bearer" in served["components"]["securitySchemes"]
