"""The Service: one directory (``services/<name>/``) made into config, spec, models
and bound handlers.

A service's own modules are imported under a package unique to its directory
(``macaron_services.<name>_<hash>``), so two services that both have ``handlers.py``
load side by side, and a copied directory works unchanged. Inside a service, modules
import each other relatively (``from .templates import render``).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import plugins
from .config import Config, load_config
from .errors import SpecError
from .models import ModelRegistry
from .observability import ServiceLogger, service_logger
from .schema import SchemaCompiler
from .spec import Operation, Spec, load_spec, python_name

Reporter = Callable[[dict[str, Any], BaseException], None]
_ROOT_PACKAGE = "macaron_services"


@dataclass
class BoundOperation:
    """An operation with the Python function that serves it."""

    operation: Operation
    handler: Callable[..., Any]
    target: str


def _ensure_root_package() -> None:
    if _ROOT_PACKAGE not in sys.modules:
        root = types.ModuleType(_ROOT_PACKAGE)
        root.__path__ = []
        sys.modules[_ROOT_PACKAGE] = root


class Service:
    """A loaded service. Build it with :meth:`Service.load`; everything hangs off it."""

    def __init__(self, config: Config, spec: Spec, *, reporter: Reporter | None = None) -> None:
        self.config = config
        self.spec = spec
        self.name = config.name
        self.directory = config.directory
        digest = hashlib.sha1(str(self.directory).encode()).hexdigest()[:8]
        self.package = f"{_ROOT_PACKAGE}.{self.name.replace('-', '_')}_{digest}"
        self.log: ServiceLogger = service_logger(self.name, config.secret_values(), config["log_level"])
        self.compiler = SchemaCompiler(spec.definitions, spec.dialect)
        self.models = ModelRegistry(spec.definitions, self.compiler, store=self.store)
        self.extensions: dict[str, Any] = {}
        self.apis: list[str] = [self.name]
        self.health_checks: dict[str, Callable[[], bool]] = {}
        self._import_package()
        self.operations = [self._bind(op) for op in spec.operations]
        self.reporter = reporter or self._configured_reporter()

    @classmethod
    def load(
        cls, directory: str | Path, *, environ: Mapping[str, str] | None = None, reporter: Reporter | None = None
    ) -> Service:
        """Load the service in ``directory``; raise :class:`ConfigError` naming what is wrong."""
        directory = Path(directory).resolve()
        config = load_config(directory, environ)
        spec_path = directory / config.get("spec", "api.yaml")
        if not spec_path.is_file():
            raise SpecError(f"{directory}: no spec file {spec_path.name} (set 'spec:' in service.yaml)")
        return cls(config, load_spec(spec_path), reporter=reporter)

    @property
    def version(self) -> str:
        return str(self.config.get("version") or self.spec.document.get("info", {}).get("version", "0.0.0"))

    def health(self) -> dict[str, Any]:
        """``{}`` when every dependency check passes, else ``{"degraded": [names]}``."""
        degraded = []
        for name, check in self.health_checks.items():
            try:
                ok = check()
            except Exception:
                ok = False
            if not ok:
                degraded.append(name)
        return {"degraded": degraded} if degraded else {}

    def _import_package(self) -> None:
        _ensure_root_package()
        existing = sys.modules.get(self.package)
        if existing is not None and list(getattr(existing, "__path__", [])) == [str(self.directory)]:
            return
        spec = importlib.util.spec_from_loader(self.package, loader=None, is_package=True)
        assert spec is not None
        module = importlib.util.module_from_spec(spec)
        module.__path__ = [str(self.directory)]
        sys.modules[self.package] = module

    def resolve(self, target: str, *, where: str) -> Any:
        """Import ``module.attr`` relative to the service directory (``handlers.create_user``)."""
        module_name, _, attr = target.rpartition(".")
        if not module_name or not attr:
            raise SpecError(f"{where}: {target!r} must be written 'module.function'")
        full = f"{self.package}.{module_name}"
        try:
            module = importlib.import_module(full)
        except ModuleNotFoundError as exc:
            missing = (exc.name or "").removeprefix(self.package + ".")
            raise SpecError(
                f"{where}: cannot import module {module_name!r} from {self.directory} (missing: {missing})"
            ) from None
        except Exception as exc:  # the module itself is broken: say where
            raise SpecError(f"{where}: importing {module_name!r} failed: {type(exc).__name__}: {exc}") from exc
        try:
            return getattr(module, attr)
        except AttributeError:
            raise SpecError(f"{where}: module {module_name!r} has no function {attr!r}") from None

    def _bind(self, op: Operation) -> BoundOperation:
        """The handler of ``op``: ``x-bind-server``, else ``handlers.<name>`` (its operationId, or the
        name derived from its method and path, as a Python name: ``users.list`` → ``users_list``)."""
        where = f"{self.spec.path}: operation {op.label}"
        target = op.spec.get("x-bind-server") or f"handlers.{python_name(op.operation_id)}"
        try:
            handler = self.resolve(target, where=where)
        except SpecError as exc:
            if op.declared or op.spec.get("x-bind-server"):
                raise
            raise SpecError(
                f"{exc}. The operation has no operationId and no x-bind-server, so its handler is "
                f"{target}, named after its method and path: define {target.partition('.')[2]}() in "
                "handlers.py, or name the handler with 'operationId: <function>' or "
                "'x-bind-server: module.function'"
            ) from None
        if not callable(handler):
            raise SpecError(f"{where}: {target!r} is not callable")
        return BoundOperation(operation=op, handler=handler, target=target)

    def _configured_reporter(self) -> Reporter | None:
        target = self.config.get("reporter")
        if not target:
            return None
        reporter = self.resolve(str(target), where=f"{self.directory / 'service.yaml'}: reporter")
        if not callable(reporter):
            raise SpecError(f"{self.directory / 'service.yaml'}: reporter {target!r} is not callable")
        return reporter  # type: ignore[no-any-return]

    def store(self) -> Any:
        """This service's store (``macaron.store``): opened on first use, kept in ``extensions``."""
        return plugins.persistence().open(self)

    def __repr__(self) -> str:
        return f"Service({self.name!r}, {str(self.directory)!r})"
