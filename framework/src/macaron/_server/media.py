"""The media types a body parameter's operation ``consumes``, and what a body of each becomes.

A body is accepted when its ``Content-Type`` is declared: exactly, through a wildcard the
operation declares (``*/*``, ``image/*``), or as a ``+json`` type where ``application/json`` is
declared (a structured-syntax suffix: it is JSON). Anything else, or a body without a
``Content-Type``, is a 415 naming the declared types. What the handler receives:

- JSON (``application/json``, any ``+json``): parsed, checked for unfit values, validated
  against the body schema, a model when the schema is a definition — as always.
- Text (``text/*``, ``application/xml``, any ``+xml``): a ``str``, decoded by the header's
  ``charset`` (UTF-8 when none; text that does not decode is a 400 ``MALFORMED_BODY``),
  validated only when the body schema is ``type: string`` (its maxLength, pattern, enum).
  macaron does not parse XML: the handler gets the document as sent.
- Any other type (``application/octet-stream``, ``image/png``, ...): the ``bytes`` as sent.

Every body, raw or not, is read within ``max_body_bytes`` (:mod:`.body`).

Rule: imports only the core.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable

from flask import Request

from .._core.errors import BadRequest, UnsupportedMediaType

_CHARSETS = ("", "; charset=utf-8", "; charset=UTF-8", ";charset=utf-8", ";charset=UTF-8")
_TEXT_APPLICATIONS = frozenset({"application/xml"})


def is_json(mimetype: str) -> bool:
    return mimetype == "application/json" or mimetype.endswith("+json")


def is_text(mimetype: str) -> bool:
    return mimetype.startswith("text/") or mimetype.endswith("+xml") or mimetype in _TEXT_APPLICATIONS


class Consumes:
    """An operation's declared body types, matched against requests."""

    def __init__(self, declared: Iterable[str]) -> None:
        self.declared = [d.split(";")[0].strip().lower() for d in declared if d and d.strip()]
        self.exact_json = frozenset(  # Content-Type headers of a JSON body accepted as sent, unparsed
            f"{t}{charset}" for t in self.declared if is_json(t) for charset in _CHARSETS
        )

    def accepts(self, mimetype: str) -> bool:
        for declared in self.declared:
            if mimetype == declared or declared == "*/*":
                return True
            if declared.endswith("/*") and mimetype.startswith(declared[:-1]):
                return True
            if declared == "application/json" and mimetype.endswith("+json"):
                return True
        return False

    def media_type(self, request: Request) -> str:
        """The request body's type (lowercased, no parameters) if declared; 415 otherwise."""
        if request.environ.get("CONTENT_TYPE") in self.exact_json:  # the usual header as sent: no parse
            return "application/json"
        mimetype = request.mimetype
        allowed = ", ".join(self.declared)
        if not mimetype:
            raise UnsupportedMediaType(f"send the body as {self.declared[0]} (Content-Type header missing)")
        if not self.accepts(mimetype):
            raise UnsupportedMediaType(f"Content-Type {mimetype!r} is not accepted; use {allowed}")
        return mimetype


def raw_body(request: Request, mimetype: str, raw: bytes) -> str | bytes:
    """A body that is not JSON, as the handler gets it: text decoded, anything else as bytes."""
    if not is_text(mimetype):
        return raw
    charset = request.mimetype_params.get("charset") or "utf-8"
    try:
        codecs.lookup(charset)
    except LookupError:
        raise BadRequest(f"the body's charset {charset[:40]!r} is not known", code="MALFORMED_BODY") from None
    try:
        return raw.decode(charset)
    except UnicodeDecodeError:
        raise BadRequest(f"the body is not valid {charset[:40]} text", code="MALFORMED_BODY") from None
