"""The `khbook` command line: each command parses options, calls one library function,
renders the result and maps library exceptions to a one-line error (exit status 2).

Every word it prints is in labels.yaml (areas ``cli_help``, ``cli_argparse``, ``console``) in the
output language: ``--lang``, else the ``KHBOOK_LANG`` environment variable, else the system
locale, else Chinese. Even argparse's own usage line and option errors are worded from there.
"""

from __future__ import annotations

import argparse
import datetime as dt
import locale
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from khbook import __version__
from khbook.base.errors import KhbookError, WorkbookError, render_error

if TYPE_CHECKING:
    from khbook.spec import Spec

LANG_ENV = "KHBOOK_LANG"


def _locale_lang() -> str | None:
    """zh or en from the system locale, else None.

    The first of LC_ALL, LC_MESSAGES, LANG that is set decides (C/POSIX decides nothing);
    with none set (Windows) the C library's locale does. Python reports C.UTF-8 as en_US,
    so it is asked only then.
    """
    name = next((os.environ[v] for v in ("LC_ALL", "LC_MESSAGES", "LANG") if os.environ.get(v)), None)
    if name is None:
        try:
            name = locale.getlocale()[0] or ""
        except ValueError:
            name = ""
    low = name.lower()
    if low.startswith(("zh", "chinese")):
        return "zh"
    if low.startswith(("en", "english")):
        return "en"
    return None


def resolve_lang(explicit: str | None = None) -> str:
    """The output language: `explicit` (--lang), else $KHBOOK_LANG, else the system locale, else zh."""
    for candidate in (explicit, os.environ.get(LANG_ENV, "").strip().lower()[:2], _locale_lang()):
        if candidate in ("zh", "en"):
            return candidate
    return "zh"


def _prescan_lang(argv: Sequence[str]) -> str | None:
    """--lang from the raw arguments, before parsing (help texts need it while the parser is built)."""
    for i, a in enumerate(argv):
        if a == "--lang" and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith("--lang="):
            return a.split("=", 1)[1]
    return None


class Texts:
    """The command line's words in one language (labels.yaml), by ``area.key``."""

    def __init__(self, lang: str, labels: Mapping[str, Any] | None = None) -> None:
        if labels is None:
            from khbook.spec import builtin_labels

            labels = builtin_labels()
        self.lang, self._labels = lang, labels

    def __call__(self, key: str, **params: object) -> str:
        text = self._labels[key](self.lang)
        return text.format(**params) if params else text

    def error(self, message: str) -> str:
        return self("console.error", message=message)


# argparse's English error messages (Python 3.11+) -> the cli_argparse label that words them
_ARGPARSE_ERRORS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"the following arguments are required: (?P<args>.+)"), "required"),
    (re.compile(r"unrecognized arguments: (?P<args>.+)"), "unrecognized"),
    (re.compile(r"argument (?P<arg>\S+): invalid choice: (?P<value>.+?) \(choose from (?P<choices>.+)\)"), "invalid_choice"),
    (re.compile(r"argument (?P<arg>\S+): invalid (?P<type>\S+) value: (?P<value>.+)"), "invalid_value"),
    (re.compile(r"argument (?P<arg>\S+): expected one argument"), "expected_one"),
    (re.compile(r"argument (?P<arg>\S+): expected at least one argument"), "expected_some"),
    (re.compile(r"argument (?P<arg>\S+): ignored explicit argument (?P<value>.+)"), "explicit"),
    (re.compile(r"ambiguous option: (?P<option>\S+) could match (?P<matches>.+)"), "ambiguous"),
]


def _argparse_message(texts: Texts, message: str) -> str:
    for pattern, key in _ARGPARSE_ERRORS:
        m = pattern.fullmatch(message)
        if m:
            return texts(f"cli_argparse.{key}", **m.groupdict())
    return texts("cli_argparse.other", message=message)


class _Formatter(argparse.HelpFormatter):
    usage_prefix = "usage: "

    def _format_usage(self, usage: str | None, actions: Any, groups: Any, prefix: str | None) -> str:
        return super()._format_usage(usage, actions, groups, prefix if prefix is not None else self.usage_prefix)


class Parser(argparse.ArgumentParser):
    """An ArgumentParser that speaks the output language (usage, group titles, errors, -h)."""

    def __init__(self, *args: Any, texts: Texts, **kwargs: Any) -> None:
        prefix = texts("cli_argparse.usage")
        formatter = type("Formatter", (_Formatter,), {"usage_prefix": prefix})
        super().__init__(*args, formatter_class=formatter, add_help=False, **kwargs)
        self.texts = texts
        self._positionals.title = texts("cli_argparse.positionals")
        self._optionals.title = texts("cli_argparse.options")
        self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS, help=texts("cli_help.help"))

    def format_help(self) -> str:
        """argparse's help, its section titles punctuated in the output language (选项：)."""
        text = super().format_help()
        for key in ("cli_argparse.positionals", "cli_argparse.options", "cli_help.commands"):
            title = self.texts(key)
            text = text.replace(f"\n{title}:\n", "\n" + self.texts("console.heading", label=title).rstrip() + "\n")
        return text

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, self.texts.error(_argparse_message(self.texts, message)) + "\n")


class UsageError(Exception):
    """A bad option value found after parsing (one line, exit status 2)."""


def _add_spec(p: argparse.ArgumentParser, t: Texts) -> None:
    p.add_argument("--spec", metavar="DIR", help=t("cli_help.spec"))


def _add_as_of(p: argparse.ArgumentParser, t: Texts) -> None:
    p.add_argument("--as-of", metavar="YYYY-MM-DD", help=t("cli_help.as_of"))


def _add_format(p: argparse.ArgumentParser, t: Texts) -> None:
    p.add_argument("--format", choices=("text", "json"), default="text", help=t("cli_help.format"))


def _add_lang(p: argparse.ArgumentParser, t: Texts) -> None:
    p.add_argument("--lang", choices=("zh", "en"), default=t.lang, help=t("cli_help.lang"))


def _texts(spec: Spec, lang: str) -> Texts:
    return Texts(lang, spec.labels)


def cmd_template(args: argparse.Namespace) -> int:
    from khbook.spec import load_spec
    from khbook.template.writer import template_output, write_template

    spec = load_spec(args.spec)
    t = _texts(spec, args.lang)
    if args.examples < 0:
        raise UsageError(t("console.examples_bad", value=args.examples))
    out, renamed_from = template_output(args.output, macro=args.macro, default_stem=t("console.template_name"))
    write_template(spec, out, lang=args.lang, examples=args.examples, macro=args.macro)
    if renamed_from:
        print(t("console.template_renamed", path=out, suffix=renamed_from, new=out.suffix))
    else:
        print(t("console.wrote", path=out))
    return 0


def _as_of(text: str | None, t: Texts) -> dt.date:
    if not text:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UsageError(t("console.as_of_bad", value=text)) from None


def cmd_check(args: argparse.Namespace) -> int:
    from khbook.pipeline import check_file
    from khbook.report.render import render_json, render_text
    from khbook.spec import load_spec

    spec = load_spec(args.spec)
    t = _texts(spec, args.lang)
    as_of = _as_of(args.as_of, t)
    payloads: list[dict] = []
    status = 0
    for i, path in enumerate(args.files):
        try:
            report = check_file(path, spec, as_of=as_of, lang=args.lang)
        except WorkbookError as exc:
            status = 2
            line = exc.render(spec, args.lang)
            print(t.error(line), file=sys.stderr)
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


def _counts(t: Texts, counts: Mapping[str, int]) -> str:
    return t("console.counts", **counts)


def cmd_refresh(args: argparse.Namespace) -> int:
    from khbook.pipeline import refresh_file
    from khbook.report.render import render_json
    from khbook.spec import load_spec

    spec = load_spec(args.spec)
    t = _texts(spec, args.lang)
    result = refresh_file(args.file, args.output, spec=spec, as_of=_as_of(args.as_of, t), lang=args.lang)
    report = result.report
    if args.format == "json":
        payload = report.to_dict()
        payload["output"] = str(result.output)
        payload["in_place"] = result.in_place
        print(render_json(payload))
    else:
        key = "console.refreshed_in_place" if result.in_place else "console.refreshed"
        print(t(key, path=result.output, customers=len(report.customers), counts=_counts(t, report.counts),
                changed=len(result.plan.changes)))
    return 1 if report.has_errors else 0


def cmd_batch(args: argparse.Namespace) -> int:
    from khbook.batch.run import run_batch
    from khbook.report.render import render_json
    from khbook.spec import load_spec

    spec = load_spec(args.spec)
    t = _texts(spec, args.lang)
    if args.jobs is not None and args.jobs < 1:
        raise UsageError(t("console.jobs_bad", value=args.jobs))
    tty = sys.stderr.isatty()

    def progress(done: int, total: int, name: str, error: str | None) -> None:
        # the reason of a failure is printed once, in the error lines after the run
        line = f"[{done}/{total}] {name}" + (t("error_format.line", path="", reason=t("console.batch_failed")) if error else "")
        if tty:
            print(f"\r\033[K{line}", end="" if done < total else "\n", file=sys.stderr, flush=True)
        else:
            print(line, file=sys.stderr, flush=True)

    result = run_batch(args.directory, args.output, spec=spec, as_of=_as_of(args.as_of, t), previous=args.previous,
                       jobs=args.jobs, mask=args.mask, lang=args.lang, progress=progress)
    for f in result.failed:
        print(t.error(t("error_format.line", path=f["file"], reason=f["reason"])), file=sys.stderr)
    if args.format == "json":
        print(render_json(result.to_dict()))
    else:
        print(t("console.batch_totals", **result.totals()))
        print(t("console.wrote", path=t("console.count_sep").join(str(p) for p in result.outputs.values())))
    return 2 if result.failed else 1 if result.has_errors else 0


def _error_spec(exc: KhbookError, args: argparse.Namespace) -> Spec | None:
    """The spec whose labels word a WorkbookError in --lang (None: keep the English text)."""
    if not isinstance(exc, WorkbookError):
        return None
    from khbook.spec import load_spec

    try:
        return load_spec(getattr(args, "spec", None))
    except KhbookError:
        return None


def build_parser(lang: str | None = None) -> Parser:
    """The argument parser, its help texts in `lang` (default: :func:`resolve_lang`)."""
    t = Texts(resolve_lang(lang))
    parser = Parser(prog="khbook", description=t("cli_help.description"), texts=t)
    parser.add_argument("--version", action="version", version=f"khbook {__version__}", help=t("cli_help.version"))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title=t("cli_help.commands"))
    sub.required = True

    def command(name: str, func: Callable[[argparse.Namespace], int]) -> Parser:
        p = sub.add_parser(name, help=t(f"cli_help.{name}"), description=t(f"cli_help.{name}_desc"), texts=t)
        p.set_defaults(func=func)
        return p

    p = command("template", cmd_template)
    p.add_argument("-o", "--output", metavar="FILE", help=t("cli_help.template_output"))
    _add_lang(p, t)
    p.add_argument("--examples", type=int, default=0, metavar="N", help=t("cli_help.examples"))
    p.add_argument("--macro", action="store_true", help=t("cli_help.macro"))
    _add_spec(p, t)

    p = command("check", cmd_check)
    p.add_argument("files", nargs="+", metavar="FILE", help=t("cli_help.files"))
    _add_as_of(p, t)
    _add_format(p, t)
    p.add_argument("--customers", action="store_true", help=t("cli_help.customers"))
    _add_lang(p, t)
    _add_spec(p, t)

    p = command("refresh", cmd_refresh)
    p.add_argument("file", metavar="FILE", help=t("cli_help.file"))
    p.add_argument("-o", "--output", metavar="OUT", help=t("cli_help.refresh_output"))
    _add_as_of(p, t)
    _add_format(p, t)
    _add_lang(p, t)
    _add_spec(p, t)

    p = command("batch", cmd_batch)
    p.add_argument("directory", metavar="DIR", help=t("cli_help.directory"))
    p.add_argument("-o", "--output", metavar="OUTDIR", help=t("cli_help.batch_output"))
    _add_as_of(p, t)
    p.add_argument("--previous", metavar="PREV_OUTDIR", help=t("cli_help.previous"))
    p.add_argument("--jobs", type=int, metavar="N", help=t("cli_help.jobs"))
    p.add_argument("--mask", action="store_true", help=t("cli_help.mask"))
    _add_format(p, t)
    _add_lang(p, t)
    _add_spec(p, t)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_prescan_lang(argv))
    t = parser.texts
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except UsageError as exc:
        print(t.error(str(exc)), file=sys.stderr)
        return 2
    except KhbookError as exc:
        print(t.error(render_error(exc, _error_spec(exc, args), args.lang)), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(t("console.interrupted"), file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except Exception as exc:  # a bug, not bad input: one line, details on request
        if os.environ.get("KHBOOK_DEBUG"):
            raise
        print(t("console.internal", detail=f"{type(exc).__name__}: {exc}"), file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
