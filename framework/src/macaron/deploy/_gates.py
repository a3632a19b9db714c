"""Steps 2-4, the local gates: the service's tests, the bundle, the bundle's smoke test.

They run before anything touches AWS, in a dry run too. With ``--version`` they are skipped:
an existing application version was gated when it was built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._acceptance import clean_environ, run_pytest
from ._bundle import Bundle, build_bundle, check_committed
from ._config import DeployConfig
from ._report import StepFailed
from ._smoke import smoke_test

if TYPE_CHECKING:
    from ._pipeline import Pipeline
    from ._report import Progress


def local_gates(pipe: Pipeline, cfg: DeployConfig, progress: Progress) -> Bundle | None:
    """Run steps 2-4 and return the bundle (None with ``--version``)."""
    o, rep = pipe.options, pipe.reporter
    if o.version:
        progress.label = o.version
        for name in ("run the service's tests", "build the source bundle", "smoke-test the bundle locally"):
            with rep.step(name) as step:
                step.skip(f"deploying existing version {o.version}, gated when it was built")
        return None
    with rep.step("run the service's tests") as step:
        check_committed(cfg, allow_dirty=o.allow_dirty)  # a dirty tree stops before the tests, not after
        args = o.test_args if o.test_args is not None else [f"services/{cfg.service}/tests"]
        run = run_pytest(cfg.root, args, env=clean_environ(cfg.root))
        if not run.ok:
            for line in run.tail().splitlines():
                pipe.say(line)
            raise StepFailed(f"the service's tests failed: {run.summary}")
        step.ok(f"{' '.join(args)}: {run.summary}")
    with rep.step("build the source bundle") as step:
        bundle = build_bundle(cfg, cfg.root / "artifacts" / "deploy", allow_dirty=o.allow_dirty)
        progress.label = bundle.label
        step.ok(f"{bundle.path.relative_to(cfg.root)}: {len(bundle.files)} files, {bundle.size} bytes, "
                f"sha256 {bundle.sha256[:16]}, worker container: {'yes' if bundle.worker else 'no'}")
    with rep.step("smoke-test the bundle locally") as step:
        if not o.smoke:
            step.skip("turned off by the caller")
            return bundle
        args = (cfg.settings.get("smoke") or {}).get("pytest_args") or []
        outcome = smoke_test(cfg, bundle, pytest_args=[str(a) for a in args], say=pipe.say)
        if not outcome.ok:
            for line in outcome.tail().splitlines():
                pipe.say(line)
            raise StepFailed(f"the bundle failed its smoke test: {outcome.summary}")
        step.ok(outcome.summary)
    return bundle
