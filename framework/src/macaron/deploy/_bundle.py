"""The source bundle: one reproducible zip per service version.

Contents: the infra files at the zip's root (Dockerfile, the rendered docker-compose.yml,
``.platform/``, ``.ebextensions/``, ``.dockerignore``), ``framework/`` (its pyproject and
sources), ``services/<name>/`` without its tests, and the specs it needs from elsewhere
(:mod:`.needs`: its spec's ``$ref``s, its clients' specs), plus any ``bundle.include`` globs.
Files are listed by git (tracked + untracked-not-ignored), so build debris never ships.

Reproducible: sorted names, fixed timestamps (1980-01-01), modes 0644/0755 only, fixed
compression. The version label is ``<service>-<content hash>-g<commit>``: the hash covers
names, modes and bytes (not the zip, so another zlib gives the same label).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import zipfile
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

from .._core.errors import ConfigError
from ._compose import Tasks, render_compose, scan_tasks
from ._config import DeployConfig
from ._needs import needed_files

_EPOCH = (1980, 1, 1, 0, 0, 0)
_SKIP_PARTS = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".dev", "build", "dist"}
_NOT_BUNDLED = {"beanstalk.yaml", "README.md"}  # deploy settings and notes, not instance files


class DirtyTree(ConfigError):
    """The files that would be bundled differ from the commit (refused without --allow-dirty)."""


@dataclass(frozen=True)
class Bundle:
    path: Path
    service: str
    label: str
    content_hash: str
    commit: str
    dirty: bool
    files: tuple[str, ...]
    worker: bool

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()

    @property
    def size(self) -> int:
        return self.path.stat().st_size


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return None
    return done.stdout if done.returncode == 0 else None


def git_state(root: Path, paths: list[str]) -> tuple[str, list[str]]:
    """(commit, changed paths among ``paths``); commit is "nogit" outside a git work tree."""
    commit = _git(root, "rev-parse", "HEAD")
    if commit is None:
        return "nogit", ["(not a git work tree: cannot tell what is committed)"]
    status = _git(root, "status", "--porcelain", "--untracked-files=all", "--", *paths) or ""
    return commit.strip(), sorted({line[3:] for line in status.splitlines() if line.strip()})


def _listed(root: Path, top: str) -> list[str]:
    """Files under ``top`` (relative to root), as a clean clone would have them."""
    out = _git(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", top)
    if out is None:  # not a git work tree: walk, skipping the usual debris
        names = [p.relative_to(root).as_posix() for p in (root / top).rglob("*") if p.is_file()]
    else:
        names = [n for n in out.split("\0") if n]
    return sorted({n for n in names if (root / n).is_file() and not (_SKIP_PARTS & set(n.split("/")))
                   and not any(part.endswith(".egg-info") for part in n.split("/"))})


def _mode(path: Path) -> int:
    return 0o755 if os.access(path, os.X_OK) else 0o644


def collect(cfg: DeployConfig, tasks: Tasks) -> dict[str, tuple[int, bytes]]:
    """``{name in the zip: (mode, bytes)}`` for ``cfg``'s service."""
    root, name = cfg.root, cfg.service
    entries: dict[str, tuple[int, bytes]] = {}
    for rel in _listed(root, "framework"):
        if rel in ("framework/pyproject.toml", "framework/README.md") or rel.startswith("framework/src/"):
            entries[rel] = (_mode(root / rel), (root / rel).read_bytes())
    service_top = f"services/{name}/"
    for rel in _listed(root, service_top):
        if not rel.removeprefix(service_top).startswith("tests/"):
            entries[rel] = (_mode(root / rel), (root / rel).read_bytes())
    include = (cfg.settings.get("bundle") or {}).get("include") or []
    tops = sorted({pattern.split("/", 1)[0] for pattern in include})
    for rel in (r for top in tops for r in _listed(root, top)):
        if any(fnmatch(rel, pattern) for pattern in include):
            entries[rel] = (_mode(root / rel), (root / rel).read_bytes())
    for rel in needed_files(root, cfg.service_dir, cfg.env):
        entries.setdefault(rel, (_mode(root / rel), (root / rel).read_bytes()))
    for rel, path in cfg.files.items():
        if rel in _NOT_BUNDLED:
            continue
        data = render_compose(cfg, path, tasks) if rel == "docker-compose.yml" else path.read_bytes()
        entries[rel] = (_mode(path), data)
    for required in ("Dockerfile", "docker-compose.yml"):
        if required not in entries:
            raise ConfigError(f"no {required} in {root / 'infra' / name} or {root / 'infra' / 'defaults'}")
    return entries


def content_hash(entries: dict[str, tuple[int, bytes]]) -> str:
    digest = hashlib.sha256()
    for name in sorted(entries):
        mode, data = entries[name]
        digest.update(f"{name}\0{mode:o}\0{hashlib.sha256(data).hexdigest()}\n".encode())
    return digest.hexdigest()


def write_zip(path: Path, entries: dict[str, tuple[int, bytes]]) -> None:
    """Write ``entries`` so that the same entries always give the same bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w") as zf:
        for name in sorted(entries):
            mode, data = entries[name]
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.create_system = 3  # unix, so the modes below are honoured when unpacking
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data, compresslevel=9)
    tmp.replace(path)


def tree_state(cfg: DeployConfig, entries: dict[str, tuple[int, bytes]], allow_dirty: bool) -> tuple[str, list[str]]:
    """(commit, uncommitted paths) of what the bundle holds: the service's directory, the framework's
    source and every other file bundled (never another service's or the framework's tests, which
    the bundle does not hold); :class:`DirtyTree` when any differs, unless ``allow_dirty``."""
    own = ("framework/src/", f"services/{cfg.service}/")
    others = sorted(p for p in entries if not p.startswith(own) and (cfg.root / p).is_file())
    watched = ["framework/src", "framework/pyproject.toml", f"services/{cfg.service}", "infra/defaults",
               f"infra/{cfg.service}", *others]
    commit, changed = git_state(cfg.root, [w for w in watched if (cfg.root / w).exists()])
    if changed and not allow_dirty:
        shown = ", ".join(changed[:8]) + (f" and {len(changed) - 8} more" if len(changed) > 8 else "")
        raise DirtyTree(f"uncommitted changes in what would be deployed: {shown}. Commit them, or pass "
                        f"--allow-dirty to deploy them anyway (the version label then ends in -dirty)")
    return commit, changed


def check_committed(cfg: DeployConfig, *, allow_dirty: bool = False) -> None:
    """Refuse, before anything runs, a tree whose bundled files are not committed (see :func:`tree_state`)."""
    tree_state(cfg, collect(cfg, scan_tasks(cfg.service_dir)), allow_dirty)


def build_bundle(cfg: DeployConfig, out_dir: Path, *, allow_dirty: bool = False) -> Bundle:
    """Build ``cfg``'s bundle under ``out_dir``; refuse a dirty tree unless ``allow_dirty``."""
    tasks = scan_tasks(cfg.service_dir)
    entries = collect(cfg, tasks)
    commit, changed = tree_state(cfg, entries, allow_dirty)
    digest = content_hash(entries)
    label = f"{cfg.service}-{digest[:12]}-g{commit[:8]}" + ("-dirty" if changed else "")
    path = out_dir / f"{label}.zip"
    write_zip(path, entries)
    return Bundle(path=path, service=cfg.service, label=label, content_hash=digest, commit=commit,
                  dirty=bool(changed), files=tuple(sorted(entries)), worker=tasks.found)
