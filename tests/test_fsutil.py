"""atomic_output: the output appears whole or not at all, and failures say what to do."""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

import pytest

from khbook.base import fsutil
from khbook.base.errors import WorkbookError
from khbook.base.fsutil import atomic_output


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_success_renames_onto_target(tmp_path: Path) -> None:
    target = tmp_path / "结果 文件.xlsx"
    with atomic_output(target) as tmp:
        assert tmp.parent == tmp_path and tmp != target
        assert tmp.suffix == ".xlsx"  # writers that check the extension are happy
        tmp.write_bytes(b"data")
        assert not target.exists()
    assert target.read_bytes() == b"data"
    assert _leftovers(tmp_path) == [target.name]


def test_output_gets_normal_permissions(tmp_path: Path) -> None:
    target = tmp_path / "out.xlsx"
    with atomic_output(target) as tmp:
        tmp.write_bytes(b"x")
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask


def test_replaces_existing_target(tmp_path: Path) -> None:
    target = tmp_path / "out.xlsx"
    target.write_bytes(b"old")
    with atomic_output(target) as tmp:
        tmp.write_bytes(b"new")
    assert target.read_bytes() == b"new"
    assert _leftovers(tmp_path) == ["out.xlsx"]


def test_exception_inside_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "out.xlsx"
    with pytest.raises(ValueError), atomic_output(target) as tmp:
        tmp.write_bytes(b"half")
        raise ValueError("boom")
    assert _leftovers(tmp_path) == []


def test_exception_inside_keeps_previous_output(tmp_path: Path) -> None:
    target = tmp_path / "out.xlsx"
    target.write_bytes(b"previous")
    with pytest.raises(KeyboardInterrupt), atomic_output(target) as tmp:
        tmp.write_bytes(b"half")
        raise KeyboardInterrupt
    assert target.read_bytes() == b"previous"
    assert _leftovers(tmp_path) == ["out.xlsx"]


def test_disk_full_from_writer(tmp_path: Path) -> None:
    target = tmp_path / "out.xlsx"
    with pytest.raises(WorkbookError) as info, atomic_output(target) as tmp:
        tmp.write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")
    assert type(info.value) is WorkbookError
    assert str(target) in str(info.value)
    assert "disk is full" in info.value.message and "free some space" in info.value.hint
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("code, words", [
    (errno.EACCES, "permission denied"), (errno.EPERM, "permission denied"), (errno.EROFS, "read-only"),
    (errno.ENOSPC, "disk is full"), (errno.EIO, "Input/output error"),
])
def test_rename_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, words: str) -> None:
    target = tmp_path / "out.xlsx"
    target.write_bytes(b"previous")

    def refuse(src: object, dst: object) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(fsutil.os, "replace", refuse)
    with pytest.raises(WorkbookError) as info, atomic_output(target) as tmp:
        tmp.write_bytes(b"new")
    assert str(target) in str(info.value) and words in info.value.message
    assert "\n" not in str(info.value)
    monkeypatch.undo()
    assert target.read_bytes() == b"previous"
    assert _leftovers(tmp_path) == ["out.xlsx"]


@pytest.mark.parametrize("exc, words", [
    (PermissionError(errno.EACCES, "Permission denied"), "-o"),
    (OSError(errno.ENOSPC, "No space left on device"), "free some space"),
])
def test_cannot_create_temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 exc: OSError, words: str) -> None:
    def refuse(*args: object, **kwargs: object) -> tuple[int, str]:
        raise exc

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    target = tmp_path / "out.xlsx"
    entered = False
    with pytest.raises(WorkbookError) as info, atomic_output(target):
        entered = True
    assert not entered
    assert str(target) in str(info.value) and words in info.value.hint
    assert _leftovers(tmp_path) == []


def test_missing_output_folder(tmp_path: Path) -> None:
    target = tmp_path / "nowhere" / "out.xlsx"
    with pytest.raises(WorkbookError) as info, atomic_output(target):
        pass
    assert "does not exist" in str(info.value) and info.value.hint


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores directory permissions")
def test_read_only_folder_for_real(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(WorkbookError) as info, atomic_output(folder / "out.xlsx"):
            pass
        assert "permission" in info.value.hint
        assert _leftovers(folder) == []
    finally:
        folder.chmod(0o755)
