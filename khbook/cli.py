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
    written = write_template(spec, out, lang=args.lang, examples=args.examples, macro=args.macro, as_of=_as_of(args.as_of))
    print(f"wrote {written}")
    note = _suffix_note(spec, args.lang, out, written)
    if note:
        print(f"khbook: note: {note}", file=sys.stderr)
    return 0


def _suffix_note(spec: Spec, lang: str, asked: Path | None, written: Path) -> str:
    """Why the output was written under another extension than asked ("" when it was not)."""
    if asked is None or asked == written:
        return ""
    key = "to_xlsm" if written.suffix.lower() == ".xlsm" else "to_xlsx"
    return spec.text(f"output_notes.{key}", lang).format(asked=asked, written=written)


def _debug_detail(exc: BaseException) -> None:
    """With KHBOOK_DEBUG=1: the library's own words behind a plain-worded error, on a second line."""
    if os.environ.get("KHBOOK_DEBUG") and isinstance(exc, WorkbookError) and exc.detail:
        print(f"khbook: detail: {exc.detail}", file=sys.stderr)


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
            _debug_detail(exc)
            payload = {"file": str(path), "error": line, "error_en": str(exc), "code": exc.code}
            if exc.detail:
                payload["detail"] = exc.detail
            payloads.append(payload)
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
    note = _suffix_note(spec, args.lang, result.requested, result.output)
    if args.format == "json":
        payload = report.to_dict()
        payload["output"] = str(result.output)
        if note:
            payload["note"] = note
        print(render_json(payload))
    else:
        c = report.counts
        labels = [f"{report.severity_label(k)} {v}" for k, v in c.items()]
        print(f"wrote {result.output}: {len(report.customers)} customers, " + ", ".join(labels)
              + f", {len(result.plan.changes)} computed values changed")
        if note:
            print(f"khbook: note: {note}", file=sys.stderr)
    return 1 if report.has_errors else 0


def cmd_batch(args: argparse.Namespace) -> int:
    from khbook.batch.console import progress_line, summary_lines
    from khbook.batch.run import run_batch
    from khbook.report.render import render_json
    from khbook.spec import load_spec

    if args.jobs is not None and args.jobs < 1:
        raise argparse.ArgumentTypeError(f"--jobs expects a whole number >= 1, got {args.jobs}")
    spec = load_spec(args.spec)
    tty = sys.stderr.isatty()

    def progress(done: int, total: int, name: str, reason: str | None) -> None:
        line = progress_line(spec, args.lang, done, total, name, reason)
        if tty and not reason:
            print(f"\r\033[K{line}", end="" if done < total else "\n", file=sys.stderr, flush=True)
        else:
            print(f"\r\033[K{line}" if tty else line, file=sys.stderr, flush=True)

    previous = args.previous
    if previous:
        from khbook.team.archive import resolve_previous

        previous = resolve_previous(previous)
    result = run_batch(args.directory, args.output, spec=spec, as_of=_as_of(args.as_of), previous=previous,
                       jobs=args.jobs, mask=args.mask, lang=args.lang, progress=progress, password=_password(args))
    if args.format == "json":
        print(render_json(result.to_dict()))
    else:
        print("\n".join(summary_lines(result)))
    if args.archive:
        from khbook.team.archive import archive_run

        kept = archive_run(result, args.archive)
        print(spec.text("team.archive_done", args.lang).format(dir=kept.folder, inputs=kept.inputs, outputs=kept.outputs),
              file=sys.stderr if args.format == "json" else sys.stdout)
    return result.exit_status


def cmd_import(args: argparse.Namespace) -> int:
    from khbook.importer.report import render_text
    from khbook.importer.run import import_lists
    from khbook.report.render import render_json
    from khbook.spec import load_spec

    if not args.output and not args.write_map:
        raise argparse.ArgumentTypeError("import needs -o BOOK.xlsx (or --write-map FILE to write only the mapping)")
    spec = load_spec(args.spec)
    result = import_lists(args.sources, args.output, spec=spec, owner=args.owner, id_prefix=args.id_prefix,
                          map_file=args.map, write_map_to=args.write_map, into=args.into, lang=args.lang,
                          as_of=_as_of(args.as_of))
    if args.format == "json":
        print(render_json(result.to_dict()))
    else:
        print(render_text(result, spec, args.lang))
    return 0


def cmd_kit(args: argparse.Namespace) -> int:
    from khbook.kit import build_kit
    from khbook.spec import load_spec

    spec = load_spec(args.spec)
    result = build_kit(args.output, spec=spec, lang=args.lang, wheel=args.wheel,
                       windows_python=args.windows_wheels, lite_url=args.lite_url)
    extra = f", {len(result.windows_wheels)} Windows wheels for offline installs" if result.windows_wheels else ""
    print(f"wrote {result.folder} ({len(result.files)} files{extra}) and {result.zip}")
    return 0


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
    p.add_argument("--as-of", metavar="YYYY-MM-DD",
                   help="date the example rows are made relative to: check them at the same date (default: today)")
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

    p = sub.add_parser("batch", help="check a folder of workbooks: annotated copies, a summary workbook, report.html",
                       description="Check and refresh every workbook under DIR (in parallel) and write to OUTDIR: the "
                                   "annotated copy of each file, the summary workbook (all customers, findings, data quality per rep, "
                                   "distributions, cross-file duplicates, every file of the folder with its status), report.html and "
                                   "batch.json. Exit status: 0 every workbook read and no errors, 1 errors found, 2 some file "
                                   "could not be read, or DIR is missing, is a file, or holds no workbook.")
    p.add_argument("directory", metavar="DIR", help="folder with the reps' workbooks (searched recursively; every file is listed as processed, refused or skipped)")
    p.add_argument("-o", "--output", metavar="OUTDIR", help="output folder (default: DIR/khbook-batch)")
    _add_as_of(p)
    p.add_argument("--previous", metavar="PREV_OUTDIR", help="OUTDIR of an earlier batch, or an --archive folder (its latest run): adds the month-over-month comparison")
    p.add_argument("--archive", metavar="ARCHIVE_DIR", help="also copy this run's inputs and outputs into a dated folder of ARCHIVE_DIR, with SHA-256 checksums")
    p.add_argument("--jobs", type=int, metavar="N", help="worker processes (default: all cores; 1 = no worker processes)")
    p.add_argument("--mask", action="store_true", help="mask phones, e-mails and ID numbers in the summary workbook, report.html and the JSON; company names stay (annotated copies are not masked)")
    _add_password(p, "open encrypted workbooks with this password and encrypt the summary workbook (and the copies of encrypted files) with it")
    _add_format(p)
    _add_lang(p)
    _add_spec(p)
    p.set_defaults(func=cmd_batch)

    p = sub.add_parser("import", help="bring existing customer lists into a new (or existing) khbook workbook",
                       description="Read customer lists that are not khbook workbooks (a rep's own sheet, a CRM export, "
                                   "a list from a chat): find the data on each sheet, map the columns by header or by "
                                   "content (every guess shown with its evidence), split each row into customer, contact, "
                                   "follow-up and deal, merge rows of the same company, and write a filled workbook in the "
                                   "current template with every source row kept on a raw-data sheet; then check it. "
                                   "The sources are never modified.")
    p.add_argument("sources", nargs="+", metavar="SRC", help="customer lists (.xlsx or .xlsm), one or more")
    p.add_argument("-o", "--output", metavar="BOOK", help="the workbook to write (.xlsx)")
    p.add_argument("--owner", metavar="NAME", help="the owner (sales rep) of customers whose list names none")
    p.add_argument("--id-prefix", default="KH", metavar="KH", help="prefix of the generated customer IDs (default: KH)")
    p.add_argument("--map", metavar="FILE", help="mapping file (YAML) that overrides the guessed columns")
    p.add_argument("--write-map", metavar="FILE", help="write the mapping used to FILE, for editing (with no -o: only that)")
    p.add_argument("--into", metavar="BOOK", help="add to a copy of this existing khbook workbook (written to -o); "
                                                 "customers already in it are reported, not added again")
    _add_as_of(p)
    _add_format(p)
    _add_lang(p)
    _add_spec(p)
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("kit", help="write the team kit: installer, button workbook, drag-and-drop scripts (folder + zip)",
                       description="Write the folder an ops person hands to a sales team, and DIR.zip: the khbook wheel, "
                                   "the button workbook (.xlsm) set up for the Python environment the installer creates, "
                                   "installers for Windows (.bat), macOS (.command) and Linux (.sh), drag-and-drop scripts for "
                                   "a workbook (check) and a folder (monthly summary), the xlwings Lite files and plain-language "
                                   "instructions (in --lang).")
    p.add_argument("-o", "--output", metavar="DIR", required=True, help="the kit folder to write (an earlier kit there is replaced); DIR.zip is written beside it")
    _add_lang(p)
    p.add_argument("--wheel", metavar="FILE", help="khbook wheel to put in the kit (default: build one from this checkout; make dist writes dist/khbook-*.whl)")
    p.add_argument("--windows-wheels", metavar="PYVER", help="also put every dependency's Windows wheels for CPython PYVER (e.g. 3.12) in the kit, so the installer works offline with that Python (downloads them now)")
    p.add_argument("--lite-url", metavar="URL", help="web folder where the team hosts the wheel, for xlwings Lite's requirements.txt (default: a placeholder to replace)")
    _add_spec(p)
    p.set_defaults(func=cmd_kit)

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
        _debug_detail(exc)
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
