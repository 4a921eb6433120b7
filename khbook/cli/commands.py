"""The everyday commands: template, check, refresh, batch. Each parses its options, calls one
library function, renders the result in the output language and returns the exit status."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from khbook.base.errors import WorkbookError
from khbook.cli.lang import Texts, UsageError, password, texts

if TYPE_CHECKING:
    from khbook.spec import Spec


def as_of(text: str | None, t: Texts) -> dt.date:
    """--as-of: a date like 2026-11-24 (default: today)."""
    if not text:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UsageError(t("console.as_of_bad", value=text)) from None


def suffix_note(spec: Spec, lang: str, asked: Path | None, written: Path) -> str:
    """Why the output was written under another extension than asked ("" when it was not)."""
    if asked is None or asked == written:
        return ""
    key = "to_xlsm" if written.suffix.lower() == ".xlsm" else "to_xlsx"
    return spec.text(f"output_notes.{key}", lang).format(asked=asked, written=written)


def debug_detail(exc: BaseException) -> None:
    """With KHBOOK_DEBUG=1: the library's own words behind a plain-worded error, on a second line."""
    if os.environ.get("KHBOOK_DEBUG") and isinstance(exc, WorkbookError) and exc.detail:
        print(f"khbook: detail: {exc.detail}", file=sys.stderr)


def _counts(t: Texts, counts: Mapping[str, int]) -> str:
    return t("console.counts", **counts)


def cmd_template(args: argparse.Namespace) -> int:
    from khbook.spec import load_spec
    from khbook.template.writer import template_output, write_template

    spec = load_spec(args.spec)
    t = texts(spec, args.lang)
    if args.examples < 0:
        raise UsageError(t("console.examples_bad", value=args.examples))
    out, renamed_from = template_output(args.output, macro=args.macro, default_stem=t("console.template_name"))
    written = write_template(spec, out, lang=args.lang, examples=args.examples, macro=args.macro,
                             as_of=as_of(args.as_of, t))
    if renamed_from:
        print(t("console.template_renamed", path=written, suffix=renamed_from, new=written.suffix))
    else:
        print(t("console.wrote", path=written))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from khbook.pipeline import check_file
    from khbook.report.render import render_json, render_text
    from khbook.spec import load_spec

    spec = load_spec(args.spec)
    t = texts(spec, args.lang)
    day = as_of(args.as_of, t)
    secret = password(args, t)
    payloads: list[dict] = []
    status = 0
    for i, path in enumerate(args.files):
        try:
            report = check_file(path, spec, as_of=day, lang=args.lang, password=secret)
        except WorkbookError as exc:
            status = 2
            line = exc.render(spec, args.lang)
            print(t.error(line), file=sys.stderr)
            debug_detail(exc)
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
    t = texts(spec, args.lang)
    result = refresh_file(args.file, args.output, spec=spec, as_of=as_of(args.as_of, t), lang=args.lang,
                          password=password(args, t))
    report = result.report
    note = suffix_note(spec, args.lang, result.requested, result.output)
    if args.format == "json":
        payload = report.to_dict()
        payload["output"] = str(result.output)
        payload["in_place"] = result.in_place
        if note:
            payload["note"] = note
        print(render_json(payload))
    else:
        key = "console.refreshed_in_place" if result.in_place else "console.refreshed"
        print(t(key, path=result.output, customers=len(report.customers), counts=_counts(t, report.counts),
                changed=len(result.plan.changes)))
        if note:
            print(t("console.note", message=note), file=sys.stderr)
    return 1 if report.has_errors else 0


def cmd_batch(args: argparse.Namespace) -> int:
    from khbook.batch.console import progress_line, summary_lines
    from khbook.batch.run import run_batch
    from khbook.report.render import render_json
    from khbook.spec import load_spec

    spec = load_spec(args.spec)
    t = texts(spec, args.lang)
    if args.jobs is not None and args.jobs < 1:
        raise UsageError(t("console.jobs_bad", value=args.jobs))
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
    result = run_batch(args.directory, args.output, spec=spec, as_of=as_of(args.as_of, t), previous=previous,
                       jobs=args.jobs, mask=args.mask, lang=args.lang, progress=progress, password=password(args, t),
                       scheduler=args.scheduler)
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
