"""``nox -s corpus``: every spec of a folder is loaded, faked and fuzzed in a subprocess of its own,
and reported as a table row; a spec that does not load is a row naming the error, not the end."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from macaron.testing._corpus import main, spec_files

FAKES = Path(__file__).parents[1] / "fixtures" / "fakes"


def test_each_spec_is_a_row_and_a_broken_one_names_its_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(FAKES / "notes.yaml", tmp_path / "notes.yaml")
    (tmp_path / "broken.yaml").write_text("swagger: '2.0'\ninfo: {title: b, version: '1'}\npaths:\n"
                                          "  /a: {get: {responses: {'200': {$ref: '#/responses/Nope'}}}}\n")
    (tmp_path / "shared.yaml").write_text("Pet: {type: object}\n")  # only $ref'd by others: not a spec
    assert [p.name for p in spec_files([tmp_path])] == ["broken.yaml", "notes.yaml"]

    status = main([str(tmp_path), "--seconds", "2", "--json", str(tmp_path / "rows.jsonl")])
    out = capsys.readouterr().out
    rows = {Path(r["spec"]).name: r for r in map(json.loads, (tmp_path / "rows.jsonl").read_text().splitlines())}
    assert rows["broken.yaml"]["loads"] is False and "broken.yaml" in rows["broken.yaml"]["error"]
    assert rows["notes.yaml"]["loads"] is True and rows["notes.yaml"]["cases"] > 0
    assert rows["notes.yaml"]["failures"] == [] and rows["notes.yaml"]["operations"] == 4
    assert "| notes.yaml | 2.0 | yes | 4 |" in out and "| broken.yaml | | no |" in out
    assert status == 1  # not every spec was clean
