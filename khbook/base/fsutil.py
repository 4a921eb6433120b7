"""Atomic output: write to a temporary file beside the target, then rename.

No half-written output is ever left behind: on any failure the temporary file is
removed and a WorkbookError names the target and what to do.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from khbook.base.errors import Hint, WorkbookError, os_error_name

_DENIED = Hint("write_denied", "close the file if Excel/WPS has it open, or choose another output with -o")
_OTHER_FOLDER = Hint("read_only", "choose another output folder with -o")
_CREATE = Hint("no_output_folder", "create the folder, or choose another with -o")
# errno -> (code, English message, hint); the code names the message in the `errors` area of labels.yaml
_CAUSES: dict[int, tuple[str, str, Hint]] = {
    errno.ENOSPC: ("disk_full", "the disk is full", Hint("disk_full", "free some space and run again")),
    errno.EDQUOT: ("disk_full", "the disk is full", Hint("disk_full", "free some space and run again")),
    errno.EACCES: ("write_denied", "permission denied", _DENIED),
    errno.EPERM: ("write_denied", "permission denied", _DENIED),
    errno.EROFS: ("read_only", "the folder is read-only", _OTHER_FOLDER),
    errno.EISDIR: ("output_is_folder", "this is a folder", Hint("output_name", "give a file name with -o")),
    errno.ENOTDIR: ("path_not_folder", "a part of the path is a file, not a folder", _OTHER_FOLDER),
    errno.ENAMETOOLONG: ("name_too_long", "the file name is too long", Hint("output_name", "give a file name with -o")),
}


def _default_mode() -> int:
    """The mode a plain open() would give a new file (mkstemp's 0600 is too private)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _error(path: Path, exc: OSError) -> WorkbookError:
    """One message naming the real cause of a failed write (never the OS's English words in zh)."""
    reason = exc.strerror or str(exc)
    params = {"reason": reason, "errno": os_error_name(exc)}
    if exc.errno == errno.ENOENT:
        if path.parent.is_dir():  # the folder is there but takes no new files (/proc, a vanished mount)
            return WorkbookError(str(path), "cannot write: this location does not accept new files", _OTHER_FOLDER,
                                 code="not_writable", params=params)
        return WorkbookError(str(path), "cannot write: the output folder does not exist", _CREATE,
                             code="no_output_folder", params=params)
    code, message, hint = _CAUSES.get(exc.errno or 0, ("unwritable", reason, Hint("check_output", "check the output folder and run again")))
    return WorkbookError(str(path), f"cannot write: {message}", hint, code=code, params=params)


def make_folder(path: Path) -> None:
    """Create an output folder (and its parents); a WorkbookError naming it when that fails."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise WorkbookError(str(path), f"cannot create the output folder: {reason}", Hint("other_folder", "choose another with -o"),
                            code="outdir_failed", params={"reason": reason}) from None


def refuse_overwrite(src: str | Path, dst: str | Path) -> None:
    """Raise when writing `dst` would replace the input `src`: khbook never modifies an input file."""
    src, dst = Path(src), Path(dst)
    if dst.exists() and src.exists() and dst.resolve() == src.resolve():
        raise WorkbookError(str(src), "the output would overwrite the input",
                            Hint("other_output", "choose another output path with -o"), code="overwrite_input")


@contextlib.contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; rename it onto `path` on success."""
    target = Path(path)
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        if parent.exists():
            raise WorkbookError(str(target), "cannot write: a part of the path is a file, not a folder", _OTHER_FOLDER,
                                code="path_not_folder")
        raise WorkbookError(str(target), "cannot write: the output folder does not exist", _CREATE,
                            code="output_folder_missing")
    if target.is_dir():
        raise WorkbookError(str(target), "cannot write: this is a folder", Hint("output_name", "give a file name with -o"),
                            code="output_is_folder")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".tmp{target.suffix}", dir=parent)
        os.close(fd)
    except OSError as exc:
        raise _error(target, exc) from None
    tmp = Path(tmp_name)
    with contextlib.suppress(OSError):
        os.chmod(tmp, _default_mode())
    try:
        yield tmp
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise _error(target, exc) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


WORKBOOK_SUFFIXES = {"xlsx": ".xlsx", "xlsm": ".xlsm"}


def workbook_suffix(path: str | Path, kind: str) -> Path:
    """`path` with the extension its content needs: ``.xlsm`` for a macro workbook (``kind``
    ``"xlsm"``), ``.xlsx`` for any other. Excel refuses a macro package named .xlsx and a
    plain one named .xlsm, so every writer names its output through this. An .xlsx/.xlsm
    extension is replaced, any other is kept and the right one appended. An existing folder is
    left as it is (writing to it is refused with its own message)."""
    target = Path(path)
    if target.is_dir():
        return target
    want = WORKBOOK_SUFFIXES[kind]
    suffix = target.suffix.lower()
    if suffix == want:
        return target
    if suffix in WORKBOOK_SUFFIXES.values():
        return target.with_suffix(want)
    return target.with_name(target.name + want)
