"""Hand freed memory back to the operating system between the large steps of a refresh.

CPython frees a large buffer (a sheet's XML, a part's compressed stream) into the C
allocator, and glibc keeps much of that memory mapped for reuse instead of returning it.
The next step's buffers often cannot reuse it (other sizes, other threads' arenas), so a
50k-customer refresh held about 90 MB more than it used at its peak. :func:`give_back`
asks glibc to return what is free (``malloc_trim``); elsewhere it does nothing.
"""

from __future__ import annotations

import ctypes
import sys

_trim = None
if sys.platform.startswith("linux"):
    try:
        _trim = ctypes.CDLL(None).malloc_trim  # the C library the interpreter runs on (no ldconfig call)
        _trim.argtypes = [ctypes.c_size_t]
    except (OSError, AttributeError):   # not glibc (musl has no malloc_trim)
        _trim = None


def give_back() -> None:
    """Return the C allocator's free memory to the operating system (glibc only)."""
    if _trim is not None:
        _trim(0)
