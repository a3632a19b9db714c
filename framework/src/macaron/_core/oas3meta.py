"""Meta-validation of OpenAPI 3.0 and 3.1 documents: the OAI's JSON Schemas of the two versions,
compiled with jsonschema-rs (once per process, per version).

The schema files are the ones openapi-spec-validator ships (its ``resources/schemas/v3.0`` and
``v3.1``), read from the installed package without importing it: importing openapi-spec-validator
registers the OAS 3.1 dialect in jsonschema's process-wide store of meta-schemas, after which
bravado-core (the 2.0 clients) walks that store and tries to download ``spec.openapis.org`` —
a network call, and a failure offline. What the schemas cannot check — path parameters declared,
operationIds unique, refs that resolve — the loader checks itself (:mod:`.refs`, :mod:`.operations`).

A ``oneOf`` failure (a response, a parameter, a schema) is reported by the error deepest in the
document, with a hint for the usual mistakes, so the message points at the bad key rather than
saying "not valid under any of the schemas". Every message is ``<file>: at '<JSON pointer>': <what
is wrong>``, as for Swagger 2.0.

Rule: imports only third-party packages and the standard library.
"""

from __future__ import annotations

import functools
import importlib.util
import json
from pathlib import Path
from typing import Any

import jsonschema_rs

_HINTS = {
    "responses": "a response needs a 'description' and may have only 'headers', 'content', 'links'",
    "parameters": "a parameter needs 'name', 'in' (path, query, header or cookie) and a 'schema' or "
                  "'content'; path parameters must say 'required: true'",
}


@functools.cache
def _validator(version: str) -> Any:
    found = importlib.util.find_spec("openapi_spec_validator")
    if found is None or not found.submodule_search_locations:
        raise RuntimeError("openapi-spec-validator is not installed (macaron's dependency for OpenAPI 3.x)")
    root = Path(next(iter(found.submodule_search_locations)))
    schema = json.loads((root / "resources" / "schemas" / f"v{version}" / "schema.json").read_text(encoding="utf-8"))
    if version == "3.0":
        return jsonschema_rs.Draft4Validator(schema)
    return jsonschema_rs.Draft202012Validator(schema)


def _pointer(parts: Any) -> str:
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts) if parts else "/"


def _deepest(errors: list[Any]) -> Any:
    best = errors[0]
    for error in errors:
        for branch in getattr(error.kind, "context", None) or []:
            if branch:
                candidate = _deepest(list(branch))
                if len(candidate.instance_path) > len(best.instance_path):
                    best = candidate
        if len(error.instance_path) > len(best.instance_path):
            best = error
    return best


def _hint(parts: list[Any]) -> str | None:
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] in _HINTS and i >= len(parts) - 2:
            return _HINTS[str(parts[i])]
    return None


def meta_error(path: Path, document: dict[str, Any], version: str) -> str | None:
    """``None`` when ``document`` is a valid OpenAPI ``version`` ("3.0"/"3.1") document, else why not."""
    validator = _validator(version)
    try:
        if validator.is_valid(document):
            return None
        errors = list(validator.iter_errors(document))
    except (RecursionError, ValueError) as exc:
        return f"{path}: at '/': the document cannot be checked: {str(exc)[:200]}"
    if not errors:
        return None
    first = min(errors, key=lambda e: len(e.instance_path))
    parts = list(first.instance_path)
    if type(first.kind).__name__ in ("OneOfNotValid", "AnyOf", "OneOfMultipleValid"):
        hint = _hint(parts)
        if hint:
            return f"{path}: at '{_pointer(parts)}': {hint}"
    deep = _deepest(errors)
    message = str(deep.message).splitlines()[0] if deep.message else "is not valid"
    return f"{path}: at '{_pointer(list(deep.instance_path))}': {message[:300]}"
