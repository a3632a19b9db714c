"""OpenAPI 3.0 and 3.1 documents → the framework's one operation model, once, at load time.

The model is the shape every reader downstream already knows — Swagger 2.0's — with the few
things 2.0 cannot say added as ``x-`` keys, so validation, models, fakes, docs and fuzzing read one
model and never three dialects. :func:`normalise` turns a resolved 3.x document into it:

- ``basePath``: the path of the first ``servers`` URL, its ``{variables}`` replaced by their
  defaults (``https://{region}.example.com/v2`` → ``/v2``); none → ``""``.
- ``definitions``: ``components/schemas`` converted by :mod:`.oas3schemas` (refs, ``nullable``,
  discriminators; 3.1 schemas stay JSON Schema 2020-12).
- parameters (path, query, header and now ``cookie``): the 2.0 shape, ``type``/``items``/``enum``/
  ``default`` read from the schema (its refs followed), plus ``x-schema`` (the whole converted
  schema, what values are validated against), ``x-style`` and ``x-explode`` (defaults: ``form``
  and true in the query and cookies, ``simple`` and false in the path and headers), and for a
  ``content``-typed parameter ``x-content`` (its media type: the value is JSON text). Where the
  style is one of 2.0's collection formats it is also written as ``collectionFormat``.
- ``requestBody``: one ``in: body`` parameter named ``body`` (or ``x-codegen-request-body-name``)
  whose ``schema`` is that of the first JSON media type (else the first), and ``x-content``: every
  media type with its schema and ``encoding``; ``consumes`` lists the media types. Form bodies
  (``application/x-www-form-urlencoded``, ``multipart/form-data``) are bodies too: the handler
  gets ``body`` as it would a JSON one (:mod:`macaron._server.validation`).
- responses: per status, ``schema`` of the first JSON media type (else the first; a binary one is
  2.0's ``type: file``), ``examples`` per media type (``example``, the first of ``examples``,
  component examples followed), ``headers`` flattened like parameters (``x-required``), and
  ``x-content`` with every media type's schema; ``produces`` lists every response media type.
- ``securityDefinitions``: ``components/securitySchemes`` in 2.0 kinds: ``http`` basic →
  ``basic``; ``http`` bearer, ``oauth2`` and ``openIdConnect`` → ``oauth2`` (a bearer JWT, checked
  as 2.0's oauth2 is); ``apiKey`` as written (``in: cookie`` too); another ``http`` scheme keeps a
  type no reader knows, so a service refuses to start rather than leave it unenforced.
- ``callbacks``, ``links``, ``webhooks`` are not served operations: they stay in the document as
  written (``/api.json``), not in the model.

Rule: imports only :mod:`.errors`, :mod:`.refs` and :mod:`.oas3schemas`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from .errors import SpecError
from .oas3schemas import convert, definitions, flat
from .refs import pointer_get

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_JSON = re.compile(r"^application/(.+\+)?json(;.*)?$|^\*/\*$")
_DEFAULT_STYLE = {"query": "form", "cookie": "form", "path": "simple", "header": "simple"}
_COLLECTION = {("form", False): "csv", ("form", True): "multi", ("simple", False): "csv", ("simple", True): "csv",
               ("spaceDelimited", False): "ssv", ("pipeDelimited", False): "pipes",
               ("spaceDelimited", True): "multi", ("pipeDelimited", True): "multi"}
_OP_KEYS = ("operationId", "summary", "description", "tags", "deprecated", "externalDocs")
OAS31_DIALECT = "https://spec.openapis.org/oas/3.1/dialect/base"


def is_json(media: str) -> bool:
    return bool(_JSON.match(media.lower()))


class _Normaliser:
    def __init__(self, path: Path, source: dict[str, Any], version: str) -> None:
        self.path = path
        self.source = source
        self.version = version
        schemas = (source.get("components") or {}).get("schemas") or {}
        self.definitions = definitions(schemas, version)

    def deref(self, node: Any, where: str) -> Any:
        seen = 0
        while isinstance(node, dict) and isinstance(node.get("$ref"), str) and seen < 32:
            ref = node["$ref"]
            if not ref.startswith("#"):
                raise SpecError(f"{self.path}: at '{where}': $ref {ref!r} was not resolved")
            target = pointer_get(self.source, ref[1:], f"{self.path}: at '{where}'")
            node = {**target, **{k: v for k, v in node.items() if k != "$ref"}} if isinstance(target, dict) else target
            seen += 1
        return node

    def schema(self, node: Any) -> Any:
        return convert(node, self.version) if node is not None else None

    def parameter(self, raw: Any, where: str) -> dict[str, Any]:
        p = self.deref(raw, where)
        if not isinstance(p, dict):
            raise SpecError(f"{self.path}: at '{where}': a parameter must be a mapping")
        location = p.get("in")
        out: dict[str, Any] = {"name": p.get("name"), "in": location, "required": bool(p.get("required"))}
        schema = p.get("schema")
        content = p.get("content") or {}
        if content:
            media, obj = next(iter(content.items()))
            out["x-content"] = media
            schema = (obj or {}).get("schema")
        converted = self.schema(schema) if schema is not None else {}
        shape = flat(converted, self.definitions)
        out.update({k: v for k, v in shape.items() if k not in ("name", "in", "required", "description")})
        out["x-schema"] = converted
        style = p.get("style") or _DEFAULT_STYLE.get(str(location), "form")
        explode = p.get("explode", style == "form")
        out["x-style"], out["x-explode"] = style, bool(explode)
        if shape.get("type") == "array" and (style, bool(explode)) in _COLLECTION and not content:
            out["collectionFormat"] = _COLLECTION[(style, bool(explode))]
            if location not in ("query", "cookie") and out["collectionFormat"] == "multi":
                out["collectionFormat"] = "csv"
        if isinstance(p.get("allowEmptyValue"), bool):  # said either way (unsaid: :mod:`macaron._server.params`)
            out["allowEmptyValue"] = p["allowEmptyValue"]
        if "description" in p:
            out["description"] = p["description"]
        for key in ("example", "examples", "deprecated"):
            if key in p:
                out[f"x-{key}"] = p[key]
        return out

    def media(self, content: dict[str, Any], where: str) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for media, obj in content.items():
            obj = self.deref(obj or {}, f"{where}/{media}")
            entry: dict[str, Any] = {"schema": self.schema(obj.get("schema")) if "schema" in obj else None}
            if obj.get("encoding"):
                entry["encoding"] = obj["encoding"]
            example = self.example(obj, f"{where}/{media}")
            if example is not _NONE:
                entry["example"] = example
            out[media] = entry
        return out

    def example(self, obj: dict[str, Any], where: str) -> Any:
        if "example" in obj:
            return obj["example"]
        for name, ex in (obj.get("examples") or {}).items():
            ex = self.deref(ex, f"{where}/examples/{name}")
            if isinstance(ex, dict) and "value" in ex:
                return ex["value"]
        return _NONE

    @staticmethod
    def primary(content: dict[str, dict[str, Any]]) -> str | None:
        return next((m for m in content if is_json(m)), next(iter(content), None))

    def body(self, op: dict[str, Any], where: str) -> tuple[dict[str, Any] | None, list[str]]:
        if "requestBody" not in op:
            return None, []
        rb = self.deref(op["requestBody"], f"{where}/requestBody")
        content = self.media(rb.get("content") or {}, f"{where}/requestBody/content")
        primary = self.primary(content)
        schema = (content.get(primary) or {}).get("schema") if primary else None
        name = str(op.get("x-codegen-request-body-name") or rb.get("x-codegen-request-body-name") or "body")
        param = {"name": name, "in": "body", "required": bool(rb.get("required")),
                 "schema": schema if schema is not None else {}, "x-content": content}
        if "description" in rb:
            param["description"] = rb["description"]
        return param, list(content)

    def header(self, raw: Any, where: str) -> dict[str, Any]:
        h = self.deref(raw, where)
        schema = h.get("schema")
        if schema is None and h.get("content"):
            schema = (next(iter(h["content"].values())) or {}).get("schema")
        converted = self.schema(schema) if schema is not None else {"type": "string"}
        out = {k: v for k, v in flat(converted, self.definitions).items() if k != "description"}
        out["x-schema"] = converted
        if h.get("required"):
            out["x-required"] = True
        if "description" in h:
            out["description"] = h["description"]
        return out

    def response(self, raw: Any, where: str) -> tuple[dict[str, Any], list[str]]:
        r = self.deref(raw, where)
        out: dict[str, Any] = {"description": r.get("description", "")}
        content = self.media(r.get("content") or {}, f"{where}/content")
        primary = self.primary(content)
        if primary is not None:
            schema = content[primary].get("schema")
            if schema is None or _binary(schema):
                schema = {} if is_json(primary) else {"type": "file"}
            out["schema"] = schema
            out["x-content"] = content
            examples = {m: e["example"] for m, e in content.items() if "example" in e}
            if examples:
                out["examples"] = examples
        if r.get("headers"):
            out["headers"] = {name: self.header(h, f"{where}/headers/{name}") for name, h in r["headers"].items()}
        for key, value in r.items():
            if key.startswith("x-"):
                out[key] = value
        return out, list(content)

    def operation(self, route: str, method: str, op: dict[str, Any], item_security: Any) -> dict[str, Any]:
        where = f"/paths/{route.replace('~', '~0').replace('/', '~1')}/{method}"
        out: dict[str, Any] = {k: op[k] for k in _OP_KEYS if k in op}
        out.update({k: v for k, v in op.items() if k.startswith("x-")})
        params = [self.parameter(p, f"{where}/parameters/{i}") for i, p in enumerate(op.get("parameters") or [])]
        body, consumes = self.body(op, where)
        if body is not None:
            params.append(body)
        out["parameters"] = params
        out["consumes"] = consumes or ["application/json"]
        responses: dict[str, Any] = {}
        produces: list[str] = []
        for status, response in (op.get("responses") or {}).items():
            responses[str(status)], media = self.response(response, f"{where}/responses/{status}")
            produces += [m for m in media if m not in produces]
        if not responses:  # 3.1 makes responses optional: any status, no body declared
            responses["default"] = {"description": "(the spec declares no responses)"}
        out["responses"] = responses
        out["produces"] = produces or ["application/json"]
        if "security" in op:
            out["security"] = op["security"]
        return out

    def security_definitions(self) -> dict[str, Any]:
        schemes = (self.source.get("components") or {}).get("securitySchemes") or {}
        out: dict[str, Any] = {}
        for name, raw in schemes.items():
            scheme = dict(self.deref(raw, f"/components/securitySchemes/{name}"))
            kind = scheme.get("type")
            if kind == "http" and str(scheme.get("scheme", "")).lower() == "basic":
                scheme["type"] = "basic"
            elif (kind == "http" and str(scheme.get("scheme", "")).lower() == "bearer") or kind == "openIdConnect":
                scheme["type"] = "oauth2"
                scheme.setdefault("x-oas3-type", kind)
            elif kind == "http":
                scheme["type"] = f"http-{str(scheme.get('scheme', '')).lower()}"  # no reader enforces it
            out[name] = scheme
        return out

    def document(self) -> dict[str, Any]:
        src = self.source
        dialect = src.get("jsonSchemaDialect")
        if self.version == "3.1" and dialect not in (None, OAS31_DIALECT):
            raise SpecError(f"{self.path}: at 'jsonSchemaDialect': {dialect!r} is not supported; macaron "
                            f"validates 3.1 schemas with the OpenAPI dialect ({OAS31_DIALECT}): remove the field")
        paths: dict[str, Any] = {}
        for route, raw_item in (src.get("paths") or {}).items():
            where = f"/paths/{route.replace('~', '~0').replace('/', '~1')}"
            item = self.deref(raw_item, where)
            out_item: dict[str, Any] = {}
            if item.get("parameters"):
                out_item["parameters"] = [self.parameter(p, f"{where}/parameters/{i}")
                                          for i, p in enumerate(item["parameters"])]
            for method in HTTP_METHODS:
                if isinstance(item.get(method), dict):
                    out_item[method] = self.operation(route, method, item[method], None)
            paths[route] = out_item
        out: dict[str, Any] = {
            "info": src.get("info") or {},
            "basePath": base_path(src.get("servers")),
            "paths": paths,
            "definitions": self.definitions,
            "securityDefinitions": self.security_definitions(),
        }
        for key in ("security", "tags", "externalDocs"):
            if key in src:
                out[key] = src[key]
        out.update({k: v for k, v in src.items() if k.startswith("x-")})
        webhooks: dict[str, Any] = {}
        for name, raw_item in (src.get("webhooks") or {}).items():  # 3.1: what the service sends
            item = self.deref(raw_item, f"/webhooks/{name}")
            webhooks[name] = {m: self.operation(f"webhook {name}", m, item[m], None)
                              for m in HTTP_METHODS if isinstance(item, dict) and isinstance(item.get(m), dict)}
        if webhooks:
            out["x-webhooks"] = webhooks  # read by macaron.clients.send_webhook; never routed
        return out


class _NoneType:
    pass


_NONE = _NoneType()


def _binary(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("type") == "string" and schema.get("format") in ("binary",)


def base_path(servers: Any) -> str:
    """The path prefix of the first server URL, its variables replaced by their defaults."""
    if not isinstance(servers, list) or not servers or not isinstance(servers[0], dict):
        return ""
    server = servers[0]
    url = str(server.get("url") or "")
    for name, variable in (server.get("variables") or {}).items():
        url = url.replace("{" + name + "}", str((variable or {}).get("default", "")))
    path = urlparse(url).path if "://" in url else url
    return path.rstrip("/")


def normalise(path: Path, source: dict[str, Any], version: str) -> dict[str, Any]:
    """The framework's model of the resolved 3.x document ``source`` (see the module's docstring)."""
    return _Normaliser(path, source, version).document()
