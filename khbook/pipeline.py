"""The pipeline, wired once: check a workbook, and plan and write its annotated copy.

check:   file -> read (safety gate, raw book, header matching, cell parsers)
              -> checks (pandera per-column schema, cross-sheet rules) -> classify -> Report
refresh: check -> annotate (a plan of what to write where) -> ooxml (the annotated copy)

:func:`check_raw` and :func:`plan_refresh` work on a :class:`~khbook.read.rawbook.RawBook`,
whether it came from a file or from an open Excel book (the xlwings adapter builds one):
the CLI, the batch worker and the adapter all call these, nothing wires the stages again.
The input file is never touched; the copy is written atomically to a new path (default
``NAME.checked.xlsx`` beside the input, ``.xlsm`` kept for macro books). Refreshing that copy
again (the rep's second round) rewrites it in place, atomically.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from khbook.annotate.plan import Plan, plan_annotation
from khbook.base.errors import Hint, WorkbookError
from khbook.checks.crosssheet import run_rules
from khbook.checks.lists_sheet import check_lists_sheet
from khbook.checks.schema import validate_table
from khbook.classify.computed import computed_changes, report_changes
from khbook.classify.engine import classify, summarize
from khbook.findings import SEVERITY_ORDER, Finding, FindingFactory
from khbook.ooxml import PatchStats, write_annotated
from khbook.read.model import Book
from khbook.read.rawbook import RawBook, load_raw
from khbook.read.tables import read_book
from khbook.report.report import Report
from khbook.spec import Spec, load_spec


def _order(book: Book, spec: Spec, findings: list[Finding]) -> list[Finding]:
    sheet_rank = {t.name: i for i, t in enumerate(book.tables[s.key] for s in spec.sheets if s.key in book.tables)}
    col_rank: dict[tuple[str, str], int] = {}
    for t in book.tables.values():
        for key, info in t.columns.items():
            col_rank[(t.name, key)] = info.index
    return sorted(findings, key=lambda f: (sheet_rank.get(f.sheet, -1), f.row or 0, col_rank.get((f.sheet, f.field), -1),
                                           SEVERITY_ORDER[f.severity], f.rule))


def _untrusted(book: Book) -> set[tuple[str, int, str]]:
    """Cells the checks found bad: the classifier does not trust them."""
    return {(t.key, r, k) for t in book.tables.values() for (r, k) in t.bad}


def check_raw(raw: RawBook, spec: Spec, *, as_of: dt.date, lang: str = "zh") -> Report:
    """Check an already-read workbook (a file, or an open Excel book via xlwings)."""
    ff = FindingFactory(spec, lang, file=Path(raw.path).name)
    book = read_book(raw, spec, ff, as_of=as_of)
    for sheet in spec.sheets:
        t = book.table(sheet.key)
        if t is not None:
            validate_table(t, sheet, spec, ff, as_of=as_of)
    run_rules(book, spec, ff, as_of)
    check_lists_sheet(raw, spec, ff)
    customers = classify(book, spec, as_of, untrusted=_untrusted(book), lang=lang)
    report_changes(computed_changes(book, customers, spec, book.lang), book, ff)
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


def plan_refresh(raw: RawBook, spec: Spec, *, as_of: dt.date, lang: str = "zh",
                 now: dt.datetime | None = None) -> tuple[Report, Plan]:
    """Check an already-read workbook and plan its annotation (what to write where)."""
    report = check_raw(raw, spec, as_of=as_of, lang=lang)
    in_book_lang = None
    book = report.book
    if book is not None and book.lang != lang:  # the reasons written into the sheet: the workbook's language
        in_book_lang = classify(book, spec, as_of, untrusted=_untrusted(book), lang=book.lang)
    return report, plan_annotation(raw, report, spec, now=now, in_book_lang=in_book_lang)


@dataclass
class RefreshResult:
    """What :func:`refresh_file` did: the report, the copy's path, the plan and the patcher's counts."""


    report: Report
    output: Path
    plan: Plan
    stats: PatchStats
    in_place: bool = False  # khbook's own annotated copy, refreshed in place (the second round)


def default_output(src: Path) -> Path:
    suffix = ".xlsm" if src.suffix.lower() == ".xlsm" else ".xlsx"
    stem = src.stem[: -len(".checked")] if src.stem.endswith(".checked") else src.stem
    return src.with_name(f"{stem}.checked{suffix}")


def apply_plan(src: Path, dst: Path, plan: Plan) -> PatchStats:
    return write_annotated(src, dst, plan.sheets, plan.new_sheets)


def is_annotated_copy(path: Path, raw: RawBook, spec: Spec) -> bool:
    """khbook's own annotated copy: named ``NAME.checked.xlsx`` (or .xlsm) and holding the
    sheets khbook adds (异常清单 or 变更日志, in either language)."""
    if not path.stem.endswith(".checked"):
        return False
    own = {spec.output_sheets[k](lang) for k in ("findings", "changelog") for lang in ("zh", "en")}
    return any(s.name in own for s in raw.sheets)


def _apply_in_place(path: Path, plan: Plan) -> PatchStats:
    """Rewrite `path` from a private copy of itself; the new file replaces it atomically."""
    fd, name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".src{path.suffix}", dir=path.parent)
    os.close(fd)
    copy = Path(name)
    try:
        shutil.copyfile(path, copy)
        return apply_plan(copy, path, plan)
    finally:
        copy.unlink(missing_ok=True)


def refresh_file(src: str | Path, dst: str | Path | None = None, *, spec: Spec | None = None,
                 as_of: dt.date | None = None, lang: str = "zh", now: dt.datetime | None = None) -> RefreshResult:
    """Check `src`, then write its annotated copy to `dst` (default ``NAME.checked.xlsx``).

    A user's file is never written to. khbook's own annotated copy (see :func:`is_annotated_copy`)
    is the rep's second round: with no `dst` (or `dst` = `src`) it is rewritten in place,
    atomically, its 变更日志 continued.
    """
    src = Path(src)
    out = Path(dst) if dst is not None else default_output(src)
    same = out.exists() and src.exists() and out.resolve() == src.resolve()
    spec = spec or load_spec()
    raw = load_raw(src)
    try:
        if same and not is_annotated_copy(src, raw, spec):
            raise WorkbookError(str(src), "the output would overwrite the input",
                                Hint("other_output", "choose another output path with -o"), code="overwrite_input")
        report, plan = plan_refresh(raw, spec, as_of=as_of or dt.date.today(), lang=lang, now=now)
    finally:
        raw.close()
    del raw  # the raw cell grid is not needed for writing: free it before the patcher's peak
    stats = _apply_in_place(src, plan) if same else apply_plan(src, out, plan)
    return RefreshResult(report, out, plan, stats, in_place=same)
