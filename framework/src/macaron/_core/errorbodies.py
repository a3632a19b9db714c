"""Error bodies in the format a spec declares, where that is not problem+json.

An :class:`~.errors.ApiError` is answered as problem+json (:mod:`.errors`). But a spec may declare
its own error format — ``default`` or ``400: {schema: Error}`` with ``Error{code: integer,
message}`` — and a body that breaks it breaks the spec. :class:`ErrorShape` writes an error into
such a schema: it starts from a valid instance (the response's example, else one generated from the
schema by :mod:`.samples`) and overlays what the error knows, by the common names of error fields:

- ``message``/``detail``/``description``/``reason``/``error_description``/``msg``: the error's
  detail, naming each bad field (``1 field breaks the spec: /body/email must be email``);
  ``title``: its title (and next to a title, ``type``: ``urn:macaron:problem:<code>``);
- ``code``/``error_code``: the status where the schema wants an integer, else the error's code
  (``VALIDATION_ERROR``); ``status``/``statusCode``/``http_status``: the status (as text where a
  string is wanted);
- ``error``: an object is filled the same way; a string is the code when a message field sits
  next to it, else the message;
- ``errors``/``fields``/``details``/``violations``/``fieldErrors``/``issues``: one entry per bad
  field, its ``field``/``name``/``param`` the dotted field (``personalizations.0.to``),
  ``path``/``pointer`` the JSON pointer (``/body/email``), ``location``/``in`` where it was, and
  its message (or ``path message`` for a list of strings); with no bad field, empty where a
  message field sits next to it, else one entry holding the message;
- ``request_id``/``requestId``/``trace_id``/``correlation_id``: the request id.

A generated instance keeps only its required fields and those the error fills (an example is kept
whole). An overlaid value is kept only where its field's schema takes it, and the whole body is checked
against the schema at the end (falling back to the plain valid instance), so the answer is always
valid for what the spec declares. Rule: imports only ``_core`` (schemas, samples, errors).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import ApiError, FieldError, ValidationFailed
from .samples import sample
from .schema import SchemaCompiler

_MESSAGE = {"message", "msg", "errormessage", "description", "errordescription", "reason", "detail", "text",
            "errortext", "errordetail"}
_CODE = {"code", "errorcode"}
_STATUS = {"status", "statuscode", "httpstatus", "httpstatuscode", "httpcode"}
_LIST = {"errors", "fields", "details", "fielderrors", "violations", "issues", "problems", "invalidparams",
         "validationerrors", "invalidfields"}
_ID = {"requestid", "traceid", "correlationid"}
_DOTTED = {"field", "name", "param", "parameter", "property", "key", "attribute", "fieldname"}
_POINTER = {"path", "pointer", "jsonpointer"}
_LOCATION = {"location", "in", "source"}


def _norm(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "").replace(" ", "")


@dataclass(frozen=True)
class _Facts:
    status: int
    code: str
    title: str
    message: str
    request_id: str | None
    fields: tuple[FieldError, ...]


def _facts(error: ApiError, request_id: str | None) -> _Facts:
    message = error.detail
    if error.errors:
        message = f"{error.detail}: " + "; ".join(f"{e.path} {e.message}" for e in error.errors)
    return _Facts(error.status, error.code, error.title, message, request_id, tuple(error.errors))


#: Errors every declared error schema is checked with when it is built (start-up): one naming a field, one not.
REPRESENTATIVE = (
    ValidationFailed("1 field of the request breaks the spec", errors=[FieldError("/body/name", "is required")]),
    ApiError("the service failed", status=500),
)


class ErrorShape:
    """How errors are written for one declared response schema (``example``: the response's own)."""

    def __init__(self, schema: dict[str, Any], definitions: dict[str, Any], compiler: SchemaCompiler,
                 example: Any = None) -> None:
        self.schema = schema
        self._definitions = definitions
        self._compiler = compiler
        self._valid = compiler.validator(schema).is_valid
        self._generated = example is None or not self._valid(example)
        self._base = sample(schema, definitions) if self._generated else example

    def accepts(self, body: Any) -> bool:
        """Whether ``body`` (say, a problem) is valid for the schema."""
        return self._valid(body)

    @property
    def renderable(self) -> str | None:
        """``None`` when errors can be written validly into the schema, else why not."""
        if not self._valid(self._base):
            return "no valid body could be made from its schema (give the response an example)"
        return None

    def render(self, error: ApiError, request_id: str | None) -> Any:
        """A body valid for the schema, saying what ``error`` knows."""
        facts = _facts(error, request_id)
        body = self._fill(self._base, self.schema, facts, 0)
        return body if self._valid(body) else self._base

    def _takes(self, schema: Any, value: Any) -> bool:
        return isinstance(schema, dict) and self._compiler.validator(schema).is_valid(value)

    def _resolve(self, schema: Any) -> dict[str, Any]:
        for _ in range(32):
            if not isinstance(schema, dict) or not isinstance(schema.get("$ref"), str):
                break
            schema = self._definitions.get(schema["$ref"].rsplit("/", 1)[-1], {})
        if not isinstance(schema, dict):
            return {}
        if schema.get("allOf"):
            props: dict[str, Any] = {}
            for part in schema["allOf"]:
                props.update(self._resolve(part).get("properties") or {})
            return {**schema, "type": "object", "properties": {**props, **(schema.get("properties") or {})}}
        return schema

    def _fill(self, value: Any, schema: Any, facts: _Facts, depth: int, carrier: bool = True) -> Any:
        resolved = self._resolve(schema)
        if depth > 4:
            return value
        if isinstance(value, dict):
            return self._object(dict(value), resolved, facts, depth)
        if isinstance(value, list):
            return self._list(value, resolved, facts, depth, carrier)
        for candidate in (facts.message,) if isinstance(value, str) else (facts.status,):
            if self._takes(schema, candidate):
                return candidate
        return value

    def _object(self, value: dict[str, Any], schema: dict[str, Any], facts: _Facts, depth: int) -> dict[str, Any]:
        props = schema.get("properties") or {}
        names = {_norm(k) for k in props}
        has_message = bool(names & _MESSAGE)
        required = set(schema.get("required") or [])
        for key, sub in props.items():
            if key not in value:
                continue
            norm = _norm(key)
            known = norm in _MESSAGE or norm in _CODE or norm in _STATUS or norm in _ID or norm in _LIST
            if self._generated and key not in required and not (known or norm in ("title", "error", "type")):
                del value[key]  # made up, and nothing the error says: left out
                continue
            candidates: list[Any] = []
            if norm in _MESSAGE:
                candidates = [facts.message]
            elif norm == "title":
                candidates = [facts.title]
            elif norm == "type" and "title" in names:  # an RFC 7807 problem of the spec's own
                candidates = [f"urn:macaron:problem:{facts.code}"]
            elif norm in _CODE:
                candidates = [facts.status, facts.code, str(facts.status)]
            elif norm in _STATUS:
                candidates = [facts.status, str(facts.status), facts.title]
            elif norm in _ID:
                candidates = [facts.request_id]
            elif norm == "error" and isinstance(value[key], str):
                candidates = [facts.code.lower(), facts.code] if has_message else [facts.message]
            elif norm == "error" or norm in _LIST:
                filled = self._fill(value[key], sub, facts, depth + 1, carrier=not has_message)
                candidates = [filled]
            for candidate in candidates:
                if candidate is not None and self._takes(sub, candidate):
                    value[key] = candidate
                    break
            if self._generated and value[key] == [] and key not in required:
                del value[key]  # no bad field to list
        return value

    def _list(self, value: list[Any], schema: dict[str, Any], facts: _Facts, depth: int, carrier: bool) -> list[Any]:
        items = schema.get("items") or {}
        if not facts.fields and not carrier and self._takes(schema, []):
            return []
        template = value[0] if value else sample(items, self._definitions)
        entries = list(facts.fields) or [None]
        out = [self._entry(template, items, facts, entry, depth) for entry in entries]
        return out if self._takes(schema, out) else value

    def _entry(self, template: Any, items: Any, facts: _Facts, field: FieldError | None, depth: int) -> Any:
        message = field.message if field else facts.message
        if isinstance(template, str):
            text = f"{field.path} {field.message}" if field else facts.message
            return text if self._takes(items, text) else template
        if not isinstance(template, dict):
            return template
        resolved = self._resolve(items)
        out = self._object(dict(template), resolved, facts, depth + 1)
        required = set(resolved.get("required") or [])
        parts = field.path.strip("/").split("/") if field else []
        for key, sub in (resolved.get("properties") or {}).items():
            norm = _norm(key)
            candidate: Any = None
            if norm in _MESSAGE or norm == "issue":
                candidate = message
            elif field is not None and norm in _DOTTED:
                candidate = ".".join(parts[1:]) or parts[0]
            elif field is not None and norm in _POINTER:
                candidate = field.path
            elif field is not None and norm in _LOCATION:
                candidate = parts[0]
            elif field is None and (norm in _DOTTED or norm in _POINTER or norm in _LOCATION):
                if isinstance(sub, dict) and sub.get("x-nullable"):
                    out[key] = None
                elif key not in required:
                    out.pop(key, None)
                continue
            if candidate is not None and self._takes(sub, candidate):
                out[key] = candidate
        return out
