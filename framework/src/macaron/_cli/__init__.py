"""The ``macaron`` command. Each subcommand is a small function over the public API;
``nox`` sessions call these.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from .._core.config import load_config
from .._core.errors import ConfigError
from .._core.lifeline import DIE_WITH_PARENT_ENV, bind_to_parent
from .._core.logtext import FORMATS, LOG_FORMAT_ENV
from .._core.observability import route_werkzeug
from .._core.service import Service
from .._local.dev import run_dev
from .._local.devenv import dev_environ
from .._local.fakes import serve_fake
from ..auth._tokens import TokenAuthority
from ..deploy._cli import run as run_deploy
from ..tasks._worker import run_worker
from ..testing._fuzzrun import run_fuzz
from .new import run_new
from .serve import serve
from .stubs import add_new, write

Command = tuple[str, str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]


def _serve_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("directory", help="the service directory, e.g. services/user")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=None, help="default: 'port' in service.yaml")
    p.add_argument("--workers", type=int, default=1, help="gunicorn worker processes")
    p.add_argument("--threads", type=int, default=8, help="threads per worker")
    p.add_argument("--keepalive", type=int, default=None,
                   help="seconds an idle connection stays open (default 5); behind a load balancer, more than "
                        "its idle timeout (ALB: 60 s; the Beanstalk image passes WEB_KEEPALIVE=75)")
    p.add_argument("--server", choices=("front", "gunicorn"), default="front",
                   help="front (default): gunicorn's arbiter with uvloop workers that read each request within "
                        "deadlines before a thread runs it; gunicorn: gunicorn's gthread workers "
                        "(docs/benchmarks.md compares them)")
    p.add_argument("--header-timeout", type=float, default=10.0,
                   help="seconds a request head may take from its first byte before a 408 (front only)")
    p.add_argument("--max-connections", type=int, default=4096,
                   help="open connections per worker, slow ones included (gunicorn's worker_connections)")
    p.add_argument("--reload", action="store_true", help="dev server reloading on code and spec changes")
    p.add_argument("--on-load-error", choices=("exit", "503"), default="exit",
                   help="503: when the service does not load, answer every request 503 naming the error (dev)")
    _log_format_arg(p)


def _log_format_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--log-format", choices=FORMATS, default=None,
                   help="json (production, files), text (a person), auto: text at a terminal (default)")


def _apply_log_format(a: argparse.Namespace) -> None:
    if getattr(a, "log_format", None):
        os.environ[LOG_FORMAT_ENV] = a.log_format


def _serve(a: argparse.Namespace) -> int:
    _apply_log_format(a)
    serve(a.directory, host=a.host, port=a.port, workers=a.workers, threads=a.threads, reload=a.reload,
          on_load_error=a.on_load_error, keepalive=a.keepalive, server=a.server, header_timeout=a.header_timeout,
          max_connections=a.max_connections)
    return 0


def _dev_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--root", default=".", help="the monorepo root (holding services/)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--only", action="append", default=[], metavar="SERVICE",
                   help="run only this service and what it needs (Redis, its worker, fakes, siblings it calls)")
    p.add_argument("--no-reload", dest="reload", action="store_false",
                   help="do not restart a service when its code or spec changes")
    p.add_argument("--reset", action="store_true", help="first wipe the dev data: .data/ (stores, fakes) and Redis's")
    _log_format_arg(p)


def _dev(a: argparse.Namespace) -> int:
    return run_dev(Path(a.root).resolve(), a.host, only=[n for v in a.only for n in v.split(",") if n],
                   reload=a.reload, log_format=a.log_format or "auto", reset=a.reset)


def _check_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("directory", help="the service directory")


def _check(a: argparse.Namespace) -> int:
    service = Service.load(a.directory)
    print(f"{service.name}: spec and handlers OK ({len(service.operations)} operations)")
    return 0


def _token_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("directory", help="the service directory the token is for, e.g. services/user")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--sub", help="the subject of the token: for the user service, a user's user_id")
    who.add_argument("--email", help="the stored user with this email (a model whose x-persist has email unique)")
    p.add_argument("--ttl", type=int, default=None, help="lifetime in seconds (default: auth.ttl, 3600)")
    p.add_argument("--scope", action="append", default=[], help="a scope to grant; repeat for several")
    p.add_argument("--audience", default=None, help="default: the service's own audience")


def _sub_of(directory: Path, email: str) -> str:
    """The key of the stored model (a user) whose unique ``email`` field is ``email``."""
    service = Service.load(directory)
    for name, schema in service.spec.definitions.items():
        persist = schema.get("x-persist") if isinstance(schema, dict) else None
        if isinstance(persist, dict) and "email" in (persist.get("unique") or []):
            found = getattr(service.models, name).find_by("email", email)
            if found is not None:
                return str(getattr(found, persist["key"]))
            raise ConfigError(f"no {name} of {service.name} has the email {email!r} (sign up first, with nox -s dev "
                              f"running; or pass --sub with the user's {persist['key']})")
    raise ConfigError(f"{service.name} stores no model with a unique email; pass --sub")


def _token(a: argparse.Namespace) -> int:
    authority = TokenAuthority.from_config(load_config(Path(a.directory)))
    scopes = [s for value in a.scope for s in value.split()]
    sub = a.sub if a.sub is not None else _sub_of(Path(a.directory), a.email)
    try:
        print(authority.issue(sub, ttl=a.ttl, scopes=scopes, audience=a.audience))
    except ValueError as exc:
        print(f"macaron token: error: {exc}", file=sys.stderr)
        return 2
    return 0


def _worker_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("directory", help="the service directory, e.g. services/mail")
    p.add_argument("--burst", action="store_true", help="run until the queues are empty, then exit")
    p.add_argument("--simple", action="store_true", help="run jobs in the worker process (no fork per job)")
    p.add_argument("--queues", default=None, help="comma-separated queues of the service (default: all its tasks use)")
    p.add_argument("--maintenance-interval", type=int, default=60,
                   help="seconds between passes that requeue abandoned jobs (default 60)")
    p.add_argument("--heartbeat-interval", type=int, default=10, help="seconds between job heartbeats (default 10)")
    p.add_argument("--abandon-grace", type=int, default=30,
                   help="seconds a job may miss heartbeats before it counts as abandoned (default 30)")
    p.add_argument("--scheduler-lock-ttl", type=int, default=10,
                   help="seconds the scheduler lock lives without a heartbeat; another host's worker takes it "
                        "over within about 1.5 times this after its holder dies (default 10; rq's: 61)")
    p.add_argument("--metrics-namespace", default=None,
                   help="publish queue depth and oldest job age to CloudWatch under this namespace "
                        "(default: MACARON_WORKER_METRICS_NAMESPACE; unset: not published)")
    p.add_argument("--metrics-interval", type=float, default=60.0, help="seconds between publishes (default 60)")


def _worker(a: argparse.Namespace) -> int:
    queues = [q.strip() for q in a.queues.split(",") if q.strip()] if a.queues else None
    return run_worker(a.directory, burst=a.burst, simple=a.simple, queues=queues,
                      maintenance_interval=a.maintenance_interval, heartbeat_interval=a.heartbeat_interval,
                      abandon_grace=a.abandon_grace, scheduler_lock_ttl=a.scheduler_lock_ttl,
                      metrics_namespace=a.metrics_namespace, metrics_interval=a.metrics_interval)


def _fake_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("spec", help="the spec to fake, e.g. shared_apis/sendgrid.yaml")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="default: a free port (printed)")
    p.add_argument("--handlers", default=None, help="stateful handlers (default: <spec dir>/fakes/<spec name>.py)")
    p.add_argument("--stateless", action="store_true", help="answer with examples only, ignore stateful handlers")
    _log_format_arg(p)


def _fake(a: argparse.Namespace) -> int:
    _apply_log_format(a)
    route_werkzeug(f"fake-{Path(a.spec).stem}")
    serve_fake(a.spec, host=a.host, port=a.port, handlers=a.handlers, stateful=not a.stateless)
    return 0


def _stubs_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--root", default=".", help="the monorepo root (holding services/ and shared_apis/)")
    p.add_argument("--out", default=None, help="default: <root>/typings/macaron_stubs")
    p.add_argument("--check", action="store_true", help="only check that the committed stubs are current")
    p.add_argument("--add-new", action="store_true",
                   help="first write the stubs of specs that have none yet (a new service), then go on")


def _stubs(a: argparse.Namespace) -> int:
    root = Path(a.root).resolve()
    out = Path(a.out) if a.out else root / "typings" / "macaron_stubs"
    if a.add_new and (added := add_new(root, out)):
        print(f"macaron stubs: wrote {', '.join(added)} for new specs in {out}; commit them")
    differ = write(root, out, check=a.check)
    if a.check and differ:
        print(f"macaron stubs: out of date in {out}: {', '.join(differ)}; run `nox -s stubs`", file=sys.stderr)
        return 1
    print(f"macaron stubs: {'current' if a.check else 'wrote ' + (', '.join(differ) or 'nothing (current)')}")
    return 0


def _new_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="the new service's name: lower-case letters, digits and '-', e.g. billing")
    p.add_argument("--from", dest="source", default=None, metavar="SERVICE",
                   help="copy this service (its config, modules, infra) instead of starting blank")
    p.add_argument("--swagger2", action="store_true",
                   help="write the example spec in Swagger 2.0 (default: OpenAPI 3.1; a copy: its source's dialect)")
    p.add_argument("--root", default=".", help="the monorepo root (holding services/)")


def _new(a: argparse.Namespace) -> int:
    return run_new(Path(a.root), a.name, a.source, swagger2=a.swagger2)


def _deploy_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("service", help="the service to deploy (a directory under services/)")
    p.add_argument("--env", choices=("live", "staging"), default="live",
                   help="live: blue/green with a CNAME swap (default); staging: update the staging environment")
    p.add_argument("--version", default=None, help="deploy this existing application version instead of building one")
    p.add_argument("--dry-run", action="store_true", help="run the local gates, print every AWS call, make none")
    p.add_argument("--rollback", action="store_true", help="swap live back to the environment it replaced")
    p.add_argument("--yes", action="store_true", help="do not ask before changing AWS")
    p.add_argument("--allow-dirty", action="store_true", help="bundle uncommitted changes (label ends in -dirty)")
    p.add_argument("--root", default=None, help="the monorepo root (default: $MACARON_ROOT or .)")


def _deploy(a: argparse.Namespace) -> int:
    return run_deploy(a)


def _fuzz_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--root", default=".", help="the monorepo root (holding services/)")
    p.add_argument("--service", action="append", default=[], help="fuzz only this service; repeat for several")
    p.add_argument("--examples", type=int, default=100, help="examples per operation and phase (default 100)")
    p.add_argument("--seed", type=int, default=None, help="default: a random seed (printed)")
    p.add_argument("--min-cases", type=int, default=1000, help="fail a run generating fewer cases (default 1000)")
    p.add_argument("--max-time", type=int, default=60,
                   help="seconds per service and target; cycles of fresh cases fill it (default 60)")
    p.add_argument("--no-live", action="store_true", help="only in process, no local system over HTTP")


def _fuzz(a: argparse.Namespace) -> int:
    return run_fuzz(Path(a.root).resolve(), services=a.service or None, seed=a.seed, max_examples=a.examples,
                    live=not a.no_live, min_cases=a.min_cases, max_time=a.max_time)


def _devenv_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--root", default=".", help="the monorepo root (holding services/)")


def _devenv(a: argparse.Namespace) -> int:
    print("\n".join(f"{k}={v}" for k, v in dev_environ(Path(a.root).resolve()).items()))
    return 0


COMMANDS: list[Command] = [
    ("serve", "serve a service (gunicorn, or --reload for a dev server)", _serve_args, _serve),
    ("dev", "run every service under services/ at once", _dev_args, _dev),
    ("check", "load a service: validate its config, spec and handlers", _check_args, _check),
    ("token", "print a JWT valid for a service (dev and acceptance tests)", _token_args, _token),
    ("worker", "run the task worker (rq + scheduler) of a service", _worker_args, _worker),
    ("fake", "serve a fake of any spec (validation, recording, faults, stateful handlers)", _fake_args, _fake),
    ("stubs", "generate the typed client/model stubs of every spec (--check: verify)", _stubs_args, _stubs),
    ("deploy", "test-gated blue/green deploy of a service to Elastic Beanstalk", _deploy_args, _deploy),
    ("fuzz", "fuzz every service from its spec (schemathesis), in process and live", _fuzz_args, _fuzz),
    ("devenv", "print the dev system's secrets as VAR=value lines (created on first use)", _devenv_args, _devenv),
    ("new", "start a service: an example endpoint, handler and tests (--from: a proper copy)", _new_args, _new),
]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="macaron", description="spec-first Python microservices")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text, add_args, run in COMMANDS:
        p = sub.add_parser(name, help=help_text, description=help_text)
        add_args(p)
        p.set_defaults(run=run)
    args = parser.parse_args(argv)
    if os.environ.pop(DIE_WITH_PARENT_ENV, "") == "1":  # set by the nox sessions: nox gone, we go too
        bind_to_parent()
    try:
        return int(args.run(args))
    except ConfigError as exc:
        print(f"macaron {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
