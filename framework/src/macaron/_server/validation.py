"""Request validation: parameters and body parsed, coerced and validated → handler kwargs.

Everything that depends only on the spec — coercers, compiled validators, kwarg names —
is computed once per operation when the app is built. Non-body parameters (and the rules
for ``x-nullable``, empty values and collection formats) are in :mod:`.params`; which body
types an operation accepts and what a non-JSON body becomes, in :mod:`.media`; JSON parsing,
in :mod:`.jsonbody`; the response side, in :mod:`.responses`.

An OpenAPI 3.x body (``x-content``: a schema per media type) is validated against the schema of
the media type it was sent as (exact, else a wildcard the operation declares); a form body
(``application/x-www-form-urlencoded``, ``multipart/form-data``) is read into an object — each
field typed by its property's schema (repeated names for arrays; a part whose ``encoding`` says
``application/json`` parsed as JSON; a file part is the uploaded file, checked as present) — and
validated as a JSON body would be, errors named ``/body/<field>``; the handler gets it as ``body``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Request
from werkzeug.datastructures import FileStorage

from .._core.errors import FieldError, UnsupportedMediaType, ValidationFailed
from .._core.models import Model, ModelRegistry, _ref_name
from .._core.schema import REQUEST, SchemaCompiler, Validator
from .._core.spec import Operation, python_name
from .jsonbody import parse_json
from .media import Consumes, is_json, raw_body
from .params import Param, build_param, coercer

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
@dataclass(slots=True)
class Body:
    name: str
    kwarg: str
    required: bool
    validator: Validator
    model: type[Model] | None
    text: bool  # a string schema, against which a text body (not JSON) is validated too
    media: dict[str, Body] | None = None  # OpenAPI 3.x: the body of each declared media type
    fields: dict[str, tuple[Any, bool, bool, bool]] | None = None  # a form's: coerce, many, file, json
    schemaless: bool = False  # a media type declared without a schema (``text/plain: {}``): any content
    form_extra: bool = False  # a form whose schema takes fields it does not name (as text)


def _body(name: str, required: bool, schema: dict[str, Any], compiler: SchemaCompiler,
          models: ModelRegistry) -> Body:
    ref = _ref_name(schema)
    return Body(
        name=name,
        kwarg=python_name(name),
        required=required,
        validator=compiler.validator(schema, direction=REQUEST),  # readOnly: not from clients
        model=models.get(ref) if ref else None,
        text=compiler.resolve(schema).get("type") == "string" and schema.get("format") != "binary",
    )


def _form_fields(schema: dict[str, Any], encoding: dict[str, Any], compiler: SchemaCompiler
                 ) -> dict[str, tuple[Any, bool, bool, bool]]:
    out: dict[str, tuple[Any, bool, bool, bool]] = {}
    for name, sub in _properties(schema, compiler, 0).items():
        sub = compiler.resolve(sub, REQUEST) if isinstance(sub, dict) else {}
        kinds = sub.get("type")
        kind = next((k for k in kinds if k != "null"), None) if isinstance(kinds, list) else kinds
        items = compiler.resolve(sub.get("items") or {}, REQUEST) if kind == "array" else {}
        binary = sub.get("format") == "binary" or items.get("format") == "binary" or "contentMediaType" in sub
        media = str((encoding.get(name) or {}).get("contentType") or "")
        as_json = is_json(media.split(";")[0].strip()) or (kind == "object" and not media)
        out[name] = (coercer({**sub, "type": kind}), kind == "array", binary, as_json)
    return out


def _bracketed(form: Any, fields: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """Form keys that nest (``deepObject`` encoding, as Stripe's API writes it): ``a[b][c]=x`` is
    ``{"a": {"b": {"c": "x"}}}``, ``a[]=x&a[]=y`` is ``{"a": ["x", "y"]}``, ``a[0]=x`` (an array
    field) is ``["x"]``. Only keys whose base is a field of the form; those keys, too."""
    items: dict[str, list[tuple[list[str], str]]] = {}
    used: set[str] = set()
    for key in form:
        base, bracket, rest = key.partition("[")
        if not bracket or not rest.endswith("]") or base not in fields:
            continue
        used.add(key)
        for text in form.getlist(key):
            items.setdefault(base, []).append((rest[:-1].split("]["), text))
    out = {}
    for base, found in items.items():
        for text in form.getlist(base):  # "a=" beside "a[b]=": the plain one is a leaf too
            found.append(([], text))
        tree = _tree(found, 0)
        if fields[base][1] and isinstance(tree, dict) and tree and all(k.isdigit() for k in tree):
            tree = [tree[k] for k in sorted(tree, key=int)]
        out[base] = tree
    return out, used


def _tree(items: list[tuple[list[str], str]], depth: int) -> Any:
    leaves = [text for parts, text in items if not parts]
    if len(leaves) == len(items) or depth > 16:
        return leaves[0] if len(leaves) == 1 else leaves
    if all(parts and parts[0] == "" for parts, _ in items):
        return [_tree([(parts[1:], text)], depth + 1) for parts, text in items]
    groups: dict[str, list[tuple[list[str], str]]] = {}
    for parts, text in items:
        if parts:
            groups.setdefault(parts[0], []).append((parts[1:], text))
    return {key: _tree(group, depth + 1) for key, group in groups.items()}


def _takes_extra(schema: Any, compiler: SchemaCompiler, depth: int) -> bool:
    """Whether a form schema takes fields it does not name: no ``additionalProperties: false`` (or
    ``unevaluatedProperties: false``) on it or its ``allOf`` parts."""
    resolved = compiler.resolve(schema, REQUEST) if isinstance(schema, dict) else {}
    if resolved.get("additionalProperties") is False or resolved.get("unevaluatedProperties") is False:
        return False
    return depth > 8 or all(_takes_extra(part, compiler, depth + 1) for part in resolved.get("allOf") or [])


def _properties(schema: Any, compiler: SchemaCompiler, depth: int) -> dict[str, Any]:
    """A form schema's properties, its ``allOf`` parts' and its ``oneOf``/``anyOf`` members' included
    (any member's field is a field of the form; the schema then judges the whole)."""
    resolved = compiler.resolve(schema, REQUEST) if isinstance(schema, dict) else {}
    props: dict[str, Any] = {}
    parts = [*(resolved.get("allOf") or []), *(resolved.get("oneOf") or []), *(resolved.get("anyOf") or [])]
    for part in parts if depth < 8 else []:
        props.update(_properties(part, compiler, depth + 1))
    props.update(resolved.get("properties") or {})
    return props


def credential_query_names(document: dict[str, Any]) -> frozenset[str]:
    """The query names of a (normalised) spec's ``apiKey`` schemes ``in: query``."""
    return frozenset(str(s.get("name")) for s in (document.get("securityDefinitions") or {}).values()
                     if isinstance(s, dict) and s.get("type") == "apiKey" and s.get("in") == "query")


class RequestValidator:
    """Turns a Flask request into the handler's keyword arguments, or raises with every bad field."""

    def __init__(self, op: Operation, compiler: SchemaCompiler, models: ModelRegistry,
                 reserved: frozenset[str] = frozenset()) -> None:
        """``reserved``: query names the spec's security reads (:func:`credential_query_names`),
        which a free-form query object never takes."""
        self.operation = op
        self.params: list[Param] = []
        self.body: Body | None = None
        self.form = any(p.get("in") == "formData" for p in op.parameters)
        self.form_fields = frozenset(p["name"] for p in op.parameters if p.get("in") == "formData")
        self.consumes = Consumes(op.consumes or ["application/json"])
        for p in op.parameters:
            if p.get("in") == "body":
                required = bool(p.get("required"))
                self.body = _body(p["name"], required, p.get("schema") or {}, compiler, models)
                if isinstance(p.get("x-content"), dict):  # OpenAPI 3.x: a schema per media type
                    self.body.media = {}
                    for media, entry in p["x-content"].items():
                        schema = (entry or {}).get("schema")
                        body = _body(p["name"], required, schema if isinstance(schema, dict) else {}, compiler,
                                     models)
                        body.schemaless = not isinstance(schema, dict)
                        if media.split(";")[0].strip().lower() in _FORM_TYPES:
                            body.fields = _form_fields(schema or {},
                                                       (entry or {}).get("encoding") or {}, compiler)
                            body.form_extra = _takes_extra(schema or {}, compiler, 0)
                        self.body.media[media.split(";")[0].strip().lower()] = body
                continue
            self.params.append(build_param(p, compiler))
        query = frozenset(q.name for q in self.params if q.location == "query") | reserved
        for param in self.params:
            if param.free_form:
                param.others = query - {param.name}

    def __call__(self, request: Request, path_args: Mapping[str, str]) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        errors: list[FieldError] = []
        if self.form:
            self._check_form_type(request)
            errors.extend(  # an undeclared field is an error, as in a JSON body (additionalProperties: false)
                FieldError(f"/formData/{name}", "is not a field of this form")
                for name in sorted({*request.form, *request.files} - self.form_fields)
            )
        for param in self.params:
            param.read(request, path_args, kwargs, errors)
        if self.body is not None:
            self._read_body(request, kwargs, errors)
        if errors:
            raise ValidationFailed(
                f"{len(errors)} field{'s' if len(errors) > 1 else ''} of the request "
                f"{'break' if len(errors) > 1 else 'breaks'} the spec",
                errors=errors,
            )
        return kwargs

    def _check_form_type(self, request: Request) -> None:
        mimetype = request.mimetype
        if mimetype and mimetype not in _FORM_TYPES:
            raise UnsupportedMediaType(f"Content-Type {mimetype!r} is not accepted; use {', '.join(_FORM_TYPES)}")

    def _media_body(self, body: Body, mimetype: str) -> Body:
        media = body.media or {}
        if mimetype in media:
            return media[mimetype]
        for declared, entry in media.items():
            if declared == "*/*" or (declared.endswith("/*") and mimetype.startswith(declared[:-1])):
                return entry
            if declared == "application/json" and mimetype.endswith("+json"):
                return entry
        return body

    def _read_form(self, body: Body, request: Request, kwargs: dict[str, Any], errors: list[FieldError]) -> None:
        fields = body.fields or {}
        if not request.form and not request.files:
            if body.required:
                errors.append(FieldError("/body", "is required"))
            return
        value: dict[str, Any] = {}
        checked: dict[str, Any] = {}
        nested, bracketed = _bracketed(request.form, fields)
        for name, tree in nested.items():
            coerce, many, _, _ = fields[name]
            try:
                value[name] = checked[name] = coerce(tree if many or not isinstance(tree, list) else tree[-1])
            except ValueError as exc:
                errors.append(FieldError(f"/body/{name}", str(exc)))
        for name in sorted({*request.form, *request.files} - bracketed):
            if name in nested:
                continue
            coerce, many, binary, as_json = fields.get(name, (None, False, False, False))
            if coerce is None and body.form_extra:  # a field the schema does not name but takes: its text
                texts = request.form.getlist(name)
                texts += [f.read().decode("utf-8", "replace") for f in request.files.getlist(name)]
                value[name] = checked[name] = texts[0] if len(texts) == 1 else texts
                continue
            if coerce is None:
                errors.append(FieldError(f"/body/{name}", "is not a field of this form"))
                continue
            if binary:
                files = request.files.getlist(name)
                if not files and name in request.form:  # a part without a filename: a file of its bytes
                    parts = [FileStorage(io.BytesIO(t.encode("utf-8", "surrogateescape")), name=name)
                             for t in request.form.getlist(name)]
                    value[name] = parts if many else parts[0]
                    checked[name] = ["file"] * len(parts) if many else "file"
                    continue
                if not files:
                    errors.append(FieldError(f"/body/{name}", "must be a file part"))
                    continue
                value[name] = files if many else files[0]
                checked[name] = [f.filename or "file" for f in files] if many else (files[0].filename or "file")
                continue
            texts = request.form.getlist(name)
            texts += [f.read().decode("utf-8", "replace") for f in request.files.getlist(name)]
            try:
                if as_json:
                    parsed = [json.loads(t) for t in texts]
                    value[name] = parsed if many else parsed[0]
                else:
                    value[name] = coerce(texts if many else texts[0])
            except ValueError as exc:
                errors.append(FieldError(f"/body/{name}", str(exc) if not as_json else "must be JSON text"))
                continue
            checked[name] = value[name]
        if errors:
            return
        _, errs = body.validator(checked, ["body"])
        if errs:
            errors.extend(errs)
            return
        kwargs[body.kwarg] = value if body.model is None else body.model.__registry__.build(body.model, value)

    def _read_body(self, request: Request, kwargs: dict[str, Any], errors: list[FieldError]) -> None:
        body = self.body
        assert body is not None
        if body.media is not None and request.mimetype in _FORM_TYPES and self.consumes.accepts(request.mimetype):
            form = self._media_body(body, request.mimetype)
            if form.fields is not None:
                self._read_form(form, request, kwargs, errors)
                return
        raw = request.get_data(cache=True)
        named = self._media_body(body, request.mimetype) if body.media is not None and request.mimetype else None
        if not raw and named is not None and named.schemaless and self.consumes.accepts(request.mimetype):
            kwargs[named.kwarg] = "" if request.mimetype.startswith("text/") else b""  # empty is content too
            return
        if not raw:
            if body.required:
                errors.append(FieldError("/body", "is required"))
            return
        mimetype = self.consumes.media_type(request)
        if body.media is not None:
            body = self._media_body(body, mimetype)
        if not is_json(mimetype):  # declared, not JSON: as sent (media.py)
            value = raw_body(request, mimetype, raw)
            if body.text and isinstance(value, str):
                value, errs = body.validator(value, ["body"])
                errors.extend(errs)
            kwargs[body.kwarg] = value
            return
        value, errs = parse_json(raw)
        if errs:
            errors.extend(errs)
            return
        value, errs = body.validator(value, ["body"])
        if errs:
            errors.extend(errs)
            return
        if body.model is not None and isinstance(value, dict):
            value = body.model.__registry__.build(body.model, value)
        kwargs[body.kwarg] = value


Handler = Callable[..., Any]
