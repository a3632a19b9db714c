"""Ports on a developer's machine: one that is free now, for tests and the dev tooling."""

from __future__ import annotations

import socket
from collections import deque

_RECENT: deque[int] = deque(maxlen=256)  # handed out lately: a system of many processes asks many times


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (for tests and dev tooling), and not one this process
    handed out lately: the kernel may offer a just-closed port again before its first taker binds it
    (a local system of N instances asks for a dozen ports before starting any of them)."""
    for _ in range(64):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
            port = int(sock.getsockname()[1])
        if port not in _RECENT:
            break
    _RECENT.append(port)
    return port
