"""Meta-validation of OpenAPI 3.0 and 3.1 documents: the OAI's schemas, through
openapi-spec-validator (which also checks what a schema cannot: path parameters declared,
operationIds unique, refs that resolve).

Its errors name the place as the JSON Schema validator found it; a ``oneOf`` failure (a response,
a parameter, a schema) is reported by the error deepest in its context, so the message points at
the bad key rather than saying "not valid under any of the schemas". Every message is
``<file>: at '<JSON pointer>': <what is wrong>``, as for Swagger 2.0.

Rule: imports only third-party packages and the standard library.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

_HINTS = {
    "responses": "a response needs a 'description' and may have only 'headers', 'content', 'links'",
    "parameters": "a parameter needs 'name', 'in' (path, query, header or cookie) and a 'schema' or "
                  "'content'; path parameters must say 'required: true'",
}


def _pointer(parts: Any) -> str:
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts) if parts else "/"


def _deepest(error: Any) -> Any:
    best = error
    for sub in error.context or []:
        candidate = _deepest(sub)
        if len(candidate.absolute_path) > len(best.absolute_path):
            best = candidate
    return best


def _hint(parts: list[Any]) -> str | None:
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] in _HINTS and i >= len(parts) - 2:
            return _HINTS[str(parts[i])]
    return None


def meta_error(path: Path, document: dict[str, Any], version: str) -> str | None:
    """``None`` when ``document`` is a valid OpenAPI ``version`` ("3.0"/"3.1") document, else why not."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from openapi_spec_validator import OpenAPIV30SpecValidator, OpenAPIV31SpecValidator

    validator_class = OpenAPIV30SpecValidator if version == "3.0" else OpenAPIV31SpecValidator
    try:
        error = next(iter(validator_class(document).iter_errors()), None)
    except RecursionError:
        return f"{path}: at '/': the document is nested too deeply to check"
    if error is None:
        return None
    parts = list(getattr(error, "absolute_path", []) or [])
    if getattr(error, "context", None):
        deep = _deepest(error)
        hint = _hint(parts)
        if hint:
            return f"{path}: at '{_pointer(parts)}': {hint}"
        parts, message = list(deep.absolute_path), deep.message
    else:
        message = error.message
    first = str(message).splitlines()[0] if message else "is not valid"
    return f"{path}: at '{_pointer(parts)}': {first[:300]}"
