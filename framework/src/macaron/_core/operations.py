"""A spec's operations, indexed: parameters merged and checked against the path template, and
a name for every operation, written or derived.

Names. An operation is named by its ``operationId``. Swagger 2.0 makes that optional, and a
fake, the docs, fuzzing and clients need none, so an operation without one gets a name derived
from its method and path (:func:`derived_name`): the method, then each word of the path —
runs of ASCII letters and digits, camelCase split, lowercased — joined by ``_``::

    GET /users/{id}.json             → get_users_id_json
    POST /Accounts/{AccountSid}/Calls → post_accounts_account_sid_calls
    GET /                            → get_root

Written operationIds keep their names. Two operations whose derived names coincide (``/a.json``
and ``/a/json``), or one that coincides with a written operationId, are told apart
deterministically: the operation whose path sorts first (then by method, in
:data:`HTTP_METHODS` order) keeps the name, the others get ``_2``, ``_3``, ... in that order,
skipping names already taken. Names depend only on the set of operations, not on their order
in the file.

Path templates may sit inside a segment (``/users/{id}.json``, ``/apps/{sid}{ext}``). A ``{name}``
no parameter declares is taken as a required string (with a :class:`SpecWarning`); a parameter
declared ``in: path`` must appear in the template.

Rule: imports only :mod:`.errors` and :mod:`.refs` (``spec`` builds on this module).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import SpecError, SpecWarning
from .refs import pointer_get

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch")
TEMPLATE = re.compile(r"\{([^{}/]+)\}")  # one {name} of a path template, anywhere in a segment
_WORD = re.compile(r"[A-Za-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


@dataclass
class Operation:
    """One operation of the spec, with path-level parameters merged and refs inlined.

    ``operation_id`` is its name: the spec's ``operationId``, or the derived name when it has
    none (``declared`` says which).
    """

    operation_id: str
    method: str
    path: str
    spec: dict[str, Any]
    parameters: list[dict[str, Any]]
    responses: dict[str, dict[str, Any]]
    consumes: list[str]
    produces: list[str]
    security: list[dict[str, list[str]]] | None
    declared: bool = True

    @property
    def label(self) -> str:
        return f"{self.operation_id} ({self.method.upper()} {self.path})"


def template_names(path: str) -> list[str]:
    """The variables of a path template, in order: ``/apps/{sid}{ext}`` → ``['sid', 'ext']``."""
    return TEMPLATE.findall(path)


def derived_name(method: str, path: str) -> str:
    """The name of an operation without an operationId (see the module's docstring)."""
    words = [w.lower() for word in _WORD.findall(path) for w in _CAMEL.split(word) if w]
    return "_".join([method.lower(), *(words or ["root"])])


def _assign_names(operations: list[Operation]) -> None:
    """Give each operation without an operationId its derived name, collisions resolved."""
    taken = {op.operation_id for op in operations if op.declared}
    unnamed = sorted(
        (op for op in operations if not op.declared),
        key=lambda op: (op.operation_id, op.path, HTTP_METHODS.index(op.method)),
    )
    bases = {op.operation_id for op in unnamed}
    rest: list[Operation] = []
    for op in unnamed:  # plain names first: a suffix never takes a name an operation derives
        if op.operation_id in taken:
            rest.append(op)
        else:
            taken.add(op.operation_id)
    for op in rest:
        n = 2
        while f"{op.operation_id}_{n}" in taken or f"{op.operation_id}_{n}" in bases:
            n += 1
        op.operation_id = f"{op.operation_id}_{n}"
        taken.add(op.operation_id)


def _merge_parameters(path_level: list[dict[str, Any]], op_level: list[dict[str, Any]]) -> list[dict[str, Any]]:
    merged = {(p.get("name"), p.get("in")): p for p in path_level}
    merged.update({(p.get("name"), p.get("in")): p for p in op_level})
    return list(merged.values())


def _deref(document: dict[str, Any], node: Any, where: str) -> Any:
    while isinstance(node, dict) and isinstance(node.get("$ref"), str):
        ref = node["$ref"]
        if ref.startswith("#/definitions/"):
            return node
        node = pointer_get(document, ref[1:], where)
    return node


def index_operations(path: Path, doc: dict[str, Any]) -> list[Operation]:
    """Every operation of the (resolved, meta-validated) document at ``path``, named and checked."""
    operations: list[Operation] = []
    seen: dict[str, str] = {}
    for route, item in (doc.get("paths") or {}).items():
        path_params = [_deref(doc, p, f"{path}: {route}") for p in item.get("parameters", [])]
        for method in HTTP_METHODS:
            op = item.get(method)
            if op is None:
                continue
            op_id = str(op.get("operationId") or "")
            label = f"{path}: operation {op_id or derived_name(method, route)} ({method.upper()} {route})"
            if op_id in seen:
                raise SpecError(f"{label}: operationId {op_id!r} is also used by {seen[op_id]}")
            if op_id:
                seen[op_id] = f"{method.upper()} {route}"
            params = _merge_parameters(path_params, [_deref(doc, p, label) for p in op.get("parameters", [])])
            params += _implied_path_parameters(path, route, op, params)
            _check_parameters(label, route, params)
            responses = {str(k): _deref(doc, v, label) for k, v in (op.get("responses") or {}).items()}
            operations.append(
                Operation(
                    operation_id=op_id or derived_name(method, route),
                    method=method,
                    path=route,
                    spec=op,
                    parameters=params,
                    responses=responses,
                    consumes=list(op.get("consumes") or doc.get("consumes") or ["application/json"]),
                    produces=list(op.get("produces") or doc.get("produces") or ["application/json"]),
                    security=op.get("security", doc.get("security")),
                    declared=bool(op_id),
                )
            )
    _assign_names(operations)
    return operations


def _implied_path_parameters(path: Path, route: str, op: dict[str, Any], params: list[dict[str, Any]]) -> list[Any]:
    """A ``{name}`` of the path that no parameter declares (an invalid spec that connexion and
    many hand-written specs rely on): taken as a required string, added to the operation's
    parameters in the document too, so the docs, fakes, fuzzing and clients see the same
    operation the router serves; a warning names it."""
    declared = {p.get("name") for p in params if p.get("in") == "path"}
    implied = []
    for name in template_names(route):
        if name not in declared:
            implied.append({"name": name, "in": "path", "required": True, "type": "string",
                            "description": "Not declared in the spec: taken as a string."})
            warnings.warn(f"{path}: {route}: path parameter {{{name}}} is not declared; taken as a required string",
                          SpecWarning, stacklevel=2)
    if implied:
        op["parameters"] = [*op.get("parameters", []), *implied]
    return implied


def _check_parameters(label: str, route: str, params: list[dict[str, Any]]) -> None:
    names_in_path = set(template_names(route))
    declared = {p["name"] for p in params if p.get("in") == "path"}
    for missing in sorted(names_in_path - declared):
        raise SpecError(f"{label}: path parameter {{{missing}}} is not declared in 'parameters'")
    for extra in sorted(declared - names_in_path):
        raise SpecError(f"{label}: parameter {extra!r} is 'in: path' but {route} has no {{{extra}}}")
    if sum(1 for p in params if p.get("in") == "body") > 1:
        raise SpecError(f"{label}: an operation can have at most one body parameter")
    if any(p.get("in") == "body" for p in params) and any(p.get("in") == "formData" for p in params):
        raise SpecError(f"{label}: body and formData parameters cannot be mixed")
