"""HTTP Basic for a service: each ``type: basic`` scheme of the spec with the verifier its
``x-verify-server: module.function`` names, and the 401 a request without good credentials
gets. When the guard (:mod:`.security`) calls here, and what the verifier returns, is said there.

Rule: imports only the core, ``auth`` (the Bearer challenge) and :mod:`.credentials`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._core.errors import SpecError, Unauthorized
from ..auth._authority import challenge
from .credentials import basic_credentials

if TYPE_CHECKING:
    from .._core.service import Service

BASIC_FORM = "'Authorization: Basic <base64 of user:password>'"


@dataclass(frozen=True)
class Basic:
    """A Basic scheme of the spec and the service's verifier for it."""

    name: str
    verify: Callable[[str, str], Any]


def basic_scheme(service: Service, where: str, name: str, scheme: dict[str, Any], listed: Any) -> Basic:
    """The scheme ``name`` with its verifier; a SpecError saying what to write when it has none."""
    if listed:
        raise SpecError(f"{where}: security scheme {name!r} is type: basic, which has no scopes; list none ([])")
    target = scheme.get("x-verify-server")
    if not target:
        raise SpecError(
            f"{where}: security scheme {name!r} is type: basic; say which function checks the user and "
            "password with 'x-verify-server: module.function' on the scheme (called as f(user, password), "
            "returning the caller's claims, True, or a false value to refuse)"
        )
    verify = service.resolve(str(target), where=f"{where}: security scheme {name!r}: x-verify-server")
    if not callable(verify):
        raise SpecError(f"{where}: security scheme {name!r}: x-verify-server {target!r} is not callable")
    return Basic(name, verify)


def refuse_basic(service: Service, code: str, detail: str, *, both: bool) -> Unauthorized:
    """A 401 challenging for Basic credentials (and a bearer token too, when ``both`` would do)."""
    challenges = [f'Basic realm="{service.name}", charset="UTF-8"']
    if both:
        challenges.append(challenge(service, "invalid_request", detail)["WWW-Authenticate"])
    return Unauthorized(detail, code=code, headers={"WWW-Authenticate": ", ".join(challenges)})


def check_basic(service: Service, schemes: tuple[Basic, ...], encoded: str, *, both: bool) -> dict[str, Any]:
    """The claims for the Basic credentials ``encoded`` (the header after ``Basic``), from the
    first verifier that accepts them; a 401 ``CREDENTIALS_INVALID`` when malformed or refused."""
    credentials = basic_credentials(encoded)
    if credentials is None:
        raise refuse_basic(service, "CREDENTIALS_INVALID", f"the Authorization header must read {BASIC_FORM}",
                           both=both)
    user, password = credentials
    for scheme in schemes:
        verdict = scheme.verify(user, password)
        if verdict:
            return {"sub": user, **verdict} if isinstance(verdict, dict) else {"sub": user}
    raise refuse_basic(service, "CREDENTIALS_INVALID", "the user or the password was not accepted", both=both)
