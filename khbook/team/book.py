"""A workbook as the team commands see it: each data sheet's rows as raw cell values by
field key, the customers' classification, and the columns the spec does not know.

:func:`read_team_book` reads through the pipeline (``check_raw``); :func:`write_team_book`
writes rows into the current template. Raw values travel untouched (a number stays a
number, a date a date, text keeps its spelling), so a book split and merged again holds
exactly the values it started with; only the computed columns are written fresh from the
classification.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import xlsxwriter

from khbook.base.fsutil import atomic_output
from khbook.classify.computed import canonical_value, class_columns, display
from khbook.pipeline import check_raw
from khbook.read.decrypt import readable
from khbook.read.docprops import spec_version
from khbook.read.model import CustomerClass
from khbook.read.rawbook import RawBook, RawSheet, load_raw
from khbook.read.tables import norm_header
from khbook.report.report import Report
from khbook.spec import Spec
from khbook.template.writer import (
    WORKBOOK_OPTIONS,
    build_workbook,
    header_text,
)


@dataclass
class Row:
    """One data row: field key -> raw cell value (None when blank), where it was, where from."""

    values: dict[str, Any]
    row: int
    customer_id: str | None = None
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)   # unknown column header -> raw value


@dataclass
class TeamBook:
    """A workbook read for the team commands."""

    path: Path
    rows: dict[str, list[Row]]                      # spec sheet key -> rows in sheet order
    report: Report
    extra_headers: dict[str, list[str]] = field(default_factory=dict)  # sheet key -> unknown headers
    spec_version: int | None = None

    @property
    def classes(self) -> dict[int, CustomerClass]:
        """customers-sheet row -> classification."""
        return {c.row: c for c in self.report.customers if c.row is not None}

    def typed(self, sheet: str, key: str) -> dict[int, Any]:
        """row -> typed value of one column (the reader's cleaned, canonical value)."""
        book = self.report.book
        t = book.table(sheet) if book else None
        return t.values(key) if t is not None else {}


@dataclass
class ExtraSheet:
    """A sheet the team commands add after the template's (conflicts, handover, report)."""

    name: str
    headers: list[str]
    rows: list[list[Any]]
    widths: list[float] | None = None


def spec_version_of(path: str | Path) -> int | None:
    """The spec version a khbook-written workbook file records, or None."""
    try:
        with zipfile.ZipFile(path) as zf:
            return spec_version(zf, str(path))
    except (OSError, zipfile.BadZipFile):
        return None


def read_team_book(path: str | Path, spec: Spec, *, as_of: dt.date, lang: str = "zh",
                   password: str | None = None) -> TeamBook:
    """Read a workbook file (encrypted: with its `password`) with its classification."""
    p = Path(path)
    with readable(p, password) as plain:
        raw = load_raw(plain)
        raw.path = str(p)
        return _read(p, raw, spec, as_of, lang)


def _read(p: Path, raw: RawBook, spec: Spec, as_of: dt.date, lang: str) -> TeamBook:
    try:
        report = check_raw(raw, spec, as_of=as_of, lang=lang)
        book = report.book
        rows: dict[str, list[Row]] = {}
        extras: dict[str, list[str]] = {}
        by_name = {s.name: s for s in raw.sheets}
        for sheet in spec.sheets:
            t = book.table(sheet.key) if book else None
            if t is None:
                rows[sheet.key] = []
                continue
            keys = [c.key for c in sheet.columns if c.key in t.raw.columns]
            ids = t.values("customer_id")
            cols = {k: t.raw[k].tolist() for k in keys}
            out = [Row({k: _plain(cols[k][i]) for k in keys}, r, ids.get(r) if isinstance(ids.get(r), str) else None)
                   for i, r in enumerate(t.raw.index.tolist())]
            extras[sheet.key] = _unknown_columns(by_name.get(t.name), t.header_row, set(c.index for c in t.columns.values()),
                                                 out)
            rows[sheet.key] = out
    finally:
        raw.close()
    return TeamBook(p, rows, report, extras, raw.spec_version)


def _plain(value: Any) -> Any:
    """pandas' missing markers -> None; everything else as read."""
    if value is None:
        return None
    if isinstance(value, float) and value != value:
        return None
    return value


def _unknown_columns(rs: RawSheet | None, header_row: int, known: set[int], rows: list[Row]) -> list[str]:
    """Headers of the columns no spec column matched; their values go into each Row.extra."""
    if rs is None:
        return []
    grid = rs.rows
    if len(grid) < header_row:
        return []
    head = grid[header_row - 1]
    cols = [(j, str(v).strip()) for j, v in enumerate(head) if j not in known and norm_header(v)]
    for r in rows:
        line = grid[r.row - 1] if r.row - 1 < len(grid) else []
        for j, h in cols:
            v = line[j] if j < len(line) else None
            if v is not None and v != "":
                r.extra[h] = v
    rs.release()
    return [h for _j, h in cols]


def raw_book(spec: Spec, rows: dict[str, list[Row]], *, name: str, lang: str = "zh") -> RawBook:
    """An in-memory raw book of rows in the template's layout (to classify without writing)."""
    sheets = []
    for sheet in spec.sheets:
        cols = [c for c in sheet.columns if not c.computed]
        grid: list[list[Any]] = [[header_text(c, lang) for c in cols]]
        grid.extend([r.values.get(c.key) for c in cols] for r in rows.get(sheet.key, []))
        sheets.append(RawSheet(sheet.name(lang), grid))
    return RawBook(name, sheets)


def classify_rows(spec: Spec, rows: dict[str, list[Row]], *, as_of: dt.date, lang: str = "zh") -> list[CustomerClass | None]:
    """The classification of each customers row (aligned with ``rows["customers"]``)."""
    report = check_raw(raw_book(spec, rows, name="book", lang=lang), spec, as_of=as_of, lang=lang)
    by_row = {c.row: c for c in report.customers if c.row is not None}
    header = spec.header_row
    return [by_row.get(header + 1 + i) for i in range(len(rows.get("customers", [])))]


def write_team_book(spec: Spec, path: str | Path, rows: dict[str, list[Row]], *, classes: Sequence[CustomerClass | None] = (),
                    lang: str = "zh", source_header: str | None = None, extra_sheets: Sequence[ExtraSheet] = (),
                    first_sheet: str | None = None) -> Path:
    """Write rows into the current template at `path` (atomically).

    Computed columns of the customers sheet are filled from ``classes`` (aligned with the
    customers rows); with ``source_header`` each data sheet gets one more column, right of
    the template's, holding every row's source file.
    """
    most = max((len(v) for v in rows.values()), default=0)
    big = replace(spec, data_rows=max(spec.data_rows, most + 200)) if most > spec.data_rows else spec
    computed = [c for c in class_columns(spec) if c.computed]
    records: dict[str, list[dict[str, Any]]] = {}
    for sheet in spec.sheets:
        recs = [dict(r.values) for r in rows.get(sheet.key, [])]
        if sheet.key == "customers":
            for rec, c in zip(recs, classes, strict=False):
                for col in computed:
                    rec[col.key] = display(spec, col, canonical_value(c, col), lang) if c is not None else None
        records[sheet.key] = recs
    target = Path(path)
    with atomic_output(target) as tmp:
        wb = xlsxwriter.Workbook(str(tmp), WORKBOOK_OPTIONS)
        try:
            layout = build_workbook(wb, big, lang=lang, records=records)
            bold = wb.add_format({"bold": True, "bg_color": "#EDEDED", "text_wrap": True, "valign": "vcenter"})
            if source_header:
                for sheet in spec.sheets:
                    ws = layout.sheets[sheet.key].worksheet
                    j = len(sheet.columns)
                    ws.set_column(j, j, 24)
                    ws.write_string(spec.header_row - 1, j, source_header, bold)
                    for i, r in enumerate(rows.get(sheet.key, []), start=spec.header_row):
                        if r.source:
                            ws.write_string(i, j, r.source)
            for extra in extra_sheets:
                ws = wb.add_worksheet(extra.name)
                write_extra_sheet(ws, extra, bold, wb)
                if first_sheet == extra.name:
                    ws.activate()
        finally:
            wb.close()
    return target


def write_extra_sheet(ws: Any, extra: ExtraSheet, bold: Any, wb: Any) -> None:
    """Fill an added worksheet: a bold header row, values by type, frozen header and a filter."""
    datefmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    for j, h in enumerate(extra.headers):
        width = extra.widths[j] if extra.widths and j < len(extra.widths) else max(10, min(40, 2 * len(h) + 4))
        ws.set_column(j, j, width)
        ws.write_string(0, j, h, bold)
    for i, line in enumerate(extra.rows, start=1):
        for j, v in enumerate(line):
            if v is None or v == "":
                continue
            if isinstance(v, dt.datetime | dt.date):
                ws.write_datetime(i, j, v if isinstance(v, dt.datetime) else dt.datetime(v.year, v.month, v.day), datefmt)
            elif isinstance(v, bool):
                ws.write_string(i, j, str(v))
            elif isinstance(v, int | float):
                ws.write_number(i, j, v)
            else:
                ws.write_string(i, j, str(v))
    ws.freeze_panes(1, 0)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)   # printed: all columns on one page wide
    ws.repeat_rows(0)
    if extra.rows:
        ws.autofilter(0, 0, len(extra.rows), max(len(extra.headers) - 1, 0))
