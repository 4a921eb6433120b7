"""The `khbook` command line: each command parses options, calls one library function,
renders the result and maps library exceptions to a one-line error (exit status 2)."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from khbook.base.errors import KhbookError, WorkbookError, render_error

if TYPE_CHECKING:
    from khbook.spec import Spec


def _add_spec(p: argparse.ArgumentParser) -> None:
    p.add_argument("--spec", metavar="DIR", help="use a customised copy of the spec directory (default: the built-in templates/)")


def _add_as_of(p: argparse.ArgumentParser) -> None:
    p.add_argument("--as-of", metavar="YYYY-MM-DD", help="date the checks and classification are relative to (default: today)")


def _add_format(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")


def _add_lang(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lang", choices=("zh", "en"), default="zh", help="language of headers, lists and messages (default: zh)")


_ASK = object()  # --password given without a value: ask for it


def _add_password(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--password", nargs="?", const=_ASK, metavar="PASSWORD",
                   help=f"{what}; without a value it is asked for (not echoed); default: the KHBOOK_PASSWORD "
                        "environment variable. The password is never printed")


def _password(args: argparse.Namespace) -> str | None:
    """--password, asked for when given without a value, else KHBOOK_PASSWORD; never echoed."""
    from khbook.read.decrypt import password_from_env

    value = getattr(args, "password", None)
    if value is _ASK:
        import getpass

        value = getpass.getpass("khbook password: ")
    return value or password_from_env()


def cmd_template(args: argparse.Namespace) -> int:
    from khbook.spec import load_spec
    from khbook.template.writer import write_template

    spec = load_spec(args.spec)
    out = Path(args.output) if args.output else Path("客户管理模板.xlsm" if args.macro else "客户管理模板.xlsx")
    write_template(spec, out, lang=args.lang, examples=args.examples, macro=args.macro)
    print(f"wrote {out}")
    return 0


def _as_of(text: str | None) -> dt.date:
    if not text:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--as-of expects a date like 2026-11-24, got {text!r}") from None


def cmd_check(args: argparse.Namespace) -> int:
    from khbook.pipeline import check_file
    from khbook.report.render import render_json, render_text
    from khbook.spec import load_spec

    spec = load_spec(args.spec)
    as_of = _as_of(args.as_of)
    password = _password(args)
    payloads: list[dict] = []
    status = 0
    for i, path in enumerate(args.files):
        try:
            report = check_file(path, spec, as_of=as_of, lang=args.lang, password=password)
        except WorkbookError as exc:
            status = 2
            line = exc.render(spec, args.lang)
            print(f"khbook: error: {line}", file=sys.stderr)
            payloads.append({"file": str(path), "error": line, "error_en": str(exc), "code": exc.code})
            continue
        if report.has_errors and status == 0:
            status = 1
        if args.format == "json":
            payloads.append(report.to_dict())
        else:
            if i:
                print()
            print(render_text(report, customers=args.customers))
    if args.format == "json":
        print(render_json(payloads[0] if len(payloads) == 1 else payloads))
    return status


def cmd_refresh(args: argparse.Namespace) -> int:
    from khbook.pipeline import refresh_file
    from khbook.report.render import render_json
    from khbook.spec import load_spec

    spec = load_spec(args.spec)
    result = refresh_file(args.file, args.output, spec=spec, as_of=_as_of(args.as_of), lang=args.lang,
                          password=_password(args))
    report = result.report
    if args.format == "json":
        payload = report.to_dict()
        payload["output"] = str(result.output)
        print(render_json(payload))
    else:
        c = report.counts
        labels = [f"{report.severity_label(k)} {v}" for k, v in c.items()]
        print(f"wrote {result.output}: {len(report.customers)} customers, " + ", ".join(labels)
              + f", {len(result.plan.changes)} computed values changed")
    return 1 if report.has_errors else 0


def cmd_batch(args: argparse.Namespace) -> int:
    from khbook.batch.run import run_batch
    from khbook.report.render import render_json
    from khbook.spec import load_spec

    if args.jobs is not None and args.jobs < 1:
        raise argparse.ArgumentTypeError(f"--jobs expects a whole number >= 1, got {args.jobs}")
    spec = load_spec(args.spec)
    tty = sys.stderr.isatty()

    def progress(done: int, total: int, name: str, error: str | None) -> None:
        line = f"[{done}/{total}] {name}" + (f": {error}" if error else "")
        if tty:
            print(f"\r\033[K{line}", end="" if done < total else "\n", file=sys.stderr, flush=True)
        else:
            print(line, file=sys.stderr, flush=True)

    previous = args.previous
    if previous:
        from khbook.team.archive import resolve_previous

        previous = resolve_previous(previous)
    result = run_batch(args.directory, args.output, spec=spec, as_of=_as_of(args.as_of), previous=previous,
                       jobs=args.jobs, mask=args.mask, lang=args.lang, progress=progress, password=_password(args))
    line = spec.text("error_format.line", args.lang)
    for f in result.failed:
        print("khbook: error: " + line.format(path=f["file"], reason=f["reason"]), file=sys.stderr)
    if args.format == "json":
        print(render_json(result.to_dict()))
    else:
        t = result.totals()
        print(f"{t['read']} of {t['files']} files read ({t['failed']} failed): {t['customers']} customers, "
              f"{t['errors']} errors, {t['warnings']} warnings, {t['duplicates']} cross-file duplicates")
        print("wrote " + ", ".join(str(p) for p in result.outputs.values()))
    if args.archive:
        from khbook.team.archive import archive_run

        kept = archive_run(result, args.archive)
        print(spec.text("team.archive_done", args.lang).format(dir=kept.folder, inputs=kept.inputs, outputs=kept.outputs),
              file=sys.stderr if args.format == "json" else sys.stdout)
    return 2 if result.failed else 1 if result.has_errors else 0


# --------------------------------------------------------------------------- team workflows


def cmd_split(args: argparse.Namespace) -> int:
    from khbook.spec import load_spec
    from khbook.team.split import split_book

    spec = load_spec(args.spec)
    password = _password(args)
    result = split_book(args.master, args.output, spec=spec, by=args.by, mapping=args.reassign,
                        as_of=_as_of(args.as_of), lang=args.lang, password=password, encrypt=password)
    w = spec.texts("team", args.lang)
    print(w["split_done"].format(files=len(result.files), dir=args.output, customers=sum(result.customers.values())))
    for owner, path in result.files.items():
        if owner:
            print(w["split_file"].format(file=path.name, customers=result.customers[owner], rows=result.rows[owner]))
        else:
            print(w["split_unassigned"].format(file=path.name, customers=result.customers[owner], orphans=result.orphans))
    for value in result.unmatched:
        print(w["map_unmatched"].format(value=value))
    if result.stale:
        print(w["split_stale"].format(files=w["name_sep"].join(p.name for p in result.stale)))
    if result.handover is not None:
        pairs: dict[tuple[str, str], int] = {}
        for m in result.moves:
            pairs[(m.old, m.new)] = pairs.get((m.old, m.new), 0) + 1
        for (old, new), n in sorted(pairs.items()):
            print(w["handover_line"].format(to=new or w["unassigned_file"], from_=old or w["unassigned_file"], customers=n))
        print(w["handover_done"].format(file=result.handover))
    return 0


def cmd_merge(args: argparse.Namespace) -> int:
    from khbook.spec import load_spec
    from khbook.team.merge import merge_dir

    spec = load_spec(args.spec)
    result = merge_dir(args.directory, args.output, spec=spec, as_of=_as_of(args.as_of), lang=args.lang,
                       password=_password(args))
    w = spec.texts("team", args.lang)
    print(w["merge_done"].format(files=len(result.files), file=result.output, customers=result.customers,
                                 rows=result.rows, conflicts=len(result.conflicts)))
    if result.conflicts:
        print(w["merge_conflicts"].format(sheet=w["conflicts_sheet"]))
    return 1 if result.conflicts else 0


def cmd_upgrade(args: argparse.Namespace) -> int:
    from khbook.spec import load_spec
    from khbook.team.upgrade import upgrade_book

    spec = load_spec(args.spec)
    result = upgrade_book(args.file, args.output, spec=spec, as_of=_as_of(args.as_of), lang=args.lang,
                          password=_password(args))
    w = spec.texts("team", args.lang)
    print(w["upgrade_done"].format(version=result.version, file=result.output, changes=len(result.changes)))
    for c in result.changes:
        print("  " + " | ".join(str(x) for x in c.cells(w) if x not in ("", None)))
    return 0


def _add_team_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("split", help="one workbook per owner from a department workbook (with reassignments)",
                       description="Write one workbook per owner into OUTDIR, in the current template: that owner's "
                                   "customers and exactly their rows on the other sheets, computed columns filled. "
                                   "Customers without an owner (and rows of no known customer) go to one file for the "
                                   "manager. With --reassign, or when the owner was changed in a merged workbook, a "
                                   "handover report lists every customer that moved.")
    p.add_argument("master", metavar="MASTER", help="the department workbook (e.g. the output of khbook merge)")
    p.add_argument("-o", "--output", metavar="OUTDIR", required=True, help="folder for the owners' workbooks (created if missing)")
    p.add_argument("--by", metavar="COLUMN", help="customers column to split by: header or key (default: the owner column)")
    p.add_argument("--reassign", metavar="MAP", help="a .csv or .xlsx of two columns: old owner or customer ID, new owner")
    _add_password(p, "encrypt every written workbook with this password (and open an encrypted MASTER with it)")
    _add_as_of(p)
    _add_lang(p)
    _add_spec(p)
    p.set_defaults(func=cmd_split)

    p = sub.add_parser("merge", help="the reps' workbooks back into one department workbook",
                       description="Merge every .xlsx/.xlsm in DIR into one workbook in the current template: every row "
                                   "kept with its source file in one more column, computed columns recomputed, and "
                                   "conflicts (a customer in two files, edited differently) listed on a conflicts "
                                   "sheet, never resolved silently. Exit status: 0 no conflicts, 1 conflicts listed.")
    p.add_argument("directory", metavar="DIR", help="folder with the reps' workbooks (not searched recursively)")
    p.add_argument("-o", "--output", metavar="MASTER", required=True, help="the department workbook to write")
    _add_password(p, "open encrypted workbooks with this password")
    _add_as_of(p)
    _add_lang(p)
    _add_spec(p)
    p.set_defaults(func=cmd_merge)

    p = sub.add_parser("upgrade", help="bring a workbook made with an older template into the current template",
                       description="Write FILE's data into the current template (FILE is never modified): renamed list "
                                   "values mapped through the spec's aliases, columns the template no longer has kept "
                                   "on a retired-columns sheet, and every change listed on an upgrade-report sheet.")
    p.add_argument("file", metavar="FILE", help="the old workbook (.xlsx or .xlsm)")
    p.add_argument("-o", "--output", metavar="OUT", help="output path (default: NAME.upgraded.xlsx beside FILE)")
    _add_password(p, "open an encrypted FILE with this password")
    _add_as_of(p)
    _add_lang(p)
    _add_spec(p)
    p.set_defaults(func=cmd_upgrade)


def _error_spec(exc: KhbookError, args: argparse.Namespace) -> Spec | None:
    """The spec whose labels word a WorkbookError in --lang (None: keep the English text)."""
    if not isinstance(exc, WorkbookError):
        return None
    from khbook.spec import load_spec

    try:
        return load_spec(getattr(args, "spec", None))
    except KhbookError:
        return None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="khbook", description="Excel-native customer workbooks: template, check, classify, annotate, batch.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("template", help="write the blank customer workbook template", description="Write the blank customer workbook a new hire gets: instructions, five data sheets with dropdowns and validations, a hidden lists sheet.")
    p.add_argument("-o", "--output", metavar="FILE", help="output path (default: 客户管理模板.xlsx in the current folder)")
    _add_lang(p)
    p.add_argument("--examples", type=int, default=0, metavar="N", help="fill N fake example customers that pass every check (default: 0)")
    p.add_argument("--macro", action="store_true", help="write a macro workbook (.xlsm; default 客户管理模板.xlsm) with 刷新分类 buttons that run khbook through xlwings, plus the companion NAME.py beside it (needs xlwings installed)")
    _add_spec(p)
    p.set_defaults(func=cmd_template)

    p = sub.add_parser("check", help="check filled workbooks and classify their customers",
                       description="Read filled workbooks, report every problem by cell, and classify every customer. "
                                   "Exit status: 0 no errors, 1 errors found, 2 a file could not be read.")
    p.add_argument("files", nargs="+", metavar="FILE", help="workbooks to check (.xlsx or .xlsm)")
    _add_as_of(p)
    _add_format(p)
    p.add_argument("--customers", action="store_true", help="also print the per-customer classification table (text)")
    _add_password(p, "open encrypted (password-protected) workbooks with this password")
    _add_lang(p)
    _add_spec(p)
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("refresh", help="write an annotated copy: computed columns, marked cells, findings sheets",
                       description="Check and classify FILE, then write an annotated copy (FILE is never modified): "
                                   "computed columns refreshed, bad cells filled and commented, plus the sheets "
                                   "异常清单, 分类汇总 and 变更日志. Exit status as for check.")
    p.add_argument("file", metavar="FILE", help="the workbook (.xlsx or .xlsm)")
    p.add_argument("-o", "--output", metavar="OUT", help="output path (default: NAME.checked.xlsx beside FILE; .xlsm kept)")
    _add_password(p, "open an encrypted FILE with this password (its annotated copy is encrypted with it too)")
    _add_as_of(p)
    _add_format(p)
    _add_lang(p)
    _add_spec(p)
    p.set_defaults(func=cmd_refresh)

    p = sub.add_parser("batch", help="check a folder of workbooks: annotated copies, 汇总.xlsx, report.html",
                       description="Check and refresh every .xlsx/.xlsm under DIR (in parallel) and write to OUTDIR: the "
                                   "annotated copy of each file, 汇总.xlsx (all customers, findings, data quality per rep, "
                                   "distributions, cross-file duplicates), report.html and batch.json. Exit status: 0 no "
                                   "errors, 1 errors found, 2 some file could not be read.")
    p.add_argument("directory", metavar="DIR", help="folder with the reps' workbooks (searched recursively)")
    p.add_argument("-o", "--output", metavar="OUTDIR", help="output folder (default: DIR/khbook-batch)")
    _add_as_of(p)
    p.add_argument("--previous", metavar="PREV_OUTDIR", help="OUTDIR of an earlier batch, or an --archive folder (its latest run): adds the month-over-month comparison")
    p.add_argument("--archive", metavar="ARCHIVE_DIR", help="also copy this run's inputs and outputs into a dated folder of ARCHIVE_DIR, with SHA-256 checksums")
    p.add_argument("--jobs", type=int, metavar="N", help="worker processes (default: all cores; 1 = no worker processes)")
    p.add_argument("--mask", action="store_true", help="mask phones, e-mails and ID numbers in 汇总.xlsx, report.html and the JSON (annotated copies are not masked)")
    _add_password(p, "open encrypted workbooks with this password and encrypt the summary workbook (and the copies of encrypted files) with it")
    _add_format(p)
    _add_lang(p)
    _add_spec(p)
    p.set_defaults(func=cmd_batch)
    _add_team_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except argparse.ArgumentTypeError as exc:
        print(f"khbook: error: {exc}", file=sys.stderr)
        return 2
    except KhbookError as exc:
        print(f"khbook: error: {render_error(exc, _error_spec(exc, args), getattr(args, 'lang', 'zh'))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("khbook: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except Exception as exc:  # a bug, not bad input: one line, details on request
        if os.environ.get("KHBOOK_DEBUG"):
            raise
        print(f"khbook: internal error: {type(exc).__name__}: {exc} (run again with KHBOOK_DEBUG=1 for details, "
              "and please report it)", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
