"""What acceptance tests talk to: the system under test (local, staging or live) and the service
a test file belongs to (the ``system`` and ``this_service`` fixtures of ``macaron.testing.plugin``)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from .._core.service import Service
from .._local.devenv import dev_environ
from ..auth import generate_token
from ._http import Api


class SystemUnderTest:
    """What acceptance tests talk to: services and fakes by name (see ``macaron.testing.plugin``)."""

    def __init__(self, root: Any, urls: dict[str, str], *, local: Any = None) -> None:
        self.root = root
        self.urls = dict(urls)
        self.local = local  # the LocalSystem when this process started it, else None

    @classmethod
    def from_environ(cls, root: Any, environ: Any) -> SystemUnderTest:
        urls: dict[str, str] = {}
        for key, value in environ.items():
            if key.startswith("MACARON_TEST_URL_"):
                urls[key.removeprefix("MACARON_TEST_URL_").lower().replace("_", "-")] = value
            elif key.startswith("MACARON_TEST_FAKE_"):
                urls["fake-" + key.removeprefix("MACARON_TEST_FAKE_").lower()] = value
        if "MACARON_TEST_URL" in environ:
            urls.setdefault("", environ["MACARON_TEST_URL"])
        return cls(root, urls)

    def url(self, service: str) -> str:
        import pytest

        url = self.urls.get(service) or self.urls.get(service.replace("_", "-")) or self.urls.get("")
        if not url:
            pytest.skip(f"no target for {service!r}: set MACARON_TEST_URL_{service.upper()}")
        return url

    def api(self, service: str, token: str | None = None) -> Api:
        return Api(self.url(service), token=token)

    def fake(self, api: str) -> Api | None:
        """The fake of an external API (its ``/__fake__`` control), or None where the target has none."""
        url = self.urls.get(f"fake-{api}")
        return Api(url) if url else None

    def token(self, service: str, sub: str, scopes: list[str] | None = None, ttl: int = 600) -> str:
        """A bearer token for ``service``: ``MACARON_TEST_TOKEN_<SERVICE>``, else minted from its config."""
        given = os.environ.get(f"MACARON_TEST_TOKEN_{service.upper()}")
        if given:
            return given
        environ = {**dev_environ(Path(self.root)), **os.environ} if self.local is not None else dict(os.environ)
        if self.local is not None:
            environ.update(self.local.env)
        loaded = Service.load(Path(self.root) / "services" / service, environ=environ)
        return generate_token(sub, ttl=ttl, scopes=scopes or [], service=loaded)

    def logs(self) -> str:
        """What the local system's processes logged so far ('' for a remote target)."""
        return self.local.logs() if self.local is not None else ""


class ThisService:
    """The service a test file belongs to (``services/<name>/tests/...``): the ``this_service``
    fixture. Tests name their service through it, never by hand, so a copied directory tests itself."""

    def __init__(self, directory: Any) -> None:
        self.directory = Path(directory).resolve()
        self.name = self.directory.name

    @classmethod
    def of_test_file(cls, path: Any) -> ThisService:
        """The service of the innermost ``services/<name>/tests/`` folder holding ``path``."""
        parts = Path(path).resolve().parts
        for i in range(len(parts) - 3, -1, -1):
            if parts[i] == "services" and parts[i + 2] == "tests":
                return cls(Path(*parts[: i + 2]))
        raise LookupError(f"{path} is not under services/<name>/tests/: this_service is for a service's tests")

    def load(self, environ: Any = None) -> Any:
        """The service loaded in this process (a :class:`macaron.Service`), with the dev system's
        secrets (``<root>/.dev/``) where ``environ`` (default: ``os.environ``) lacks them, and a
        store of the tests' own: never the dev system's ``.data/`` (``MACARON_DATA_DIR``, which the
        pytest plugin sets for the session; else a temporary directory of this object's)."""
        given = dict(os.environ if environ is None else environ)
        if not given.get("MACARON_DATA_DIR"):
            self._data_dir = getattr(self, "_data_dir", None) or tempfile.mkdtemp(prefix="macaron-test-data-")
            given["MACARON_DATA_DIR"] = self._data_dir
        return Service.load(self.directory, environ={**dev_environ(self.directory.parent.parent), **given})

    def __repr__(self) -> str:
        return f"ThisService({self.name!r})"
