"""Routing: spec paths → Flask URL rules, each bound to one precomputed operation view.

Path variables are matched as plain strings and coerced by request validation, so a
wrong type in a path gives a 400 naming the parameter instead of a bare 404.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TEMPLATE = re.compile(r"\{([^{}/]+)\}")


@dataclass(frozen=True)
class Rule:
    """A Flask rule for a spec path, and the spec name behind each rule variable."""

    rule: str
    variables: dict[str, str]


def flask_rule(base_path: str, path: str) -> Rule:
    """``flask_rule('/v1', '/users/{user-id}')`` → ``Rule('/v1/users/<p0>', {'p0': 'user-id'})``."""
    variables: dict[str, str] = {}

    def replace(match: re.Match[str]) -> str:
        var = f"p{len(variables)}"
        variables[var] = match.group(1)
        return f"<{var}>"

    rule = _TEMPLATE.sub(replace, (base_path.rstrip("/") + "/" + path.lstrip("/")) or "/")
    return Rule(rule=rule, variables=variables)


def endpoint_name(operation_id: str) -> str:
    """The Flask endpoint name of an operation (distinct from the built-ins' names)."""
    return f"op.{operation_id}"
