"""Edits inside an existing worksheet part: cell values, added columns, header styles,
and khbook's conditional-format marks. (About 600 lines: the whole-sheet patcher and
the light mode that leaves <sheetData> unparsed share the cell and mark writers.) The part is parsed once; everything else in it
(x14 extensions, validations, merged cells, mc:AlternateContent ...) is left as it is.

Formula cells that are written lose their formula. A shared-formula master that is
overwritten hands its formula to its dependents first: each dependent gets its own,
translated formula (openpyxl's Translator), so no other cell changes its result. An
array-formula master loses the array formula; the other cells of the array keep their
cached values as constants.
"""

from __future__ import annotations

import bisect
import datetime as dt
import decimal
import functools
import math
import re
from collections.abc import Iterable

from lxml import etree

from khbook.base.excel import MARK_COLOURS, MARK_KINDS, col_index
from khbook.ooxml.styles import DATE_FORMAT, DATETIME_FORMAT, Styles
from khbook.ooxml.xmlutil import (
    MAIN,
    WORKSHEET_ORDER,
    cell_text,
    compact_sqref,
    esc_text,
    insert_ordered,
    make_ref,
    q,
    range_bounds,
    split_ref,
)

XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
MARK_FILLS = {kind: "FF" + rgb for kind, rgb in MARK_COLOURS.items()}  # ARGB, as SpreadsheetML writes it
COMPUTED_FILL = "FFD9D9D9"
_C, _ROW, _F, _V, _IS, _T = q("c"), q("row"), q("f"), q("v"), q("is"), q("t")
_sub = etree.SubElement
_CELL_PI = "khbook-cell"
_CELL_PI_RE = re.compile(rb"<\?khbook-cell (\d+)\?>")


class NeedWholeSheet(Exception):  # noqa: N818 - a signal, not an error
    """A patcher that sees only part of a sheet's rows met an edit that needs all of them
    (an overwritten shared-formula master hands its formula to cells in other rows)."""


def marker_formula(kind: str) -> str:
    """The constant-true formula that identifies khbook's conditional format for a kind."""
    return f'"khbook:{kind}"="khbook:{kind}"'


def is_marker_formula(text: str | None) -> bool:
    return bool(text) and text.startswith('"khbook:') and text.endswith('"')


def excel_serial(value: dt.date | dt.datetime, date1904: bool = False) -> float | int:
    """A date or datetime -> Excel serial number (1900 or 1904 system)."""
    epoch = dt.datetime(1904, 1, 1) if date1904 else dt.datetime(1899, 12, 30)
    if isinstance(value, dt.datetime):
        delta = value.replace(tzinfo=None) - epoch
        return round(delta.days + delta.seconds / 86400 + delta.microseconds / 86400e6, 10)
    return (dt.datetime(value.year, value.month, value.day) - epoch).days


def number_text(value: int | float | decimal.Decimal) -> str | None:
    """A number as it goes into <v>, or None when it cannot be stored (NaN, infinity)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    f = float(value)
    if not math.isfinite(f):
        return None
    return repr(int(f)) if f.is_integer() and abs(f) < 1e15 else repr(f)


def set_cell_value(c: etree._Element, value: object, styles: Styles, date1904: bool) -> None:
    """Replace the content of cell element `c` (keeping its style unless a date needs one)."""
    if len(c):
        for child in list(c):
            if child.tag in (_F, _V, _IS):
                c.remove(child)
    attrib = c.attrib
    if len(attrib) > 2 or "t" in attrib:
        for attr in ("t", "cm", "vm"):
            attrib.pop(attr, None)
    if value is None:
        return
    if isinstance(value, str):
        c.set("t", "inlineStr")
        t = etree.SubElement(etree.SubElement(c, _IS), _T)
        text = t.text = cell_text(value)
        if text and (text[0].isspace() or text[-1].isspace() or "\n" in text):
            t.set(XML_SPACE, "preserve")
        if len(c) > 1:  # keep <is> before an extLst
            c.insert(0, c[-1])
    elif isinstance(value, bool):
        c.set("t", "b")
        _insert_value(c, etree.Element(_V), "1" if value else "0")
    elif isinstance(value, int | float | decimal.Decimal):
        text = number_text(value)
        if text is not None:
            _insert_value(c, etree.Element(_V), text)
    elif isinstance(value, dt.date):
        base = int(c.get("s", "0"))
        if not styles.is_date_xf(base):
            fmt = DATETIME_FORMAT if isinstance(value, dt.datetime) else DATE_FORMAT
            c.set("s", str(styles.derived_xf(base, num_fmt=fmt)))
        _insert_value(c, etree.Element(_V), number_text(excel_serial(value, date1904)) or "0")
    else:
        c.set("t", "inlineStr")
        is_ = etree.Element(_IS)
        t = etree.SubElement(is_, q("t"))
        t.text = cell_text(str(value))
        if t.text != t.text.strip() or "\n" in t.text:
            t.set(XML_SPACE, "preserve")
        c.insert(0, is_)


def cell_xml(ref: str, s: int, value: object, styles: Styles, date1904: bool) -> str:
    """The serialised <c> of a fresh cell (style index `s`, 0 = none) holding `value`.

    Byte for byte what :func:`set_cell_value` on a new ``<c r=.. s=..>`` gives once
    serialised, without building elements (used for the sheets khbook generates).
    """
    style = f' s="{s}"' if s else ""
    if value is None:
        return f'<c r="{ref}"{style}/>'
    if isinstance(value, str) or not isinstance(value, bool | int | float | decimal.Decimal | dt.date):
        text = cell_text(value if isinstance(value, str) else str(value))
        space = ' xml:space="preserve"' if text and (text[0].isspace() or text[-1].isspace() or "\n" in text) else ""
        return f'<c r="{ref}"{style} t="inlineStr"><is><t{space}>{esc_text(text)}</t></is></c>'
    if isinstance(value, bool):
        return f'<c r="{ref}"{style} t="b"><v>{"1" if value else "0"}</v></c>'
    if isinstance(value, int | float | decimal.Decimal):
        text = number_text(value)
        return f'<c r="{ref}"{style}/>' if text is None else f'<c r="{ref}"{style}><v>{text}</v></c>'
    if not styles.is_date_xf(s):
        fmt = DATETIME_FORMAT if isinstance(value, dt.datetime) else DATE_FORMAT
        style = f' s="{styles.derived_xf(s, num_fmt=fmt)}"'
    return f'<c r="{ref}"{style}><v>{number_text(excel_serial(value, date1904)) or "0"}</v></c>'


_ATTR_ORDER = {"r": 0, "s": 1, "t": 2}


def order_cell_attrs(c: etree._Element) -> None:
    """Keep a cell's attributes in Office order (r, s, t, ...) so repeated patches are stable."""
    items = list(c.attrib.items())
    ordered = sorted(items, key=lambda kv: _ATTR_ORDER.get(kv[0], 3))
    if ordered != items:
        c.attrib.clear()
        for k, v in ordered:
            c.set(k, v)


def _insert_value(c: etree._Element, v: etree._Element, text: str) -> None:
    v.text = text
    c.insert(0, v)


class SheetPatcher:
    """Indexed access to the rows and cells of one parsed worksheet."""

    def __init__(self, root: etree._Element, styles: Styles, *, date1904: bool = False,
                 splice: bool = False, col_styles: list[tuple[int, int, str | None]] | None = None,
                 partial: bool = False) -> None:
        """`splice`: the part holds no ``<?khbook-cell`` text, so new text cells may be written
        as placeholders and pasted in as text by :meth:`splice` after serialisation.

        `partial`: `root` holds only some of the sheet's rows (a chunk, see
        :mod:`khbook.ooxml.chunked`); `col_styles` are then the sheet's column styles
        (:meth:`column_styles` of the patcher of the sheet's head), and an edit that needs
        rows outside the chunk raises :class:`NeedWholeSheet`.
        """
        self.root = root
        self.styles = styles
        self.date1904 = date1904
        sd = root.find(q("sheetData"))
        if sd is None:
            sd = etree.Element(q("sheetData"))
            insert_ordered(root, sd, WORKSHEET_ORDER)
        self.sheet_data = sd
        self._row_nums: list[int] = []
        self._rows: list[etree._Element] = []
        last = 0
        missing = False
        for row in sd.iterchildren(_ROW):
            r = row.get("r")
            if r is None:
                missing = True
                last += 1
            else:
                last = int(r)
            self._row_nums.append(last)
            self._rows.append(row)
        if missing:  # materialise implicit row numbers so inserted rows cannot shift them
            for n, row in zip(self._row_nums, self._rows, strict=True):
                row.set("r", str(n))
        self._by_num: dict[int, etree._Element] = dict(zip(self._row_nums, self._rows, strict=True))
        self._cells: dict[int, dict[int, etree._Element]] = {}
        self._sorted_cols: dict[int, list[int]] = {}   # row -> its cells' columns, ascending
        self._col_styles: list[tuple[int, int, str | None]] | None = col_styles
        self.partial = partial
        self._col_style_cache: dict[int, str | None] = {}
        self._widened: set[int] = set()   # rows that got new cells (spans to update)
        self.bounds: tuple[int, int, int, int] | None = None   # (r1, c1, r2, c2) of written cells
        # new text cells not built as elements: placeholder PI "khbook-cell N" -> (ref, style, text)
        self._splice = splice and root.nsmap.get(None) == MAIN and sd.nsmap.get(None) == MAIN
        self._pending: list[tuple[str, str | None, str] | None] = []
        self._plain_rows: set[int] = set()   # rows whose cells are in the main default namespace
        self.removed_formulas: list[str] = []

    # ---- rows and cells ------------------------------------------------------------
    def row(self, r: int) -> etree._Element:
        el = self._by_num.get(r)
        if el is not None:
            return el
        i = bisect.bisect_left(self._row_nums, r)
        el = etree.Element(_ROW, r=str(r))
        if i < len(self._rows):
            self._rows[i].addprevious(el)
        elif self._rows:
            self._rows[-1].addnext(el)
        else:
            self.sheet_data.append(el)
        self._row_nums.insert(i, r)
        self._rows.insert(i, el)
        self._by_num[r] = el
        return el

    def _row_cells(self, r: int, row: etree._Element) -> dict[int, etree._Element]:
        """Column -> cell element of row `r`, indexed once per row (on first use)."""
        cells = self._cells.get(r)
        if cells is None:
            cells = {}
            col = 0
            for c in row.iterchildren(_C):
                ref = c.get("r")
                if ref is None:
                    col += 1
                    c.set("r", make_ref(r, col))
                else:
                    col = _ref_col(ref)
                cells[col] = c
            self._cells[r] = cells
            self._sorted_cols[r] = sorted(cells)
            if self._splice and row.nsmap.get(None) == MAIN:
                self._plain_rows.add(r)
        return cells

    def cell(self, r: int, col: int, *, create: bool = True) -> etree._Element | None:
        row = self.row(r) if create else self._by_num.get(r)
        if row is None:
            return None
        cells = self._row_cells(r, row)
        c = cells.get(col)
        if c is not None and c.tag is etree.PI:
            c = self._materialise(c, cells, col)
        if c is not None or not create:
            return c
        return self._new_cell(r, col, row, cells)

    def _materialise(self, pi: etree._Element, cells: dict[int, etree._Element], col: int) -> etree._Element:
        """Turn a placeholder cell back into a real <c> element (it is edited again)."""
        i = int(pi.text)
        ref, style, text = self._pending[i]
        self._pending[i] = None
        c = etree.Element(_C, r=ref)
        if style:
            c.set("s", style)
        set_cell_value(c, text, self.styles, self.date1904)
        pi.getparent().replace(pi, c)
        cells[col] = c
        return c

    def _new_text_cell(self, r: int, col: int, row: etree._Element, cells: dict[int, etree._Element],
                       value: str) -> None:
        """A new cell holding text, as a placeholder (see :meth:`splice`)."""
        ref = make_ref(r, col)
        style = row.get("s") if row.get("customFormat") in ("1", "true") else self._col_style(col)
        pi = etree.PI(_CELL_PI, str(len(self._pending)))
        self._pending.append((ref, style if style and style != "0" else None, value))
        self._place(r, col, row, cells, pi)

    def splice(self, data: bytes) -> bytes:
        """Paste the placeholder cells into the serialised part as text."""
        pending = self._pending
        if not pending:
            return data

        def cell(m: re.Match) -> bytes:
            ref, style, value = pending[int(m.group(1))]
            text = cell_text(value)
            space = ' xml:space="preserve"' if text and (text[0].isspace() or text[-1].isspace() or "\n" in text) else ""
            st = f' s="{style}"' if style else ""
            return f'<c r="{ref}"{st} t="inlineStr"><is><t{space}>{esc_text(text)}</t></is></c>'.encode()

        out, n = _CELL_PI_RE.subn(cell, data)
        if n != sum(1 for p in pending if p is not None):
            raise AssertionError("placeholder cells lost in serialisation")
        self._pending = []
        return out

    def _new_cell(self, r: int, col: int, row: etree._Element, cells: dict[int, etree._Element]) -> etree._Element:
        """Create the empty cell (r, col) in document order, with the row's or column's style."""
        c = etree.Element(_C, r=make_ref(r, col))
        style = row.get("s") if row.get("customFormat") in ("1", "true") else self._col_style(col)
        if style and style != "0":
            c.set("s", style)
        self._place(r, col, row, cells, c)
        return c

    def _place(self, r: int, col: int, row: etree._Element, cells: dict[int, etree._Element],
               c: etree._Element) -> None:
        """Insert the new node `c` for column `col` of row `r` in column order."""
        cols = self._sorted_cols[r]
        i = bisect.bisect_right(cols, col)
        if i < len(cols):
            cells[cols[i]].addprevious(c)
        elif cols:
            cells[cols[-1]].addnext(c)
        else:
            row.insert(0, c)
        cols.insert(i, col)
        cells[col] = c
        self._widened.add(r)

    def _existing_row(self, r: int) -> etree._Element | None:
        return self._by_num.get(r)

    def column_styles(self) -> list[tuple[int, int, str | None]]:
        """(min, max, style) of the styled <col> ranges, as new cells see them."""
        if self._col_styles is None:
            self._col_styles = [(int(el.get("min", "0")), int(el.get("max", "0")), el.get("style"))
                                for el in self.root.iterfind(f"{q('cols')}/{q('col')}") if el.get("style")]
        return self._col_styles

    def _col_style(self, col: int) -> str | None:
        try:
            return self._col_style_cache[col]
        except KeyError:
            pass
        self.column_styles()
        found = None
        for lo, hi, style in self._col_styles:
            if lo <= col <= hi:
                found = style
                break
        self._col_style_cache[col] = found
        return found

    # ---- writes ----------------------------------------------------------------------
    def write(self, ref: str, value: object) -> None:
        self.write_many({ref: value})

    def write_many(self, writes: dict[str, object]) -> None:
        """Write many cells (ref -> value), in order; rows and cells are indexed once."""
        styles, date1904 = self.styles, self.date1904
        by_num, all_cells, plain = self._by_num, self._cells, self._plain_rows
        r1 = c1 = 1 << 30
        r2 = c2 = 0
        for ref, value in writes.items():
            r, col = split_ref(ref)
            row = by_num.get(r)
            if row is None:
                row = self.row(r)
            cells = all_cells.get(r)
            if cells is None:
                cells = self._row_cells(r, row)
            c = cells.get(col)
            if c is not None and c.tag is etree.PI:
                c = self._materialise(c, cells, col)
            if c is None and r in plain and isinstance(value, str):
                self._new_text_cell(r, col, row, cells, value)   # fastest path: pasted as text later
            elif c is None:
                c = self._new_cell(r, col, row, cells)
                if isinstance(value, str):   # fast path: a fresh cell that gets text
                    c.set("t", "inlineStr")
                    t = _sub(_sub(c, _IS), _T)
                    text = t.text = cell_text(value)
                    if text and (text[0].isspace() or text[-1].isspace() or "\n" in text):
                        t.set(XML_SPACE, "preserve")
                else:
                    set_cell_value(c, value, styles, date1904)
            else:
                if len(c):
                    f = c.find(_F)
                    if f is not None:
                        self._release_formula(c, f)
                        self.removed_formulas.append(make_ref(r, col))
                set_cell_value(c, value, styles, date1904)
            if r < r1:
                r1 = r
            if r > r2:
                r2 = r
            if col < c1:
                c1 = col
            if col > c2:
                c2 = col
        if r2:
            self._extend_bounds(r1, c1, r2, c2)

    def _extend_bounds(self, r1: int, c1: int, r2: int, c2: int) -> None:
        if self.bounds is not None:
            a, b, c, d = self.bounds
            r1, c1, r2, c2 = min(r1, a), min(c1, b), max(r2, c), max(c2, d)
        self.bounds = (r1, c1, r2, c2)

    def _release_formula(self, c: etree._Element, f: etree._Element) -> None:
        if f.get("t") != "shared" or not (f.text or "").strip() or f.get("si") is None:
            return
        if self.partial:
            raise NeedWholeSheet(c.get("r", ""))
        from openpyxl.formula.translate import Translator  # only needed for this rare case

        si, origin = f.get("si"), c.get("r", "")
        formula = "=" + f.text
        for other in self.root.iter(_F):
            if other is f or other.get("t") != "shared" or other.get("si") != si:
                continue
            dep = other.getparent()
            try:
                text = Translator(formula, origin=origin).translate_formula(dep.get("r", ""))
            except Exception:  # noqa: BLE001 - untranslatable: keep the cached value only
                dep.remove(other)
                continue
            for attr in ("t", "si", "ref"):
                other.attrib.pop(attr, None)
            other.text = text.lstrip("=")

    def style_header(self, ref: str, look: str) -> None:
        """Give a header cell khbook's "computed" look (bold, grey fill)."""
        if look != "computed":
            raise ValueError(f"unknown header look {look!r}")
        r, col = split_ref(ref)
        c = self.cell(r, col)
        assert c is not None
        c.set("s", str(self.styles.derived_xf(int(c.get("s", "0")), bold=True, fill_rgb=COMPUTED_FILL)))
        order_cell_attrs(c)
        self._extend_bounds(r, col, r, col)

    # ---- columns and dimension ---------------------------------------------------
    def set_column_widths(self, widths: dict[int, float]) -> None:
        if not widths:
            return
        self._col_styles = None
        all_cols = self.root.findall(q("cols"))
        if not all_cols:
            cols = etree.Element(q("cols"))
            insert_ordered(self.root, cols, WORKSHEET_ORDER)
            all_cols = [cols]
        for idx, width in sorted(widths.items()):
            target = None
            for cols in all_cols:
                for el in cols.iterchildren(q("col")):
                    lo, hi = int(el.get("min", "0")), int(el.get("max", "0"))
                    if lo <= idx <= hi:
                        target = _split_col(el, lo, hi, idx)
                        break
                if target is not None:
                    break
            if target is None:
                target = etree.Element(q("col"), min=str(idx), max=str(idx))
                cols = all_cols[0]
                after = [el for el in cols.iterchildren(q("col")) if int(el.get("max", "0")) < idx]
                if after:
                    after[-1].addnext(target)
                else:
                    cols.insert(0, target)
            target.set("width", f"{float(width):g}")
            target.set("customWidth", "1")
            target.attrib.pop("bestFit", None)

    def update_dimension(self) -> None:
        """Widen <dimension> and the rows' spans hints to cover the written cells."""
        self.update_spans()
        if self.bounds is None:
            return
        r1, c1, r2, c2 = self.bounds
        dim = self.root.find(q("dimension"))
        if dim is None:
            dim = etree.Element(q("dimension"))
            insert_ordered(self.root, dim, WORKSHEET_ORDER)
        else:
            try:
                a, b, c, d = range_bounds(dim.get("ref", ""))
                r1, c1, r2, c2 = min(r1, a), min(c1, b), max(r2, c), max(c2, d)
            except ValueError:
                pass
        dim.set("ref", f"{make_ref(r1, c1)}:{make_ref(r2, c2)}")

    def update_spans(self) -> None:
        """Widen the spans hints of the rows that got new cells."""
        for r in self._widened:
            row = self._existing_row(r)
            spans = row.get("spans") if row is not None else None
            if spans and ":" in spans and spans.count(":") == 1:
                lo, hi = (int(x) for x in spans.split(":"))
                cols = self._cells[r]
                row.set("spans", f"{min(lo, min(cols))}:{max(hi, max(cols))}")
        self._widened.clear()

    # ---- marks -------------------------------------------------------------------------
    def remove_marks(self) -> int:
        """Remove khbook's conditional formats from an earlier refresh; returns how many."""
        n = 0
        for cf in self.root.findall(q("conditionalFormatting")):
            rules = cf.findall(q("cfRule"))
            if rules and all(is_marker_formula(r.findtext(q("formula"))) for r in rules):
                self.root.remove(cf)
                n += 1
        return n

    def add_marks(self, cells_by_kind: dict[str, Iterable[str]], dxf_by_kind: dict[str, int]) -> None:
        prios = [int(r.get("priority", "0")) for r in self.root.iter("{*}cfRule") if r.get("priority", "").isdigit()]
        prio = max(prios, default=0)
        for kind in MARK_KINDS:
            refs = list(cells_by_kind.get(kind, ()))
            if not refs:
                continue
            prio += 1
            cf = etree.Element(q("conditionalFormatting"), sqref=compact_sqref(refs))
            rule = etree.SubElement(cf, q("cfRule"), type="expression", dxfId=str(dxf_by_kind[kind]),
                                    priority=str(prio))
            etree.SubElement(rule, q("formula")).text = marker_formula(kind)
            insert_ordered(self.root, cf, WORKSHEET_ORDER)


@functools.lru_cache(maxsize=4096)
def _letters_index(letters: str) -> int:
    return col_index(letters)


def _ref_col(ref: str) -> int:
    """Column of a cell's own r attribute (trusted to be well-formed: A1 style)."""
    return _letters_index(ref.rstrip("0123456789").lstrip("$"))


def _split_col(el: etree._Element, lo: int, hi: int, idx: int) -> etree._Element:
    """Split a <col min..max> range so that column `idx` has an element of its own."""
    import copy

    if lo == hi == idx:
        return el
    if idx > lo:
        left = copy.deepcopy(el)
        left.set("max", str(idx - 1))
        el.addprevious(left)
    if idx < hi:
        right = copy.deepcopy(el)
        right.set("min", str(idx + 1))
        el.addnext(right)
    el.set("min", str(idx))
    el.set("max", str(idx))
    return el


__all__ = ["MAIN", "MARK_FILLS", "MARK_KINDS", "NeedWholeSheet", "SheetPatcher", "excel_serial", "marker_formula"]


# ---- light mode: leave <sheetData> unparsed ------------------------------------------------

_SD_OPEN = re.compile(rb"<((?:[A-Za-z_][\w.-]*:)?)sheetData(?=[\s/>])")


def split_sheet_data(data: bytes) -> tuple[bytes, memoryview, bytes] | None:
    """Cut the <sheetData> element out of a worksheet part, leaving an empty placeholder.

    Returns (reduced part, original sheetData bytes (a view into `data`, not a copy),
    placeholder) or None when the part
    cannot be split safely. Sheets that only get marks, comments or widths are edited
    this way, so a 100k-row sheet is not parsed at all and its cells stay byte-identical.
    """
    first = data.find(b"sheetData")
    m = _SD_OPEN.search(data, max(0, first - 256)) if first >= 0 else None
    if m is None or b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        return None
    prefix = m.group(1)
    start = m.start()
    head_end = data.find(b">", m.end())
    if head_end < 0:
        return None
    if data[head_end - 1:head_end] == b"/":
        end = head_end + 1
    else:
        close = b"</" + prefix + b"sheetData>"
        end = data.find(close, head_end)
        if end < 0 or data.find(b"<" + prefix + b"sheetData", m.end(), end) >= 0:
            return None
        end += len(close)
    placeholder = b"<" + prefix + b"sheetData/>"
    if data.count(placeholder) or data.count(b"sheetData", end) or data.count(b"sheetData", 0, start):
        return None
    return data[:start] + placeholder + data[end:], memoryview(data)[start:end], placeholder

