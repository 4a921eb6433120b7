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

from khbook.base.errors import Hint, WorkbookError

_DENIED = Hint("write_denied", "no permission to write there: close the file if Excel/WPS has it open, "
               "or choose another output folder with -o")
# errno -> (code, hint); the code names the message in the `errors` area of labels.yaml
_HINTS: dict[int, tuple[str, Hint]] = {
    errno.ENOSPC: ("disk_full", Hint("disk_full", "the disk is full: free some space and run again")),
    errno.EACCES: ("write_denied", _DENIED),
    errno.EPERM: ("write_denied", _DENIED),
    errno.EROFS: ("read_only", Hint("read_only", "the folder is read-only: choose another output folder with -o")),
    errno.ENOENT: ("no_output_folder", Hint("no_output_folder", "the output folder does not exist: create it or choose another with -o")),
}
_UNWRITABLE = ("unwritable", Hint("check_output", "check the output folder and run again"))


def _default_mode() -> int:
    """The mode a plain open() would give a new file (mkstemp's 0600 is too private)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _error(path: Path, exc: OSError) -> WorkbookError:
    code, hint = _HINTS.get(exc.errno or 0, _UNWRITABLE)
    reason = exc.strerror or str(exc)
    return WorkbookError(str(path), f"cannot write: {reason}", hint, code=code, params={"reason": reason})


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
        raise WorkbookError(str(target), "cannot write: the output folder does not exist",
                            Hint("create_folder", "create it or choose another with -o"), code="output_folder_missing")
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
    extension is replaced, any other is kept and the right one appended."""
    target = Path(path)
    want = WORKBOOK_SUFFIXES[kind]
    suffix = target.suffix.lower()
    if suffix == want:
        return target
    if suffix in WORKBOOK_SUFFIXES.values():
        return target.with_suffix(want)
    return target.with_name(target.name + want)
