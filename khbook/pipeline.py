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
from typing import TYPE_CHECKING

from khbook.base.encrypt import encrypt_file
from khbook.base.errors import Hint, WorkbookError
from khbook.base.fsutil import refuse_overwrite, workbook_suffix
from khbook.base.gcpause import relaxed_gc
from khbook.checks.crosssheet import run_rules
from khbook.checks.lists_sheet import check_lists_sheet
from khbook.checks.schema import validate_book
from khbook.checks.units import amounts_in_yuan
from khbook.classify.computed import computed_changes, report_changes
from khbook.classify.engine import classify, summarize
from khbook.findings import SEVERITY_ORDER, Finding, FindingFactory
from khbook.read.decrypt import readable
from khbook.read.model import Book
from khbook.read.rawbook import RawBook, load_raw
from khbook.read.tables import read_book
from khbook.report.report import Report
from khbook.spec import Spec, load_spec

if TYPE_CHECKING:  # the refresh path's layers load on first use: `check` never imports them
    from khbook.annotate.plan import Plan
    from khbook.ooxml import PatchStats


def _order(book: Book, spec: Spec, findings: list[Finding]) -> list[Finding]:
    sheet_rank = {t.name: i for i, t in enumerate(book.tables[s.key] for s in spec.sheets if s.key in book.tables)}
    col_rank: dict[tuple[str, str], int] = {}
    for t in book.tables.values():
        for key, info in t.columns.items():
            col_rank[(t.name, key)] = info.index
    return sorted(findings, key=lambda f: (sheet_rank.get(f.sheet, -1), f.row or 0, col_rank.get((f.sheet, f.field), -1),
                                           SEVERITY_ORDER[f.severity], f.rule))


@relaxed_gc()
def check_raw(raw: RawBook, spec: Spec, *, as_of: dt.date, lang: str = "zh") -> Report:
    """Check an already-read workbook (a file, or an open Excel book via xlwings).

    Each stage takes the values the previous ones produced and returns its own: findings and
    the cells it cannot trust. The per-column stage's failed cells are blanked in a new book
    (:meth:`~khbook.read.model.Book.masked`) before the cross-sheet rules and the classifier.
    """
    file = Path(raw.path).name
    read = read_book(raw, spec, as_of=as_of, lang=lang, file=file)
    meta = FindingFactory(spec, lang, file=file)  # about the book itself: its template version, its lists sheet
    if raw.spec_version is not None and raw.spec_version < spec.version:
        meta.add("outdated_template", value=raw.spec_version, detail=spec.version)
    check_lists_sheet(raw, spec, meta)
    columns = validate_book(read.book, spec, as_of=as_of, untrusted=read.stage.untrusted, lang=lang, file=file)
    book = read.book.masked(columns.blank, columns.kept)
    cross = run_rules(book, spec, as_of=as_of, untrusted=read.stage.untrusted | columns.stage.untrusted,
                      lang=lang, file=file)
    untrusted = read.stage.untrusted | columns.stage.untrusted | cross.untrusted
    units, suspect = amounts_in_yuan(book, spec, untrusted=untrusted, lang=lang, file=file)
    customers = classify(book, spec, as_of, untrusted=set(untrusted), lang=lang, suspect=set(suspect))
    changes = computed_changes(book, customers, spec, book.lang)  # values in the workbook's own list language
    changed = report_changes(changes, book, spec, lang=lang, file=file)
    findings = [*meta.items, *read.stage.findings, *columns.stage.findings, *cross.findings, *units.findings, *changed.findings]
    return Report(raw.path, as_of, lang, _order(book, spec, findings), customers, summarize(customers, spec), spec, book,
                  changes=changes, untrusted=untrusted, suspect=suspect)


@relaxed_gc()
def check_file(path: str | Path, spec: Spec | None = None, *, as_of: dt.date | None = None, lang: str = "zh",
               password: str | None = None) -> Report:
    """Check one workbook file (encrypted: give its `password`). Raises WorkbookError when the file cannot be read."""
    spec = spec or load_spec()
    with readable(path, password) as plain:
        raw = load_raw(plain)
        raw.path = str(path)
        try:
            return check_raw(raw, spec, as_of=as_of or dt.date.today(), lang=lang)
        finally:
            raw.close()


@relaxed_gc()
def plan_refresh(raw: RawBook, spec: Spec, *, as_of: dt.date, lang: str = "zh",
                 now: dt.datetime | None = None) -> tuple[Report, Plan]:
    """Check an already-read workbook and plan its annotation (what to write where)."""
    from khbook.annotate.plan import plan_annotation

    report = check_raw(raw, spec, as_of=as_of, lang=lang)
    in_book_lang = None
    book = report.book
    if book is not None and book.lang != lang:  # the reasons written into the sheet: the workbook's language
        in_book_lang = classify(book, spec, as_of, untrusted=set(report.untrusted), lang=book.lang,
                                suspect=set(report.suspect))
    return report, plan_annotation(raw, report, spec, now=now, in_book_lang=in_book_lang)


@dataclass
class RefreshResult:
    """What :func:`refresh_file` did: the report, the copy's path, the plan and the patcher's counts.

    ``output`` is the path written; ``requested`` the path asked for, when its extension
    did not fit the workbook (a macro book is written as .xlsm, any other as .xlsx).
    """

    report: Report
    output: Path
    plan: Plan
    stats: PatchStats
    requested: Path | None = None
    in_place: bool = False  # khbook's own annotated copy, refreshed in place (the second round)


def default_output(src: Path) -> Path:
    suffix = ".xlsm" if src.suffix.lower() == ".xlsm" else ".xlsx"
    stem = src.stem[: -len(".checked")] if src.stem.endswith(".checked") else src.stem
    return src.with_name(f"{stem}.checked{suffix}")


def apply_plan(src: Path, dst: Path, plan: Plan) -> PatchStats:
    from khbook.ooxml import write_annotated

    return write_annotated(src, dst, plan.sheets, plan.new_sheets)


def is_annotated_copy(path: Path, raw: RawBook, spec: Spec) -> bool:
    """khbook's own annotated copy: named ``NAME.checked.xlsx`` (or .xlsm) and holding the
    sheets khbook adds (异常清单 or 变更日志, in either language)."""
    if not path.stem.endswith(".checked"):
        return False
    own = {spec.output_sheets[k](lang) for k in ("findings", "changelog") for lang in ("zh", "en")}
    return any(s.name in own for s in raw.sheets)


def _apply_in_place(source: Path, target: Path, plan: Plan) -> PatchStats:
    """Write `target` from a private copy of `source` (the same file, or its decrypted package):
    the new file replaces `target` atomically."""
    fd, name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".src{target.suffix}", dir=target.parent)
    os.close(fd)
    copy = Path(name)
    try:
        shutil.copyfile(source, copy)
        return apply_plan(copy, target, plan)
    finally:
        copy.unlink(missing_ok=True)


@relaxed_gc()
def refresh_file(src: str | Path, dst: str | Path | None = None, *, spec: Spec | None = None,
                 as_of: dt.date | None = None, lang: str = "zh", now: dt.datetime | None = None,
                 password: str | None = None) -> RefreshResult:
    """Check `src`, then write its annotated copy to `dst` (default ``NAME.checked.xlsx``).

    A user's file is never written to. khbook's own annotated copy (see :func:`is_annotated_copy`)
    is the rep's second round: with no `dst` (or `dst` = `src`) it is rewritten in place,
    atomically, its 变更日志 continued. The copy's extension follows its content: a macro
    workbook is written as .xlsm and any other as .xlsx, whatever `dst` says
    (``RefreshResult.requested`` keeps what was asked). A book encrypted with a password is read
    with `password` and its copy encrypted with it; a book encrypted with Excel's default
    password is read decrypted and its copy is written unencrypted (that password protects
    nothing: every program knows it).
    """
    src = Path(src)
    asked = Path(dst) if dst is not None else default_output(src)
    spec = spec or load_spec()
    with readable(src, password) as plain:
        raw = load_raw(plain)
        raw.path = str(src)
        try:
            out = workbook_suffix(asked, raw.kind)
            same = out.exists() and src.exists() and out.resolve() == src.resolve()
            if same and not is_annotated_copy(src, raw, spec):
                refuse_overwrite(src, out)
            report, plan = plan_refresh(raw, spec, as_of=as_of or dt.date.today(), lang=lang, now=now)
            decrypted = raw.decrypted
        finally:
            raw.close()
        del raw  # the raw cell grid is not needed for writing: free it before the patcher's peak
        from khbook.base.memory import give_back

        give_back()  # and hand what the check freed back to the system before the patcher allocates
        if decrypted is not None:
            stats = _apply_decrypted(src, decrypted, out, plan)
        elif same:
            stats = _apply_in_place(Path(plain), out, plan)
        else:
            stats = apply_plan(Path(plain), out, plan)
        if password and plain != src:
            encrypt_file(out, password)  # the copy of an encrypted book stays encrypted
    return RefreshResult(report, out, plan, stats, requested=asked if out != asked and dst is not None else None,
                         in_place=same)


def _apply_decrypted(src: Path, package: bytes, out: Path, plan: Plan) -> PatchStats:
    """Patch the decrypted package (kept in a private temporary folder while it is written)."""
    with tempfile.TemporaryDirectory(prefix="khbook-") as folder:
        plain = Path(folder) / f"decrypted{src.suffix}"
        plain.write_bytes(package)
        try:
            return apply_plan(plain, out, plan)
        except WorkbookError as exc:
            if exc.path != str(plain):
                raise
            raise WorkbookError(str(src), exc.message, Hint(exc.hint_code, exc.hint), code=exc.code,
                                params=exc.params) from None
