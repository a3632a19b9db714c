"""JSON request bodies: parsed, and every value Python, a store or a client library cannot take
named by its field.

Rule: imports only the core.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from .._core.errors import FieldError, MalformedJson
from .._core.schema import _pointer

_MISSING = object()
# What JSON can say but Python, a store or a client library cannot take: integers beyond 64 bits (or
# beyond Python's int-digit limit), numbers that overflow to infinity, NaN/Infinity (not JSON at all),
# lone UTF-16 surrogates ("\ud800": SQLite, requests and logging fail on them) and deep nesting.
# A cheap scan of the raw bytes decides whether a body needs the slower look that names the field.
MAX_JSON_DEPTH = 64
_INT64 = (-(2**63), 2**63 - 1)
_SUSPECT = re.compile(rb"\\u[dD][89a-fA-F]|\d{19}|[eE]\+?\d{3}|NaN|Infinity")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class _Unfit:
    """Stands in, while a body is checked, for a number Python or a store cannot take."""

    def __init__(self, message: str) -> None:
        self.message = message


def _int_or_unfit(text: str) -> int | _Unfit:
    digits = len(text.lstrip("-"))
    if digits > 19:  # beyond 64 bits whatever its digits; int() refuses past sys.get_int_max_str_digits()
        return _Unfit("is an integer outside the 64-bit range")
    value = int(text)
    return value if _INT64[0] <= value <= _INT64[1] else _Unfit("is an integer outside the 64-bit range")


def _float_or_unfit(text: str) -> float | _Unfit:
    value = float(text)
    return value if math.isfinite(value) else _Unfit("is a number too large to represent (it overflows to infinity)")


def _constant(text: str) -> _Unfit:
    return _Unfit(f"is {text}, which is not a JSON number")


def unfit_json(raw: bytes, root: str = "body") -> tuple[Any, list[FieldError]]:
    """``raw`` (valid JSON) parsed again, and one error per value Python, a store or a client
    cannot take, naming its field; also too deep a nesting. Walks without recursion."""
    try:
        value = json.loads(raw, parse_int=_int_or_unfit, parse_float=_float_or_unfit, parse_constant=_constant)
    except RecursionError:
        return None, [FieldError(f"/{root}", f"is nested deeper than {MAX_JSON_DEPTH} levels")]
    errors: list[FieldError] = []
    stack: list[tuple[Any, list[str]]] = [(value, [root])]
    while stack and len(errors) < 20:
        item, path = stack.pop()
        if len(path) > MAX_JSON_DEPTH + 1:
            errors.append(FieldError(_pointer(path[:2]), f"is nested deeper than {MAX_JSON_DEPTH} levels"))
            break
        if isinstance(item, _Unfit):
            errors.append(FieldError(_pointer(path), item.message))
        elif isinstance(item, str):
            if _LONE_SURROGATE.search(item):
                errors.append(FieldError(_pointer(path), "holds a lone UTF-16 surrogate (not a character)"))
        elif isinstance(item, dict):
            for key, sub in item.items():
                if _LONE_SURROGATE.search(key):
                    clean = _LONE_SURROGATE.sub("\ufffd", key)
                    errors.append(FieldError(_pointer([*path, clean]), "is a key holding a lone UTF-16 surrogate"))
                else:
                    stack.append((sub, [*path, key]))
        elif isinstance(item, list):
            stack.extend((sub, [*path, str(i)]) for i, sub in enumerate(item))
    errors.sort(key=lambda e: e.path)
    return value, errors


def parse_json(raw: bytes) -> tuple[Any, list[FieldError]]:
    """The JSON value of a body, and the errors of its unfit values (then the value is not to be
    used); :class:`MalformedJson` when it is not JSON at all."""
    try:
        value = json.loads(raw)
    except UnicodeDecodeError:
        raise MalformedJson("the body is not valid UTF-8") from None
    except json.JSONDecodeError as exc:
        raise MalformedJson(
            f"the body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise MalformedJson("the body is nested too deeply") from None
    except ValueError:  # an integer beyond Python's int-digit limit: found and named below
        value = _MISSING
    if value is _MISSING or _SUSPECT.search(raw) or raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH:
        return unfit_json(raw)
    return value, []
