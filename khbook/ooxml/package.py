"""The OPC package: zip members in and out, content types and relationships.

A :class:`Package` reads the input zip once. Parts are fetched lazily; a part is only
re-serialised when it is replaced with :meth:`Package.put`. On :meth:`Package.write`
untouched members are copied *raw* (their compressed bytes, no inflate/deflate), in the
input's order and with their compression; new members are appended.

Zip directory entries (``xl/``, ``_rels/`` ... some zip tools write them) are copied too.

A package in the ISO/IEC 29500 *Strict* namespaces (Excel's "Strict Open XML Spreadsheet")
is patched like any other: :meth:`Package.read` gives every XML part in the transitional
namespaces the patcher works in (:mod:`khbook.ooxml.strict`), and :meth:`Package.put`
writes what changes back in Strict; untouched parts are copied raw as always.

A large part that is put (1 MB and more) is deflated in a background thread right away
and only its compressed stream is kept, so a book with several rewritten 50 MB sheets
does not hold them all uncompressed until :meth:`Package.write`.
"""

from __future__ import annotations

import itertools
import os
import posixpath
import zipfile
import zlib
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from lxml import etree

from khbook.base.errors import Hint, WorkbookError
from khbook.ooxml import strict
from khbook.ooxml.deflate import LEVEL, Deflated, StreamDeflater
from khbook.ooxml.xmlutil import CT_NS, PKG_REL, parse, serialize
from khbook.ooxml.zipraw import append_raw, raw_copy


@dataclass
class Pieces:
    """A large part held as the byte pieces it is the concatenation of."""

    pieces: list[bytes | memoryview]
    size: int

    def __len__(self) -> int:
        return self.size

    def data(self) -> bytes:
        return b"".join(self.pieces)


@dataclass
class Rel:
    id: str
    type: str
    target: str
    external: bool = False


def rels_name(part: str) -> str:
    """xl/worksheets/sheet1.xml -> xl/worksheets/_rels/sheet1.xml.rels."""
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def resolve(source_part: str, target: str) -> str:
    """A relationship target relative to its source part -> a package part name."""
    if target.startswith("/"):
        return posixpath.normpath(target.lstrip("/"))
    return posixpath.normpath(posixpath.join(posixpath.dirname(source_part), target))


def relative(source_part: str, target_part: str) -> str:
    """A package part name -> a target relative to `source_part`'s folder."""
    return posixpath.relpath(target_part, posixpath.dirname(source_part) or ".")


class Package:
    """An OPC package opened for patching (the input file is only read)."""

    def __init__(self, src: Path) -> None:
        self.src = Path(src)
        try:
            self._zip = zipfile.ZipFile(self.src)
        except (zipfile.BadZipFile, OSError) as exc:
            raise WorkbookError(str(src), f"not an .xlsx/.xlsm package ({exc})",
                                Hint("save_unencrypted", "save it as .xlsx from Excel or WPS (encrypted files cannot be read)"),
                                code="not_package", params={"detail": str(exc)}) from None
        self._all_infos = self._zip.infolist()
        self.infos = [i for i in self._all_infos if not i.is_dir()]
        self._names = {i.filename for i in self.infos}
        self._changed: dict[str, bytes | Deflated] = {}
        self._added: dict[str, bytes | Deflated] = {}
        self._stored = {i.filename for i in self.infos if i.compress_type == zipfile.ZIP_STORED}
        self._pool: ThreadPoolExecutor | None = None
        self._deflating: dict[str, Future] = {}
        self._removed: set[str] = set()
        self._rels_cache: dict[str, list[Rel]] = {}
        self._rels_dirty: set[str] = set()
        self.strict = "_rels/.rels" in self._names and strict.is_strict(self._zip.read("_rels/.rels"))
        self._ct = parse(self.read("[Content_Types].xml"), "[Content_Types].xml", str(src))
        self._ct_dirty = False
        self._dropped: set[str] = set()

    # ---- parts --------------------------------------------------------------------
    def exists(self, name: str) -> bool:
        if name in self._removed:
            return False
        return name in self._names or name in self._added

    def read(self, name: str) -> bytes:
        data = self._changed.get(name)
        if data is None:
            data = self._added.get(name)
        if data is not None:
            data = data.data() if isinstance(data, Deflated | Pieces) else data
            return strict.to_transitional(data) if self.strict and strict.is_xml(name) else data
        if name in self._removed or name not in self._names:
            raise WorkbookError(str(self.src), f"the package has no part {name}",
                                Hint("damaged_resave", "the file is damaged: re-save it in Excel or WPS"),
                                code="no_part", params={"part": name})
        data = self._zip.read(name)
        return strict.to_transitional(data) if self.strict and strict.is_xml(name) else data

    def original_size(self, name: str) -> int | None:
        """The size of a part still as the input has it (not put, not removed), that may be
        read with :meth:`open_original` and put back as a stream; None otherwise."""
        if name not in self._names or name in self._changed or name in self._removed or not self.can_stream(name):
            return None
        return self._zip.getinfo(name).file_size

    def open_original(self, name: str) -> IO[bytes]:
        """The input's part `name`, decompressed as it is read (see :meth:`original_size`)."""
        return self._zip.open(name)

    def xml(self, name: str) -> etree._Element:
        return parse(self.read(name), name, str(self.src))

    def put(self, name: str, data: bytes | etree._Element | list[bytes | memoryview] | Deflated,
            content_type: str | None = None) -> None:
        """Replace an existing part or add a new one (with an Override content type).

        `data` may be a list of byte pieces (the part is their concatenation): a large part
        given so is deflated piece by piece and never joined in memory.
        """
        if isinstance(data, Deflated):   # already compressed (see can_stream)
            if not self.can_stream(name):
                raise ValueError(f"{name} cannot be put compressed")
            self._removed.discard(name)
            self._deflating.pop(name, None)
            (self._changed if name in self._names else self._added)[name] = data
            if content_type is not None:
                self.set_override(name, content_type)
            return
        if isinstance(data, etree._Element):
            data = serialize(data)
        elif isinstance(data, list):
            size = sum(len(piece) for piece in data)
            if size >= max(_HUGE_PART, _BIG_PART) and self.can_stream(name):
                # compressed now, not in the background: a huge part's pieces are not kept waiting
                self.put_stream(name, data, content_type)
                return
            data = (b"".join(data) if size < _BIG_PART or name in self._stored or self.strict
                    else Pieces(data, size))
        if self.strict and strict.is_xml(name):
            data = strict.to_strict(data)
        self._removed.discard(name)
        self._deflating.pop(name, None)
        if name in self._names:
            self._changed[name] = data
        else:
            self._added[name] = data
        if content_type is not None:
            self.set_override(name, content_type)
        if len(data) >= _BIG_PART and name not in self._stored:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=min(os.cpu_count() or 1, 4))
            self._deflating[name] = self._pool.submit(_deflate, data)
        self._collect(wait=False)
        # bound what waits uncompressed: wait for the oldest deflates beyond _PENDING_LIMIT
        while len(self._deflating) > 1 and sum(len(self._changed.get(n) or self._added.get(n) or b"")
                                               for n in self._deflating) > _PENDING_LIMIT:
            self._collect(wait=True, only=next(iter(self._deflating)))

    def put_stream(self, name: str, pieces: Iterable[bytes], content_type: str | None = None) -> None:
        """:meth:`put` for a part made piece by piece: a large one is compressed as the pieces
        come (in a helper thread, while the next are made), so it is never held whole,
        uncompressed. The part is the same as ``put(name, list(pieces))`` gives."""
        it = iter(pieces)
        head: list[bytes] = []
        size = 0
        for piece in it:
            head.append(piece)
            size += len(piece)
            if size >= _BIG_PART:
                break
        if size < _BIG_PART or name in self._stored or self.strict:
            head += it
            self.put(name, head, content_type)
            return
        deflater = StreamDeflater()
        try:
            for piece in itertools.chain(head, it):
                deflater.add(piece)
            head = []
            self.put(name, deflater.finish(), content_type)
        finally:
            deflater.close()

    def can_stream(self, name: str) -> bool:
        """Whether `name` may be given to :meth:`put` as a :class:`Deflated` stream (deflated,
        not a Strict package whose parts are converted as they are put)."""
        return name not in self._stored and not self.strict

    def _collect(self, *, wait: bool, only: str | None = None) -> None:
        """Swap the parts whose background deflate has finished (all of them, or `only`,
        when `wait`) for their compressed stream."""
        for name, fut in list(self._deflating.items()):
            if (not wait and not fut.done()) or (only is not None and name != only):
                continue
            stream, crc = fut.result()
            del self._deflating[name]
            target = self._changed if name in self._changed else self._added
            data = target.get(name)
            if isinstance(data, bytes | bytearray | Pieces):
                target[name] = Deflated(stream, crc, len(data))

    def remove(self, name: str) -> None:
        """Remove a part, its relationships part and its Override."""
        for n in (name, rels_name(name)):
            self._deflating.pop(n, None)
            self._changed.pop(n, None)
            self._added.pop(n, None)
            self._rels_cache.pop(n, None)
            self._rels_dirty.discard(n)
            if n in self._names:
                self._removed.add(n)
        self._dropped.add(name)  # its Override goes at write time, unless the name is reused

    def free_name(self, pattern: str) -> str:
        """First free part name for a pattern with one {} (numbered from 1)."""
        n = 1
        while True:
            name = pattern.format(n)
            if not self.exists(name) and not self.exists(name.lower()):
                return name
            n += 1

    def part_names(self) -> list[str]:
        names = [i.filename for i in self.infos if i.filename not in self._removed]
        return names + list(self._added)

    # ---- relationships -----------------------------------------------------------
    def rels(self, part: str) -> list[Rel]:
        """The relationships of `part` (empty list when it has none); a live list."""
        name = rels_name(part) if part else "_rels/.rels"
        if name not in self._rels_cache:
            out: list[Rel] = []
            if self.exists(name):
                root = self.xml(name)
                for el in root.iter(f"{{{PKG_REL}}}Relationship"):
                    out.append(Rel(el.get("Id", ""), el.get("Type", ""), el.get("Target", ""),
                                   el.get("TargetMode") == "External"))
            self._rels_cache[name] = out
        return self._rels_cache[name]

    def add_rel(self, part: str, type_: str, target_part: str) -> str:
        """Add an internal relationship from `part` to `target_part`; returns its Id."""
        rels = self.rels(part)
        ids = {r.id for r in rels}
        n = len(rels) + 1
        while f"rId{n}" in ids:
            n += 1
        rid = f"rId{n}"
        rels.append(Rel(rid, type_, relative(part, target_part)))
        self._rels_dirty.add(rels_name(part))
        return rid

    def drop_rel(self, part: str, rid: str) -> None:
        rels = self.rels(part)
        rels[:] = [r for r in rels if r.id != rid]
        self._rels_dirty.add(rels_name(part))

    def clear_rels(self, part: str) -> None:
        self.rels(part).clear()
        self._rels_dirty.add(rels_name(part))

    def all_rels_sources(self) -> list[str]:
        """Source part names of every relationships part in the package ('' = package)."""
        out = []
        for name in self.part_names():
            if name.endswith(".rels") and "/_rels/" in "/" + name:
                folder, base = posixpath.split(name)
                src_folder = posixpath.dirname(folder)
                out.append(posixpath.join(src_folder, base[: -len(".rels")]) if base != ".rels" else "")
        return out

    def targets(self, part: str, type_: str | None = None) -> list[tuple[Rel, str]]:
        """(relationship, resolved part name) for the internal rels of `part`."""
        return [(r, self.canonical(resolve(part, r.target))) for r in self.rels(part)
                if not r.external and (type_ is None or r.type == type_)]

    def canonical(self, name: str) -> str:
        """The package's own spelling of a part name (OPC part names compare case-insensitively)."""
        if self.exists(name):
            return name
        lower = name.lower()
        return next((n for n in self.part_names() if n.lower() == lower and self.exists(n)), name)

    def _flush_rels(self) -> None:
        for name in sorted(self._rels_dirty):
            rels = self._rels_cache.get(name, [])
            old: dict[tuple[str, str, str], etree._Element] = {}
            if self.exists(name):
                root = self.xml(name)
                for el in list(root):
                    if isinstance(el.tag, str):
                        old[(el.get("Id", ""), el.get("Type", ""), el.get("Target", ""))] = el
                    root.remove(el)
            else:
                root = etree.Element(f"{{{PKG_REL}}}Relationships", nsmap={None: PKG_REL})
            for r in rels:
                el = old.get((r.id, r.type, r.target))
                if el is None:
                    el = etree.Element(f"{{{PKG_REL}}}Relationship", Id=r.id, Type=r.type, Target=r.target)
                    if r.external:
                        el.set("TargetMode", "External")
                root.append(el)
            if len(root) == 0:
                self.remove(name)
            else:
                self.put(name, root)
        self._rels_dirty.clear()

    # ---- content types -----------------------------------------------------------
    def set_override(self, name: str, content_type: str) -> None:
        part = "/" + name
        for el in self._ct.iter(f"{{{CT_NS}}}Override"):
            if el.get("PartName") == part:
                if el.get("ContentType") != content_type:
                    el.set("ContentType", content_type)
                    self._ct_dirty = True
                return
        el = etree.SubElement(self._ct, f"{{{CT_NS}}}Override")
        el.set("PartName", part)
        el.set("ContentType", content_type)
        self._ct_dirty = True

    def ensure_default(self, extension: str, content_type: str) -> None:
        for el in self._ct.iter(f"{{{CT_NS}}}Default"):
            if (el.get("Extension") or "").lower() == extension.lower():
                return
        el = etree.Element(f"{{{CT_NS}}}Default")
        el.set("Extension", extension)
        el.set("ContentType", content_type)
        self._ct.insert(0, el)  # Defaults first, as Office writes them
        self._ct_dirty = True

    def _remove_override(self, name: str) -> None:
        for el in list(self._ct.iter(f"{{{CT_NS}}}Override")):
            if el.get("PartName") == "/" + name:
                self._ct.remove(el)
                self._ct_dirty = True

    # ---- output -----------------------------------------------------------------
    def write(self, dst: Path) -> tuple[int, int]:
        """Write the patched package to `dst`; returns (parts changed/added, parts copied raw)."""
        self._flush_rels()
        for name in self._dropped:
            if not self.exists(name):
                self._remove_override(name)
        if self._ct_dirty:
            self.put("[Content_Types].xml", serialize(self._ct))
        copied = changed = 0
        self._collect(wait=True)
        deflated = self._deflate_all()
        with open(self.src, "rb") as raw, zipfile.ZipFile(dst, "w", allowZip64=True) as out:
            for info in self._all_infos:
                name = info.filename
                if info.is_dir():   # a directory entry: kept as it is
                    raw_copy(raw, info, out)
                    copied += 1
                    continue
                if name in self._removed:
                    continue
                if name in self._changed:
                    zi = zipfile.ZipInfo(name, date_time=info.date_time)
                    zi.compress_type = info.compress_type if info.compress_type in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) else zipfile.ZIP_DEFLATED
                    zi.external_attr = info.external_attr
                    _write_member(out, zi, self._changed[name], deflated.pop(name, None))
                    changed += 1
                else:
                    raw_copy(raw, info, out)
                    copied += 1
            for name, data in self._added.items():
                zi = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                zi.compress_type = zipfile.ZIP_DEFLATED
                zi.external_attr = 0o600 << 16
                _write_member(out, zi, data, deflated.pop(name, None))
                changed += 1
        return changed, copied

    def _deflate_all(self) -> dict[str, tuple[bytes, int]]:
        """Deflate the large new or changed parts up front, in threads (zlib releases the GIL).

        Returns name -> (raw deflate stream, CRC-32). Parts of 1 MB and more use level
        3 (much faster than the default 6 on khbook's repetitive XML, a little
        larger); smaller parts are left to zipfile's default.
        """
        big = [(n, d) for n, d in [*self._changed.items(), *self._added.items()]
               if not isinstance(d, Deflated) and len(d) >= _BIG_PART and n not in self._stored]
        if not big:
            return {}
        if len(big) == 1:
            return {big[0][0]: _deflate(big[0][1])}
        with ThreadPoolExecutor(max_workers=min(len(big), os.cpu_count() or 1, 4)) as pool:
            return dict(zip([n for n, _ in big], pool.map(_deflate, [d for _, d in big]), strict=True))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._deflating.clear()
        self._zip.close()


_BIG_PART = 1 << 20
_HUGE_PART = 16 << 20
_PENDING_LIMIT = 64 << 20
_FAST_LEVEL = LEVEL


def _deflate(data: bytes | Pieces) -> tuple[bytes, int]:
    """A raw deflate stream (as zip stores it) and the CRC-32 of `data`."""
    comp = zlib.compressobj(_FAST_LEVEL, zlib.DEFLATED, -15)
    if isinstance(data, Pieces):
        out, crc = [], 0
        for piece in data.pieces:
            out.append(comp.compress(piece))
            crc = zlib.crc32(piece, crc)
        out.append(comp.flush())
        return b"".join(out), crc
    return comp.compress(data) + comp.flush(), zlib.crc32(data)


def _write_member(out: zipfile.ZipFile, zi: zipfile.ZipInfo, data: bytes | Deflated,
                  deflated: tuple[bytes, int] | None) -> None:
    """Write one member; `deflated` (stream, CRC) when it was compressed beforehand."""
    if isinstance(data, Deflated):
        if zi.compress_type == zipfile.ZIP_DEFLATED:
            zi.CRC, zi.compress_size, zi.file_size = data.crc, len(data.stream), data.size
            append_raw(out, zi, data.stream)
            return
        data = data.data()
    if isinstance(data, Pieces):
        data = data.data()
    if deflated is None or zi.compress_type != zipfile.ZIP_DEFLATED:
        out.writestr(zi, data)
        return
    stream, crc = deflated
    zi.CRC = crc
    zi.compress_size = len(stream)
    zi.file_size = len(data)
    append_raw(out, zi, stream)
