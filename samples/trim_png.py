"""Crop the empty bottom of a screenshot (the demo's report.png).

Headless Chromium screenshots the window, not the page, so the demo shoots a tall window
and this trims the rows below the page's last content (rows equal to the last row) with
a margin. Plain zlib: 8-bit RGB/RGBA, non-interlaced PNGs, as Chromium writes them.

    python samples/trim_png.py out/batch/report.png
"""

from __future__ import annotations

import struct
import sys
import zlib
from pathlib import Path

MARGIN = 24


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    out, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        out.append((data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]))
        pos += 12 + length
    return out


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def _rows(raw: bytes, width: int, height: int, bpp: int) -> list[bytes]:
    stride = width * bpp
    rows: list[bytes] = []
    prev = bytearray(stride)
    pos = 0
    for _ in range(height):
        kind, line = raw[pos], bytearray(raw[pos + 1:pos + 1 + stride])
        pos += 1 + stride
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            line[i] = (line[i] + (0, a, b, (a + b) // 2, _paeth(a, b, c))[kind]) & 0xFF
        rows.append(bytes(line))
        prev = line
    return rows


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def trim(path: Path) -> int:
    """Crop `path` in place; returns the new height."""
    data = path.read_bytes()
    chunks = _chunks(data)
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    if depth != 8 or colour not in (2, 6) or interlace:
        return height
    bpp = 4 if colour == 6 else 3
    rows = _rows(zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT")), width, height, bpp)
    last = height - 1
    while last > 0 and rows[last] == rows[-1]:
        last -= 1
    keep = min(height, last + 1 + MARGIN)
    header = struct.pack(">IIBBBBB", width, keep, depth, colour, 0, 0, 0)
    pixels = zlib.compress(b"".join(b"\x00" + r for r in rows[:keep]), 6)
    path.write_bytes(data[:8] + _chunk(b"IHDR", header) + _chunk(b"IDAT", pixels) + _chunk(b"IEND", b""))
    return keep


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        print(f"{arg}: {trim(Path(arg))} px high")
