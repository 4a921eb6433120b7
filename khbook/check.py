"""`check`: read a workbook, validate it, classify its customers, return one Report.

file -> rawbook (safety gate + calamine) -> reader (tables, parse findings)
     -> schema (pandera per-column checks) -> rules (cross-sheet) -> classify -> Report
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from khbook.classify import classify, summarize
from khbook.computed import computed_changes, report_changes
from khbook.findings import SEVERITY_ORDER, Finding, FindingFactory
from khbook.model import Book
from khbook.rawbook import RawBook, load_raw
from khbook.reader import read_book
from khbook.report import Report
from khbook.rules import run_rules
from khbook.schema import validate_table
from khbook.spec import Spec, load_spec


def _order(book: Book, spec: Spec, findings: list[Finding]) -> list[Finding]:
    sheet_rank = {t.name: i for i, t in enumerate(book.tables[s.key] for s in spec.sheets if s.key in book.tables)}
    col_rank: dict[tuple[str, str], int] = {}
    for t in book.tables.values():
        for key, info in t.columns.items():
            col_rank[(t.name, key)] = info.index
    return sorted(findings, key=lambda f: (sheet_rank.get(f.sheet, -1), f.row or 0, col_rank.get((f.sheet, f.field), -1),
                                           SEVERITY_ORDER[f.severity], f.rule))


def check_raw(raw: RawBook, spec: Spec, *, as_of: dt.date, lang: str = "zh") -> Report:
    """Check an already-read workbook (a file, or an open Excel book via xlwings)."""
    ff = FindingFactory(spec, lang, file=Path(raw.path).name)
    book = read_book(raw, spec, ff, as_of=as_of)
    for sheet in spec.sheets:
        t = book.table(sheet.key)
        if t is not None:
            validate_table(t, sheet, spec, ff, as_of=as_of)
    run_rules(book, spec, ff, as_of)
    untrusted = {(t.key, r, k) for t in book.tables.values() for (r, k) in t.bad}
    customers = classify(book, spec, as_of, untrusted=untrusted, lang=lang)
    report_changes(computed_changes(book, customers, spec, lang), book, ff)
    return Report(Path(raw.path).name, as_of, lang, _order(book, spec, ff.items), customers,
                  summarize(customers, spec), spec, book)


def check_file(path: str | Path, spec: Spec | None = None, *, as_of: dt.date | None = None, lang: str = "zh") -> Report:
    """Check one workbook file. Raises WorkbookError when the file cannot be read."""
    spec = spec or load_spec()
    raw = load_raw(path)
    try:
        return check_raw(raw, spec, as_of=as_of or dt.date.today(), lang=lang)
    finally:
        raw.close()
