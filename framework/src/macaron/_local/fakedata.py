"""Sample data from a spec: the body, media type and headers a fake answers with when no handler
is written.

The spec's own words win: a response's ``examples`` for the media type, then the schema's (or its
definition's) ``example``/``default``/first ``enum`` value; only then is a value generated from the
schema (:mod:`macaron._core.samples`). The media type is one the operation ``produces``, chosen by
the request's ``Accept`` (JSON first when it takes anything); a ``type: file`` response is a few
bytes of the declared type. Response headers get values valid for their declared type, format,
items and ``collectionFormat``.
"""

from __future__ import annotations

import copy
import datetime as dt
import secrets
from typing import Any

from werkzeug.datastructures import MIMEAccept

from .._core.samples import Check, number, sample, string

__all__ = ["carries", "file_bytes", "header_value", "negotiate", "response_example", "sample"]

_DELIMITERS = {"csv": ",", "ssv": " ", "tsv": "\t", "pipes": "|"}
# A few bytes that start a file of each type (enough for a client that sniffs it).
_FILE_BYTES = {
    "image/png": bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                               "1f15c4890000000d4944415478da63f8ffff3f0005fe02fea7d6a4a90000000049454e44ae426082"),
    "image/gif": bytes.fromhex("47494638396101000100800000ffffff00000021f904010000000"
                               "02c00000000010001000002024401003b"),
    "image/jpeg": bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9"),
    "application/pdf": b"%PDF-1.4\n%%EOF\n",
}


def is_json(media: str) -> bool:
    main = media.split(";", 1)[0].strip().lower()
    return main == "application/json" or main.endswith("+json")


def is_xml(media: str) -> bool:
    main = media.split(";", 1)[0].strip().lower()
    return main in ("application/xml", "text/xml") or main.endswith("+xml")


def carries(media: str, schema: dict[str, Any] | None) -> bool:
    """Whether a body of ``schema`` can be written as ``media``: files as any type; structured
    values as JSON or XML; strings also as text."""
    if schema is None or schema.get("type") == "file":
        return True
    if is_json(media) or is_xml(media):
        return True
    return media.lower().startswith("text/") and schema.get("type") in ("string", None)


def negotiate(accept: MIMEAccept | None, produces: list[str], schema: dict[str, Any] | None = None,
              examples: dict[str, Any] | None = None) -> str:
    """The media type to answer in: the best of ``produces`` the request accepts that can carry
    ``schema`` (among equals, one the response has an example for, then JSON); JSON when none can."""
    usable = [m for m in produces if carries(m, schema)] or ["application/json"]
    ranked = sorted(usable, key=lambda m: (m not in (examples or {}), not is_json(m)))
    if accept is not None and accept and accept.provided:
        best = accept.best_match(ranked)
        if best:
            return str(best)
    return ranked[0]


def response_example(response: dict[str, Any], definitions: dict[str, Any], produces: list[str],
                     accept: MIMEAccept | None = None, check: Check | None = None) -> tuple[bool, Any, str]:
    """``(has_body, body, media_type)`` for a declared response. An OpenAPI 3.x response
    (``x-content``) is answered in one of its own media types, with that type's schema.

    With ``check(schema, value)``, a JSON example its schema refuses (specs often carry stale ones)
    is passed over for a generated body, and ``oneOf`` samples pick a member no other accepts."""
    schema = response.get("schema")
    examples = response.get("examples") or {}
    content = response.get("x-content")
    if isinstance(content, dict) and content:
        media = negotiate(accept, list(content), None, examples)
        own = (content.get(media) or {}).get("schema")
        if media in examples and _fits(examples[media], own, media, check):
            return True, copy.deepcopy(examples[media]), media
        if not is_json(media) and (own is None or (own.get("type") == "string" and own.get("format") == "binary")):
            return True, file_bytes(media), media
        return True, sample(own if own is not None else {}, definitions, check=check), media
    media = negotiate(accept, produces, schema, examples)
    if media in examples and _fits(examples[media], schema, media, check):
        return True, copy.deepcopy(examples[media]), media
    if schema is None:
        return False, None, media
    if schema.get("type") == "file":
        return True, file_bytes(media), media
    return True, sample(schema, definitions, check=check), media


def _fits(example: Any, schema: dict[str, Any] | None, media: str, check: Check | None) -> bool:
    """Whether an example can be answered: always without a check, a schema or a JSON type."""
    return check is None or schema is None or not is_json(media) or check(schema, example)


def file_bytes(media: str) -> bytes:
    """A few bytes of a file of type ``media``."""
    return _FILE_BYTES.get(media.split(";", 1)[0].strip().lower(), b"macaron fake file\n")


def header_value(header: dict[str, Any]) -> str:
    """A value for a declared response header, as its ``type``/``format``/``items`` and
    ``collectionFormat`` say it is written; the header's own ``example``/``default`` first."""
    for key in ("example", "default"):
        if key in header:
            return _text(header[key], header)
    if header.get("enum"):
        return _text(header["enum"][0], header)
    return _text(_value(header), header)


def _value(schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    if kind == "array":
        items = schema.get("items") or {"type": "string"}
        count = max(1, int(schema.get("minItems", 1)))
        values = [_value(items) for _ in range(count)]
        if schema.get("uniqueItems") and items.get("type") in ("integer", "number"):
            values = [v + i for i, v in enumerate(values)]
        return values
    if kind in ("integer", "number"):
        return number(schema, kind)
    if kind == "boolean":
        return True
    if schema.get("enum"):
        return schema["enum"][0]
    if schema.get("format") == "date-time":
        return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    if not schema.get("format") and not schema.get("pattern"):  # an id, most likely: a fresh one each time
        high = schema.get("maxLength")
        token = secrets.token_hex(11)[: int(high) if high is not None else None]
        return string({**schema, "format": None}, default=token)
    return string(schema)


def _text(value: Any, schema: dict[str, Any]) -> str:
    if isinstance(value, list):
        delimiter = _DELIMITERS.get(str(schema.get("collectionFormat", "csv")), ",")
        return delimiter.join(_text(v, schema.get("items") or {}) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
