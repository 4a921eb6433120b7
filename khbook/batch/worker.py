"""One batch task: refresh one workbook and boil its Report down to a small picklable record.

Runs inside a worker process (or in-process with ``--jobs 1``). :func:`process` takes a
:class:`~khbook.batch.records.Task` and returns a :class:`~khbook.batch.records.FileSummary`
(findings and customers as records, counts, rows, key-field completeness, per customer the
credit code and normalised company name for cross-file duplicates and the last follow-up
date) or a :class:`~khbook.batch.records.Failure` (the one-line reason ``khbook check``
gives for the file).
"""

from __future__ import annotations

import datetime as dt
import gc
import traceback
from pathlib import Path

import pandas as pd

from khbook.base.errors import KhbookError, WorkbookError
from khbook.batch.consolidate import churn_stages, fix_counts, rep_of
from khbook.batch.mask import mask_finding, mask_id
from khbook.batch.records import CustomerRow, Failure, FileSummary, FindingRow, Task
from khbook.batch.rows import render
from khbook.classify.facts import is_blank
from khbook.pipeline import RefreshResult, default_output, refresh_file
from khbook.read.identity import normalize_company
from khbook.read.model import Book
from khbook.spec import Spec, load_spec

_SPECS: dict[str, Spec] = {}


def output_path(outdir: Path, rel: str) -> Path:
    """OUTDIR/<relative path>.checked.xlsx (.xlsm kept; an annotated copy keeps its own name)."""
    return outdir / default_output(Path(rel))


def _spec(directory: str) -> Spec:
    """The spec of a task, loaded once per worker ("" = this installation's built-in spec)."""
    if directory not in _SPECS:
        _SPECS[directory] = load_spec(directory or None)
    return _SPECS[directory]


def _completeness(book: Book, spec: Spec) -> tuple[int, int, int]:
    """(data rows, filled key-field cells, key-field cells) over the spec sheets found."""
    rows = filled = total = 0
    for sheet in spec.sheets:
        t = book.table(sheet.key)
        if t is None:
            continue
        n = len(t.raw)
        rows += n
        for col in sheet.columns:
            if not col.key_field:
                continue
            total += n
            if col.key in t.raw.columns:
                filled += sum(0 if is_blank(v) else 1 for v in t.raw[col.key])
    return rows, filled, total


def _last_followups(book: Book, as_of: dt.date) -> dict[str, dt.date]:
    t = book.table("followups")
    if t is None or "date" not in t.frame or "customer_id" not in t.frame:
        return {}
    f = t.frame[["customer_id", "date"]].dropna()
    f = f[f["date"] <= pd.Timestamp(as_of)]
    if f.empty:
        return {}
    last = f.groupby("customer_id")["date"].max()
    return {str(k): v.date() for k, v in last.items()}


def _column_kinds(book: Book, spec: Spec) -> dict[tuple[str, str], str]:
    kinds: dict[tuple[str, str], str] = {}
    for t in book.tables.values():
        for col in spec.sheet(t.key).columns:
            kinds[(t.name, col.key)] = col.type
    return kinds


def _text(value: object) -> str | None:
    return None if value is None or is_blank(value) else str(value)


def file_summary(result: RefreshResult, rel: str, spec: Spec, as_of: dt.date, outdir: Path) -> FileSummary:
    """The picklable summary of one refreshed workbook."""
    report = result.report
    book = report.book
    rows, filled, total = _completeness(book, spec) if book is not None else (0, 0, 0)
    last = _last_followups(book, as_of) if book is not None else {}
    window = spec.rules.checks.quality_followup_days
    cust_t = book.table("customers") if book is not None else None
    frame = cust_t.frame if cust_t is not None else pd.DataFrame()

    def cell(row: int | None, key: str) -> str | None:
        if row is None or key not in frame.columns or row not in frame.index:
            return None
        return _text(frame.at[row, key])

    customers = []
    for c in report.customers:
        lf = last.get(c.customer_id)
        customers.append(CustomerRow(
            file=rel, row=c.row, customer_id=c.customer_id, name=c.name, owner=c.owner,
            annual_amount=c.annual_amount, value_tier=c.value_tier, abc_class=c.abc_class, stage=c.stage,
            tags=tuple(c.tags), region=c.region, industry=cell(c.row, "industry"),
            credit_code=cell(c.row, "credit_code"), name_key=normalize_company(c.name) if c.name else "",
            last_followup=lf.isoformat() if lf else None, followed=bool(lf and (as_of - lf).days <= window)))
    kinds = _column_kinds(book, spec) if book is not None else {}
    findings = [FindingRow(file=rel, rule=f.rule, severity=f.severity, sheet=f.sheet, cell=f.cell, row=f.row,
                           column=f.column, field=f.field, customer_id=f.customer_id, value=f.value,
                           message=f.message, kind=kinds.get((f.sheet, f.field), "text"))
                for f in report.findings]
    output = Path(result.output)
    rel_out = output.relative_to(outdir).as_posix() if outdir in output.parents else str(output)
    return FileSummary(file=rel, output=rel_out, counts=dict(report.counts), rows=rows, key_filled=filled,
                       key_total=total, customers=customers, findings=findings)


def process(task: Task) -> FileSummary | Failure:
    """Worker entry point (see :func:`read_book`), the cycle collector paused for the book and on after it
    (a worker forked while the batch had it paused collects between books)."""
    gc.disable()
    try:
        return read_book(task)
    finally:
        gc.enable()


def remember_spec(spec: Spec) -> None:
    """Give this process's spec to the workers forked from it (they need not load it again)."""
    _SPECS.setdefault(str(spec.directory), spec)


def read_book(task: Task) -> FileSummary | Failure:
    """Worker entry point: one workbook -> its summary, or the reason it cannot be read.

    A file that cannot be read comes back as a :class:`Failure` (the reason in the task's
    language and in English, and the WorkbookError's code); so does an unexpected failure
    (with its exception type, code ``"internal"``), so one bad file never stops the batch.
    """
    spec = _spec(task.spec_dir)
    as_of = dt.date.fromisoformat(task.as_of)
    outdir = Path(task.outdir)
    out = output_path(outdir, task.rel)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        result = refresh_file(task.src, out, spec=spec, as_of=as_of, lang=task.lang, password=task.password)
        return prepare(file_summary(result, task.rel, spec, as_of, outdir), spec, task.lang, mask=task.mask)
    except WorkbookError as exc:
        return Failure(task.rel, exc.render_reason(spec, task.lang), exc.reason, exc.code, exc.detail)
    except KhbookError as exc:
        return failure(task.rel, spec, task.lang, "internal", getattr(exc, "message", str(exc)))
    except OSError as exc:
        return failure(task.rel, spec, task.lang, "os_error", str(exc.strerror or exc))
    except Exception as exc:  # noqa: BLE001 - one broken file must not stop the batch
        tb = traceback.extract_tb(exc.__traceback__)[-1]
        return failure(task.rel, spec, task.lang, "internal",
                       f"{type(exc).__name__}: {exc}, {Path(tb.filename).name}:{tb.lineno}")


def prepare(summary: FileSummary, spec: Spec, lang: str, *, mask: bool) -> FileSummary:
    """The book's share of the consolidation, done where the book was read: its rep (the most
    frequent 负责人) on the file, its customers and findings, the file's own ABC class kept as
    ``abc_class_file``, the findings masked (--mask), and its rows of the consolidated outputs
    rendered (:func:`khbook.batch.rows.render`). Credit codes stay unmasked in the records: the
    cross-file duplicates match on them (the rendered rows are masked)."""
    summary.rep = rep_of(summary.customers, spec.text("batch.no_owner", lang))
    for c in summary.customers:
        c.rep = summary.rep
        c.abc_class_file = c.abc_class
    for f in summary.findings:
        f.rep = summary.rep
    if mask and not summary.masked:
        summary.findings = [mask_finding(f) for f in summary.findings]
        summary.masked = True
    summary.parts = render(summary.customers, summary.findings, summary.output, spec, lang,
                           churn=churn_stages(spec), credit=mask_id if mask else None)
    summary.parts.fix_counts = fix_counts(summary.findings)
    return summary


def failure(rel: str, spec: Spec, lang: str, code: str, detail: str) -> Failure:
    """A failure that is not a WorkbookError (``batch_files.<code>`` in labels.yaml, with the technical detail)."""
    return Failure(rel, spec.text(f"batch_files.{code}", lang).format(detail=detail),
                   spec.text(f"batch_files.{code}", "en").format(detail=detail), code)
