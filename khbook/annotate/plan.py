"""The annotated copy: plan what to write back into the user's workbook.

:func:`plan_annotation` is pure: from the raw workbook and its Report it decides the
computed-column values, the marks and comments on bad cells, and the rows of the three
sheets khbook adds (异常清单, 分类汇总, 变更日志), as the OOXML writer's own edit records.
khbook.ooxml applies the plan to a copy of the file; the xlwings adapter applies the same
plan through Excel.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from khbook.base.excel import quote_sheet
from khbook.base.textwidth import PADDING, display_width, fit_width, text_of
from khbook.classify.computed import (
    Change,
    canonical_value,
    class_columns,
    display,
)
from khbook.findings import SEVERITY_ORDER, Finding
from khbook.ooxml import ChartSpec, NewSheet, SheetEdits
from khbook.read.model import CustomerClass, col_letter
from khbook.read.rawbook import RawBook
from khbook.report.report import Report
from khbook.spec import Spec

# the words of the added sheets and comments are labels.yaml's `annotated` and `severity` areas
SUMMARY_DIMS = ("value_tier", "abc_class", "stage", "tag", "region", "owner")


@dataclass
class Plan:
    sheets: list[SheetEdits]
    new_sheets: list[NewSheet]
    changes: list[Change]
    filled: int


def fit_columns(rows: list[list[Any]], caps: dict[str, float], *, minimum: float = 6,
                default_cap: float = 40) -> tuple[dict[str, float], frozenset[str]]:
    """Column widths that hold every text of `rows` by display width (CJK counts double), each
    capped (``caps`` by letter, else `default_cap`); columns with a longer text wrap.

    The same widths as :func:`~khbook.base.textwidth.fit_width` gives, measured once per
    column: a text that cannot be wider than the widest so far is not measured, and a
    column stops once a text is wider than its cap (it wraps at the cap).
    """
    ncols = max((len(r) for r in rows), default=0)
    widths: dict[str, float] = {}
    wrap: set[str] = set()
    for c in range(ncols):
        letter = col_letter(c)
        cap = caps.get(letter, default_cap)
        widest = _widest((r[c] for r in rows if c < len(r) and r[c] is not None),
                         cap - PADDING if cap < _NO_CAP else float("inf"))
        widths[letter] = float(min(cap, max(minimum, widest + PADDING)))
        if float(min(_NO_CAP, max(minimum, widest + PADDING))) > cap:
            wrap.add(letter)
    return widths, frozenset(wrap)


_NO_CAP = 10_000


def _widest(values: Iterable[Any], stop: float) -> int:
    """The display width of the widest line among `values`, or a width above `stop` (the
    first found) when there is one."""
    best = 0
    for v in values:
        text = v if v.__class__ is str else text_of(v)
        if 2 * len(text) <= best:
            continue   # no character is wider than 2
        w = max(map(display_width, text.split("\n"))) if "\n" in text else display_width(text)
        if w > best:
            best = w
            if best > stop:
                break
    return best


def _comment(findings: list[Finding], report: Report) -> str:
    lines = [report.spec.text("annotated.comment", report.lang)]
    lines += [f"[{report.severity_label(f.severity)}] {f.message}" for f in findings]
    return "\n".join(lines)


def _marks(report: Report) -> dict[str, dict[str, tuple[str, str]]]:
    by_cell: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    for f in report.findings:
        if f.cell and f.sheet:
            by_cell[(f.sheet, f.cell)].append(f)
    out: dict[str, dict[str, tuple[str, str]]] = defaultdict(dict)
    for (sheet, cell), fs in by_cell.items():
        fs.sort(key=lambda f: SEVERITY_ORDER[f.severity])
        kind = "changed" if all(f.rule == "computed_changed" for f in fs) else fs[0].severity
        out[sheet][cell] = (kind, _comment(fs, report))
    return out


def _width(raw: RawBook, sheet: str) -> int:
    for s in raw.sheets:
        if s.name == sheet:
            return s.width
    return 0


def _existing_rows(raw: RawBook, name: str) -> list[list[Any]]:
    for s in raw.sheets:
        if s.name == name:
            rows = [list(r) for r in s.rows if any(v not in (None, "") for v in r)]
            return rows[1:]  # without the header
    return []


def plan_annotation(raw: RawBook, report: Report, spec: Spec, *, now: dt.datetime | None = None,
                    in_book_lang: list[CustomerClass] | None = None) -> Plan:
    """The plan for `report`'s workbook. The computed columns are written in the workbook's own
    language: `in_book_lang` is the classification with its reasons in that language, when it
    differs from the report's (the added sheets follow the report's language)."""
    book = report.book
    assert book is not None
    marks = _marks(report)
    plans: dict[str, SheetEdits] = {}

    def plan_for(sheet: str) -> SheetEdits:
        if sheet not in plans:
            plans[sheet] = SheetEdits(sheet)
        return plans[sheet]

    # computed / derived columns on the customers sheet
    changes: list[Change] = []
    filled = 0
    t = book.table("customers")
    if t is not None:
        sp = plan_for(t.name)
        changes = report.changes  # computed once by the check, in the workbook's own list language
        next_col = _width(raw, t.name)
        letters: dict[str, str] = {}
        columns = class_columns(spec)
        for col in columns:
            info = t.columns.get(col.key)
            if info is None:
                letter = col_letter(next_col)
                next_col += 1
                sp.writes[f"{letter}{t.header_row}"] = col.header(book.lang)
                sp.new_columns[letter] = col.width
                sp.header_marks[f"{letter}{t.header_row}"] = "computed"
            else:
                letter = info.letter
            letters[col.key] = letter
        at = {row: i for i, row in enumerate(t.raw.index)}   # Excel row -> position in the raw frame
        raws = {col.key: list(t.raw[col.key]) for col in columns if col.key in t.columns}
        shown: dict[tuple, str | None] = {}   # the cell text of each computed value, made once
        for c in in_book_lang or report.customers:
            if c.row is None:
                continue
            for col in columns:
                canonical = canonical_value(c, col)
                key = _display_key(col.key, canonical)
                if key is None:
                    value = display(spec, col, canonical, book.lang)  # the workbook's own list language
                elif key in shown:
                    value = shown[key]
                else:
                    value = shown[key] = display(spec, col, canonical, book.lang)
                if value is None and col.derived:
                    continue
                present = col.key in t.columns
                if present:
                    i = at.get(c.row)
                    old = None if i is None else raws[col.key][i]
                    if old is None and value is not None:
                        filled += 1
                    if old is not None and str(old) == value:
                        continue
                elif value is not None:
                    filled += 1
                sp.writes[f"{letters[col.key]}{c.row}"] = value
    for sheet, cells in marks.items():
        plan_for(sheet).marks.update(cells)
    new_sheets = [
        _findings_sheet(report, spec),
        _summary_sheet(report, spec),
        _changelog_sheet(raw, report, spec, changes, filled, now or dt.datetime.now().replace(microsecond=0)),
    ]
    return Plan(list(plans.values()), new_sheets, changes, filled)


def _display_key(field: str, value: object) -> tuple | None:
    """What a computed value's cell text depends on, when it can be a dict key (texts,
    numbers and lists of texts: the classes, tiers and tags that repeat down the column)."""
    if value is None or value.__class__ in (str, int, float):
        return (field, value.__class__, value)
    if value.__class__ is list and all(v.__class__ is str for v in value):
        return (field, list, tuple(value))
    return None


def _findings_sheet(report: Report, spec: Spec) -> NewSheet:
    lang = report.lang
    rows: list[list[Any]] = [spec.text_list("annotated.findings_columns", lang)]
    links: dict[str, str] = {}
    fills: dict[str, str] = {}
    ordered = sorted(report.findings, key=lambda f: SEVERITY_ORDER[f.severity])  # stable: keeps sheet/row order
    severity = {s: spec.text(f"severity.{s}", lang) for s in SEVERITY_ORDER}
    titles: dict[str, str] = {}
    quoted: dict[str, str] = {}
    for i, f in enumerate(ordered, start=2):
        title = titles.get(f.rule)
        if title is None:
            title = titles[f.rule] = spec.rule(f.rule).title(lang)  # the rule's title: ids are for JSON
        rows.append([severity[f.severity], f.sheet, f.cell, f.customer_id or "", f.column, f.value, f.message, title])
        if f.cell and f.sheet:
            sheet = quoted.get(f.sheet)
            if sheet is None:
                sheet = quoted[f.sheet] = quote_sheet(f.sheet)
            links[f"C{i}"] = f"{sheet}!{f.cell}"
        fills[f"A{i}"] = f.severity
    widths, wrap = fit_columns(rows, {"F": 30, "G": 60})
    return NewSheet(spec.output_sheets["findings"](lang), rows, widths, links, fills, wrap=wrap)


def _summary_sheet(report: Report, spec: Spec) -> NewSheet:
    lang = report.lang
    summary = report.translated_summary()
    blocks = [(dim, list((summary.get(dim) or {}).items())) for dim in SUMMARY_DIMS]
    height = max((len(items) for _, items in blocks), default=0) + 1
    rows: list[list[Any]] = [[None] * (3 * len(blocks)) for _ in range(height)]
    charts: list[ChartSpec] = []
    widths: dict[str, float] = {}
    for b, (dim, items) in enumerate(blocks):
        c0 = 3 * b
        title = spec.text(f"annotated.dim_{dim}", lang)
        rows[0][c0] = title
        rows[0][c0 + 1] = spec.text("annotated.count", lang)
        for i, (label, n) in enumerate(items, start=1):
            rows[i][c0] = label
            rows[i][c0 + 1] = n
        la, lb = col_letter(c0), col_letter(c0 + 1)
        widths[la] = fit_width([title, *(label for label, _ in items)], minimum=10, maximum=40)
        widths[lb] = fit_width([rows[0][c0 + 1]], minimum=8)
        if items:
            anchor_row = height + 4 + 16 * (b // 2)
            anchor_col = col_letter(0 if b % 2 == 0 else 9)
            charts.append(ChartSpec(title, "pie" if dim == "abc_class" else "column",
                                    f"{la}2:{la}{len(items) + 1}", f"{lb}2:{lb}{len(items) + 1}",
                                    f"{anchor_col}{anchor_row}"))
    rows += [[None] * len(rows[0]), [report.abc_basis(), *[None] * (len(rows[0]) - 1)]]  # how ABC was computed
    note = f"A{len(rows)}:{col_letter(len(rows[0]) - 1)}{len(rows)}"  # the note spans the blocks: never clipped
    return NewSheet(spec.output_sheets["summary"](lang), rows, widths, charts=charts, merges=(note,))


def _changelog_sheet(raw: RawBook, report: Report, spec: Spec, changes: list[Change], filled: int,
                     now: dt.datetime) -> NewSheet:
    lang = report.lang
    name = spec.output_sheets["changelog"](lang)
    header = spec.text_list("annotated.changelog_columns", lang)
    rows: list[list[Any]] = [header, *_existing_rows(raw, name)]
    book = report.book
    t = book.table("customers") if book else None
    reasons = {c.customer_id: c.reasons for c in report.customers}
    stamp = now.isoformat(sep=" ")
    for ch in changes:
        cell = t.cell(ch.row, ch.field) if t else ""
        header_text = t.header(ch.field) if t else ch.field
        reason = reasons.get(ch.customer_id, {}).get(ch.field) or reasons.get(ch.customer_id, {}).get(
            "tags" if ch.field == "status_tags" else ch.field, "")
        rows.append([stamp, report.as_of.isoformat(), t.name if t else "", cell, ch.customer_id, header_text, ch.old,
                     ch.new or "", reason])
    if filled:
        rows.append([stamp, report.as_of.isoformat(), t.name if t else "", "", "", "", "", spec.text("annotated.filled", lang).format(n=filled), ""])
    widths, wrap = fit_columns(rows, {"G": 30, "H": 30, "I": 60})
    return NewSheet(name, rows, widths, wrap=wrap)
