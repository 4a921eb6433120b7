"""`refresh`: check and classify a workbook, then write the annotated copy.

The input is never touched. The copy keeps every part of the original (see khbook.ooxml)
and is written atomically to a new path (default ``NAME.checked.xlsx`` beside the input,
``.xlsm`` kept for macro books).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from khbook.annotate import Plan, plan_annotation
from khbook.check import check_raw
from khbook.errors import Hint, WorkbookError
from khbook.ooxml import PatchStats, write_annotated
from khbook.rawbook import load_raw
from khbook.report import Report
from khbook.spec import Spec, load_spec


@dataclass
class RefreshResult:
    report: Report
    output: Path
    plan: Plan
    stats: PatchStats


def default_output(src: Path) -> Path:
    suffix = ".xlsm" if src.suffix.lower() == ".xlsm" else ".xlsx"
    stem = src.stem[: -len(".checked")] if src.stem.endswith(".checked") else src.stem
    return src.with_name(f"{stem}.checked{suffix}")


def apply_plan(src: Path, dst: Path, plan: Plan) -> PatchStats:
    return write_annotated(src, dst, plan.sheets, plan.new_sheets)


def refresh_file(src: str | Path, dst: str | Path | None = None, *, spec: Spec | None = None,
                 as_of: dt.date | None = None, lang: str = "zh", now: dt.datetime | None = None) -> RefreshResult:
    """Check `src`, then write its annotated copy to `dst` (never onto `src`)."""
    src = Path(src)
    out = Path(dst) if dst is not None else default_output(src)
    if out.exists() and src.exists() and out.resolve() == src.resolve():
        raise WorkbookError(str(src), "the output would overwrite the input",
                            Hint("other_output", "choose another output path with -o"), code="overwrite_input")
    spec = spec or load_spec()
    raw = load_raw(src)
    try:
        report = check_raw(raw, spec, as_of=as_of or dt.date.today(), lang=lang)
        plan = plan_annotation(raw, report, spec, now=now)
    finally:
        raw.close()
    del raw  # the raw cell grid is not needed for writing: free it before the patcher's peak
    stats = apply_plan(src, out, plan)
    return RefreshResult(report, out, plan, stats)
