"""The request path of a spec operation, its order written once.

``STAGES`` names the modules a request meets, in order; :func:`operation_call` is the one place
that order is code. What runs around it — the request id, the route, Flask's request context,
the log line and metrics, and turning any exception into problem+json — is ``dispatch``'s
(``RequestRecord``), the same for operations and built-ins.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

#: (module, what it does), in the order a request meets them.
STAGES: tuple[tuple[str, str], ...] = (
    ("serve", "the front reads the request within limits and deadlines (gunicorn's arbiter around it); "
              "its own refusals as problem+json"),
    ("dispatch", "request id in; route matched (routing); Flask's request context pushed"),
    ("security", "the spec's security: bearer JWT from header or cookie, or HTTP Basic → verified claims"),
    ("validation", "path, query, header, formData and body (read by body within max_body_bytes) → kwargs"),
    ("handler", "the service's function"),
    ("responses", "status declared? body valid? → bytes of a declared type"),
    ("errors", "any exception → the problem+json answer (dispatch.RequestRecord, _core.errors)"),
)

Parts = tuple[bytes, int, dict[str, str]]  # body, status, extra headers
Call = Callable[[Any, dict[str, str]], Parts]


def operation_call(
    guards: Sequence[Callable[[Any], None]],
    parse: Callable[[Any, dict[str, str]], dict[str, Any]],
    handler: Callable[..., Any],
    render: Callable[[Any], Parts],
    variables: Mapping[str, str],
) -> Call:
    """One operation's stages after dispatch, as the function dispatch calls per request."""

    def call(req: Any, args: dict[str, str]) -> Parts:
        for guard in guards:  # security first (the spec's security:), then any added guards
            guard(req)
        kwargs = parse(req, {variables[k]: v for k, v in args.items()})  # validation (reads the body)
        return render(handler(**kwargs))  # the handler, then response validation

    return call
