"""`batch`: a folder of reps' workbooks -> annotated copies, 汇总.xlsx, report.html, batch.json.

discover(DIR) -> one task per workbook -> worker processes (khbook.batch.worker.process:
refresh_file + a small picklable summary) -> consolidate (khbook.batch.consolidate: ABC over the
department, per-rep quality, cross-file duplicates, distributions, month over month)
-> mask (--mask) -> outputs (khbook.batch.workbook, khbook.batch.html, batch.json), each
written atomically.

A file that cannot be read is listed with its reason and the run goes on.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from khbook.base.encrypt import encrypt_file
from khbook.base.errors import Hint, WorkbookError
from khbook.base.fsutil import atomic_output
from khbook.batch import consolidate as cons
from khbook.batch.mask import mask_finding, mask_id
from khbook.batch.worker import process
from khbook.spec import Spec

SUFFIXES = (".xlsx", ".xlsm")
SUMMARY_NAME = "汇总.xlsx"
HTML_NAME = "report.html"
JSON_NAME = "batch.json"
DEFAULT_OUTDIR = "khbook-batch"
_HINT_PREVIOUS = Hint("previous_outdir", "pass the output folder of an earlier khbook batch run")

Progress = Callable[[int, int, str, str | None], None]   # (done, total, file, error or None)

# CustomerClass fields holding a label of a spec list
_LISTS = {"value_tier": "value_tier", "abc_class": "abc_class", "abc_class_file": "abc_class", "stage": "stage",
          "region": "region", "size_band": "size_band", "industry": "industry"}


# --------------------------------------------------------------------------- discovery


def discover(directory: Path, outdir: Path | None = None) -> list[Path]:
    """Every .xlsx/.xlsm under `directory`, sorted by relative path.

    Skips Excel lock files (``~$*``), hidden files and folders, khbook's own outputs
    (``*.checked.xlsx/.xlsm``, ``汇总.xlsx``) and `outdir` when it lies inside `directory`.
    """
    skip_dir = outdir.resolve() if outdir is not None else None
    found: list[Path] = []
    for root, dirs, files in os.walk(directory):
        rootp = Path(root)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                         and (skip_dir is None or (rootp / d).resolve() != skip_dir))
        for name in files:
            p = rootp / name
            if name.startswith(("~$", ".")) or p.suffix.lower() not in SUFFIXES:
                continue
            if p.stem.endswith(".checked") or name == SUMMARY_NAME:
                continue
            found.append(p)
    return sorted(found, key=lambda p: p.relative_to(directory).as_posix())


def load_previous(prev: Path) -> dict[str, Any]:
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
    return data


# --------------------------------------------------------------------------- result


@dataclass
class BatchResult:
    directory: Path
    outdir: Path
    as_of: dt.date
    lang: str
    masked: bool
    files: list[dict[str, Any]]                 # per file read: file, rep, output, counts, rows, ...
    failed: list[dict[str, str]]                # file, reason (in lang), reason_en, code
    customers: list[dict[str, Any]]             # canonical labels; abc_class = department ABC
    findings: list[dict[str, Any]]
    reps: list[dict[str, Any]]
    duplicates: list[dict[str, Any]]
    month_over_month: dict[str, Any] | None
    spec: Spec = field(repr=False)
    outputs: dict[str, Path] = field(default_factory=dict)

    # ---- derived figures
    @property
    def has_errors(self) -> bool:
        return any(f["counts"].get("error", 0) for f in self.files)

    @property
    def counts(self) -> dict[str, int]:
        out = {"error": 0, "warning": 0, "info": 0}
        for f in self.files:
            for k in out:
                out[k] += f["counts"].get(k, 0)
        return out

    def churn_risks(self) -> list[dict[str, Any]]:
        label = self.spec.rules["tags"]["churn_risk"]
        return [c for c in self.customers if c.get("stage") == label or label in (c.get("tags") or ())]

    def overdue_followups(self) -> list[dict[str, Any]]:
        return [f for f in self.findings if f["rule"] == "overdue_followup"]

    def distributions(self) -> dict[str, list[tuple[str, int]]]:
        blank = self.spec.rules["value_tier"]["unknown"]
        out = {}
        for dim in ("value_tier", "abc_class", "stage", "region", "industry"):
            order = self.spec.lists[_LISTS[dim]].labels("zh")
            out[dim] = cons.distribution((c.get(dim) for c in self.customers), order, blank)
        return out

    def top_problems(self, n: int = 5) -> list[dict[str, Any]]:
        return cons.top_problems(self.findings, n)

    def totals(self) -> dict[str, int]:
        c = self.counts
        return {
            "files": len(self.files) + len(self.failed), "read": len(self.files), "failed": len(self.failed),
            "customers": len(self.customers), "reps": len(self.reps), "errors": c["error"], "warnings": c["warning"],
            "info": c["info"], "duplicates": len(self.duplicates), "churn_risks": len(self.churn_risks()),
            "overdue_followups": len(self.overdue_followups()),
        }

    # ---- labels
    def label(self, dim: str, value: Any) -> Any:
        ln = _LISTS.get(dim)
        if not value or ln is None or ln not in self.spec.lists:
            return value
        if value == self.spec.rules["value_tier"]["unknown"] and self.spec.lists[ln].canonical(value) is None:
            ln = "value_tier"   # the blank bucket of a distribution
        return self.spec.label(ln, value, self.lang)

    def tag_labels(self, tags: Any) -> list[str]:
        return [self.spec.label("status_tag", t, self.lang) for t in tags or ()]

    def to_dict(self) -> dict[str, Any]:
        """The machine-readable summary: batch.json and ``khbook batch --format json``."""
        mom = self.month_over_month
        if mom is not None:
            mom = {**mom, "changes": [{**ch, "old": self.label(ch["field"], ch["old"]), "new": self.label(ch["field"], ch["new"])}
                                      for ch in mom["changes"]]}
        return {
            "as_of": self.as_of.isoformat(),
            "lang": self.lang,
            "masked": self.masked,
            "abc_basis": "department",
            "score_formula": cons.SCORE_FORMULA,
            "totals": self.totals(),
            "files": [{"file": f["file"], "rep": f["rep"], "output": f["output"], "customers": len(f["customers"]),
                       "rows": f["rows"], "counts": f["counts"]} for f in self.files],
            "failed": list(self.failed),
            "reps": list(self.reps),
            "customers": [{
                "customer_id": c["customer_id"], "name": c.get("name"), "file": c["file"], "owner": c.get("owner"),
                "annual_amount": c.get("annual_amount"), "value_tier": self.label("value_tier", c.get("value_tier")),
                "abc_class": self.label("abc_class", c.get("abc_class")),
                "abc_class_file": self.label("abc_class", c.get("abc_class_file")),
                "stage": self.label("stage", c.get("stage")), "tags": self.tag_labels(c.get("tags")),
                "region": self.label("region", c.get("region")), "industry": self.label("industry", c.get("industry")),
            } for c in self.customers],
            "distributions": {dim: {self.label(dim, k) if k else k: v for k, v in items}
                              for dim, items in self.distributions().items()},
            "duplicates": list(self.duplicates),
            "top_problems": self.top_problems(),
            "churn_risks": [{"customer_id": c["customer_id"], "name": c.get("name"), "file": c["file"], "owner": c.get("owner"),
                             "stage": self.label("stage", c.get("stage"))} for c in self.churn_risks()],
            "overdue_followups": [{k: f[k] for k in ("file", "rep", "sheet", "cell", "customer_id", "value", "message")}
                                  for f in self.overdue_followups()],
            "month_over_month": mom,
        }


# --------------------------------------------------------------------------- running


def _run_tasks(tasks: list[tuple[str, str, str, str, str, str, str | None]], jobs: int, progress: Progress | None) -> list[dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {}
    total = len(tasks)

    def done(r: dict[str, Any]) -> None:
        results[r["file"]] = r
        if progress is not None:
            progress(len(results), total, r["file"], r.get("error"))

    if jobs <= 1 or total <= 1:
        for t in tasks:
            done(process(t))
    else:
        with ProcessPoolExecutor(max_workers=min(jobs, total)) as pool:
            futures = {pool.submit(process, t): t for t in tasks}
            for fut in as_completed(futures):
                try:
                    done(fut.result())
                except Exception as exc:  # noqa: BLE001 - a worker died (e.g. out of memory): list the file
                    reason = f"the worker process failed ({type(exc).__name__}: {exc})"
                    done({"file": futures[fut][1], "error": reason, "error_en": reason, "code": ""})
    return [results[t[1]] for t in tasks]


def consolidate(summaries: list[dict[str, Any]], spec: Spec, *, mask: bool, lang: str = "zh") -> dict[str, Any]:
    """Per-file summaries -> the consolidated records (before month over month)."""
    files = [s for s in summaries if "error" not in s]
    failed = [{"file": s["file"], "reason": s["error"], "reason_en": s.get("error_en", s["error"]), "code": s.get("code", "")}
              for s in summaries if "error" in s]
    unknown_rep = "(no owner)" if lang == "en" else "(未填负责人)"
    for f in files:
        f["rep"] = cons.rep_of(f["customers"], unknown_rep)
    customers = [dict(c, rep=f["rep"]) for f in files for c in f["customers"]]
    abc = cons.department_abc([c.get("annual_amount") for c in customers], spec)
    for c, cls in zip(customers, abc, strict=True):
        c["abc_class_file"] = c.get("abc_class")
        c["abc_class"] = cls
    duplicates = cons.cross_file_duplicates(customers)
    findings = [dict(d, rep=f["rep"]) for f in files for d in f["findings"]]
    reps = cons.rep_quality(files)
    if mask:
        findings = [mask_finding(d, d.get("kind", "text")) for d in findings]
        for c in customers:
            if c.get("credit_code"):
                c["credit_code"] = mask_id(c["credit_code"])
        for d in duplicates:
            if d["basis"] == "credit_code":
                d["key"] = mask_id(d["key"])
        for f in files:
            f["findings"] = []   # the masked copies above are the only ones kept
    for d in findings:
        d.pop("kind", None)
    return {"files": files, "failed": failed, "customers": customers, "findings": findings, "reps": reps,
            "duplicates": duplicates}


def run_batch(directory: str | Path, outdir: str | Path | None = None, *, spec: Spec, as_of: dt.date,
              previous: str | Path | None = None, jobs: int | None = None, mask: bool = False, lang: str = "zh",
              progress: Progress | None = None, password: str | None = None) -> BatchResult:
    """Check and refresh every workbook under `directory`; write the batch outputs to `outdir`.

    Returns the :class:`BatchResult` (``to_dict()`` = batch.json). Raises WorkbookError for
    a missing folder or an unusable `previous`; a workbook that cannot be read is listed in
    ``result.failed`` instead.
    """
    from khbook.batch.html import write_html
    from khbook.batch.workbook import write_workbook
    from khbook.read.parsers import normalize_company

    src = Path(directory)
    if not src.is_dir():
        raise WorkbookError(str(src), "folder not found", Hint("batch_folder", "pass the folder that holds the reps' workbooks"),
                            code="folder_not_found")
    out = Path(outdir) if outdir is not None else src / DEFAULT_OUTDIR
    prev = load_previous(Path(previous)) if previous is not None else None
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise WorkbookError(str(out), f"cannot create the output folder: {reason}", Hint("other_folder", "choose another with -o"),
                            code="outdir_failed", params={"reason": reason}) from None
    paths = discover(src, out)
    tasks = [(str(p), p.relative_to(src).as_posix(), str(out), str(spec.directory), as_of.isoformat(), lang, password)
             for p in paths]
    summaries = _run_tasks(tasks, jobs or os.cpu_count() or 1, progress)
    data = consolidate(summaries, spec, mask=mask, lang=lang)
    result = BatchResult(src, out, as_of, lang, mask, month_over_month=None, spec=spec, **data)
    if prev is not None:
        def canonical(fld: str, value: str | None) -> str | None:
            ln = _LISTS.get(fld)
            if not value or ln is None:
                return value
            return spec.lists[ln].canonical(str(value)) or value
        result.month_over_month = cons.month_over_month(
            prev, {"customers": result.customers, "reps": result.reps}, name_key=normalize_company, canonical=canonical)
    result.outputs = {"workbook": out / SUMMARY_NAME, "html": out / HTML_NAME, "json": out / JSON_NAME}
    write_workbook(result, result.outputs["workbook"])
    if password:  # encrypted inputs are read with it; the workbook meant for sending is encrypted with it
        encrypt_file(result.outputs["workbook"], password)
    write_html(result, result.outputs["html"])
    with atomic_output(result.outputs["json"]) as tmp:
        tmp.write_text(json.dumps(result.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8")
    return result
