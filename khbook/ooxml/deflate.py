"""Raw deflate streams (what a zip member stores) made piece by piece, and joined.

:class:`StreamDeflater` compresses pieces as they come, in a helper thread (zlib releases
the GIL) while the caller makes the next ones, so a large part is never held whole and
uncompressed. Streams ended with ``sync=True`` (byte-aligned, not final) can be joined:
:func:`join` gives the stream of the concatenated data, its CRC-32 combined from the
parts' (:func:`crc32_combine`, zlib's algorithm), so the rows of a large sheet can be
compressed before the sheet's head (which changes with the rows' edits) is known.
"""

from __future__ import annotations

import zlib
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

LEVEL = 3
"""Deflate level of the large parts: much faster than the default 6 on khbook's repetitive
XML, a little larger."""


@dataclass
class Deflated:
    """A part kept as its raw deflate stream (what zip stores), with CRC-32 and size."""

    stream: bytes
    crc: int
    size: int

    def data(self) -> bytes:
        return zlib.decompress(self.stream, -15)


class StreamDeflater:
    """Compress pieces in order as they are added; :meth:`finish` gives the stream."""

    def __init__(self, pending: int = 4) -> None:
        self._comp = zlib.compressobj(LEVEL, zlib.DEFLATED, -15)
        self._helper: ThreadPoolExecutor | None = ThreadPoolExecutor(max_workers=1)
        self._pending: deque[Future] = deque()
        self._limit = pending
        self._out: list[bytes] = []
        self.crc = 0
        self.size = 0

    def add(self, piece: bytes | memoryview) -> None:
        if not len(piece):
            return
        assert self._helper is not None, "finished"
        self._pending.append(self._helper.submit(self._comp.compress, piece))
        self.crc = zlib.crc32(piece, self.crc)
        self.size += len(piece)
        while len(self._pending) > self._limit:
            self._out.append(self._pending.popleft().result())

    def finish(self, *, sync: bool = False) -> Deflated:
        """The stream so far; `sync`: ended byte-aligned and not final, to be :func:`join`-ed."""
        while self._pending:
            self._out.append(self._pending.popleft().result())
        self._out.append(self._comp.flush(zlib.Z_SYNC_FLUSH if sync else zlib.Z_FINISH))
        self.close()
        out, self._out = self._out, []
        return Deflated(b"".join(out), self.crc, self.size)

    def close(self) -> None:
        if self._helper is not None:
            self._helper.shutdown(wait=True, cancel_futures=True)
            self._helper = None
            self._pending.clear()


def deflate(data: bytes, *, sync: bool = False) -> Deflated:
    comp = zlib.compressobj(LEVEL, zlib.DEFLATED, -15)
    stream = comp.compress(data) + comp.flush(zlib.Z_SYNC_FLUSH if sync else zlib.Z_FINISH)
    return Deflated(stream, zlib.crc32(data), len(data))


def join(parts: list[Deflated]) -> Deflated:
    """The stream of the parts' data one after the other (all but the last ended with sync)."""
    crc, size = 0, 0
    for p in parts:
        crc = crc32_combine(crc, p.crc, p.size)
        size += p.size
    return Deflated(b"".join(p.stream for p in parts), crc, size)


def _times(mat: list[int], vec: int) -> int:
    out, i = 0, 0
    while vec:
        if vec & 1:
            out ^= mat[i]
        vec >>= 1
        i += 1
    return out


def _square(mat: list[int]) -> list[int]:
    return [_times(mat, mat[n]) for n in range(32)]


def crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """The CRC-32 of A + B from crc(A), crc(B) and len(B) (zlib's crc32_combine)."""
    if len2 <= 0:
        return crc1
    odd = [0xEDB88320] + [1 << n for n in range(31)]   # the operator for one zero bit
    even = _square(odd)   # two zero bits
    odd = _square(even)   # four zero bits
    while True:   # apply len2 zero bytes to crc1
        even = _square(odd)
        if len2 & 1:
            crc1 = _times(even, crc1)
        len2 >>= 1
        if not len2:
            break
        odd = _square(even)
        if len2 & 1:
            crc1 = _times(odd, crc1)
        len2 >>= 1
        if not len2:
            break
    return crc1 ^ crc2


__all__ = ["LEVEL", "Deflated", "StreamDeflater", "crc32_combine", "deflate", "join"]
