"""Routing: spec paths → Flask URL rules, each bound to one precomputed operation view; and
the methods a path allows, for the ``Allow`` header every 405 carries (services and fakes).

Path variables are matched as plain strings and coerced by request validation, so a
wrong type in a path gives a 400 naming the parameter instead of a bare 404. A template may
sit inside a segment: ``/users/{id}.json`` is the rule ``/users/<p0>.json`` (``GET
/users/7.json`` gives ``id="7"``, then 7 after coercion), and werkzeug prefers a rule with more
literal text, so ``/users/{id}.json`` wins over ``/users/{id}`` for ``/users/7.json``. Two
variables with nothing between them (``/apps/{sid}{ext}``) need a way to tell where one ends:
when the later one has a string ``enum``, it matches exactly those values (``/apps/AC1.json``
→ ``sid="AC1"``, ``ext=".json"``); otherwise werkzeug's greedy match leaves the later variable
one character, which is rarely what a spec means: give it an ``enum``.

Rule: imports only werkzeug and the core (``_core.operations`` parses templates).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from werkzeug.routing import Map

from .._core.operations import TEMPLATE


@dataclass(frozen=True)
class Rule:
    """A Flask rule for a spec path, and the spec name behind each rule variable."""

    rule: str
    variables: dict[str, str]


def _enum_converter(parameter: dict[str, Any] | None) -> str | None:
    """``any(".json", ".xml")`` for a path parameter with a string enum werkzeug can quote."""
    values = (parameter or {}).get("enum")
    if not isinstance(values, list) or not values:
        return None
    if not all(isinstance(v, str) and v and not set(v) & set('"\\/') for v in values):
        return None
    return "any(" + ", ".join(json.dumps(v) for v in values) + ")"


def flask_rule(base_path: str, path: str, parameters: Iterable[dict[str, Any]] = ()) -> Rule:
    """``flask_rule('/v1', '/users/{user-id}')`` → ``Rule('/v1/users/<p0>', {'p0': 'user-id'})``.

    ``parameters`` (the operation's) lets a variable right after another match its enum.
    """
    by_name = {p.get("name"): p for p in parameters if p.get("in") == "path"}
    full = (base_path.rstrip("/") + "/" + path.lstrip("/")) or "/"
    variables: dict[str, str] = {}
    out: list[str] = []
    end = 0
    for match in TEMPLATE.finditer(full):
        var = f"p{len(variables)}"
        variables[var] = match.group(1)
        converter = _enum_converter(by_name.get(match.group(1))) if match.start() == end and out else None
        out += [full[end : match.start()], f"<{converter}:{var}>" if converter else f"<{var}>"]
        end = match.end()
    out.append(full[end:])
    return Rule(rule="".join(out), variables=variables)


def endpoint_name(operation_id: str) -> str:
    """The Flask endpoint name of an operation (distinct from the built-ins' names)."""
    return f"op.{operation_id}"



def allowed_methods(url_map: Map, path: str) -> list[str]:
    """The methods ``path`` answers according to ``url_map`` (``HEAD`` and ``OPTIONS`` included
    where werkzeug adds them), sorted; empty when no rule matches the path."""
    return sorted(url_map.bind("localhost").allowed_methods(path))


def allow_header(url_map: Map, path: str, found: Iterable[str] | None = None) -> dict[str, str]:
    """``{"Allow": "GET, HEAD, OPTIONS"}`` for a 405 on ``path``: the methods routing ``found``,
    else (a 405 raised by a handler) those of the URL map; ``{}`` when neither knows any."""
    methods = sorted(set(found or ())) or allowed_methods(url_map, path)
    return {"Allow": ", ".join(methods)} if methods else {}
