"""Who is calling, and tokens to call other services with.

In a handler of a secured operation (the spec's ``security:`` did the checking)::

    from macaron.auth import current_user, get_user_id, current_token
    current_user()   # the verified claims, e.g. {"sub": "alice", "scope": "...", ...}
    get_user_id()    # "alice"
    current_token()  # the raw bearer token, for forwarding

Minting (with this service's key configuration, see ``macaron.auth._tokens``)::

    generate_token("alice", ttl=3600, scopes=["profile"])           # for this service
    generate_token("alice", audience="mail", act={"sub": "user"})   # on behalf of alice, for mail
    with service_token(["mail:send"], audience="mail") as token:    # backend work outside a request
        ...
    token_for("mail")   # what to present to the mail service right now (or None)

Outside a request and outside ``service_token``, pass ``service=`` explicitly.

Rule: imports only ``_core`` and ``store``; the request path's guard (``_server.security``)
and the clients come here for the token authority. Implementation in ``_api.py`` and siblings.
"""

from ._api import (
    current_token,
    current_user,
    generate_token,
    get_user_id,
    service_token,
    token_for,
    verify_token,
)

__all__ = [
    "current_token",
    "current_user",
    "generate_token",
    "get_user_id",
    "service_token",
    "token_for",
    "verify_token",
]
