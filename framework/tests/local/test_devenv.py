"""Dev-only secrets: generated once, reused, private."""

from pathlib import Path

from macaron._local.devenv import dev_environ


def test_dev_secrets_are_stable_and_private(tmp_path: Path) -> None:
    first = dev_environ(tmp_path)
    assert set(first) >= {"MACARON_JWT_SECRET"}
    assert len(first["MACARON_JWT_SECRET"]) >= 32
    assert dev_environ(tmp_path) == first
    assert (tmp_path / ".dev" / "macaron_jwt_secret").stat().st_mode & 0o077 == 0
