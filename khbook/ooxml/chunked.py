"""Patch a worksheet's cells without parsing the whole sheet: <sheetData> in row chunks.

A large sheet that gets cell writes is cut into three pieces of bytes: the *head*
(everything before <sheetData>), the rows, and the *tail* (everything after
</sheetData>). Head and tail are parsed together as one small tree (with an empty
``<sheetData/>`` placeholder) and get the sheet-level edits: <dimension>, <cols>,
conditional formats, <legacyDrawing>. The rows are scanned, not parsed, and handled
in chunks of :data:`CHUNK_ROWS` rows:

- a chunk that gets no writes is copied as bytes, verbatim;
- a chunk whose writes are all text or blanks into existing rows, and whose bytes are
  already in the form lxml writes (:func:`~khbook.ooxml.rowedit.serialised_as_is`), has
  the writes spliced into its rows' bytes (:func:`~khbook.ooxml.rowedit.edit_row`):
  no tree, the same bytes the tree patcher would give;
- any other chunk with writes is parsed inside a dummy ``<worksheet>`` root carrying
  the sheet's namespace declarations, patched by a partial
  :class:`~khbook.ooxml.sheetxml.SheetPatcher` and serialised; rows that do not exist
  yet are created in order inside the chunk they fall into (before its first row or
  between its rows), and writes below the last row go into a final chunk of new rows.

So at most one chunk's tree is alive at a time (when dates are written, the chunks with
header marks are kept until the end, so that styles are derived in the same order as
the whole-sheet path). The result is the same sheet as the whole-sheet path gives:
identical cells, values, styles and elements; rows of chunks without writes keep their
original bytes. A sheet of :data:`STREAM_BYTES` or more has its patched rows compressed
as they are made (:mod:`khbook.ooxml.deflate`), not held until the head is written.

:func:`scan_rows` returns None (use the whole-sheet path) when the layout is not the
plain one this relies on: a prefixed or namespaced <sheetData>, rows without ``r`` or
out of order, comments, CDATA, processing instructions, namespace declarations or
mc:AlternateContent inside <sheetData>, or anything but rows and whitespace at its top
level. A write that needs rows outside its chunk (an overwritten shared-formula
master) raises :class:`~khbook.ooxml.sheetxml.NeedWholeSheet` before anything is
stored, and the caller redoes the sheet with the whole-sheet path.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

from lxml import etree

from khbook.ooxml.deflate import Deflated, StreamDeflater, deflate, join
from khbook.ooxml.rowedit import edit_row, serialised_as_is
from khbook.ooxml.sheetxml import NeedWholeSheet, SheetPatcher, split_sheet_data
from khbook.ooxml.styles import Styles
from khbook.ooxml.xmlutil import MAIN, make_ref, parse, q, split_ref, split_refs

CHUNK_ROWS = 2000
"""Rows per chunk (0 disables the chunked path)."""
STREAM_BYTES = 16 << 20
"""A sheet this large (its XML) has its patched rows compressed as they are made."""

_SD_OPEN, _SD_CLOSE, _SD_EMPTY = b"<sheetData>", b"</sheetData>", b"<sheetData/>"
_ROW_OPEN = re.compile(rb"<row(?=[\s/>])[^>]*>")
_ROW_NUM = re.compile(rb"""\sr=["'](\d+)["']""")
_WRAP_END = b"</sheetData></worksheet>"
_PIN_BYTES = 1 << 16
_UNSAFE = (b"<!--", b"<![CDATA[", b"<?", b"xmlns", b"AlternateContent", b"<!")


@dataclass
class RowLayout:
    """Where the rows of a worksheet part are, found without parsing them."""

    reduced: bytes          # the part with <sheetData/> in place of the rows (head + tail)
    content: bytes          # the part as read
    begin: int              # offset of the first byte after <sheetData> in `content`
    end: int                # offset of </sheetData> in `content`
    starts: list[int]       # offset of each <row> in `content`
    nums: list[int]         # its row number (strictly ascending)


def scan_rows(data: bytes) -> RowLayout | None:
    """Locate the rows of a worksheet part; None when the chunked path cannot be used."""
    cut = split_sheet_data(data)
    if cut is None:
        return None
    reduced, sd, placeholder = cut
    if placeholder != _SD_EMPTY or sd[:len(_SD_OPEN)] != _SD_OPEN or sd[-len(_SD_CLOSE):] != _SD_CLOSE:
        return None
    begin = reduced.find(_SD_EMPTY) + len(_SD_OPEN)
    content, end_all = data, begin - len(_SD_OPEN) + len(sd) - len(_SD_CLOSE)
    del sd
    if any(content.find(bad, begin, end_all) >= 0 for bad in _UNSAFE):
        return None
    starts: list[int] = []
    nums: list[int] = []
    last = 0
    pos = begin   # end of the previous row
    find = content.find
    for m in _ROW_OPEN.finditer(content, pos, end_all):
        start, open_end = m.span()
        if start != pos and content[pos:start].strip():
            return None   # something other than whitespace between rows
        tag = m.group()
        if b"'" in tag or tag.count(b'"') % 2:
            return None   # a '>' could hide in an attribute value
        n = _ROW_NUM.search(tag)
        if n is None:
            return None
        num = int(n.group(1))
        if num <= last:
            return None
        last = num
        if tag.endswith(b"/>"):
            pos = open_end
        else:
            end = find(b"</row>", open_end, end_all)
            if end < 0:
                return None
            nested = find(b"<row", open_end, end)
            if nested >= 0 and content[nested + 4:nested + 5] in (b" ", b"\t", b"\r", b"\n", b"/", b">"):
                return None
            pos = end + 6
        starts.append(start)
        nums.append(num)
    if not starts or content[pos:end_all].strip():
        return None
    return RowLayout(reduced, content, begin, end_all, starts, nums)


def _ns_decls(root: etree._Element) -> bytes:
    """The namespace declarations of `root`, as attribute text."""
    parts = []
    for prefix, uri in root.nsmap.items():
        value = uri.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
        parts.append(f'xmlns="{value}"' if prefix is None else f'xmlns:{prefix}="{value}"')
    return " ".join(parts).encode("utf-8")


class ChunkedSheet:
    """The head/tail tree of a worksheet part plus its rows, patched chunk by chunk.

    Use: :attr:`root` / :attr:`patcher` for sheet-level edits (widths, dimension, marks,
    comments), :meth:`write` for the cell edits, then :meth:`assemble` for the new part.
    """

    def __init__(self, layout: RowLayout, part: str, src: str, styles: Styles, *, date1904: bool,
                 splice: bool, chunk_rows: int = CHUNK_ROWS, stream: bool = False) -> None:
        self.layout = layout
        self.part, self.src = part, src
        self.styles, self.date1904, self.splice = styles, date1904, splice
        self.chunk_rows = max(1, chunk_rows)
        root = parse(layout.reduced, part, src)
        sd = root.find(q("sheetData"))
        if (root.tag != q("worksheet") or root.prefix is not None or root.nsmap.get(None) != MAIN
                or sd is None or sd.prefix is not None or len(sd) or sd.text or sd.nsmap != root.nsmap):
            raise NeedWholeSheet("not a plain worksheet")
        self.root = root
        self.patcher = SheetPatcher(root, styles, date1904=date1904)
        self._wrap_open = b"<worksheet " + _ns_decls(root) + b">" + _SD_OPEN
        self.pieces: list[bytes | memoryview] = []
        # stream: the rows are compressed as they are made (see assemble)
        self._rows: StreamDeflater | None = StreamDeflater() if stream else None
        self.removed_formulas: list[str] = []

    # ---- rows -----------------------------------------------------------------------
    def _chunk_bounds(self) -> list[tuple[int, int]]:
        n = len(self.layout.nums)
        return [(i, min(i + self.chunk_rows, n)) for i in range(0, n, self.chunk_rows)]

    def write(self, writes: dict[str, object], header_marks: dict[str, str]) -> None:
        """Apply the cell writes, then the header looks, chunk by chunk (in row order)."""
        lay = self.layout
        chunks = self._chunk_bounds()
        last_nums = [lay.nums[j - 1] for _i, j in chunks]
        n_chunks = len(chunks)
        chunk_writes: list[dict[str, object]] = [{} for _ in range(n_chunks + 1)]   # + new rows below
        for (r, _col), (ref, value) in zip(split_refs(list(writes)), writes.items(), strict=True):
            chunk_writes[bisect.bisect_left(last_nums, r)][ref] = value
        chunk_heads: list[dict[str, str]] = [{} for _ in range(n_chunks + 1)]
        head_chunk: dict[str, int] = {}
        for ref, look in header_marks.items():
            k = bisect.bisect_left(last_nums, split_ref(ref)[0])
            chunk_heads[k][ref] = look
            head_chunk[ref] = k
        col_styles = self.patcher.column_styles()
        content = memoryview(lay.content)
        # header looks are given after all writes, as the whole-sheet path derives its styles;
        # only date writes derive styles too, so without them the looks go in with their chunk
        defer = len(set(head_chunk.values())) > 1 or any(isinstance(v, dt.date) for v in writes.values())
        if defer and self._rows is not None:
            self._rows.close()   # a deferred chunk holds back the rows after it: not streamed
            self._rows = None
        emit = self.pieces.append if self._rows is None else self._rows.add
        emit(bytes(content[lay.begin:lay.starts[0]]))
        deferred: dict[int, tuple[SheetPatcher, int]] = {}   # chunk -> (patcher, piece index)
        for k in range(n_chunks + 1):
            if k < n_chunks:
                i, j = chunks[k]
                a, b = lay.starts[i], (lay.starts[j] if j < len(lay.starts) else lay.end)
            else:
                a = b = lay.end
            if not chunk_writes[k] and not chunk_heads[k]:
                if a != b:   # small pieces copied, so that they do not pin the whole content
                    emit(content[a:b] if b - a > _PIN_BYTES else bytes(content[a:b]))
                continue
            if k < n_chunks and not chunk_heads[k]:
                edited = self._edit_rows(content, chunks[k], a, b, chunk_writes[k], col_styles)
                if edited is not None:
                    chunk_writes[k] = {}
                    emit(edited)
                    continue
            sp = self._open_chunk(content[a:b], col_styles)
            sp.write_many(chunk_writes[k])
            chunk_writes[k] = {}
            self.removed_formulas += sp.removed_formulas
            if chunk_heads[k] and defer:
                deferred[k] = (sp, len(self.pieces))
                self.pieces.append(b"")
            else:
                for ref, look in chunk_heads[k].items():
                    sp.style_header(ref, look)
                emit(self._close_chunk(sp))
        for ref, look in header_marks.items():
            if defer:
                deferred[head_chunk[ref]][0].style_header(ref, look)
        for sp, idx in deferred.values():
            self.pieces[idx] = self._close_chunk(sp)
        if self.removed_formulas:
            order = {_norm(ref): n for n, ref in enumerate(writes)}
            self.removed_formulas.sort(key=lambda r: order.get(r, len(order)))

    def _edit_rows(self, content: memoryview, chunk: tuple[int, int], a: int, b: int,
                   writes: dict[str, object], col_styles: list[tuple[int, int, str | None]]) -> bytes | None:
        """The chunk's rows with `writes` spliced in as bytes (:func:`~khbook.ooxml.rowedit.edit_row`),
        or None when a write or a row needs the tree patcher."""
        if any(value is not None and value.__class__ is not str for value in writes.values()):
            return None
        by_row: dict[int, list[tuple[int, str | None]]] = {}
        for (r, col), value in zip(split_refs(list(writes)), writes.values(), strict=True):
            todo = by_row.get(r)
            if todo is None:
                by_row[r] = [(col, value)]
            else:
                todo.append((col, value))
        r1, r2 = min(by_row), max(by_row)
        c1 = min(col for todo in by_row.values() for col, _ in todo)
        c2 = max(col for todo in by_row.values() for col, _ in todo)
        styles: dict[int, str | None] = {}

        def column_style(col: int) -> str | None:
            if col not in styles:
                styles[col] = next((style for lo, hi, style in col_styles if lo <= col <= hi), None)
            return styles[col]

        rows = bytes(content[a:b])
        if not serialised_as_is(rows):
            return None
        lay = self.layout
        nums, starts = lay.nums, lay.starts
        i, j = chunk
        out: list[bytes] = []
        pos = 0
        for r in sorted(by_row):
            idx = bisect.bisect_left(nums, r, i, j)
            todo = by_row[r]
            if idx == j or nums[idx] != r or len({col for col, _ in todo}) != len(todo):
                return None   # a new row, or one cell written twice
            s, e = starts[idx] - a, (starts[idx + 1] if idx + 1 < len(starts) else lay.end) - a
            new = edit_row(rows[s:e], r, todo, column_style)
            if new is None:
                return None
            out += (rows[pos:s], new)
            pos = e
        out.append(rows[pos:])
        self.patcher._extend_bounds(r1, c1, r2, c2)  # noqa: SLF001 - the head patcher widens <dimension>
        return b"".join(out)

    def _open_chunk(self, rows: memoryview, col_styles: list[tuple[int, int, str | None]]) -> SheetPatcher:
        root = parse(b"".join((self._wrap_open, rows, _WRAP_END)), self.part, self.src)
        return SheetPatcher(root, self.styles, date1904=self.date1904, splice=self.splice,
                            col_styles=col_styles, partial=True)

    def _close_chunk(self, sp: SheetPatcher) -> bytes:
        sp.update_spans()
        if sp.bounds is not None:
            self.patcher._extend_bounds(*sp.bounds)  # noqa: SLF001 - the head patcher widens <dimension>
        out = sp.splice(etree.tostring(sp.root, encoding="UTF-8", xml_declaration=False))
        start = out.find(_SD_OPEN)
        if start < 0:
            if out.find(_SD_EMPTY) < 0:
                raise AssertionError("chunk lost its sheetData")
            return b""
        if not out.endswith(_WRAP_END):
            raise AssertionError("unexpected chunk serialisation")
        return out[start + len(_SD_OPEN):-len(_WRAP_END)]

    # ---- the part -------------------------------------------------------------------
    def assemble(self, serialize: Callable[[etree._Element], bytes]) -> list[bytes | memoryview] | Deflated:
        """The patched part as byte pieces (see :meth:`Package.put`): the serialised
        head/tail tree with the rows put back; when the rows were streamed, the part's
        deflate stream (head, rows and tail compressed apart and joined)."""
        out = serialize(self.root)
        if out.count(_SD_EMPTY) != 1:
            raise AssertionError("sheetData placeholder lost in serialisation")
        head, tail = out.split(_SD_EMPTY)
        if self._rows is not None:
            rows, self._rows = self._rows.finish(sync=True), None
            return join([deflate(head + _SD_OPEN, sync=True), rows, deflate(_SD_CLOSE + tail)])
        pieces, self.pieces = [head, _SD_OPEN, *self.pieces, _SD_CLOSE, tail], []
        return pieces

    def close(self) -> None:
        """Stop the rows' compression (when the sheet is abandoned)."""
        if self._rows is not None:
            self._rows.close()
            self._rows = None


def _norm(ref: str) -> str:
    return make_ref(*split_ref(ref))


__all__ = ["CHUNK_ROWS", "STREAM_BYTES", "ChunkedSheet", "RowLayout", "scan_rows"]
