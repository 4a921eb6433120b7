"""Fewer garbage collections while khbook checks or refreshes a book.

Reading a book builds millions of objects that live until the call returns (the rows of
every sheet, the typed frames, the findings). CPython collects its youngest generation every
700 allocations and, every so often, scans everything that survived: in a check of a
10k-customer book that took 0.55 of 1.7 s. :func:`relaxed_gc` raises the thresholds for the
duration of a call (never lowers them) and puts back what it found; nested and concurrent
calls share one raise. Cycles are still collected, just less often.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

RELAXED = (50_000, 20, 20)

_lock = threading.Lock()
_active = 0
_found: tuple[int, int, int] | None = None  # the thresholds before the outermost call, if raised


@contextmanager
def relaxed_gc() -> Iterator[None]:
    """Raise the collector's thresholds to :data:`RELAXED` while the block runs (usable as a decorator)."""
    global _active, _found
    with _lock:
        if _active == 0:
            before = gc.get_threshold()
            _found = None
            if before[0] < RELAXED[0]:
                gc.set_threshold(*RELAXED)
                _found = before
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0 and _found is not None:
                if gc.get_threshold() == RELAXED:  # unless someone changed them meanwhile
                    gc.set_threshold(*_found)
                _found = None


_paused = 0
_was_enabled = False


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic collection while the block runs: for a step that builds many containers that
    form no cycles and are freed, or kept, when it ends (a sheet's rows and columns, the
    classifier's per-customer objects); a collection in between would walk every one of them.
    Nested and concurrent blocks share one pause; the collector is enabled again only if it
    was enabled when the first began."""
    global _paused, _was_enabled
    with _lock:
        if _paused == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _paused += 1
    try:
        yield
    finally:
        with _lock:
            _paused -= 1
            if _paused == 0 and _was_enabled:
                gc.enable()


# --------------------------------------------------------------------------- a command's start

_starting = False


def pause_while_starting() -> None:
    """For a command's own short-lived process: no collection while it imports its modules.

    Everything an import makes (modules, classes, functions, pandas' tables) lives until the
    process ends, so scanning it finds nothing to free. :func:`started` freezes what was made
    (out of every later collection, the one at exit included) and lets the collector run again:
    a check of a 40-customer book ends ~0.1 s sooner.
    """
    global _starting
    if gc.isenabled():
        gc.disable()
        _starting = True


def started() -> None:
    """End :func:`pause_while_starting` (a no-op when it was not called, or already ended)."""
    global _starting
    if _starting:
        _starting = False
        gc.freeze()
        gc.enable()
