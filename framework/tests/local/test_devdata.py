"""Dev data that stays consistent: the fakes' state persists next to the stores' in ``.data/``
(``--reset`` wipes both), overrides of keys a service lacks are set or refused by name, and
tests never touch the dev system's store."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import requests
from macaron import ConfigError, Service
from macaron._core.config import load_config
from macaron._local.dev import reset_data
from macaron._local.fakes import create_fake_app
from macaron.store._open import open_store
from macaron.testing import ThisService, serve_app

ROOT = Path(__file__).resolve().parents[3]
AUTH0 = ROOT / "shared_apis" / "auth0.yaml"
SIGNUP = {"client_id": "c", "email": "ada@example.com", "password": "correct horse 42",
          "connection": "Username-Password-Authentication"}


def test_the_auth0_fakes_identities_survive_a_restart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MACARON_FAKE_STATE_DIR", str(tmp_path / "fakes"))
    with serve_app(create_fake_app(AUTH0)) as url:
        assert requests.post(f"{url}/dbconnections/signup", json=SIGNUP, timeout=5).status_code == 200
    assert (tmp_path / "fakes" / "auth0.json").is_file()
    with serve_app(create_fake_app(AUTH0)) as url:  # a new process, as after a restart of nox -s dev
        again = requests.post(f"{url}/dbconnections/signup", json=SIGNUP, timeout=5)
        assert again.status_code == 400 and again.json()["code"] == "user_exists"
        login = {"grant_type": "password", "username": "ada@example.com", "password": "correct horse 42",
                 "client_id": "c", "client_secret": "s", "scope": "openid"}
        assert requests.post(f"{url}/oauth/token", json=login, timeout=5).status_code == 200
        assert requests.delete(f"{url}/__fake__/state", timeout=5).status_code == 204
    with serve_app(create_fake_app(AUTH0)) as url:  # the reset persisted too
        assert requests.post(f"{url}/dbconnections/signup", json=SIGNUP, timeout=5).status_code == 200


def test_reset_wipes_stores_fakes_and_redis(tmp_path: Path) -> None:
    for path in (tmp_path / ".data" / "fakes" / "auth0.json", tmp_path / ".data" / "dev-user.sqlite3",
                 tmp_path / ".dev" / "redis" / "appendonly.aof", tmp_path / ".dev" / "macaron_jwt_secret"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    said: list[str] = []
    reset_data(tmp_path, said.append)
    assert not (tmp_path / ".data").exists() and not (tmp_path / ".dev" / "redis").exists()
    assert (tmp_path / ".dev" / "macaron_jwt_secret").exists()  # secrets are no data: tokens stay valid
    assert len(said) == 2


def _service(tmp_path: Path, text: str) -> Path:
    directory = tmp_path / "services" / "svc"
    directory.mkdir(parents=True)
    (directory / "service.yaml").write_text(text)
    return directory


def test_an_override_of_a_key_the_file_lacks_is_set_or_refused_by_name(tmp_path: Path) -> None:
    directory = _service(tmp_path, "port: 1\nfeature: {size: 1}\n")  # no store: block at all
    config = load_config(directory, environ={"MACARON_SVC_STORE__PATH": str(tmp_path / "x.sqlite3"),
                                             "MACARON_SVC_FEATURE__COLOUR": "red"})
    assert open_store(config).path == tmp_path / "x.sqlite3"  # type: ignore[attr-defined]
    assert config["feature"] == {"size": 1, "colour": "red"}
    with pytest.raises(ConfigError, match=r"MACARON_SVC_LOG_LEVLE names no key of service 'svc' \(log_levle\)"):
        load_config(directory, environ={"MACARON_SVC_LOG_LEVLE": "DEBUG"})
    with pytest.raises(ConfigError, match=r"unknown keys \['ptah'\]"):
        open_store(load_config(directory, environ={"MACARON_SVC_STORE__PTAH": "x"}))
    # the framework's own variables and a sibling's (svc-admin) are not svc's keys
    (tmp_path / "services" / "svc-admin").mkdir()
    (tmp_path / "services" / "svc-admin" / "service.yaml").write_text("port: 2\n")
    load_config(directory, environ={"MACARON_SVC_ADMIN_PORT": "3", "MACARON_UNKNOWN": "x"})


def test_this_service_never_uses_the_dev_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MACARON_DATA_DIR", raising=False)
    service: Service = ThisService(ROOT / "services" / "mail").load()
    path = service.store().path  # type: ignore[attr-defined]
    assert ROOT / ".data" not in path.parents
    assert os.environ.get("MACARON_DATA_DIR") is None  # the test asked nothing; the service isolated itself
