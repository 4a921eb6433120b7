"""The console lines of `khbook batch`, in the output language (labels.yaml ``batch_files``).

While the run goes: one progress line per workbook; a refused workbook's line carries its
reason (the only time it is printed). At the end: the files skipped on purpose and the
annotated copies read in place of a missing original, the file counts, the figures and
the paths written.
"""

from __future__ import annotations

from khbook.batch.html import money
from khbook.batch.records import Status
from khbook.batch.result import BatchResult
from khbook.spec import Spec


def progress_line(spec: Spec, lang: str, done: int, total: int, file: str, reason: str | None) -> str:
    key = "batch_files.progress_refused" if reason else "batch_files.progress"
    return spec.text(key, lang).format(done=done, total=total, file=file, reason=reason or "")


def summary_lines(result: BatchResult) -> list[str]:
    """Skipped files and copies read (one line each), then the counts, the figures and the outputs."""
    spec, lang = result.spec, result.lang
    t = spec.texts("batch_files", lang)
    lines = [t["copy_line"].format(file=e.file, reason=e.reason) for e in result.with_status(Status.PROCESSED) if e.code]
    lines += [t["skipped_line"].format(file=e.file, reason=e.reason) for e in result.with_status(Status.SKIPPED)]
    totals = result.totals()
    lines.append(t["files_line"].format(**totals))
    lines.append(t["figures_line"].format(**{**totals, "amount": money(totals["amount"]),
                                             "churn_amount": money(totals["churn_amount"])}))
    lines.append(t["wrote_line"].format(paths=t["path_sep"].join(str(p) for p in result.outputs.values())))
    return lines
