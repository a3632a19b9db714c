"""Public OpenAPI documents nobody here wrote (``sources.toml``: vendors' descriptions, the OAI's
petstores, other tools' test documents) load, serve as fakes and fuzz with every check schemathesis
has for a fake — ``not_a_server_error``, ``status_code_conformance``, ``content_type_conformance``,
``response_schema_conformance``, ``response_headers_conformance``, ``negative_data_rejection``,
``positive_data_acceptance`` — without a failure (but those of operations the manifest names and
explains, reported apart); the ones the manifest says are invalid are
refused with the message it names.

A short run: 4 seconds of fuzzing per document (2 at a time), a fixed seed. The vendors' thousand-operation documents
(``fuzz = "thorough"``) are loaded and every operation of their fake asked once here; ``nox -s
fuzz`` fuzzes them too. The files are fetched by ``nox -s test`` before pytest starts (from PyPI,
pinned by sha256; never committed); nothing here reaches past 127.0.0.1.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import pytest
from macaron.testing._corpus import NotFetched, run_manifest

MANIFEST = Path(__file__).parent / "sources.toml"
ENTRIES = tomllib.loads(MANIFEST.read_text(encoding="utf-8"))["spec"]


@pytest.fixture(scope="module")
def rows() -> dict[str, dict[str, Any]]:
    try:
        found = run_manifest(MANIFEST, seconds=4, seed=7, thorough=False, download=False)
    except NotFetched as exc:
        if os.environ.get("CI"):
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    return {f"{r['entry']['source']}/{r['entry']['path']}": r for r in found}


def test_the_manifest_names_enough_public_documents_of_each_version() -> None:
    versions = [str(e["version"])[:3] for e in ENTRIES if e.get("expect", "clean") == "clean"]
    assert versions.count("3.0") >= 8 and versions.count("3.1") >= 6, versions
    assert len({e["source"] for e in ENTRIES}) >= 4
    assert all(e.get("what") and e.get("features") for e in ENTRIES)


@pytest.mark.parametrize("entry", ENTRIES, ids=[f"{e['source']}/{e['path']}" for e in ENTRIES])
def test_public_spec(entry: dict[str, Any], rows: dict[str, dict[str, Any]]) -> None:
    row = rows[f"{entry['source']}/{entry['path']}"]
    assert row["ok"], f"{row['why']}\n{row}"
    if row.get("known"):
        print(f"known, as sources.toml explains: {row['known']}")
    if entry.get("expect", "clean") == "clean" and row.get("operations"):
        assert row["cases"] > 0
        assert not any(int(status) >= 500 for status in row.get("statuses", {})), row["statuses"]
