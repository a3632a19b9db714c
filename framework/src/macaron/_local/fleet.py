"""A local system past one machine: N instances of each service behind a load balancer and N
workers per service with tasks, sharing what production shares (one Redis; one store: DynamoDB
through moto). :class:`macaron.testing.LocalSystem` (``instances=N``) plans with this; a dev
option can use the same pieces.

The shape, and why:

* **Instances** are ``macaron serve`` processes on free ports (``<svc>-1`` … ``<svc>-N``), each
  its own process with its own in-memory state, as separate machines would be; the
  balancer (:mod:`.balancer`, nginx round robin) listens on the service's public port, which is
  what ``MACARON_<SVC>_PORT`` says, so siblings call each other through it too, as through the
  ALB's CNAME in production.
* **Trust**: the balancer is the one hop in front of every instance, so instances trust one hop
  (``MACARON_TRUSTED_PROXIES=1``) and see each client's own address, as behind the ALB.
* **Workers** (``<svc>-worker-1`` …) each pretend to be a host of their own
  (``MACARON_HOSTNAME``): what one worker knows about another's processes is only what it could
  know across machines (the scheduler lock, see :mod:`macaron.tasks._worker`).
* **The store** is DynamoDB (moto, :mod:`.motoserver`) with more than one instance: a SQLite file
  shared by processes of one machine would hide what several machines cannot share.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from .._core.config import env_key
from .dev import Proc
from .ports import free_port

#: Instances behind the local balancer trust exactly that one hop (_server/proxies.py).
BALANCED_TRUST = "1"
STORES = ("sqlite", "dynamodb")


@dataclass(frozen=True)
class Scale:
    """How many of each: ``instances`` per service, ``workers`` per service with tasks (default:
    as many as instances), and the ``store`` backend (default: DynamoDB with several instances)."""

    instances: int = 1
    workers: int | None = None
    store: str | None = None

    def __post_init__(self) -> None:
        if self.instances < 1 or (self.workers is not None and self.workers < 0):
            raise ValueError(f"instances must be >= 1 and workers >= 0, got {self.instances} and {self.workers}")
        if self.store is not None and self.store not in STORES:
            raise ValueError(f"store must be one of {STORES}, got {self.store!r}")

    @property
    def balanced(self) -> bool:
        """Whether services sit behind the local balancer (more than one instance)."""
        return self.instances > 1

    @property
    def worker_count(self) -> int:
        return self.instances if self.workers is None else self.workers

    @property
    def store_backend(self) -> str:
        return self.store or ("dynamodb" if self.balanced else "sqlite")


def instance_names(service: str, count: int) -> list[str]:
    return [service] if count == 1 else [f"{service}-{i}" for i in range(1, count + 1)]


def worker_names(service: str, count: int) -> list[str]:
    return [f"{service}-worker"] if count == 1 else [f"{service}-worker-{i}" for i in range(1, count + 1)]


def serve_procs(service: str, directory: Path, scale: Scale, host: str,
                public_port: int) -> tuple[list[Proc], list[str]]:
    """The ``macaron serve`` processes of ``service`` and the ``host:port`` of each (the balancer's
    upstreams; none when a single instance listens on the public port itself)."""
    py = [sys.executable, "-m", "macaron", "serve", str(directory), "--host", host, "--workers", "1"]
    if not scale.balanced:
        return [Proc(name=service, argv=py, ready_url=f"http://{host}:{public_port}/ping")], []
    procs, upstreams = [], []
    for name in instance_names(service, scale.instances):
        port = free_port(host)
        procs.append(Proc(name=name, argv=[*py, "--port", str(port)], ready_url=f"http://{host}:{port}/ping",
                          env={"MACARON_HOSTNAME": name}))
        upstreams.append(f"{host}:{port}")
    return procs, upstreams


def worker_procs(service: str, directory: Path, scale: Scale, args: list[str] | None = None) -> list[Proc]:
    """The ``macaron worker`` processes of ``service`` (with ``args``); with several, each a 'host'
    of its own."""
    names = worker_names(service, scale.worker_count)
    return [Proc(name=name, argv=[sys.executable, "-m", "macaron", "worker", str(directory), *(args or [])],
                 env={"MACARON_HOSTNAME": name} if len(names) > 1 else {})
            for name in names]


def store_environ(service: str, scale: Scale, data_dir: Path, dynamodb_url: str | None) -> dict[str, str]:
    """Where ``service``'s store is: a private SQLite file, or the shared moto DynamoDB."""
    var = f"MACARON_{env_key(service)}_STORE__"
    if scale.store_backend == "sqlite":
        return {f"{var}PATH": str(data_dir / f"{service}.sqlite3")}
    if dynamodb_url is None:
        raise ValueError("a DynamoDB store needs the moto server's URL")
    return {f"{var}BACKEND": "dynamodb", f"{var}ENDPOINT_URL": dynamodb_url, f"{var}REGION": "us-east-1"}
