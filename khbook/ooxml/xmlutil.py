"""Shared helpers for the OOXML patcher: namespaces, A1 references, safe text, element order.

Everything here is spec-agnostic: it knows SpreadsheetML, not khbook's workbook layout.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence

from lxml import etree

from khbook.base.excel import col_index, col_letters
from khbook.base.xmlsafe import parse_xml

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
X14 = "http://schemas.microsoft.com/office/spreadsheetml/2009/9/main"
XM = "http://schemas.microsoft.com/office/excel/2006/main"
X14AC = "http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac"
VML = "urn:schemas-microsoft-com:vml"
VML_OFFICE = "urn:schemas-microsoft-com:office:office"
VML_EXCEL = "urn:schemas-microsoft-com:office:excel"
VT = "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"
DML = "http://schemas.openxmlformats.org/drawingml/2006/main"
DML_CHART = "http://schemas.openxmlformats.org/drawingml/2006/chart"
XDR = "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing"

PREFIXES: dict[str, str] = {
    REL_NS: "r", MC: "mc", X14: "x14", XM: "xm", X14AC: "x14ac", VML: "v", VML_OFFICE: "o",
    VML_EXCEL: "x", VT: "vt", DML: "a", DML_CHART: "c", XDR: "xdr",
}
"""The conventional prefix of each namespace khbook writes in (what Office writes).

Some consumers (Gnumeric) resolve a namespace through one prefix per document, so a
generated ``ns0:`` beside the part's own ``r:`` loses the element."""

RT_WORKSHEET = f"{REL_NS}/worksheet"
RT_COMMENTS = f"{REL_NS}/comments"
RT_VML = f"{REL_NS}/vmlDrawing"
RT_DRAWING = f"{REL_NS}/drawing"
RT_CHART = f"{REL_NS}/chart"
RT_STYLES = f"{REL_NS}/styles"
RT_CALCCHAIN = f"{REL_NS}/calcChain"
RT_EXTENDED = f"{REL_NS}/extended-properties"

CT_WORKSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
CT_COMMENTS = "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"
CT_VML = "application/vnd.openxmlformats-officedocument.vmlDrawing"
CT_DRAWING = "application/vnd.openxmlformats-officedocument.drawing+xml"
CT_CHART = "application/vnd.openxmlformats-officedocument.drawingml.chart+xml"
CT_STYLES = "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"


def q(local: str, ns: str = MAIN) -> str:
    """Clark notation for an element/attribute name."""
    return f"{{{ns}}}{local}"


def parse(data: bytes, part: str, path: str = "") -> etree._Element:
    """Parse a part through khbook.base.xmlsafe (DTDs and entities refused)."""
    return parse_xml(data, path=path, part=part)


_DECL = XML_DECL = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'


def serialize(root: etree._Element) -> bytes:
    """Serialise a part the way Office writes it: UTF-8 with a standalone declaration."""
    return _DECL + etree.tostring(root, encoding="UTF-8", xml_declaration=False)


# ---- text ----------------------------------------------------------------------------

_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ESCAPED = re.compile(r"_(x[0-9A-Fa-f]{4}_)")
MAX_CELL_TEXT = 32767


def clean_text(text: str, limit: int | None = None) -> str:
    """XML-1.0-safe text: drop forbidden control characters, optionally clip to `limit`."""
    text = _ILLEGAL.sub("", str(text))
    if limit is not None and len(text) > limit:
        text = text[:limit]
    return text


def cell_text(text: str) -> str:
    """Text for a cell or comment run: XML-safe, clipped to Excel's 32,767 characters.

    A literal ``_xHHHH_`` is escaped as ``_x005F_xHHHH_`` (ST_Xstring), otherwise Excel
    would read it as an escaped character.
    """
    text = _ILLEGAL.sub("", text)
    if "_x" in text:
        text = _ESCAPED.sub(r"_x005F_\1", text)
    return text[:MAX_CELL_TEXT]


def esc_text(text: str) -> str:
    """Escape already XML-safe text for element content, exactly as lxml serialises it."""
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if "\r" in text:
        text = text.replace("\r", "&#13;")
    return text


def esc_attr(text: str) -> str:
    """Escape already XML-safe text for a double-quoted attribute value, as lxml does."""
    text = esc_text(text)
    if '"' in text:
        text = text.replace('"', "&quot;")
    if "\n" in text:
        text = text.replace("\n", "&#10;")
    if "\t" in text:
        text = text.replace("\t", "&#9;")
    return text


# ---- references ----------------------------------------------------------------------

_REF = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d+)$")


@functools.lru_cache(maxsize=32768)
def _letters_col(letters: str) -> int:
    return col_index(letters)


def split_ref(ref: str) -> tuple[int, int]:
    """"C17" -> (row 17, column 3); ValueError for anything else."""
    m = _REF.match(ref) or _REF.match(ref.strip())
    if not m:
        raise ValueError(f"not a cell reference: {ref!r}")
    letters, digits = m.groups()
    row, col = int(digits), _letters_col(letters)
    if not (1 <= row <= 1048576 and 1 <= col <= 16384):
        raise ValueError(f"cell reference out of range: {ref!r}")
    return row, col


_PLAIN_REFS = re.compile(r"(?:[A-Z]{1,3}[1-9][0-9]{0,6}\n)*+[A-Z]{1,3}[1-9][0-9]{0,6}")
# possessive (*+): the engine keeps no backtracking state per reference (100 MB for 400k)
_SMALL_REFS = re.compile(r"(?:[A-Z]{1,2}[1-9][0-9]{0,5}\n)*+[A-Z]{1,2}[1-9][0-9]{0,5}")
_LETTERS, _DIGITS = re.compile(r"[A-Z]+"), re.compile(r"[0-9]+")
_COLS: dict[str, int] = {}


def check_refs(refs: list[str]) -> None:
    """Raise what :func:`split_ref` raises for the first bad one of `refs` (nothing is built
    for the usual spelling: a plan's hundreds of thousands of references are checked in place)."""
    if not refs:
        return
    text = "\n".join(refs)
    if text.count("\n") == len(refs) - 1 and _SMALL_REFS.fullmatch(text) is not None:
        return   # at most column ZZ and row 999999: in range
    for ref in refs:
        split_ref(ref)


def split_refs(refs: list[str]) -> list[tuple[int, int]]:
    """:func:`split_ref` of each of `refs` (same results, same errors); the usual spelling
    ("C17") of thousands of references is read in a few regular-expression passes."""
    if not refs:
        return []
    text = "\n".join(refs)
    if text.count("\n") != len(refs) - 1 or _PLAIN_REFS.fullmatch(text) is None:
        return [split_ref(ref) for ref in refs]
    letters = _LETTERS.findall(text)
    for x in set(letters).difference(_COLS):
        _COLS[x] = col_index(x)
    cols = list(map(_COLS.__getitem__, letters))
    rows = list(map(int, _DIGITS.findall(text)))
    if max(rows) > 1048576 or max(cols) > 16384:
        return [split_ref(ref) for ref in refs]
    return list(zip(rows, cols, strict=True))


def make_ref(row: int, col: int) -> str:
    return f"{col_letters(col)}{row}"


def range_bounds(ref: str) -> tuple[int, int, int, int]:
    """"A1:C5" (or "B2") -> (min_row, min_col, max_row, max_col)."""
    a, _, b = ref.partition(":")
    r1, c1 = split_ref(a)
    r2, c2 = split_ref(b) if b else (r1, c1)
    return min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)


def compact_sqref(refs: Iterable[str]) -> str:
    """Cells -> a space-separated sqref, vertical runs merged (C5 C6 C7 -> C5:C7)."""
    by_col: dict[int, list[int]] = {}
    for ref in refs:
        r, c = split_ref(ref)
        by_col.setdefault(c, []).append(r)
    parts: list[str] = []
    for c in sorted(by_col):
        rows = sorted(set(by_col[c]))
        start = prev = rows[0]
        for r in [*rows[1:], None]:
            if r is not None and r == prev + 1:
                prev = r
                continue
            a = make_ref(start, c)
            parts.append(a if start == prev else f"{a}:{make_ref(prev, c)}")
            if r is not None:
                start = prev = r
    return " ".join(parts)


# ---- element order -------------------------------------------------------------------

WORKSHEET_ORDER: Sequence[str] = (
    "sheetPr", "dimension", "sheetViews", "sheetFormatPr", "cols", "sheetData", "sheetCalcPr",
    "sheetProtection", "protectedRanges", "scenarios", "autoFilter", "sortState",
    "dataConsolidate", "customSheetViews", "mergeCells", "phoneticPr", "conditionalFormatting",
    "dataValidations", "hyperlinks", "printOptions", "pageMargins", "pageSetup", "headerFooter",
    "rowBreaks", "colBreaks", "customProperties", "cellWatches", "ignoredErrors", "smartTags",
    "drawing", "legacyDrawing", "legacyDrawingHF", "drawingHF", "picture", "oleObjects",
    "controls", "webPublishItems", "tableParts", "extLst",
)

STYLES_ORDER: Sequence[str] = (
    "numFmts", "fonts", "fills", "borders", "cellStyleXfs", "cellXfs", "cellStyles", "dxfs",
    "tableStyles", "colors", "extLst",
)


def _local_for_order(el: etree._Element) -> str | None:
    """Local name used for ordering; mc:AlternateContent counts as its Choice's content."""
    if not isinstance(el.tag, str):
        return None
    qn = etree.QName(el)
    if qn.namespace == MC and qn.localname == "AlternateContent":
        for branch in el:
            for child in branch:
                if isinstance(child.tag, str):
                    return etree.QName(child).localname
        return None
    return qn.localname


def insert_ordered(parent: etree._Element, new: etree._Element, order: Sequence[str]) -> None:
    """Insert `new` after the last child that the schema sequence puts at or before it."""
    rank = {name: i for i, name in enumerate(order)}
    mine = rank[etree.QName(new).localname]
    pos = 0
    for i, child in enumerate(parent):
        name = _local_for_order(child)
        if name is not None and name in rank and rank[name] <= mine:
            pos = i + 1
    parent.insert(pos, new)


def nsmap_for(parent: etree._Element, *uris: str) -> dict[str, str] | None:
    """The namespace declarations a new child of `parent` needs for `uris` (None: none).

    A namespace already in scope at `parent` keeps the prefix it has there (lxml reuses
    it). Otherwise the new element declares it itself, with the prefix the part already
    uses for it on a sibling (openpyxl declares ``r`` on each ``<sheet>``), else the
    conventional one of :data:`PREFIXES`; never a generated ``ns0``.
    """
    scope = parent.nsmap
    out: dict[str, str] = {}
    for uri in uris:
        if uri in scope.values():
            continue
        prefix = None
        for sibling in parent.iterchildren("{*}*"):
            for p, u in sibling.nsmap.items():
                if u == uri and p is not None:
                    prefix = p
                    break
            if prefix is not None:
                break
        out[prefix or PREFIXES.get(uri, "ns")] = uri
    return out or None

