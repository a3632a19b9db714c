"""OpenAPI 3.x parameter serialisation (``style``/``explode``): text as sent → text values.

A parameter's text is first cut into its parts here — a string, a list of strings (an array) or
a mapping of strings (an object) — and only then typed by its schema (:mod:`macaron._server.params`).
The styles, for a value ``id`` = 5, [3, 4, 5] or {role: admin, firstName: Alex}:

=====================  ====================  ========================  ===================================
style (explode)        primitive             array                     object
=====================  ====================  ========================  ===================================
simple                 ``5``                 ``3,4,5``                 ``role,admin,firstName,Alex``
simple (true)          ``5``                 ``3,4,5``                 ``role=admin,firstName=Alex``
label                  ``.5``                ``.3,4,5``                ``.role,admin,firstName,Alex``
label (true)           ``.5``                ``.3.4.5``                ``.role=admin.firstName=Alex``
matrix                 ``;id=5``             ``;id=3,4,5``             ``;id=role,admin,firstName,Alex``
matrix (true)          ``;id=5``             ``;id=3;id=4;id=5``       ``;role=admin;firstName=Alex``
form                   ``id=5``              ``id=3,4,5``              ``id=role,admin,firstName,Alex``
form (true)            ``id=5``              ``id=3&id=4&id=5``        ``role=admin&firstName=Alex``
spaceDelimited         —                     ``id=3%204%205``          ``id=role%20admin%20firstName%20Alex``
pipeDelimited          —                     ``id=3|4|5``              ``id=role|admin|firstName|Alex``
deepObject (true)      —                     —                         ``id[role]=admin&id[firstName]=Alex``
=====================  ====================  ========================  ===================================

The query's and a form's repeated names and ``name[key]`` pairs are gathered by the reader (which
holds the request); this module cuts one text, or a list of texts, into parts. A malformed text is
a ``ValueError`` saying what was expected, which the reader reports naming the parameter.

Rule: pure functions over text; imports nothing of macaron.
"""

from __future__ import annotations

from typing import Any

_DELIMITER = {"simple": ",", "form": ",", "label": ",", "matrix": ",", "spaceDelimited": " ",
              "pipeDelimited": "|"}


def _pairs(parts: list[str]) -> dict[str, str]:
    if len(parts) % 2:
        raise ValueError("must be key,value pairs (an odd number of parts was sent)")
    return {parts[i]: parts[i + 1] for i in range(0, len(parts), 2)}


def _assignments(parts: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in parts:
        key, eq, value = part.partition("=")
        if not eq:
            raise ValueError(f"must be key=value pairs ({part[:40]!r} has no '=')")
        out[key] = value
    return out


def _prefix(style: str, name: str, raw: str, explode: bool, kind: str | None) -> str:
    """The text after a label's ``.`` or a matrix's ``;name=``."""
    if style == "label":
        if not raw.startswith("."):
            raise ValueError("must start with '.' (label style)")
        return raw[1:]
    if style == "matrix":
        if explode and kind == "object":
            if not raw.startswith(";"):
                raise ValueError("must start with ';' (matrix style)")
            return raw[1:]
        head = f";{name}="
        if not raw.startswith(head) and raw != f";{name}":
            raise ValueError(f"must start with '{head}' (matrix style)")
        return raw[len(head):]
    return raw


def split(style: str, explode: bool, kind: str | None, name: str, raw: Any) -> Any:
    """The parts of one parameter's text (``raw``: a string, or the list of a repeated name)."""
    if isinstance(raw, list):  # a repeated query or form name: each is one item
        return raw if kind == "array" else raw[0] if raw else ""
    text = _prefix(style, name, str(raw), explode, kind)
    if kind == "array":
        if text == "":
            return []
        if style == "label" and explode:
            return text.split(".")
        if style == "matrix" and explode:
            return [p[len(name) + 1:] if p.startswith(name + "=") else p for p in text.split(f";{name}=")]
        return text.split(_DELIMITER.get(style, ","))
    if kind == "object":
        if text == "":
            return {}
        if explode:
            separator = "." if style == "label" else ";" if style == "matrix" else ","
            return _assignments(text.split(separator))
        return _pairs(text.split(_DELIMITER.get(style, ",")))
    return text


def deep_object(name: str, args: Any) -> dict[str, str] | None:
    """``name[key]=value`` pairs of a query (a MultiDict), or None when none was sent."""
    head = name + "["
    found = {key[len(head):-1]: args.get(key) for key in args if key.startswith(head) and key.endswith("]")}
    return found or None


def _text(value: Any) -> str:
    if value is True or value is False:
        return "true" if value else "false"
    return "" if value is None else str(value)


def encode(style: str, explode: bool, name: str, value: Any) -> str:
    """One parameter's text (path, header, cookie, or a query value that is not exploded), the
    inverse of :func:`split`: ``encode("label", True, "id", [3, 4])`` → ``.3.4``."""
    sep = _DELIMITER.get(style, ",")
    if isinstance(value, list):
        parts = [_text(v) for v in value]
        if style == "label":
            return "." + ("." if explode else ",").join(parts)
        if style == "matrix":
            return "".join(f";{name}={p}" for p in parts) if explode else f";{name}=" + ",".join(parts)
        return sep.join(parts)
    if isinstance(value, dict):
        if explode:
            pairs = [f"{k}={_text(v)}" for k, v in value.items()]
            if style == "label":
                return "." + ".".join(pairs)
            if style == "matrix":
                return "".join(f";{p}" for p in pairs)
            return ",".join(pairs)
        flat = sep.join(f"{k}{sep}{_text(v)}" for k, v in value.items())
        return f".{flat}" if style == "label" else f";{name}={flat}" if style == "matrix" else flat
    text = _text(value)
    return f".{text}" if style == "label" else f";{name}={text}" if style == "matrix" else text


def query_pairs(style: str, explode: bool, name: str, value: Any) -> list[tuple[str, str]]:
    """A query parameter's ``(name, text)`` pairs, as the query string carries them."""
    if isinstance(value, dict) and style == "deepObject":
        return [(f"{name}[{k}]", _text(v)) for k, v in value.items()]
    if isinstance(value, dict) and explode:
        return [(str(k), _text(v)) for k, v in value.items()]
    if isinstance(value, list) and explode:
        return [(name, _text(v)) for v in value]
    return [(name, encode(style, False, name, value))]
