"""Sheets khbook generates (e.g. 异常清单, 分类汇总, 变更日志), written as worksheet XML
directly: header row, widths, autofilter, frozen header, internal hyperlinks, fills,
and native DrawingML charts (bar / column / pie) with cached values.
"""

from __future__ import annotations

import datetime as dt
import decimal
import itertools
from collections.abc import Iterator, Sequence

from lxml import etree

from khbook.base.excel import col_index, col_letters, quote_sheet
from khbook.base.textwidth import LINE_HEIGHT, row_height
from khbook.ooxml.edits import ChartSpec, NewSheet
from khbook.ooxml.package import Package
from khbook.ooxml.sheetxml import MARK_FILLS, cell_xml
from khbook.ooxml.styles import DATE_FORMAT, DATETIME_FORMAT, Styles
from khbook.ooxml.xmlutil import (
    CT_CHART,
    CT_DRAWING,
    MAIN,
    REL_NS,
    RT_CHART,
    RT_DRAWING,
    cell_text,
    clean_text,
    esc_attr,
    esc_text,
    make_ref,
    range_bounds,
    split_ref,
)

HEADER_FILL = "FFD9E1F2"
C_NS = "http://schemas.openxmlformats.org/drawingml/2006/chart"
A_NS = "http://schemas.openxmlformats.org/drawingml/2006/main"
XDR = "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing"
EMU_PER_PX = 9525


def build_sheet(spec: NewSheet, styles: Styles, date1904: bool) -> tuple[Iterator[str], str | None]:
    """The worksheet XML for a NewSheet, as string pieces without the closing ``</worksheet>``
    (a <drawing> may still follow); returns (pieces, autofilter ref or None).

    Written as text, not built element by element: a 异常清单 of 60k findings is 500k
    cells. Values go through the same text as :func:`khbook.ooxml.sheetxml.cell_xml`
    (XML-safe, escaped, strings always inline text, never formulas). The rows are made
    as the pieces are consumed (one string per row), so the caller can compress them as
    they come instead of holding the whole sheet.
    """
    # printed (or exported to PDF) landscape, one page wide: a manager prints 异常清单 and 分类汇总
    out: list[str] = [f'<worksheet xmlns="{MAIN}" xmlns:r="{REL_NS}">', '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>']
    n_rows = len(spec.rows)
    n_cols = max((len(r) for r in spec.rows), default=0)
    extra: dict[int, int] = {}   # row -> right-most column that has a link or a fill
    fill_at: dict[int, dict[int, str | None]] = {}   # row -> column -> fill colour
    link_at: dict[int, set[int]] = {}
    for refs, kind in ((spec.links, "link"), (spec.fills, "fill")):
        for ref in refs:
            r, c = split_ref(ref)
            n_rows, n_cols = max(n_rows, r), max(n_cols, c)
            extra[r] = max(extra.get(r, 0), c)
            if make_ref(r, c) != ref:
                continue   # not the cell's own spelling: it matches no cell (as before)
            if kind == "link":
                link_at.setdefault(r, set()).add(c)
            else:
                fill_at.setdefault(r, {})[c] = MARK_FILLS.get(spec.fills[ref])
    last = make_ref(max(n_rows, 1), max(n_cols, 1))
    out.append(f'<dimension ref="{f"A1:{last}" if last != "A1" else "A1"}"/>')
    if spec.freeze_header:
        out.append('<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" '
                   'activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft" activeCell="A2" '
                   'sqref="A2"/></sheetView></sheetViews>')
    else:
        out.append('<sheetViews><sheetView workbookViewId="0"/></sheetViews>')
    out.append('<sheetFormatPr defaultRowHeight="15"/>')
    if spec.widths:
        out.append("<cols>")
        for letter, width in sorted(spec.widths.items(), key=lambda kv: col_index(kv[0])):
            i = col_index(letter)
            out.append(f'<col min="{i}" max="{i}" width="{float(width):g}" customWidth="1"/>')
        out.append("</cols>")
    header_xf = styles.derived_xf(0, bold=True, fill_rgb=HEADER_FILL)
    row_count = max(len(spec.rows), max(extra, default=0))
    out.append("<sheetData>" if row_count else "<sheetData/>")
    tail: list[str] = []
    if row_count:
        tail.append("</sheetData>")
    filter_ref = None
    if spec.autofilter and n_cols:
        filter_ref = f"A1:{make_ref(max(len(spec.rows), 1), n_cols)}"
        tail.append(f'<autoFilter ref="{filter_ref}"/>')
    rows = _rows(spec, styles, date1904, header_xf, row_count, n_cols, extra, fill_at, link_at)
    return itertools.chain(out, rows, tail, _after_rows(spec)), filter_ref


def _rows(spec: NewSheet, styles: Styles, date1904: bool, header_xf: int, row_count: int, n_cols: int,
          extra: dict[int, int], fill_at: dict[int, dict[int, str | None]], link_at: dict[int, set[int]]) -> Iterator[str]:
    """The <row> elements, one string each."""
    cache: dict[tuple, int] = {}
    wrap_cols = {col_index(letter) for letter in spec.wrap}
    wrap = bool(wrap_cols)   # one alignment (top) for the whole row
    col_width = {col_index(letter): float(w) for letter, w in spec.widths.items()}
    letters = [col_letters(c) for c in range(1, n_cols + 1)]
    texts: dict[str, str] = {}   # short text -> its cell text after the style

    def xf(fmt: str | None, fill: str | None, link: bool) -> int:
        key = (fmt, fill, link, wrap)
        idx = cache.get(key)
        if idx is None:
            idx = styles.derived_xf(0, num_fmt=fmt) if fmt else 0
            if fill:
                idx = styles.derived_xf(idx, fill_rgb=fill)
            if link:
                idx = styles.derived_xf(idx, link=True)
            if wrap:
                idx = styles.derived_xf(idx, wrap=True)
            cache[key] = idx
        return idx

    def text_cell(value: str) -> str:
        done = texts.get(value)
        if done is None:
            text = cell_text(value)
            space = ' xml:space="preserve"' if text and (text[0].isspace() or text[-1].isspace() or "\n" in text) else ""
            done = f' t="inlineStr"><is><t{space}>{esc_text(text)}</t></is></c>'
            if len(value) <= 64:
                texts[value] = done
        return done

    for r in range(1, row_count + 1):
        values: Sequence[object] = spec.rows[r - 1] if r <= len(spec.rows) else ()
        height = LINE_HEIGHT
        if wrap_cols and r > 1:
            height = row_height((values[c - 1], col_width.get(c, 8.43)) for c in wrap_cols
                                if c <= len(values) and isinstance(values[c - 1], str))
        cells: list[str] = [f'<row r="{r}" ht="{height:g}" customHeight="1">' if height > LINE_HEIGHT else f'<row r="{r}">']
        width = max(len(values), extra.get(r, 0))
        fills, links = fill_at.get(r), link_at.get(r)
        for c in range(1, width + 1):
            value = values[c - 1] if c <= len(values) else None
            if r == 1:
                s = header_xf
            else:
                fill = fills.get(c) if fills else None
                link = c in links if links else False
                if value.__class__ is str or value is None:
                    s = xf(None, fill, link)
                else:
                    s = xf(DATETIME_FORMAT if isinstance(value, dt.datetime) else DATE_FORMAT
                           if isinstance(value, dt.date) else None, fill, link)
            if value is None and s == 0:
                continue
            ref = f"{letters[c - 1]}{r}"
            if value.__class__ is str:
                cells.append(f'<c r="{ref}" s="{s}"{text_cell(value)}' if s else f'<c r="{ref}"{text_cell(value)}')
            else:
                cells.append(cell_xml(ref, s, value, styles, date1904))
        cells.append("</row>")
        yield "".join(cells) if len(cells) > 2 else f'<row r="{r}"/>'


def _after_rows(spec: NewSheet) -> Iterator[str]:
    """What follows the rows and the autofilter: merges, links, margins, page setup."""
    if spec.merges:
        yield (f'<mergeCells count="{len(spec.merges)}">'
               + "".join(f'<mergeCell ref="{esc_attr(ref)}"/>' for ref in spec.merges) + "</mergeCells>")
    if spec.links:
        yield "<hyperlinks>"
        for ref, target in sorted(spec.links.items(), key=lambda kv: split_ref(kv[0])):
            r, c = split_ref(ref)
            value = spec.rows[r - 1][c - 1] if r <= len(spec.rows) and c <= len(spec.rows[r - 1]) else None
            display = "" if value is None else f' display="{esc_attr(clean_text(str(value), 255))}"'
            yield f'<hyperlink ref="{make_ref(r, c)}" location="{esc_attr(clean_text(target, 255))}"{display}/>'
        yield "</hyperlinks>"
    yield '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
    yield '<pageSetup orientation="landscape" fitToWidth="1" fitToHeight="0"/>'


# ---- charts ----------------------------------------------------------------------------

def add_charts(pkg: Package, sheet_part: str, spec: NewSheet) -> str | None:
    """Add a drawing with one native chart per ChartSpec; returns the sheet's relationship
    id for it (the caller writes ``<drawing r:id=.../>``), or None when there are no charts.
    """
    if not spec.charts:
        return None
    drawing_part = pkg.free_name("xl/drawings/drawing{}.xml")
    wsdr = etree.Element(f"{{{XDR}}}wsDr", nsmap={"xdr": XDR, "a": A_NS})
    pkg.put(drawing_part, b"", CT_DRAWING)  # reserve the name
    for n, chart in enumerate(spec.charts, start=1):
        chart_part = pkg.free_name("xl/charts/chart{}.xml")
        pkg.put(chart_part, _chart_xml(chart, spec), CT_CHART)
        rid = pkg.add_rel(drawing_part, RT_CHART, chart_part)
        _anchor(wsdr, chart, rid, n)
    pkg.put(drawing_part, wsdr)
    return pkg.add_rel(sheet_part, RT_DRAWING, drawing_part)


def _anchor(wsdr: etree._Element, chart: ChartSpec, rid: str, n: int) -> None:
    r, c = split_ref(chart.anchor)
    anchor = etree.SubElement(wsdr, f"{{{XDR}}}twoCellAnchor", editAs="oneCell")
    for tag, col, row in (("from", c - 1, r - 1), ("to", c - 1 + 8, r - 1 + 15)):
        pos = etree.SubElement(anchor, f"{{{XDR}}}{tag}")
        for name, val in (("col", col), ("colOff", 0), ("row", row), ("rowOff", 0)):
            etree.SubElement(pos, f"{{{XDR}}}{name}").text = str(val)
    frame = etree.SubElement(anchor, f"{{{XDR}}}graphicFrame", macro="")
    nv = etree.SubElement(frame, f"{{{XDR}}}nvGraphicFramePr")
    etree.SubElement(nv, f"{{{XDR}}}cNvPr", id=str(n + 1), name=f"Chart {n}")
    etree.SubElement(nv, f"{{{XDR}}}cNvGraphicFramePr")
    xfrm = etree.SubElement(frame, f"{{{XDR}}}xfrm")
    etree.SubElement(xfrm, f"{{{A_NS}}}off", x="0", y="0")
    etree.SubElement(xfrm, f"{{{A_NS}}}ext", cx="0", cy="0")
    gd = etree.SubElement(etree.SubElement(frame, f"{{{A_NS}}}graphic"), f"{{{A_NS}}}graphicData",
                          uri=C_NS)
    ch = etree.SubElement(gd, f"{{{C_NS}}}chart", nsmap={"c": C_NS, "r": REL_NS})
    ch.set(f"{{{REL_NS}}}id", rid)
    etree.SubElement(anchor, f"{{{XDR}}}clientData")


def _c(parent: etree._Element, tag: str, val: str | None = None, **attrs: str) -> etree._Element:
    el = etree.SubElement(parent, f"{{{C_NS}}}{tag}", **attrs)
    if val is not None:
        el.set("val", val)
    return el


def _cells(spec: NewSheet, ref: str) -> list[object]:
    r1, c1, r2, c2 = range_bounds(ref)
    out = []
    for r in range(r1, r2 + 1):
        for c in range(c1, c2 + 1):
            row = spec.rows[r - 1] if r <= len(spec.rows) else []
            out.append(row[c - 1] if c <= len(row) else None)
    return out


def _abs_range(sheet: str, ref: str) -> str:
    r1, c1, r2, c2 = range_bounds(ref)
    return f"{quote_sheet(sheet)}!${col_letters(c1)}${r1}:${col_letters(c2)}${r2}"


def _chart_xml(chart: ChartSpec, spec: NewSheet) -> etree._Element:
    if chart.kind not in ("bar", "column", "pie"):
        raise ValueError(f"unknown chart kind {chart.kind!r}")
    space = etree.Element(f"{{{C_NS}}}chartSpace", nsmap={"c": C_NS, "a": A_NS, "r": REL_NS})
    _c(space, "roundedCorners", "0")
    ch = _c(space, "chart")
    title = _c(ch, "title")
    rich = etree.SubElement(_c(title, "tx"), f"{{{C_NS}}}rich")
    etree.SubElement(rich, f"{{{A_NS}}}bodyPr")
    etree.SubElement(rich, f"{{{A_NS}}}lstStyle")
    p = etree.SubElement(rich, f"{{{A_NS}}}p")
    etree.SubElement(etree.SubElement(p, f"{{{A_NS}}}pPr"), f"{{{A_NS}}}defRPr", b="1")
    run = etree.SubElement(p, f"{{{A_NS}}}r")
    etree.SubElement(run, f"{{{A_NS}}}rPr", lang="zh-CN", b="1")
    etree.SubElement(run, f"{{{A_NS}}}t").text = clean_text(chart.title, 255)
    _c(title, "overlay", "0")
    _c(ch, "autoTitleDeleted", "0")
    plot = _c(ch, "plotArea")
    _c(plot, "layout")
    pie = chart.kind == "pie"
    group = _c(plot, "pieChart" if pie else "barChart")
    if not pie:
        _c(group, "barDir", "bar" if chart.kind == "bar" else "col")
        _c(group, "grouping", "clustered")
    _c(group, "varyColors", "1" if pie else "0")
    ser = _c(group, "ser")
    _c(ser, "idx", "0")
    _c(ser, "order", "0")
    if not pie:
        _c(ser, "invertIfNegative", "0")
    lbls = _c(ser, "dLbls")
    for tag, on in (("showLegendKey", 0), ("showVal", not pie), ("showCatName", 0), ("showSerName", 0),
                    ("showPercent", pie), ("showBubbleSize", 0)):
        _c(lbls, tag, "1" if on else "0")
    cats, vals = _cells(spec, chart.categories), _cells(spec, chart.values)
    sref = _c(_c(ser, "cat"), "strRef")
    _c(sref, "f").text = _abs_range(spec.name, chart.categories)
    cache = _c(sref, "strCache")
    _c(cache, "ptCount", str(len(cats)))
    for i, v in enumerate(cats):
        if v is not None:
            _c(_c(cache, "pt", idx=str(i)), "v").text = clean_text(str(v), 255)
    nref = _c(_c(ser, "val"), "numRef")
    _c(nref, "f").text = _abs_range(spec.name, chart.values)
    cache = _c(nref, "numCache")
    _c(cache, "formatCode").text = "General"
    _c(cache, "ptCount", str(len(vals)))
    for i, v in enumerate(vals):
        if isinstance(v, int | float | decimal.Decimal) and not isinstance(v, bool):
            _c(_c(cache, "pt", idx=str(i)), "v").text = repr(float(v))
    if pie:
        _c(group, "firstSliceAng", "0")
    else:
        _c(group, "gapWidth", "150")
        _c(group, "axId", "50010001")
        _c(group, "axId", "50010002")
        cat = _c(plot, "catAx")
        _c(cat, "axId", "50010001")
        _c(_c(cat, "scaling"), "orientation", "minMax")
        _c(cat, "delete", "0")
        _c(cat, "axPos", "l" if chart.kind == "bar" else "b")
        _c(cat, "numFmt", formatCode="General", sourceLinked="0")
        _c(cat, "tickLblPos", "nextTo")
        _c(cat, "crossAx", "50010002")
        _c(cat, "crosses", "autoZero")
        _c(cat, "auto", "1")
        _c(cat, "lblAlgn", "ctr")
        _c(cat, "lblOffset", "100")
        val = _c(plot, "valAx")
        _c(val, "axId", "50010002")
        _c(_c(val, "scaling"), "orientation", "minMax")
        _c(val, "delete", "0")
        _c(val, "axPos", "b" if chart.kind == "bar" else "l")
        _c(val, "majorGridlines")
        _c(val, "numFmt", formatCode="General", sourceLinked="1")
        _c(val, "tickLblPos", "nextTo")
        _c(val, "crossAx", "50010001")
        _c(val, "crosses", "autoZero")
        _c(val, "crossBetween", "between")
    if pie:
        legend = _c(ch, "legend")
        _c(legend, "legendPos", "r")
        _c(legend, "overlay", "0")
    _c(ch, "plotVisOnly", "1")
    _c(ch, "dispBlanksAs", "gap")
    return space


__all__ = ["add_charts", "build_sheet"]
