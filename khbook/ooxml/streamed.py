"""A huge worksheet that only gets marks, comments or widths, patched without holding it.

The light path of the patcher (:func:`~khbook.ooxml.sheetxml.split_sheet_data`) cuts the
rows out of a sheet, edits the small rest and puts the rows back byte-identical. For a
part of :data:`HUGE` bytes or more this is done in two streaming passes over the zip
member instead of on the part in memory: the first finds the rows (``<sheetData>`` to
``</sheetData>``) and keeps only what is before and after them; the second copies the
rows into the new part's compressed stream between the edited head and tail. A layout
that is not the plain one (a prefixed or self-closing ``<sheetData>``, a DTD) returns
None and the sheet takes the in-memory path.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

HUGE = 16 << 20
"""Parts this large (uncompressed) take the streaming path."""

_BLOCK = 1 << 20
_OPEN, _CLOSE, _WORD = b"<sheetData>", b"</sheetData>", b"sheetData"
_REFUSED = (b"<!DOCTYPE", b"<!ENTITY")
_CARRY = max(len(p) for p in (_OPEN, _CLOSE, _WORD, *_REFUSED)) - 1


@dataclass
class Located:
    head: bytes     # the part before <sheetData>
    tail: bytes     # the part after </sheetData>
    start: int      # offset of <sheetData>
    end: int        # offset just after </sheetData>

    def reduced(self) -> bytes:
        """The part with ``<sheetData/>`` in place of the rows (as split_sheet_data gives it)."""
        return self.head + b"<sheetData/>" + self.tail


def _blocks(stream: IO[bytes]) -> Iterator[bytes]:
    while block := stream.read(_BLOCK):
        yield block


def locate(stream: IO[bytes]) -> Located | None:
    """Where the rows are in a streamed worksheet part, or None (not the plain layout)."""
    head = bytearray()
    tail: bytearray | None = None
    start = end = -1
    words = 0
    carry = b""
    offset = 0   # offset of the current block in the part
    for block in _blocks(stream):
        buf = carry + block
        base = offset - len(carry)   # offset of buf[0]
        if any(p in buf for p in _REFUSED):
            return None
        words += buf.count(_WORD, max(0, len(carry) - len(_WORD) + 1))   # each match once: it ends in `block`
        if start < 0:
            head += block
            i = buf.find(_OPEN)
            if i >= 0:
                start = base + i
                del head[start:]
        if start >= 0 and end < 0:
            i = buf.find(_CLOSE, max(0, start + len(_OPEN) - base))
            if i >= 0:
                end = base + i + len(_CLOSE)
                tail = bytearray(buf[i + len(_CLOSE):])
        elif tail is not None:
            tail += block
        carry = buf[-_CARRY:]
        offset += len(block)
    if start < 0 or end < 0 or tail is None or words != 2:
        return None
    return Located(bytes(head), bytes(tail), start, end)


def rows(stream: IO[bytes], start: int, end: int) -> Iterator[bytes]:
    """The bytes [start, end) of a streamed part, in blocks."""
    offset = 0
    for block in _blocks(stream):
        a, b = max(start - offset, 0), min(end - offset, len(block))
        if a < b:
            yield block[a:b]
        offset += len(block)
        if offset >= end:
            break


__all__ = ["HUGE", "Located", "locate", "rows"]
