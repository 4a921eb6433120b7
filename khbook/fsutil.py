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

from khbook.errors import WorkbookError

_HINTS = {
    errno.ENOSPC: "the disk is full: free some space and run again",
    errno.EACCES: "no permission to write there: close the file if Excel/WPS has it open, or choose another output folder with -o",
    errno.EPERM: "no permission to write there: close the file if Excel/WPS has it open, or choose another output folder with -o",
    errno.EROFS: "the folder is read-only: choose another output folder with -o",
    errno.ENOENT: "the output folder does not exist: create it or choose another with -o",
}


def _default_mode() -> int:
    """The mode a plain open() would give a new file (mkstemp's 0600 is too private)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _error(path: Path, exc: OSError) -> WorkbookError:
    hint = _HINTS.get(exc.errno or 0, "check the output folder and run again")
    return WorkbookError(str(path), f"cannot write: {exc.strerror or exc}", hint)


@contextlib.contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; rename it onto `path` on success."""
    target = Path(path)
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise WorkbookError(str(target), "cannot write: the output folder does not exist", "create it or choose another with -o")
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
