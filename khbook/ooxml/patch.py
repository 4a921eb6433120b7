"""The OOXML package patcher behind :func:`khbook.ooxml.write_annotated` (see the package docstring)."""

from __future__ import annotations

import itertools
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path

from khbook.base.errors import WorkbookError
from khbook.base.excel import col_index, valid_sheet_name
from khbook.base.fsutil import atomic_output, refuse_overwrite
from khbook.base.memory import give_back
from khbook.ooxml import chunked, streamed
from khbook.ooxml.comments import CommentResult, ShapeIds, patch_comments
from khbook.ooxml.edits import NewSheet, PatchStats, SheetEdits
from khbook.ooxml.newsheet import add_charts, build_sheet
from khbook.ooxml.package import Package
from khbook.ooxml.sheetxml import (
    MARK_FILLS,
    MARK_KINDS,
    NeedWholeSheet,
    SheetPatcher,
    split_sheet_data,
)
from khbook.ooxml.styles import Styles
from khbook.ooxml.workbook import Workbook, reset_part
from khbook.ooxml.xmlutil import CT_WORKSHEET, XML_DECL, check_refs, parse, q, serialize


def write_annotated(src: Path, dst: Path, edits: list[SheetEdits], new_sheets: list[NewSheet], *,
                    replace_sheets: Collection[str] = ()) -> PatchStats:
    """Write `src` with `edits` and `new_sheets` applied to `dst` (atomically); `src` is never modified."""
    src, dst = Path(src), Path(dst)
    refuse_overwrite(src, dst)
    _validate(edits, new_sheets)
    stats = PatchStats()
    pkg = Package(src)
    try:
        wb = Workbook(pkg)
        styles = Styles(pkg, wb.part)
        ids = ShapeIds(pkg)
        new_names = {ns.name.lower() for ns in new_sheets}
        for e in edits:
            if e.sheet.lower() in new_names or e.sheet.lower() in {n.lower() for n in replace_sheets}:
                raise ValueError(f"sheet {e.sheet!r} is both edited and replaced")
            _patch_sheet(pkg, wb, styles, ids, e, stats)
            give_back()   # the sheet's buffers: freed, and returned rather than kept mapped
        for name in replace_sheets:
            if name.lower() not in new_names and wb.find(name) is not None:
                wb.remove_sheet(name)
                stats.sheets_removed.append(name)
        for ns in new_sheets:
            _write_new_sheet(pkg, wb, styles, ns, stats)
            give_back()
        styles.save()
        wb.save()
        before = set(i.filename for i in pkg.infos)
        with atomic_output(dst) as tmp:
            stats.parts_changed, stats.parts_copied = pkg.write(tmp)
        stats.parts_removed = len(before - set(pkg.part_names()))
    finally:
        pkg.close()
    return stats


def _validate(edits: list[SheetEdits], new_sheets: list[NewSheet]) -> None:
    for e in edits:
        for ref, (kind, _text) in e.marks.items():
            if kind not in MARK_KINDS:
                raise ValueError(f"{e.sheet}!{ref}: unknown mark kind {kind!r}")
        check_refs([*e.marks, *e.writes, *e.header_marks])
    seen: set[str] = set()
    for ns in new_sheets:
        n = ns.name
        if not valid_sheet_name(n):
            raise ValueError(f"invalid sheet name {n!r}")
        if n.lower() in seen:
            raise ValueError(f"sheet {n!r} given twice")
        seen.add(n.lower())
        for kind in ns.fills.values():
            if kind not in MARK_FILLS:
                raise ValueError(f"{n}: unknown fill kind {kind!r}")


def _patch_sheet(pkg: Package, wb: Workbook, styles: Styles, ids: ShapeIds, e: SheetEdits,
                 stats: PatchStats) -> None:
    hit = wb.find(e.sheet)
    part = wb.worksheet_part(e.sheet)
    sheet_id = hit[1].sheet_id if hit else 0
    if not e.writes and not e.header_marks and (pkg.original_size(part) or 0) >= streamed.HUGE:
        if _patch_sheet_streamed(pkg, wb, styles, ids, e, stats, part, sheet_id):
            return
    data = pkg.read(part)
    splice = b"khbook-cell" not in data
    if (e.writes or e.header_marks) and chunked.CHUNK_ROWS > 0:
        layout = chunked.scan_rows(data)
        if layout is not None:
            del data   # the layout holds the rows: no second copy of a large part meanwhile
            try:
                _patch_sheet_chunked(pkg, wb, styles, ids, e, stats, part, sheet_id, layout, splice=splice)
                return
            except NeedWholeSheet:
                pass   # an edit needs the whole sheet, or an unusual layout: parse it all
            del layout
            data = pkg.read(part)
    # no cell writes: leave <sheetData> unparsed and byte-identical
    cut = split_sheet_data(data) if not e.writes and not e.header_marks else None
    if cut:
        del data   # re-read in the (unexpected) case that the rows must be parsed after all
    root = parse(cut[0] if cut else data, part, str(pkg.src))
    sp = SheetPatcher(root, styles, date1904=wb.date1904, splice=splice)
    sp.write_many(e.writes)
    for ref, look in e.header_marks.items():
        sp.style_header(ref, look)
    removed_cf = _sheet_edits(sp, styles, e)
    had_legacy = root.find(q("legacyDrawing")) is not None
    res = patch_comments(pkg, part, root, {r: t for r, (_k, t) in e.marks.items() if t}, ids)
    touched = bool(e.writes or e.header_marks or e.new_columns or e.marks or removed_cf
                   or had_legacy != (root.find(q("legacyDrawing")) is not None))
    if touched:
        out: bytes | list[bytes] = sp.splice(serialize(root))
        if cut:
            if out.count(cut[2]) == 1:   # the original rows back in, as pieces (not joined)
                head, tail = out.split(cut[2])
                out = [head, cut[1], tail]
            else:  # not expected from lxml's serialiser: put the parsed cells back
                placeholder = root.find(q("sheetData"))
                placeholder.getparent().replace(placeholder, parse(pkg.read(part), part).find(q("sheetData")))
                out = serialize(root)
        pkg.put(part, out)
    _record(wb, e, stats, sheet_id, res, sp.removed_formulas)


def _patch_sheet_streamed(pkg: Package, wb: Workbook, styles: Styles, ids: ShapeIds, e: SheetEdits,
                          stats: PatchStats, part: str, sheet_id: int) -> bool:
    """The light path of :func:`_patch_sheet` (no cell writes) for a huge sheet, its rows
    streamed from the input and never held (:mod:`khbook.ooxml.streamed`); False when the
    layout is not the plain one (nothing was changed)."""
    with pkg.open_original(part) as f:
        found = streamed.locate(f)
    if found is None:
        return False
    root = parse(found.reduced(), part, str(pkg.src))
    sp = SheetPatcher(root, styles, date1904=wb.date1904)
    removed_cf = _sheet_edits(sp, styles, e)
    had_legacy = root.find(q("legacyDrawing")) is not None
    res = patch_comments(pkg, part, root, {r: t for r, (_k, t) in e.marks.items() if t}, ids)
    if e.new_columns or e.marks or removed_cf or had_legacy != (root.find(q("legacyDrawing")) is not None):
        out = serialize(root)
        if out.count(_SD_PLACEHOLDER) == 1:
            head, tail = out.split(_SD_PLACEHOLDER)
            with pkg.open_original(part) as f:
                pkg.put_stream(part, itertools.chain([head], streamed.rows(f, found.start, found.end), [tail]))
        else:  # not expected from lxml's serialiser: put the parsed cells back
            placeholder = root.find(q("sheetData"))
            placeholder.getparent().replace(placeholder, parse(pkg.read(part), part).find(q("sheetData")))
            pkg.put(part, serialize(root))
    _record(wb, e, stats, sheet_id, res, sp.removed_formulas)
    return True


_SD_PLACEHOLDER = b"<sheetData/>"


def _sheet_edits(sp: SheetPatcher, styles: Styles, e: SheetEdits) -> int:
    """Column widths, <dimension>, khbook's marks; returns how many old marks were removed."""
    sp.set_column_widths({col_index(k): w for k, w in e.new_columns.items()})
    sp.update_dimension()
    removed_cf = sp.remove_marks()
    by_kind: dict[str, list[str]] = {}
    for ref, (kind, _text) in e.marks.items():
        by_kind.setdefault(kind, []).append(ref)
    dxfs = {kind: styles.dxf_fill(MARK_FILLS[kind]) for kind in by_kind}
    sp.add_marks(by_kind, dxfs)
    return removed_cf


def _patch_sheet_chunked(pkg: Package, wb: Workbook, styles: Styles, ids: ShapeIds, e: SheetEdits,
                         stats: PatchStats, part: str, sheet_id: int, layout: chunked.RowLayout, *,
                         splice: bool) -> None:
    """:func:`_patch_sheet` for a sheet with cell writes, its rows patched in chunks.

    Raises NeedWholeSheet (before anything is stored in `pkg`) when the sheet needs the
    whole-sheet path.
    """
    stream = len(layout.content) >= chunked.STREAM_BYTES and pkg.can_stream(part)
    cs = chunked.ChunkedSheet(layout, part, str(pkg.src), styles, date1904=wb.date1904, splice=splice,
                              chunk_rows=chunked.CHUNK_ROWS, stream=stream)
    try:
        cs.write(e.writes, e.header_marks)
        _sheet_edits(cs.patcher, styles, e)
        res = patch_comments(pkg, part, cs.root, {r: t for r, (_k, t) in e.marks.items() if t}, ids)
        pkg.put(part, cs.assemble(serialize))
    finally:
        cs.close()
    _record(wb, e, stats, sheet_id, res, cs.removed_formulas)


def _record(wb: Workbook, e: SheetEdits, stats: PatchStats, sheet_id: int, res: CommentResult,
            removed_formulas: list[str]) -> None:
    if removed_formulas:
        wb.drop_calc_entries({sheet_id: set(removed_formulas)})
    stats.cells_written += len(e.writes)
    stats.marks += len(e.marks)
    stats.comments_added += res.added
    stats.comments_removed += res.removed
    stats.comments_skipped += [f"{e.sheet}!{r}" for r in res.skipped]
    stats.formulas_removed += [f"{e.sheet}!{r}" for r in removed_formulas]


def _write_new_sheet(pkg: Package, wb: Workbook, styles: Styles, ns: NewSheet, stats: PatchStats) -> None:
    hit = wb.find(ns.name)
    if hit is not None:
        idx, ref = hit
        if ref.part is None:
            raise WorkbookError(str(pkg.src), f"cannot replace {ns.name!r}: it is not a worksheet",
                                code="not_worksheet", params={"sheet": repr(ns.name)})
        part = ref.part
        reset_part(pkg, part)
        wb.drop_calc_entries({ref.sheet_id: None})
        if ref.element.get("name") != ns.name:
            ref.element.set("name", ns.name)
            wb.dirty = True
        wb.set_hidden(ref, ns.hidden)
        stats.sheets_replaced.append(ns.name)
    else:
        idx, part = wb.add_sheet(ns.name, ns.hidden)
        stats.sheets_added.append(ns.name)
    pieces, filter_ref = build_sheet(ns, styles, wb.date1904)
    drawing_rid = add_charts(pkg, part, ns)
    end = ["</worksheet>"]
    if drawing_rid is not None:
        end.insert(0, f'<drawing r:id="{drawing_rid}"/>')
        stats.charts += len(ns.charts)
    pkg.put_stream(part, _encoded(itertools.chain(pieces, end)), CT_WORKSHEET)
    wb.set_filter_name(idx, ns.name, filter_ref)



def _encoded(pieces: Iterable[str], batch: int = 2048) -> Iterator[bytes]:
    """The part's text as UTF-8, `batch` pieces at a time (never the whole sheet as one str)."""
    yield XML_DECL
    for group in iter(lambda: list(itertools.islice(pieces, batch)), []):
        yield "".join(group).encode("utf-8")
