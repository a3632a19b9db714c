"""The implementation of :mod:`macaron.clients` (its ``__init__`` re-exports the public names and
documents them)."""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .._core import context
from .._core.errors import MacaronError
from .._core.models import ModelRegistry
from .._core.observability import REQUEST_ID_HEADER
from .._core.schema import SchemaCompiler
from .._core.spec import load_spec
from ._calls import OperationCall, bravado_operations
from ._config import ClientSettings, resolve
from ._http import CallFailed, Timeouts, Transport
from ._propagation import TokenSource, outgoing_headers
from ._upstream import ClientResponse, UpstreamError, UpstreamTimeout, UpstreamUnavailable

if TYPE_CHECKING:
    from .._core.service import Service
    from ._calls import OperationCall


EXTENSION = "clients"
_OPTIONS = ("_timeout", "_retries", "_idempotency_key", "_headers")


class ApiClient:
    """A client of one callee; its operations are methods named by operationId."""

    def __init__(self, service: Service, settings: ClientSettings, transport: Transport) -> None:
        spec = load_spec(settings.spec_path)
        self.name = settings.name
        self.kind = settings.kind
        self.settings = settings
        self.spec = spec
        compiler = SchemaCompiler(spec.definitions, spec.dialect)
        self.models = ModelRegistry(spec.definitions, compiler)
        self._log = service.log
        self._transport = transport
        self._tokens = TokenSource(service, settings.audience) if settings.kind == "service" and settings.audience \
            else None
        bravado_ops, construct = bravado_operations(spec, settings.url)
        self._ops: dict[str, OperationCall] = {}
        for op in spec.operations:
            call = OperationCall(settings, op, bravado_ops[(op.method, op.path)], construct, compiler, self.models,
                                 _credential(spec.document, op.security, settings))
            call.token_scopes = _token_scopes(op.security) if self._tokens is not None else None
            self._ops[op.operation_id] = call
        self.responses = _Responses(self)

    @property
    def operations(self) -> list[str]:
        return sorted(self._ops)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        ops = self.__dict__.get("_ops", {})
        if name.startswith("_") or name not in ops:
            raise AttributeError(f"{self.__dict__.get('name')} has no operation {name!r}; it has {sorted(ops)}")

        def operation(**kwargs: Any) -> Any:
            return self._call(name, kwargs).result

        operation.__name__ = operation.__qualname__ = name
        self.__dict__[name] = operation  # found directly from now on
        return operation

    def __dir__(self) -> list[str]:
        return [*super().__dir__(), *self._ops]

    def call(self, operation: str, /, **kwargs: Any) -> Any:
        """Call ``operation`` and return its result (a model, a list, plain JSON, text or None)."""
        return self._call(operation, kwargs).result

    def _call(self, operation: str, kwargs: dict[str, Any]) -> ClientResponse[Any]:
        op = self._ops.get(operation)
        if op is None:
            raise AttributeError(f"{self.name} has no operation {operation!r}")
        timeout, retries, key, extra = (kwargs.pop(o, None) for o in _OPTIONS)
        headers = outgoing_headers(self._tokens if op.token_scopes is not None else None, op.token_scopes or ())
        sent_rid = headers[REQUEST_ID_HEADER]
        if key is not None:
            headers["Idempotency-Key"] = str(key)
        if extra:
            headers.update(extra)
        request = op.request(kwargs, headers)
        policy = self.settings.policy if retries is None else dataclasses.replace(self.settings.policy,
                                                                                  retries=int(retries))
        try:
            outcome = self._transport.send(
                request["method"], request["url"], headers=request["headers"], params=request["params"] or None,
                data=request.get("data"), files=request.get("files"), proxies=self.settings.proxies,
                timeouts=Timeouts.of(timeout, self.settings.timeouts), policy=policy,
                repeatable=op.repeatable or key is not None,
            )
        except CallFailed as exc:
            kind = UpstreamTimeout if exc.kind == "timeout" else UpstreamUnavailable
            error = kind(self.name, operation, upstream_request_id=sent_rid, attempts=exc.attempts)
            self._warn(error, str(exc))
            raise error from None
        response = outcome.response
        rid = response.headers.get(REQUEST_ID_HEADER) or sent_rid
        try:
            result = op.decode(response, rid, outcome.attempts)
        except UpstreamError as error:
            fields = "; ".join(f"{e.path}: {e.message}" for e in error.field_errors)
            self._warn(error, fields)
            raise
        return ClientResponse(result, response.status_code, dict(response.headers), rid, outcome.attempts)

    def _warn(self, error: UpstreamError, why: str) -> None:
        self._log.warning(
            "call %s.%s failed: %s%s", self.name, error.operation, error.detail, f" ({why})" if why else "",
            extra={"request_id": error.upstream_request_id, "callee": self.name, "operation": error.operation,
                   "upstream_status": error.upstream_status, "attempts": error.attempts},
        )

    def __repr__(self) -> str:
        return f"ApiClient({self.name!r}, {self.kind}, {self.settings.url!r})"


class _Responses:
    """``client.responses.<operation>(...)``: the same calls, returning :class:`ClientResponse`."""

    def __init__(self, owner: ApiClient) -> None:
        self._owner = owner

    def __getattr__(self, name: str) -> Callable[..., ClientResponse[Any]]:
        if name.startswith("_"):
            raise AttributeError(name)
        getattr(self._owner, name)  # AttributeError naming the operations
        return lambda **kwargs: self._owner._call(name, kwargs)


def _credential(document: Mapping[str, Any], security: list[dict[str, Any]] | None,
                settings: ClientSettings) -> tuple[str, str, str] | None:
    """Where the configured API key goes for an operation: the first apiKey scheme it accepts."""
    if settings.api_key is None or not security:
        return None
    schemes = document.get("securityDefinitions") or {}
    for requirement in security:
        for name in requirement:
            scheme = schemes.get(name) or {}
            if scheme.get("type") == "oauth2" and scheme.get("x-oas3-type") == "http":  # 3.x http bearer
                prefix = "Bearer " if settings.api_key_prefix is None else settings.api_key_prefix
                return "header", "Authorization", prefix + settings.api_key.reveal()
            if scheme.get("type") == "apiKey":
                header = str(scheme.get("name"))
                prefix = settings.api_key_prefix
                if prefix is None:
                    prefix = "Bearer " if header.lower() == "authorization" else ""
                return str(scheme.get("in", "header")), header, prefix + settings.api_key.reveal()
    return None


def _token_scopes(security: list[dict[str, Any]] | None) -> tuple[str, ...] | None:
    """None for an open operation (no token sent), else the scopes of its first alternative."""
    if not security:
        return None
    first = next((alt for alt in security if alt), {})
    return tuple(sorted({str(s) for scopes in first.values() for s in scopes or []}))


@dataclasses.dataclass
class _Clients:
    pid: int
    lock: threading.Lock
    transport: Transport
    built: dict[str, ApiClient]


def _service_here() -> Service:
    found = context.service_here()
    if found is None:
        raise MacaronError("client() outside a request or task: pass service= (a loaded macaron Service)")
    return found


def _registry(service: Service) -> _Clients:
    """``service``'s clients and the one pooled transport they share, this process's own."""
    registry = service.extensions.get(EXTENSION)
    if registry is None:
        registry = service.extensions.setdefault(EXTENSION, _Clients(os.getpid(), threading.Lock(), Transport(), {}))
    if registry.pid != os.getpid():  # a forked worker: keep the built clients, never the parent's connections
        fresh = _Clients(os.getpid(), threading.Lock(), Transport(), dict(registry.built))
        for built_client in fresh.built.values():
            built_client._transport = fresh.transport
        registry = service.extensions[EXTENSION] = fresh
    return registry


def _client(name: str, *, service: Service | None = None) -> ApiClient:
    """The client of ``name`` for ``service`` (default: the current request's or task's service)."""
    service = service or _service_here()
    registry = _registry(service)
    built = registry.built.get(name)
    if built is None:
        with registry.lock:
            built = registry.built.get(name)
            if built is None:
                built = registry.built[name] = ApiClient(service, resolve(service, name), registry.transport)
    return built


def warm(service: Service) -> list[str]:
    """Build every client the service's ``clients:`` declares, now (before forking, or in the
    background after), so no call pays for loading a spec; the names of those built."""
    names = sorted((service.config.get("clients") or {}).keys())
    for name in names:
        _client(name, service=service)
    return names


if TYPE_CHECKING:
    # The typed overloads `macaron stubs` writes into <repo>/typings (on mypy's path); untyped without them.
    from macaron_stubs import client as client  # type: ignore[import-not-found, unused-ignore]
else:
    client = _client
