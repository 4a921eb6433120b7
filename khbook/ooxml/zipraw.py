"""Zip members copied or written as raw compressed bytes (zipfile has no public API for it).

:func:`raw_copy` copies a member of the input as it is stored (no inflate, no deflate);
:func:`append_raw` writes a member whose compressed bytes, sizes and CRC are known (a part
khbook deflated itself, see :mod:`khbook.ooxml.deflate`).
"""

from __future__ import annotations

import struct
import zipfile
from collections.abc import Iterable

_LOCAL_HEADER = struct.Struct("<4s5H3L2H")
_DATA_DESCRIPTOR_FLAG = 0x08


def raw_copy(raw, info: zipfile.ZipInfo, out: zipfile.ZipFile) -> None:
    """Copy one member's compressed bytes as they are (no inflate/deflate)."""
    raw.seek(info.header_offset)
    header = _LOCAL_HEADER.unpack(raw.read(_LOCAL_HEADER.size))
    if header[0] != b"PK\x03\x04" or info.flag_bits & 0x01:
        out.writestr(info, _read_member(raw, info))
        return
    name_len, extra_len = header[-2], header[-1]
    raw.seek(info.header_offset + _LOCAL_HEADER.size + name_len + extra_len)
    data = raw.read(info.compress_size)
    zi = zipfile.ZipInfo(info.filename, date_time=info.date_time)
    zi.compress_type = info.compress_type
    zi.flag_bits = info.flag_bits & ~_DATA_DESCRIPTOR_FLAG
    zi.external_attr = info.external_attr
    zi.create_system = info.create_system
    zi.CRC = info.CRC
    zi.compress_size = info.compress_size
    zi.file_size = info.file_size
    append_raw(out, zi, data)


def append_raw(out: zipfile.ZipFile, zi: zipfile.ZipInfo, data: bytes | Iterable[bytes]) -> None:
    """Append a member whose compressed bytes (one buffer, or its pieces in order), sizes and
    CRC are already known."""
    out._writecheck(zi)  # noqa: SLF001 - zipfile has no public raw-copy API
    out.fp.seek(out.start_dir)
    zi.header_offset = out.fp.tell()
    out.fp.write(zi.FileHeader(zip64=zi.file_size > zipfile.ZIP64_LIMIT or zi.compress_size > zipfile.ZIP64_LIMIT))
    if isinstance(data, bytes | bytearray | memoryview):
        out.fp.write(data)
    else:
        out.fp.writelines(data)
    out.filelist.append(zi)
    out.NameToInfo[zi.filename] = zi
    out.start_dir = out.fp.tell()
    out._didModify = True  # noqa: SLF001


def _read_member(raw, info: zipfile.ZipInfo) -> bytes:
    with zipfile.ZipFile(raw) as z:
        return z.read(info)


__all__ = ["append_raw", "raw_copy"]
