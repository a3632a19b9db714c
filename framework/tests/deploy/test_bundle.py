"""macaron.deploy._bundle: what goes in the zip, reproducibility, the version label, dirty trees."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest
from macaron.deploy._bundle import DirtyTree, build_bundle
from macaron.deploy._config import load_deploy_config

from ..fixtures.deploy import support

repo = support.fresh_repo  # fixture: pytest finds it by this name


def build(repo: Path, out: Path, **kw: bool):
    return build_bundle(load_deploy_config(repo, "hello"), out, **kw)


def test_two_builds_of_one_tree_are_the_same_bytes(repo: Path, tmp_path: Path) -> None:
    first = build(repo, tmp_path / "a")
    for path in (repo / "services" / "hello").rglob("*"):
        os.utime(path, (1_000_000_000, 1_000_000_000))  # timestamps do not matter
    second = build(repo, tmp_path / "b")
    assert first.path.read_bytes() == second.path.read_bytes()
    assert (first.label, first.sha256, first.content_hash) == (second.label, second.sha256, second.content_hash)
    commit = support.git(repo, "rev-parse", "HEAD").strip()
    assert first.label == f"hello-{first.content_hash[:12]}-g{commit[:8]}" and not first.dirty


def test_the_zip_holds_what_the_image_needs_and_nothing_else(repo: Path, tmp_path: Path) -> None:
    bundle = build(repo, tmp_path)
    with zipfile.ZipFile(bundle.path) as zf:
        names = zf.namelist()
        infos = zf.infolist()
        compose = zf.read("docker-compose.yml").decode()
    assert names == sorted(names) == list(bundle.files)
    for required in ("Dockerfile", "docker-compose.yml", ".dockerignore", "framework/pyproject.toml",
                     "framework/README.md", "framework/src/macaron/__init__.py", "framework/src/macaron/py.typed",
                     "framework/src/macaron/_core/_schemas/swagger-2.0.json", "services/hello/api.yaml",
                     "services/hello/service.yaml", "services/hello/handlers.py", "shared_apis/greeting.yaml"):
        assert required in names, required
    assert not [n for n in names if "/tests/" in n or "__pycache__" in n or n.endswith(("beanstalk.yaml", ".pyc"))]
    assert "shared_apis/unrelated.yaml" not in names  # nothing hello loads refers to it
    assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in infos)
    assert {(i.external_attr >> 16) & 0o777 for i in infos} <= {0o644, 0o755}
    assert "SERVICE: hello" in compose and "worker" not in compose.split("\n", 1)[1]
    assert bundle.worker is False


def test_a_change_is_refused_until_committed_or_allowed(repo: Path, tmp_path: Path) -> None:
    clean = build(repo, tmp_path / "clean")
    handlers = repo / "services" / "hello" / "handlers.py"
    handlers.write_text(handlers.read_text() + "\n# changed\n")
    with pytest.raises(DirtyTree, match=r"services/hello/handlers\.py.*--allow-dirty"):
        build(repo, tmp_path / "dirty")
    dirty = build(repo, tmp_path / "dirty", allow_dirty=True)
    assert dirty.dirty and dirty.label.endswith("-dirty") and dirty.content_hash != clean.content_hash
    support.git(repo, "commit", "-qam", "change")
    committed = build(repo, tmp_path / "committed")
    assert committed.content_hash == dirty.content_hash and committed.label != clean.label


def test_an_untracked_file_is_a_change_but_an_ignored_one_is_not(repo: Path, tmp_path: Path) -> None:
    (repo / "services" / "hello" / "local.sqlite3").write_bytes(b"ignored by .gitignore")
    assert "services/hello/local.sqlite3" not in build(repo, tmp_path / "a").files
    (repo / "services" / "hello" / "new.py").write_text("x = 1\n")
    with pytest.raises(DirtyTree, match=r"new\.py"):
        build(repo, tmp_path / "b")


def test_changes_elsewhere_do_not_block_this_service(repo: Path, tmp_path: Path) -> None:
    (repo / "services" / "other").mkdir()
    (repo / "services" / "other" / "service.yaml").write_text("port: 1\n")
    assert not build(repo, tmp_path).dirty


def test_service_infra_overrides_and_executable_hooks(repo: Path, tmp_path: Path) -> None:
    hook = repo / "infra" / "hello" / ".platform" / "hooks" / "prebuild" / "01_note.sh"
    hook.parent.mkdir(parents=True)
    hook.write_text("#!/bin/sh\necho prebuild\n")
    hook.chmod(0o755)
    (repo / "infra" / "hello" / "Dockerfile").write_text("FROM python:3.12-slim\n")
    support.git(repo, "add", "-A")
    support.git(repo, "commit", "-qm", "infra override")
    bundle = build(repo, tmp_path)
    with zipfile.ZipFile(bundle.path) as zf:
        mode = (zf.getinfo(".platform/hooks/prebuild/01_note.sh").external_attr >> 16) & 0o777
        assert mode == 0o755
        assert zf.read("Dockerfile") == b"FROM python:3.12-slim\n"


def test_the_specs_of_called_services_and_included_globs_ship_too(repo: Path, tmp_path: Path) -> None:
    other = repo / "services" / "other"
    other.mkdir()
    (other / "service.yaml").write_text("port: 18112\n")
    (other / "api.yaml").write_text((repo / "services" / "hello" / "api.yaml").read_text())
    (other / "handlers.py").write_text("def hello():\n    return {}\n")
    service_yaml = repo / "services" / "hello" / "service.yaml"
    service_yaml.write_text(service_yaml.read_text() + "clients:\n  other: {url: http://127.0.0.1:18112}\n")
    (repo / "infra" / "hello").mkdir()
    (repo / "infra" / "hello" / "beanstalk.yaml").write_text("bundle: {include: ['shared_apis/unr*.yaml']}\n")
    support.git(repo, "add", "-A")
    support.git(repo, "commit", "-qm", "hello calls other")
    files = build(repo, tmp_path).files
    assert {"services/other/service.yaml", "services/other/api.yaml", "shared_apis/unrelated.yaml"} <= set(files)
    assert "services/other/handlers.py" not in files  # what the client reads, not the sibling's code
    other_handlers = other / "handlers.py"
    other_handlers.write_text("def hello():\n    return {'changed': 1}\n")
    assert not build(repo, tmp_path / "b").dirty  # the sibling's code is not part of this deploy
    (other / "api.yaml").write_text((other / "api.yaml").read_text() + "\n")
    with pytest.raises(DirtyTree, match=r"services/other/api\.yaml"):
        build(repo, tmp_path / "c")


def test_another_services_or_the_frameworks_tests_uncommitted_files_do_not_block(repo: Path, tmp_path: Path) -> None:
    other = repo / "services" / "other"
    other.mkdir(parents=True)
    (other / "handlers.py").write_text("def work():\n    return {}\n")  # another engineer's work in progress
    (repo / "framework" / "tests").mkdir(parents=True, exist_ok=True)
    (repo / "framework" / "tests" / "test_new.py").write_text("def test_x():\n    pass\n")
    assert not build(repo, tmp_path).dirty
