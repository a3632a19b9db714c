"""SendGrid's own Mail Send description (``tsg_mail_v3.json``, OpenAPI 3.1.0, as the vendor publishes
it), corrected by ``shared_apis/sendgrid/tsg_mail_v3.overlay.yaml`` at load time, served as a fake
and called by a client: the message the mail service sends is accepted, the errors are SendGrid's.

The vendor's file is not in this repository (a developer may not commit a fetched file, and it is on
no package registry): the test runs where it has been put, beside the overlay or in the steering
repo's ``shared/vendors/sendgrid/``, and is skipped, saying so, where it has not.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from macaron import Service
from macaron._core.spec import load_spec
from macaron._local.fakes import create_fake_app
from macaron.clients import UpstreamError, client
from macaron.testing import serve_app

ROOT = Path(__file__).resolve().parents[3]
OVERLAY = ROOT / "shared_apis" / "sendgrid" / "tsg_mail_v3.overlay.yaml"
PLACES = [ROOT / "shared_apis" / "sendgrid" / "tsg_mail_v3.json",
          ROOT.parent / "shared" / "vendors" / "sendgrid" / "tsg_mail_v3.json"]
MESSAGE = {"personalizations": [{"to": [{"email": "ann@example.com"}]}], "from": {"email": "no-reply@example.com"},
           "subject": "Welcome", "content": [{"type": "text/plain", "value": "Hello"}],
           "custom_args": {"mail_id": "m-1"}}


@pytest.fixture(scope="module")
def vendor(tmp_path_factory: pytest.TempPathFactory) -> Path:
    found = next((p for p in PLACES if p.is_file()), None)
    if found is None:
        pytest.skip(f"SendGrid's tsg_mail_v3.json is not here (looked in {', '.join(map(str, PLACES))})")
    folder = tmp_path_factory.mktemp("sendgrid")
    shutil.copy(found, folder / "tsg_mail_v3.json")
    shutil.copy(OVERLAY, folder / OVERLAY.name)
    return folder / "tsg_mail_v3.json"


@pytest.fixture(scope="module")
def sendgrid(vendor: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    caller = tmp_path_factory.mktemp("caller")
    (caller / "handlers.py").write_text("")
    (caller / "api.yaml").write_text('swagger: "2.0"\ninfo: {title: caller, version: "1"}\npaths: {}\n')
    with serve_app(create_fake_app(vendor, stateful=False)) as url:
        (caller / "service.yaml").write_text(
            "port: 9999\nsecrets:\n  sendgrid_api_key: SENDGRID_API_KEY\nclients:\n"
            f'  sendgrid: {{spec: "{vendor}", kind: external, url: "{url}", api_key_secret: sendgrid_api_key}}\n')
        yield client("sendgrid", service=Service.load(caller, environ={"SENDGRID_API_KEY": "SG.test-key"}))


def test_the_overlay_corrects_the_vendors_file_as_it_is_read(vendor: Path) -> None:
    spec = load_spec(vendor)
    body = spec.source["components"]["requestBodies"]["PostMailSend"]["content"]["application/json"]["schema"]
    assert body["properties"]["custom_args"]["type"] == "object"
    help_ = spec.source["components"]["schemas"]["ErrorResponse"]["properties"]["errors"]["items"]["properties"]
    assert help_["help"]["type"] == ["string", "null"]
    assert spec.version == "3.1" and OVERLAY.name in {f.name for f in spec.files}


def test_the_mail_services_message_goes_through_the_vendors_file(sendgrid: object) -> None:
    answer = sendgrid.responses.SendMail(body=MESSAGE)  # type: ignore[attr-defined]
    assert 200 <= answer.status < 300
    with pytest.raises(UpstreamError):
        sendgrid.SendMail(body={**MESSAGE, "custom_args": "not an object"})  # type: ignore[attr-defined]
