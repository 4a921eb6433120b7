"""A cache of what khbook builds from files it reads on every run (the parsed spec), kept in
the user's cache folder so a command does not parse the same YAML again each time.

An entry is keyed by the bytes of every file it was built from, the code that builds it,
khbook's version and Python's: change a YAML file (or upgrade khbook) and the next run builds
it again and rewrites the entry. The cache is never required: a missing, unreadable, truncated
or stale entry is rebuilt; a folder that takes no files is skipped silently; entries are
written atomically (a temporary file, then a rename), so concurrent runs never see half of one.

``KHBOOK_CACHE_DIR`` names the folder (``off`` turns the cache off); the default is the
user's cache folder (``~/.cache/khbook``, ``%LOCALAPPDATA%\\khbook\\cache`` on Windows,
``~/Library/Caches/khbook`` on macOS).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from khbook.base.version import __version__

__all__ = ["CACHE_ENV", "cache_dir", "cached"]

CACHE_ENV = "KHBOOK_CACHE_DIR"
#: Bumped when the layout of an entry file changes.
FORMAT = b"khbook-cache-1"
_OFF = ("off", "0", "no", "none", "false")

T = TypeVar("T")


def cache_dir() -> Path | None:
    """The cache folder: ``$KHBOOK_CACHE_DIR``, else the user's cache folder; None when turned off
    (``KHBOOK_CACHE_DIR=off``) or when there is no home folder to put it in."""
    value = os.environ.get(CACHE_ENV, "").strip()
    if value:
        return None if value.lower() in _OFF else Path(value)
    try:
        if sys.platform == "win32":
            base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
            return Path(base) / "khbook" / "cache"
        if sys.platform == "darwin":
            return Path.home() / "Library" / "Caches" / "khbook"
        return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "khbook"
    except RuntimeError:  # no home folder (a service account without one)
        return None


def _key(kind: str, sources: Sequence[Path]) -> bytes:
    """The entry's key: a digest of the format, khbook's and Python's versions and every source's bytes."""
    h = hashlib.blake2b(digest_size=32)
    for part in (FORMAT, __version__.encode(), sys.version.encode(), kind.encode()):
        h.update(len(part).to_bytes(8, "little") + part)
    for path in sources:
        data = path.read_bytes()
        name = str(path).encode("utf-8", "surrogateescape")
        h.update(len(name).to_bytes(8, "little") + name + len(data).to_bytes(8, "little") + data)
    return h.hexdigest().encode() + b"\n"


def _entry(folder: Path, kind: str, sources: Sequence[Path]) -> Path:
    """One entry file per kind, Python version and set of source paths (a spec folder), whatever
    their contents (two interpreters sharing a checkout keep an entry each)."""
    where = "\0".join([sys.version, *map(str, sources)]).encode("utf-8", "surrogateescape")
    return folder / f"{kind}-{hashlib.blake2b(where, digest_size=8).hexdigest()}.pickle"


def _read(entry: Path, key: bytes) -> tuple[bool, object]:
    """(True, value) when the entry holds a value built from these exact sources, else (False, None)."""
    try:
        with open(entry, "rb") as f:
            if f.readline() != FORMAT + b"\n" or f.readline() != key:
                return False, None
            return True, pickle.load(f)  # noqa: S301 - the user's own cache, written by khbook
    except Exception:  # missing, unreadable, truncated or from other code: build it again
        return False, None


def _write(entry: Path, key: bytes, value: object) -> None:
    """Store an entry atomically; any failure (read-only folder, full disk) is ignored."""
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=entry.stem + ".", suffix=".tmp", dir=entry.parent)
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(FORMAT + b"\n" + key)
            pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, entry)
    except Exception:  # unpicklable or unwritable: the cache is only ever a shortcut
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def cached(kind: str, sources: Sequence[Path], build: Callable[[], T]) -> T:
    """``build()``, or the value it returned last time when none of `sources` (absolute paths of
    the files it reads and of the code it runs) has changed since.

    A source that cannot be read skips the cache: ``build`` then reports the problem. An exception
    from ``build`` propagates and stores nothing.
    """
    folder = cache_dir()
    if folder is None:
        return build()
    try:
        key = _key(kind, sources)
    except OSError:
        return build()
    entry = _entry(folder, kind, sources)
    hit, value = _read(entry, key)
    if hit:
        return value  # type: ignore[return-value]
    value = build()
    _write(entry, key, value)
    return value
