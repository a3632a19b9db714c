"""The ``macaron`` command: subcommands, help, errors as one line with exit status 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from macaron._cli import main

from ..conftest import FIXTURES


def test_check_loads_a_service(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_API_KEY", "k" * 8)
    assert main(["check", str(FIXTURES / "shop")]) == 0
    assert "shop: spec and handlers OK (9 operations)" in capsys.readouterr().out


def test_config_error_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("macaron check: error: ") and "no service.yaml" in err
    assert "Traceback" not in err


def test_help_lists_subcommands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for command in ("serve", "dev", "check"):
        assert command in out
