"""Which address a request comes from, behind proxies the service trusts (``trusted_proxies``).

Behind a load balancer ``REMOTE_ADDR`` is the balancer's address, so everything keyed on it
(the user service's per-address rate limits, Auth0's brute-force block per user and address,
the request log line) would treat every client as one. Proxies append the address they got a
request from to ``X-Forwarded-For`` (or RFC 7239 ``Forwarded``), but a client can send that
header too, so it is only believed as far as the hops that wrote it are trusted:

* The chain is the header's addresses, left to right, then ``REMOTE_ADDR``. It is walked from
  the right: a trusted hop's entry says who sent it the request, so the walk steps left past it;
  the first address that is not a trusted proxy is the client. Entries left of it are whatever
  the client wrote and are never read. A peer that is not trusted is the client itself, and its
  headers are ignored (a forged ``X-Forwarded-For`` from an untrusted peer changes nothing).
* A hop is trusted when it is one of the ``hops`` nearest ones (``REMOTE_ADDR`` is the first)
  or its address is in one of ``cidrs``. Hop counting fits a fixed path (ALB → instance: 1);
  CIDRs fit a path whose length varies (an extra nginx on some platforms) and never trust a
  client that reaches an instance directly. Only ``header`` is read (``x-forwarded-for``, the
  default, written by ALB and nginx; or ``forwarded``): a proxy that writes one header cannot
  vouch for the other, which the client may have filled in.
* A malformed entry (not an IP address: ``unknown``, an obfuscated ``_node``) ends the walk; the
  address of the hop that passed it on is the answer.

``service.yaml``::

    trusted_proxies: {hops: 1}                        # or a bare 1
    trusted_proxies: {cidrs: [10.0.0.0/8], header: x-forwarded-for}   # or a bare list of CIDRs

Default (absent, ``null``, ``0`` or ``{}``): trust nothing, the client is ``REMOTE_ADDR``. The
environment sets it with ``MACARON_TRUSTED_PROXIES`` (a YAML value, as above) where the file
has no such key (``infra/defaults/beanstalk.yaml`` does that for the Beanstalk shape).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .._core.errors import ConfigError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
HEADERS = {"x-forwarded-for": "HTTP_X_FORWARDED_FOR", "forwarded": "HTTP_FORWARDED"}
CACHE_KEY = "macaron.client_address"  # the answer, kept in the request's environ
_KEYS = {"hops", "cidrs", "header"}
_FORWARDED_PAIR = re.compile(r'\s*([A-Za-z]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;,\s]*)\s*')


def parse_address(text: str) -> Address | None:
    """An address as proxies write it: ``1.2.3.4``, ``1.2.3.4:5678``, ``[2001:db8::1]:80``,
    ``2001:db8::1``, quoted or not; IPv4-mapped IPv6 as IPv4. None when it is not an address."""
    text = text.strip().strip('"').strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def forwarded_for(value: str) -> list[str]:
    """The ``for=`` values of an RFC 7239 ``Forwarded`` header, one per element, left to right
    (an element without one counts as ``unknown``)."""
    out: list[str] = []
    for element in _split_outside_quotes(value, ","):
        found = "unknown"
        for pair in _split_outside_quotes(element, ";"):
            match = _FORWARDED_PAIR.fullmatch(pair)
            if match and match.group(1).lower() == "for":
                found = match.group(2).strip('"').replace('\\"', '"')
        if element.strip():
            out.append(found)
    return out


def _split_outside_quotes(text: str, sep: str) -> list[str]:
    parts, current, quoted, escaped = [], [], False, False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == sep and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts


@dataclass(frozen=True)
class TrustedProxies:
    """The proxies a service believes, and the client address of a request through them."""

    hops: int = 0
    cidrs: tuple[Network, ...] = ()
    header: str = "x-forwarded-for"

    @classmethod
    def from_config(cls, value: Any, where: str = "trusted_proxies") -> TrustedProxies:
        """From ``trusted_proxies`` of ``service.yaml``: a hop count, a list of CIDRs, or a mapping
        of ``hops``, ``cidrs`` and ``header``; ConfigError naming what is wrong."""
        if value is None or value is False or value == "":
            return cls()
        if isinstance(value, int) and not isinstance(value, bool):
            value = {"hops": value}
        elif isinstance(value, str):
            value = {"hops": value} if value.strip().isdigit() else {"cidrs": value}
        elif isinstance(value, list | tuple):
            value = {"cidrs": list(value)}
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: must be a hop count, a list of CIDRs or a mapping of {sorted(_KEYS)}")
        if unknown := sorted(set(value) - _KEYS):
            raise ConfigError(f"{where}: unknown keys {unknown} (allowed: {sorted(_KEYS)})")
        hops = value.get("hops") or 0
        if isinstance(hops, bool) or not str(hops).strip().isdigit():
            raise ConfigError(f"{where}.hops: must be a whole number of proxies (0: none), got {hops!r}")
        cidrs = value.get("cidrs") or []
        if isinstance(cidrs, str):
            cidrs = [c for c in re.split(r"[\s,]+", cidrs) if c]
        networks = []
        for cidr in cidrs if isinstance(cidrs, list | tuple) else [cidrs]:
            try:
                networks.append(ipaddress.ip_network(str(cidr).strip(), strict=False))
            except ValueError:
                raise ConfigError(f"{where}.cidrs: {cidr!r} is not an address or a network (10.0.0.0/8)") from None
        header = str(value.get("header") or "x-forwarded-for").lower()
        if header not in HEADERS:
            raise ConfigError(f"{where}.header: {header!r} is not one of {sorted(HEADERS)}")
        return cls(hops=int(hops), cidrs=tuple(networks), header=header)

    @property
    def trusts_nothing(self) -> bool:
        return self.hops == 0 and not self.cidrs

    def trusted(self, address: Address, position: int) -> bool:
        """Whether the hop ``position`` places from the service (0: ``REMOTE_ADDR``) is a proxy."""
        return position < self.hops or any(address.version == n.version and address in n for n in self.cidrs)

    def chain(self, environ: Mapping[str, Any]) -> list[str]:
        """The forwarded addresses of a request, left to right, without ``REMOTE_ADDR``."""
        raw = environ.get(HEADERS[self.header])
        if not raw:
            return []
        if self.header == "forwarded":
            return forwarded_for(str(raw))
        return [part.strip() for part in str(raw).split(",") if part.strip()]

    def client(self, environ: dict[str, Any]) -> str | None:
        """The client's address of the request ``environ`` (cached in it)."""
        cached = environ.get(CACHE_KEY)
        if cached is not None:
            return str(cached) or None
        peer = environ.get("REMOTE_ADDR") or None
        answer = peer if self.trusts_nothing else self.walk(peer, self.chain(environ))
        environ[CACHE_KEY] = answer or ""
        return answer

    def walk(self, peer: str | None, forwarded: list[str]) -> str | None:
        """The first untrusted address from the right of ``forwarded + [peer]``."""
        current = peer
        for position, text in enumerate([peer or "", *reversed(forwarded)]):
            address = parse_address(text)
            if address is None:
                return current
            current = str(address)
            if not self.trusted(address, position):
                return current
        return current
