"""`batch`: a folder of reps' workbooks -> annotated copies, 汇总.xlsx, report.html, batch.json.

discover(DIR) -> every file accounted for: a task per workbook-like file, the rest skipped
on purpose with why -> worker processes (:func:`khbook.batch.worker.process`: refresh_file
+ a small picklable record) -> consolidate (:mod:`khbook.batch.consolidate`: ABC over the
department, per-rep quality and money, cross-file duplicates, breakdowns, month over month)
-> mask (--mask) -> outputs (:mod:`khbook.batch.workbook`, :mod:`khbook.batch.html`,
batch.json), each written atomically.

A file that cannot be read is listed with the reason ``khbook check`` gives and the run goes
on. A folder without any workbook, or a file given instead of a folder, is an error.
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from khbook.base.encrypt import encrypt_file
from khbook.base.errors import Hint, WorkbookError
from khbook.base.fsutil import atomic_output, make_folder
from khbook.batch import cluster
from khbook.batch import consolidate as cons
from khbook.batch.html import write_html
from khbook.batch.mask import mask_finding, mask_id
from khbook.batch.records import (
    Consolidated,
    CustomerRow,
    Discovery,
    Failure,
    FileEntry,
    FileSummary,
    PreviousRun,
    Skip,
    Status,
    Task,
    no_gc,
)
from khbook.batch.result import BatchResult
from khbook.batch.stream import FindingSheet
from khbook.batch.workbook import write_workbook
from khbook.batch.worker import prepare, remember_spec
from khbook.read.identity import normalize_company
from khbook.spec import Spec

__all__ = ["BatchResult", "discover", "load_previous", "run_batch"]

HTML_NAME = "report.html"
JSON_NAME = "batch.json"
DEFAULT_OUTDIR = "khbook-batch"
CHECKED = ".checked"
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
# files that look like a spreadsheet: they go to a worker, which reads them or gives check's reason
SPREADSHEET_SUFFIXES = WORKBOOK_SUFFIXES + (".xltx", ".xltm", ".xls", ".xlt", ".xlsb", ".csv", ".tsv", ".ods",
                                            ".fods", ".et", ".ett", ".numbers", ".xml")
_HINT_PREVIOUS = Hint("previous_outdir", "pass the output folder of an earlier khbook batch run")

Progress = Callable[[int, int, str, str | None], None]   # (done, total, file, reason when refused)


def summary_names(spec: Spec) -> set[str]:
    """The names 汇总.xlsx has in either language."""
    return {spec.text("batch.summary_file", lang) for lang in ("zh", "en")}


# --------------------------------------------------------------------------- discovery


def _is_output_folder(path: Path, names: set[str]) -> bool:
    return (path / JSON_NAME).is_file() and any((path / n).is_file() for n in names)


def discover(directory: Path, outdir: Path | None, spec: Spec) -> Discovery:
    """Every file under `directory`, sorted by relative path: a task, or skipped with why.

    Skipped: Excel/WPS lock files (``~$*``), hidden files and folders, khbook's own outputs
    (汇总.xlsx, the output folder of an earlier run, an annotated copy ``*.checked.xlsx``
    whose original is in the same folder) and files that are not spreadsheets. This run's
    own output folder (`outdir`) is left out silently: it is not part of what was handed in.
    An annotated copy without its original is read (it holds the rep's data).
    """
    names = summary_names(spec)
    skip_dir = outdir.resolve() if outdir is not None else None
    tasks: list[str] = []
    skipped: list[Skip] = []
    copies: list[str] = []
    for root, dirs, files in os.walk(directory):
        rootp = Path(root)
        keep = []
        for d in sorted(dirs):
            rel = (rootp / d).relative_to(directory).as_posix() + "/"
            if skip_dir is not None and (rootp / d).resolve() == skip_dir:
                continue            # this run's own output folder: not part of what was handed in
            if d.startswith("."):
                skipped.append(Skip(rel, "hidden_folder"))
            elif _is_output_folder(rootp / d, names):
                skipped.append(Skip(rel, "output_folder"))
            else:
                keep.append(d)
        dirs[:] = keep
        lower = {n.lower() for n in files}
        for name in files:
            rel = (rootp / name).relative_to(directory).as_posix()
            suffix = Path(name).suffix.lower()
            stem = name[: -len(suffix)] if suffix else name
            if name.startswith("~$"):
                skipped.append(Skip(rel, "lock"))
            elif name.startswith("."):
                skipped.append(Skip(rel, "hidden"))
            elif name in names:
                skipped.append(Skip(rel, "output"))
            elif suffix in WORKBOOK_SUFFIXES and stem.lower().endswith(CHECKED):
                original = next((stem[: -len(CHECKED)] + s for s in WORKBOOK_SUFFIXES
                                 if (stem[: -len(CHECKED)] + s).lower() in lower), None)
                if original is not None:
                    skipped.append(Skip(rel, "copy", (rootp / original).relative_to(directory).as_posix()))
                else:
                    tasks.append(rel)
                    copies.append(rel)
            elif suffix in SPREADSHEET_SUFFIXES:
                tasks.append(rel)
            else:
                skipped.append(Skip(rel, "not_spreadsheet"))
    return Discovery(sorted(tasks), sorted(skipped, key=lambda s: s.rel), sorted(copies))


def load_previous(prev: Path) -> PreviousRun:
    """The batch.json of an earlier run's OUTDIR (one-line WorkbookError when unusable)."""
    path = prev / JSON_NAME
    if not prev.is_dir():
        raise WorkbookError(str(prev), "--previous: folder not found", _HINT_PREVIOUS, code="previous_not_found")
    if not path.is_file():
        raise WorkbookError(str(prev), f"--previous: no {JSON_NAME} in this folder", _HINT_PREVIOUS,
                            code="previous_no_summary", params={"name": JSON_NAME})
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WorkbookError(str(path), f"--previous: not a readable batch summary ({type(exc).__name__})",
                            Hint("rerun_batch", "run khbook batch again to recreate it"),
                            code="previous_unreadable", params={"detail": type(exc).__name__}) from None
    if not isinstance(data, dict) or not isinstance(data.get("customers"), list) or not isinstance(data.get("reps"), list):
        raise WorkbookError(str(path), "--previous: not a khbook batch summary (no customers/reps)", _HINT_PREVIOUS,
                            code="previous_invalid")
    scores = {str(r.get("rep")): r.get("score") for r in data["reps"] if isinstance(r, dict)}
    return PreviousRun(data.get("as_of"), [_previous_customer(c) for c in data["customers"] if isinstance(c, dict)],
                       {k: v if isinstance(v, int) else None for k, v in scores.items()})


def _previous_customer(c: dict[str, Any]) -> CustomerRow:
    """A customer of an earlier batch.json (labels as written there, in its language)."""
    amount = c.get("annual_amount")
    return CustomerRow(
        file=str(c.get("file") or ""), row=None, customer_id=str(c.get("customer_id") or ""), name=c.get("name"),
        owner=c.get("owner"), annual_amount=float(amount) if isinstance(amount, (int, float)) else None,
        value_tier=str(c.get("value_tier") or ""), abc_class=str(c.get("abc_class") or ""),
        stage=str(c.get("stage") or ""), tags=tuple(c.get("tags") or ()), region=c.get("region"),
        industry=c.get("industry"), credit_code=None, name_key="", last_followup=None, followed=False,
        rep=str(c.get("rep") or c.get("owner") or ""))


# --------------------------------------------------------------------------- running


def _run_tasks(tasks: list[Task], run: cluster.Runner, progress: Progress | None, spec: Spec,
               ordered: Callable[[FileSummary | Failure], None] | None = None) -> list[FileSummary | Failure]:
    """Every task's result in the order of `tasks`, whichever runner (:mod:`khbook.batch.cluster`) ran it;
    `ordered` gets each result in that order as soon as the ones before it are in."""
    results: dict[str, FileSummary | Failure] = {}
    total = len(tasks)
    nxt = 0
    for task, r in run(tasks, spec):
        results[task.rel] = r
        if progress is not None:
            progress(len(results), total, r.file, r.reason if isinstance(r, Failure) else None)
        while ordered is not None and nxt < total and tasks[nxt].rel in results:
            ordered(results[tasks[nxt].rel])
            nxt += 1
    return [results[t.rel] for t in tasks]


def _entries(found: Discovery, results: list[FileSummary | Failure], spec: Spec, lang: str) -> list[FileEntry]:
    """The file accounting: every file of the folder with its status and reason, sorted by path."""
    text, en = spec.texts("batch_files", lang), spec.texts("batch_files", "en")
    out: list[FileEntry] = []
    for r in results:
        if isinstance(r, Failure):
            out.append(FileEntry(r.file, Status.REFUSED, r.reason, r.reason_en, r.code, detail=r.detail))
        else:
            copy = r.file in found.copies_read
            out.append(FileEntry(r.file, Status.PROCESSED, text["copy_read"] if copy else "", en["copy_read"] if copy else "",
                                 "copy_read" if copy else "", owner=r.rep or None,
                                 customers=len(r.customers), errors=r.counts.get("error", 0), output=r.output))
    for s in found.skipped:
        out.append(FileEntry(s.rel, Status.SKIPPED, text[f"skip_{s.why}"].format(other=s.other),
                             en[f"skip_{s.why}"].format(other=s.other), s.why))
    return sorted(out, key=lambda e: e.file)


def consolidate_files(results: list[FileSummary | Failure], spec: Spec, *, mask: bool, lang: str) -> Consolidated:
    """Per-file records -> the consolidated records (before month over month).

    The workers did each book's share (:func:`khbook.batch.worker.prepare`); what needs every
    book is done here: the department's ABC classes, the cross-file duplicates, the reps'
    quality. A summary no worker prepared is prepared here.
    """
    files = [r for r in results if isinstance(r, FileSummary)]
    for f in files:
        if f.parts is None:
            prepare(f, spec, lang, mask=mask)
    customers: list[CustomerRow] = [c for f in files for c in f.customers]
    abc = cons.department_abc([c.annual_amount for c in customers], spec)
    for c, cls in zip(customers, abc, strict=True):
        c.abc_class = cls
    duplicates = cons.cross_file_duplicates(customers)
    findings = [d for f in files for d in f.findings]
    reps = cons.rep_quality(files)
    if mask:
        findings = [d if f.masked else mask_finding(d) for f in files for d in f.findings]
        customers = [replace(c, credit_code=mask_id(c.credit_code)) if c.credit_code else c for c in customers]
        duplicates = [replace(d, key=mask_id(d.key)) if d.basis == "credit_code" else d for d in duplicates]
        for f in files:
            f.findings = []   # the masked copies above are the only ones kept
    return Consolidated(files, customers, findings, reps, duplicates)


def _write_outputs(result: BatchResult, findings: FindingSheet, *, fork: bool) -> None:
    """汇总.xlsx, report.html and batch.json, the workbook beside the other two.

    When the batch had worker processes (`fork`, on Linux), the workbook is
    written by a forked copy of this process, on another core, while this one writes the page
    and the JSON; should that copy fail, the workbook is written here, so its error is the
    usual one. Otherwise the workbook is written in a thread (its compression runs outside the
    GIL).
    """
    book = result.outputs["workbook"]
    # fork is the safe default on Linux only, and only from a process running no other thread
    # (a lock another thread held at the fork would stay held in the copy)
    if fork and sys.platform.startswith("linux") and threading.active_count() == 1:
        child = multiprocessing.get_context("fork").Process(target=_write_book, args=(result, book, findings),
                                                            daemon=True)
        child.start()
        try:
            write_html(result, result.outputs["html"])
            _write_json(result)
        finally:
            child.join()
        if child.exitcode != 0:
            write_workbook(result, book, findings)
        return
    with ThreadPoolExecutor(max_workers=1) as pool:
        done = pool.submit(write_workbook, result, book, findings)
        write_html(result, result.outputs["html"])
        _write_json(result)
        done.result()


def _write_book(result: BatchResult, path: Path, findings: FindingSheet) -> None:
    """The forked copy's work: the workbook, exit status 1 (quietly) when it fails."""
    try:
        write_workbook(result, path, findings)
    except BaseException:  # noqa: BLE001 - the parent writes it again and reports the error itself
        os._exit(1)


def _write_json(result: BatchResult) -> None:
    with atomic_output(result.outputs["json"]) as tmp:
        tmp.write_text(result.json_text(), encoding="utf-8")


def _check_folder(src: Path) -> None:
    if src.is_file():
        raise WorkbookError(str(src), "is a file, not a folder: batch needs the folder that holds the reps' workbooks",
                            Hint("check_one_file", "to check one workbook, run khbook check FILE"), code="batch_not_folder")
    if not src.is_dir():
        raise WorkbookError(str(src), "folder not found", Hint("batch_folder", "pass the folder that holds the reps' workbooks"),
                            code="folder_not_found")


def run_batch(directory: str | Path, outdir: str | Path | None = None, *, spec: Spec, as_of: dt.date | None = None,
              previous: str | Path | None = None, jobs: int | None = None, mask: bool = False, lang: str = "zh",
              progress: Progress | None = None, password: str | None = None,
              scheduler: str | None = None) -> BatchResult:
    """Check and refresh every workbook under `directory`; write the batch outputs to `outdir`.

    Returns the :class:`BatchResult` (``to_dict()`` = batch.json; ``exit_status`` the CLI's
    status). Raises WorkbookError for a missing folder, a file instead of a folder, a folder
    without any workbook or an unusable `previous`; a file that cannot be read is listed in
    ``result.entries`` with its reason instead.

    `scheduler` (a Dask scheduler address such as ``tcp://10.0.0.5:8786``) runs the books on
    that cluster instead of local processes (`jobs` then does not apply); its workers must see
    `directory`, `outdir` and the spec folder at the same paths. An unreachable scheduler is a
    WorkbookError raised before anything is written.
    """
    with no_gc():
        return _run(Path(directory), outdir, spec=spec, as_of=as_of or dt.date.today(), previous=previous, jobs=jobs,
                    mask=mask, lang=lang, progress=progress, password=password, scheduler=scheduler)


def _run(src: Path, outdir: str | Path | None, *, spec: Spec, as_of: dt.date, previous: str | Path | None,
         jobs: int | None, mask: bool, lang: str, progress: Progress | None, password: str | None,
         scheduler: str | None) -> BatchResult:
    _check_folder(src)
    out = Path(outdir) if outdir is not None else src / DEFAULT_OUTDIR
    prev = load_previous(Path(previous)) if previous is not None else None
    found = discover(src, out, spec)
    if not found.tasks:
        raise WorkbookError(str(src), "no workbook in this folder (.xlsx/.xlsm)",
                            Hint("batch_folder", "pass the folder that holds the reps' workbooks"), code="no_workbooks")
    remember_spec(spec)   # before the workers are forked: they start with it
    with cluster.runner(jobs or os.cpu_count() or 1, scheduler) as run:
        make_folder(out)
        tasks = [Task(str(src / rel), rel, str(out), str(spec.directory), as_of.isoformat(), lang, password, mask)
                 for rel in found.tasks]
        findings = FindingSheet()   # 全部问题 stitched while the other books are read
        results = _run_tasks(tasks, run, progress, spec,
                             lambda r: findings.add(r) if isinstance(r, FileSummary) else None)
    data = consolidate_files(results, spec, mask=mask, lang=lang)
    result = BatchResult(src, out, as_of, lang, mask, entries=_entries(found, results, spec, lang), files=data.files,
                         customers=data.customers, findings=data.findings, reps=data.reps,
                         duplicates=data.duplicates, month_over_month=None, spec=spec)
    if prev is not None:
        def canonical(fld: str, value: str | None) -> str | None:
            ln = spec.result_list(fld)
            if not value or ln is None:
                return value
            return spec.lists[ln].canonical(str(value)) or value

        result.month_over_month = cons.month_over_month(
            prev.as_of, prev.customers, result.customers, prev.scores, result.reps,
            name_key=normalize_company, canonical=canonical)
    result.outputs = {"workbook": out / spec.text("batch.summary_file", lang), "html": out / HTML_NAME,
                      "json": out / JSON_NAME}
    _write_outputs(result, findings, fork=scheduler is None and (jobs or os.cpu_count() or 1) > 1)
    if password:  # encrypted inputs are read with it; the workbook meant for sending is encrypted with it
        encrypt_file(result.outputs["workbook"], password)
    return result
