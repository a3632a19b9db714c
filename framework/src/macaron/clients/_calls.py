"""One operation of a client: arguments → HTTP request (bravado), HTTP response → result.

Requests are built by bravado (``bravado.client.construct_request`` over a
bravado-core ``Spec`` of the callee): parameters placed and serialised per the spec
(path templating and quoting, query collection formats, headers, JSON or form bodies).
Answers are checked with the framework's own compiled validators (the same ones the
callee uses on its side) and turned into the callee's model classes, which is several
times cheaper than bravado-core's jsonschema validation and unmarshalling.

An OpenAPI 3.x callee is called the same way: bravado reads the callee's normalised model
(``Spec.document``, Swagger 2.0's shape), and what 2.0 cannot say is written here instead — cookie
parameters (one ``Cookie`` header), ``label``/``matrix`` path values, ``deepObject`` and exploded
object queries, ``content``-typed (JSON) parameters (:func:`macaron._core.styles.encode`), and a
body sent as the first media type the operation declares that macaron writes: JSON, else a
urlencoded form.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import warnings
from typing import TYPE_CHECKING, Any

from .._core.models import Model, ModelRegistry, _ref_name, to_plain
from .._core.schema import SchemaCompiler, Validator
from .._core.spec import Operation, Spec, python_name
from .._core.styles import encode, query_pairs
from ._config import ClientSettings
from ._http import retry_after
from ._upstream import UpstreamError, UpstreamInvalid

if TYPE_CHECKING:
    import requests

IDEMPOTENT_METHODS = frozenset({"get", "head", "options", "put", "delete", "trace"})
_BRAVADO_FORMATS = {"int32", "int64", "float", "double", "byte"}
_DEPRECATIONS = r"jsonschema\.RefResolver(\.\w+)? is deprecated"  # used by bravado-core, swagger-spec-validator


def bravado_operations(spec: Spec, url: str) -> tuple[dict[tuple[str, str], Any], Any]:
    """The callee's bravado-core operations by ``(method, path)``, and bravado's ``construct_request``.

    bravado-core names operations its own way (an operationId sanitised, or one it makes up when
    there is none), so its operations are found by method and path and the client exposes
    macaron's names (:mod:`macaron._core.operations`). Its copy of the document gets an
    operationId per operation that is unique as bravado sanitises it.

    Importing bravado-core and building its Spec touch jsonschema's deprecated RefResolver;
    exactly those DeprecationWarnings are silenced here, nothing else.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_DEPRECATIONS, category=DeprecationWarning)
        from bravado.client import construct_request
        from bravado_core.formatter import SwaggerFormat
        from bravado_core.spec import Spec as BravadoSpec

        document = copy.deepcopy(spec.document)
        for key in ("host", "schemes"):
            document.pop(key, None)
        document.setdefault("swagger", "2.0")
        for number, op in enumerate(spec.operations):
            document["paths"][op.path][op.method]["operationId"] = f"op{number}"
            if spec.version != "2.0":
                _for_bravado(document["paths"][op.path], op.method)
        formats = [SwaggerFormat(format=f, to_wire=_to_wire, to_python=_same, validate=_same,
                                 description="passed through; checked by macaron's validators")
                   for f in sorted(_formats(document) - _BRAVADO_FORMATS)]
        bravado_spec = BravadoSpec.from_dict(document, origin_url=url, config={  # type: ignore[no-untyped-call]
            "validate_swagger_spec": False, "validate_requests": False, "validate_responses": False,
            "use_models": False, "formats": formats, "include_missing_properties": False,
        })
    bravado_spec.api_url = url + spec.base_path
    ops = {(op.http_method, op.path_name): op for res in bravado_spec.resources.values()
           for op in res.operations.values()}
    return ops, construct_request


def _same(value: Any) -> Any:
    return value


def bravado_serialises(p: dict[str, Any]) -> bool:
    """Whether bravado writes a (normalised 3.x) parameter as the spec says; macaron writes the rest."""
    if p.get("in") in ("body", None) or "x-style" not in p:
        return True
    if p.get("in") == "cookie" or p.get("x-content") or p.get("type") == "object":
        return False
    style = p["x-style"]
    if p.get("type") == "array":
        return "collectionFormat" in p
    return style in ("form", "simple")


def _for_bravado(item: dict[str, Any], method: str) -> None:
    """An operation's parameters as bravado takes them: those it cannot write become plain strings
    (path) or leave its copy (query, header, cookie: :class:`OperationCall` writes them)."""
    for holder in (item, item[method]):
        params = holder.get("parameters") or []
        kept = []
        for p in params:
            if bravado_serialises(p):
                kept.append(p)
            elif p.get("in") == "path":
                kept.append({"name": p["name"], "in": "path", "required": True, "type": "string"})
        holder["parameters"] = kept


def _to_wire(value: Any) -> Any:
    """Strings as given (models hold JSON); dates and datetimes (naive = UTC) as ISO 8601."""
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, Model):
        return value.to_json()
    if isinstance(value, dt.date):
        return _to_wire(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _formats(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["format"]} if isinstance(node.get("format"), str) else set()
        for value in node.values():
            found |= _formats(value)
        return found
    if isinstance(node, list):
        return set().union(*(_formats(v) for v in node)) if node else set()
    return set()


class _Declared:
    __slots__ = ("list_model", "model", "schema", "text", "validator")

    def __init__(self, response: dict[str, Any], compiler: SchemaCompiler, models: ModelRegistry) -> None:
        schema = response.get("schema")
        self.schema = schema
        self.validator: Validator | None = compiler.validator(schema) if schema else None
        self.text = isinstance(schema, dict) and schema.get("type") == "string"
        ref = _ref_name(schema)
        self.model = models.get(ref) if ref else None
        items = schema.get("items") if isinstance(schema, dict) and schema.get("type") == "array" else None
        ref = _ref_name(items)
        self.list_model = models.get(ref) if ref else None


class OperationCall:
    """Everything about one operation that does not change between calls."""

    def __init__(self, settings: ClientSettings, op: Operation, bravado_op: Any, construct: Any,
                 compiler: SchemaCompiler, models: ModelRegistry, credential: tuple[str, str, str] | None) -> None:
        self.settings = settings
        self.op = op
        self.label = f"{settings.name}.{op.operation_id}"
        self.bravado_op = bravado_op
        self.construct = construct
        self.compiler = compiler
        self.models = models
        self.credential = credential
        self.names = {python_name(p["name"]): p["name"] for p in op.parameters}
        self.required = {python_name(p["name"]) for p in op.parameters if p.get("required")}
        self.method = op.method.upper()
        self.repeatable = op.method in IDEMPOTENT_METHODS or op.spec.get("x-idempotent") is True
        self.token_scopes: tuple[str, ...] | None = None  # None: no token is sent (external API, open operation)
        self._declared: dict[int, _Declared | None] = {}
        # A JSON body is serialised here (stdlib json, models via to_json): bravado-core's marshal walk plus
        # simplejson cost ~4x more per call and add nothing for bodies that are already JSON.
        body = next((p for p in op.parameters if p.get("in") == "body"), None)
        self.body_kwarg = python_name(body["name"]) if body is not None else None
        if body is not None:
            bravado_op.params.pop(body["name"], None)
        self.form_body = body is not None and not any("json" in m for m in op.consumes) and any(
            m.startswith("application/x-www-form-urlencoded") for m in op.consumes)
        #: OpenAPI 3.x parameters macaron writes itself (see the module's docstring)
        self.styled = {python_name(p["name"]): p for p in op.parameters if not bravado_serialises(p)}

    def request(self, kwargs: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        """The request dict (method, url, params, headers, data/files) for these arguments."""
        if kwargs.keys() - self.names.keys():
            unknown = sorted(kwargs.keys() - self.names.keys())
            raise TypeError(f"{self.label}() got unexpected argument(s) {unknown}; it takes {sorted(self.names)}")
        if self.required - kwargs.keys():
            missing = sorted(self.required - kwargs.keys())
            raise TypeError(f"{self.label}() is missing required argument(s) {missing}")
        body = kwargs.get(self.body_kwarg) if self.body_kwarg else None
        args = {self.names[k]: to_plain(v) for k, v in kwargs.items()
                if v is not None and k != self.body_kwarg and k not in self.styled}
        extra: list[tuple[str, str]] = []
        cookies: list[str] = []
        for kwarg, p in self.styled.items():
            if kwargs.get(kwarg) is None:
                continue
            value = to_plain(kwargs[kwarg])
            style, explode, name = str(p["x-style"]), bool(p.get("x-explode")), str(p["name"])
            if p.get("x-content"):
                text = json.dumps(value, separators=(",", ":"), default=_json_default)
            elif p["in"] == "query":
                extra += query_pairs(style, explode, name, value)
                continue
            else:
                text = encode(style, explode, name, value)
            if p["in"] == "path":
                args[name] = text
            elif p["in"] == "query":
                extra.append((name, text))
            elif p["in"] == "header":
                headers = {**headers, name: text}
            else:
                cookies.append(f"{name}={text}")
        built: dict[str, Any] = self.construct(self.bravado_op, {"headers": headers}, **args)
        if extra:
            built["params"] = [*list(dict(built.get("params") or {}).items()), *extra]
        if cookies:
            built["headers"]["Cookie"] = "; ".join(cookies)
        if body is not None and self.form_body:
            built["data"] = {k: v if isinstance(v, str) else json.dumps(v) if isinstance(v, (dict, list)) else
                             str(v).lower() if isinstance(v, bool) else str(v) for k, v in to_plain(body).items()}
        elif body is not None:
            built["data"] = json.dumps(body, separators=(",", ":"), ensure_ascii=False, default=_json_default).encode()
            built["headers"]["Content-Type"] = "application/json"
        if self.credential is not None:
            where, name, value = self.credential
            if where == "cookie":  # OpenAPI 3.x: an API key in a cookie
                sent = [built["headers"].get("Cookie"), f"{name}={value}"]
                built["headers"]["Cookie"] = "; ".join(c for c in sent if c)
            elif where == "header":
                built["headers"][name] = value
            elif isinstance(built.get("params"), list):
                built["params"].append((name, value))
            else:
                built.setdefault("params", {})[name] = value
        return built

    def decode(self, response: requests.Response, rid: str | None, attempts: int) -> Any:
        """The result of a success answer; raises :class:`UpstreamError` / :class:`UpstreamInvalid`."""
        status = response.status_code
        if status >= 400:
            raise UpstreamError(self.settings.name, self.op.operation_id, upstream_status=status,
                                body=_body(response), upstream_request_id=rid, attempts=attempts,
                                retry_after=retry_after(response))
        declared = self._for(status)
        if declared is None:
            raise self._invalid(status, rid, attempts, f"status {status} is not declared")
        if declared.schema is None:
            return None
        content_type = response.headers.get("Content-Type", "")
        if "json" in content_type:
            try:
                data = json.loads(response.content)  # stdlib json: detects UTF-8/16/32, no charset guessing
            except ValueError:
                raise self._invalid(status, rid, attempts, "the body is not valid JSON") from None
        elif declared.text:
            data = response.text
        else:
            raise self._invalid(status, rid, attempts, f"Content-Type {content_type or '(none)'} is not JSON")
        if self.settings.validate_responses and declared.validator is not None:
            data, errors = declared.validator(data, ["response"])
            if errors:
                raise self._invalid(status, rid, attempts, "the body breaks the spec", errors)
        if declared.model is not None and isinstance(data, dict):
            return self.models.build(declared.model, data)
        if declared.list_model is not None and isinstance(data, list):
            return [self.models.build(declared.list_model, d) if isinstance(d, dict) else d for d in data]
        return data

    def _for(self, status: int) -> _Declared | None:
        if status not in self._declared:
            response = self.op.responses.get(str(status)) or self.op.responses.get("default")
            self._declared[status] = _Declared(response, self.compiler, self.models) if response else None
        return self._declared[status]

    def _invalid(self, status: int, rid: str | None, attempts: int, why: str,
                 errors: list[Any] | None = None) -> UpstreamInvalid:
        return UpstreamInvalid(self.settings.name, self.op.operation_id, upstream_status=status,
                               upstream_request_id=rid, attempts=attempts, field_errors=errors,
                               detail=f"{self.settings.name}'s {status} answer to {self.op.operation_id} "
                                      f"breaks its spec: {why}")


def _body(response: requests.Response) -> Any:
    if "json" in response.headers.get("Content-Type", ""):
        try:
            return json.loads(response.content)
        except ValueError:
            pass
    return response.text[:2000] or None
