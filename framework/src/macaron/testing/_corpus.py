"""A spec corpus, run: every spec file under the given folders is loaded, served as a fake and
fuzzed (:func:`macaron.testing._fuzzfake.fuzz_fake`), one subprocess per spec so that a crash or a
hang of one cannot stop the rest. ``nox -s corpus -- DIR ...`` (default: ``../shared/specs``)
prints one Markdown row per spec and a JSON line per spec to ``--json``.

What counts as a spec: a ``.yaml``/``.yml``/``.json`` file whose top level has ``swagger`` or
``openapi``; files that others ``$ref`` only (no such key) are skipped. A row says whether it
loaded (else the loader's first line: the file, the place, what is wrong), how many operations,
fuzz cases and distinct failures, and the statuses answered.

Rule: public specs brought in from elsewhere are never committed here (they stay where they
were put, e.g. the steering repo's ``shared/``); this module only reads them.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from .._core.errors import SpecError
from .._core.spec import load_spec
from ._fuzzfake import fuzz_fake

SUFFIXES = (".yaml", ".yml", ".json")


def spec_files(folders: list[Path]) -> list[Path]:
    """The spec files under ``folders`` (sorted), by their top-level ``swagger``/``openapi`` key."""
    found = []
    for folder in folders:
        for path in sorted(p for p in folder.rglob("*") if p.suffix in SUFFIXES and p.is_file()):
            try:
                head = yaml.safe_load(path.read_text(encoding="utf-8", errors="replace"))
            except yaml.YAMLError:
                continue
            if isinstance(head, dict) and ("swagger" in head or "openapi" in head):
                found.append(path)
    return found


def run_one(path: Path, *, seconds: int, seed: int) -> dict[str, Any]:
    """Load, fake and fuzz one spec in this process: the row's figures."""
    row: dict[str, Any] = {"spec": str(path)}
    try:
        spec = load_spec(path)
    except SpecError as exc:
        return {**row, "loads": False, "error": str(exc).splitlines()[0][:300]}
    row.update(loads=True, version=spec.version,
               operations=len(spec.operations))
    report = fuzz_fake(path, seed=seed, max_examples=25, max_time=seconds)
    failures = sorted({str(f).splitlines()[0][:200] for f in report.failures})
    return {**row, "cases": report.cases, "failures": failures, "errors": report.errors[:3],
            "statuses": dict(sorted(report.statuses.items()))}


def _isolated(path: Path, seconds: int, seed: int) -> dict[str, Any]:
    argv = [sys.executable, "-m", "macaron.testing._corpus", "--one", str(path), "--seconds", str(seconds),
            "--seed", str(seed)]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds * 6 + 60)
    except subprocess.TimeoutExpired:
        return {"spec": str(path), "loads": None, "error": "hung: no answer within the time allowed"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"spec": str(path), "loads": None, "error": f"crashed (exit {done.returncode}): {tail[:300]}"}
    return dict(json.loads(lines[-1]))


def row_text(row: dict[str, Any], root: Path | None = None) -> str:
    """One Markdown table row."""
    name = str(Path(row["spec"]).relative_to(root)) if root else row["spec"]
    if not row.get("loads"):
        return f"| {name} | | no | | | | {row.get('error', '')} |"
    failures = row.get("failures") or []
    errors = row.get("errors") or []
    notes = "; ".join([*failures[:3], *errors[:1]]).replace("|", "\\|")
    statuses = ", ".join(f"{k}: {v}" for k, v in (row.get("statuses") or {}).items())
    return (f"| {name} | {row['version']} | yes | {row['operations']} | {row['cases']} | "
            f"{len(failures) + len(errors)} | {statuses}{'; ' + notes if notes else ''} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nox -s corpus --", description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", type=Path)
    parser.add_argument("--seconds", type=int, default=5, help="fuzzing time per spec (default 5)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write one JSON line per spec here")
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)
    a = parser.parse_args(argv)
    if a.one:
        print(json.dumps(run_one(a.one, seconds=a.seconds, seed=a.seed)), flush=True)
        return 0
    folders = a.folders or [Path.cwd().parent / "shared" / "specs"]
    missing = [str(f) for f in folders if not f.is_dir()]
    if missing:
        print(f"corpus: no such folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    files = spec_files(folders)
    root = folders[0] if len(folders) == 1 else None
    print("| spec | version | loads | operations | cases | failures | statuses; notes |\n|---|---|---|---|---|---|---|",
          flush=True)
    rows = []
    for path in files:
        rows.append(row := _isolated(path, a.seconds, a.seed))
        print(row_text(row, root), flush=True)
    if a.json:
        a.json.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    loaded = sum(1 for r in rows if r.get("loads"))
    clean = sum(1 for r in rows if r.get("loads") and not r.get("failures") and not r.get("errors"))
    print(f"\n{len(rows)} specs: {loaded} load, {clean} fuzzed without a failure", flush=True)
    return 0 if rows and clean == len(rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
