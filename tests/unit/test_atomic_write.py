"""The one atomic writer: permissions from the umask (issue 16), no temporary file left behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from analysis import tables


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_new_file_gets_the_permissions_the_umask_gives(
    tmp_path: Path, umask: int, mode: int
) -> None:
    old = os.umask(umask)
    try:
        target = tables.atomic_write_text(tmp_path / "out.csv", "a\n")
        plain = tmp_path / "plain.csv"
        plain.write_text("a\n")  # what open() itself gives, for comparison
    finally:
        os.umask(old)
    assert target.stat().st_mode & 0o777 == mode == plain.stat().st_mode & 0o777


def test_umask_fallback_without_proc(tmp_path: Path, monkeypatch) -> None:
    real_open = open

    def no_proc(path, *args, **kwargs):
        if str(path) == "/proc/self/status":
            raise OSError("no /proc here")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", no_proc)
    old = os.umask(0o027)
    try:
        assert tables._umask() == 0o027
        assert os.umask(0o027) == 0o027  # the mask is left as it was
    finally:
        os.umask(old)


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old\n")

    def broken(tmp: Path) -> None:
        tmp.write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        tables.atomic_write(target, broken)
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]
