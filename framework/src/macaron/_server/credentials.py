"""Credentials as a request presents them, read by the kind of security scheme that asks:
HTTP Basic (``type: basic``), a bearer token (``type: oauth2``, or ``type: apiKey`` in the
``Authorization`` header) or an API key (``type: apiKey`` in another header, the query or — OpenAPI
3.x — a cookie). OpenAPI 3.x schemes arrive in these kinds (``_core.oas3``: ``http`` basic is
``basic``; ``http`` bearer and ``openIdConnect`` are ``oauth2``).

Reading only: checking them is :mod:`.security`'s for a service (JWTs verified, Basic
credentials handed to the service's verifier); a fake accepts any well-formed credentials
(:func:`well_formed`), so a client is told when it sends the wrong kind, never which secret.

Basic credentials (RFC 7617) are ``Authorization: Basic <base64 of user:password>``: the scheme
word in any case, standard base64 with its padding, a ``:`` after the user id (the password may
hold more), UTF-8 text without control characters.

Rule: imports only flask (the request) and the standard library.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from flask import Request

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def scheme_kind(scheme: Any) -> str:
    """``"basic"``, ``"bearer"`` or ``"apiKey"`` (another header or the query); ``"unknown"`` else."""
    if not isinstance(scheme, dict):
        return "unknown"
    kind = scheme.get("type")
    if kind == "basic":
        return "basic"
    if kind == "oauth2":
        return "bearer"
    if kind == "apiKey":
        if scheme.get("in") == "header" and str(scheme.get("name", "")).lower() == "authorization":
            return "bearer"
        return "apiKey"
    return "unknown"


def authorization(request: Request) -> tuple[str, str] | None:
    """The ``Authorization`` header as ``(scheme word lowercased, the rest stripped)``; None without one."""
    value = request.headers.get("Authorization")
    if value is None:
        return None
    word, _, rest = value.strip().partition(" ")
    return word.lower(), rest.strip()


def basic_credentials(encoded: str) -> tuple[str, str] | None:
    """``(user, password)`` from the part after ``Basic``; None when it is not well formed."""
    if not encoded or " " in encoded:
        return None
    try:
        text = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):  # not base64, or not UTF-8
        return None
    user, colon, password = text.partition(":")
    if not colon or _CONTROL.search(text):
        return None
    return user, password


def well_formed(scheme: Any, request: Request) -> bool:
    """Whether ``request`` presents credentials of the kind ``scheme`` asks for, well formed
    (what a fake checks): Basic user and password, a ``Bearer`` token for oauth2, a non-empty
    API key where the scheme says. A scheme of unknown kind accepts any Authorization header."""
    kind = scheme_kind(scheme)
    if kind == "apiKey":
        where = scheme.get("in")
        source = request.args if where == "query" else request.cookies if where == "cookie" else request.headers
        return bool(source.get(str(scheme.get("name"))))
    sent = authorization(request)
    if sent is None:
        return False
    word, rest = sent
    if kind == "basic":
        return word == "basic" and basic_credentials(rest) is not None
    if kind == "bearer" and scheme.get("type") == "oauth2":
        return word == "bearer" and bool(rest) and " " not in rest
    return bool(word)  # an apiKey named Authorization: its value is the API's own business
