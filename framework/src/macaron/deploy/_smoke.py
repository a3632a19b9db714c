"""Smoke-test a bundle on this machine before anything reaches AWS.

Unpack the zip into a temp dir, install its ``framework/`` into a fresh venv with pip (as the
Dockerfile does: ``pip install ./framework``), start ``macaron serve`` (and ``macaron worker``
when the service declares tasks) from the unpacked tree, run the built-in checks and the
acceptance tests against it, stop it. What the service talks to comes from a
:class:`macaron.testing._system.LocalSystem` of this checkout started without that service — fakes of
its external APIs, its sibling services with their workers, Redis — wired to the bundle's
processes through the environment, as in ``nox -s test``: acceptance tests that sign up through
Auth0 or wait for a mail run here as they do there.

Why ``--no-deps`` into a venv that sees this environment's site-packages (a ``.pth`` line)
rather than a full install: the dependencies are the framework's pinned ones, already
installed here by nox from the same pins; reinstalling them costs a minute and the network per
deploy and tests nothing new. What the smoke test must prove is that *the bundle* installs
(its packaging metadata, package data, console script) and that *the bundle's* code serves;
so it checks that ``macaron`` is imported from the new venv, not from this checkout. The
Docker build itself (base image, apt, user) is not exercised here: no Docker daemon is assumed.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
import urllib.request
import venv
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

from .._local.devenv import dev_environ
from ..tasks._queue import declares_tasks
from ..testing._system import LocalSystem
from ._acceptance import Outcome, clean_environ, run_acceptance
from ._bundle import Bundle
from ._config import DeployConfig
from ._needs import secret_vars
from ._report import StepFailed


def unpack(bundle: Path, target: Path) -> None:
    """Extract ``bundle`` keeping each file's mode (zipfile alone drops them)."""
    with zipfile.ZipFile(bundle) as zf:
        for info in zf.infolist():
            path = zf.extract(info, target)
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                os.chmod(path, mode)


def make_venv(where: Path, python: str = sys.executable) -> Path:
    """A venv without pip whose interpreter also sees this environment's packages; its python."""
    venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt").create(where)
    bindir = "Scripts" if os.name == "nt" else "bin"
    new_python = where / bindir / Path(python).name
    purelib = subprocess.run([str(new_python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    ours = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    (Path(purelib) / "_macaron_smoke_outer.pth").write_text("\n".join(ours) + "\n")
    return new_python


def install_framework(python: Path, framework: Path) -> str:
    """``pip install --no-deps framework`` into ``python``'s venv; return where macaron now imports from."""
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                           "--quiet", "--disable-pip-version-check", str(framework)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise StepFailed(f"pip could not install the bundle's framework: {(done.stdout + done.stderr)[-1500:]}")
    where = subprocess.run([str(python), "-c", "import macaron; print(macaron.__file__)"],
                           capture_output=True, text=True).stdout.strip()
    venv_root = python.parent.parent.resolve()
    if not where or not Path(where).resolve().is_relative_to(venv_root):
        raise StepFailed(f"the smoke venv imports macaron from {where or 'nowhere'}, not from the bundle")
    return where


def smoke_environ(cfg: DeployConfig) -> dict[str, str]:
    """Dev secrets, plus a throwaway value for any other secret the service declares and lacks."""
    env = clean_environ(cfg.root)
    for var, value in dev_environ(cfg.root).items():
        env.setdefault(var, value)
    required, _optional = secret_vars(cfg.service_dir, env.get("MACARON_ENV", "dev"))
    for var in required:
        env.setdefault(var, "smoke-only-" + secrets.token_urlsafe(24))
    return env


def wait_ready(proc: subprocess.Popen[bytes], url: str, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StepFailed(f"macaron serve exited with status {proc.returncode}: {log.read_text()[-1500:]}")
        try:
            with urllib.request.urlopen(f"{url}/ping", timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise StepFailed(f"macaron serve did not answer {url}/ping within {timeout:.0f} s: {log.read_text()[-1500:]}")


def stop(proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=grace)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def smoke_test(cfg: DeployConfig, bundle: Bundle, *, pytest_args: Sequence[str] = (),
               startup_timeout: float = 30.0, say: Callable[[str], None] | None = None) -> Outcome:
    """Serve ``bundle`` from an unpacked copy and run the acceptance checks against it."""
    report = say or (lambda text: None)
    with tempfile.TemporaryDirectory(prefix="macaron-smoke-") as tmp, \
            LocalSystem(cfg.root, without={cfg.service}) as around:
        app = Path(tmp) / "app"
        unpack(bundle.path, app)
        python = make_venv(Path(tmp) / "venv")
        where = install_framework(python, app / "framework")
        report(f"installed the bundle's framework into a temp venv ({where})")
        url = around.urls[cfg.service]
        base = smoke_environ(cfg)
        macaron = python.parent / "macaron"
        argvs = [[str(macaron), "serve", f"services/{cfg.service}", "--host", "127.0.0.1",
                  "--port", url.rsplit(":", 1)[1]]]
        if declares_tasks(app / "services" / cfg.service):
            argvs.append([str(macaron), "worker", f"services/{cfg.service}"])
        procs: list[subprocess.Popen[bytes]] = []
        try:
            for i, argv in enumerate(argvs):
                with (Path(tmp) / f"smoke-{i}.log").open("wb") as sink:
                    procs.append(subprocess.Popen(argv, cwd=app, env={**base, **around.env}, stdout=sink,
                                                  stderr=subprocess.STDOUT,
                                                  start_new_session=True))
            wait_ready(procs[0], url, Path(tmp) / "smoke-0.log", startup_timeout)
            report(f"macaron serve from the unpacked bundle answers {url}/ping"
                   + (" (its worker runs too)" if len(procs) > 1 else ""))
            return run_acceptance(cfg.root, cfg.service, url, pytest_args=pytest_args,
                                  env={**base, **around.test_environ()})
        finally:
            for proc in procs:
                stop(proc)
