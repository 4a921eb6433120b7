"""One batch task: refresh one workbook and boil its Report down to a small picklable dict.

Runs inside a worker process (or in-process with ``--jobs 1``). The summary holds only
what the consolidation needs: findings and customers as plain dicts, counts, rows,
key-field completeness, and per customer the credit code and normalised company name
(for cross-file duplicates) and the last follow-up date.
"""

from __future__ import annotations

import datetime as dt
import traceback
from pathlib import Path
from typing import Any

import pandas as pd

from khbook.base.errors import KhbookError, WorkbookError
from khbook.classify.facts import is_blank
from khbook.read.model import Book
from khbook.spec import Spec, load_spec

_SPECS: dict[str, Spec] = {}


def output_path(outdir: Path, rel: str) -> Path:
    """OUTDIR/<relative path>.checked.xlsx (.xlsm kept)."""
    src = Path(rel)
    suffix = ".xlsm" if src.suffix.lower() == ".xlsm" else ".xlsx"
    return outdir / src.parent / f"{src.stem}.checked{suffix}"


def _spec(directory: str) -> Spec:
    if directory not in _SPECS:
        _SPECS[directory] = load_spec(directory)
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


def summarize(result: Any, rel: str, spec: Spec, as_of: dt.date, outdir: Path) -> dict[str, Any]:
    """The picklable summary of one RefreshResult."""
    from khbook.read.parsers import normalize_company

    report = result.report
    book: Book = report.book
    rows, filled, total = _completeness(book, spec) if book is not None else (0, 0, 0)
    last = _last_followups(book, as_of) if book is not None else {}
    window = int(spec.rules["checks"]["quality_followup_days"])
    cust_t = book.table("customers") if book is not None else None
    frame = cust_t.frame if cust_t is not None else pd.DataFrame()

    def cell(row: int | None, key: str) -> Any:
        if row is None or key not in frame.columns or row not in frame.index:
            return None
        v = frame.at[row, key]
        return None if is_blank(v) else v

    customers = []
    for c in report.customers:
        d = c.to_dict()
        d.pop("reasons", None)
        code = cell(c.row, "credit_code")
        lf = last.get(c.customer_id)
        d.update({
            "file": rel, "row": c.row,
            "industry": cell(c.row, "industry"),
            "credit_code": str(code) if code else None,
            "name_key": normalize_company(c.name) if c.name else "",
            "last_followup": lf.isoformat() if lf else None,
            "followed": bool(lf and (as_of - lf).days <= window),
        })
        customers.append(d)
    kinds = _column_kinds(book, spec) if book is not None else {}
    findings = []
    for f in report.findings:
        d = f.to_dict()
        d["file"] = rel
        d["kind"] = kinds.get((f.sheet, f.field), "text")
        findings.append(d)
    return {
        "file": rel, "output": str(Path(result.output).relative_to(outdir)) if outdir in Path(result.output).parents else str(result.output),
        "owners": sorted({c["owner"] for c in customers if c.get("owner")}),
        "counts": dict(report.counts), "rows": rows, "key_filled": filled, "key_total": total,
        "customers": customers, "findings": findings,
    }


def process(task: tuple[str, str, str, str, str, str, str | None]) -> dict[str, Any]:
    """Worker entry point: (source path, relative path, outdir, spec dir, as-of, lang, password) -> summary.

    A file that cannot be read comes back as ``{"file", "error", "error_en", "code"}`` (the
    reason in `lang` and in English, and the WorkbookError's code); so does an unexpected
    failure (with its exception type, code ``""``), so one bad file never stops the batch.
    """
    from khbook.pipeline import refresh_file

    src, rel, outdir, spec_dir, as_of_text, lang, password = task
    spec = _spec(spec_dir)
    as_of = dt.date.fromisoformat(as_of_text)
    out = output_path(Path(outdir), rel)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        result = refresh_file(src, out, spec=spec, as_of=as_of, lang=lang, password=password)
        return summarize(result, rel, spec, as_of, Path(outdir))
    except WorkbookError as exc:
        return {"file": rel, "error": exc.render_reason(spec, lang), "error_en": exc.reason, "code": exc.code}
    except KhbookError as exc:
        return _failure(rel, getattr(exc, "message", str(exc)))
    except OSError as exc:
        return _failure(rel, f"cannot read or write: {exc.strerror or exc}")
    except Exception as exc:  # noqa: BLE001 - one broken file must not stop the batch
        tb = traceback.extract_tb(exc.__traceback__)[-1]
        return _failure(rel, f"internal error {type(exc).__name__}: {exc} (at {Path(tb.filename).name}:{tb.lineno}; please report)")


def _failure(rel: str, reason: str) -> dict[str, Any]:
    """A failure without an error code: the English reason in every language."""
    return {"file": rel, "error": reason, "error_en": reason, "code": ""}
