"""The `khbook` command line: each command parses options, calls one library function,
renders the result and maps library exceptions to a one-line error (exit status 2).

Every word it prints is in labels.yaml (areas ``cli_help``, ``cli_argparse``, ``console``) in the
output language: ``--lang``, else the ``KHBOOK_LANG`` environment variable, else the system
locale, else Chinese (:mod:`khbook.cli.lang`). The everyday commands are in
:mod:`khbook.cli.commands`, the team's in :mod:`khbook.cli.workflows`; each imports the layers
it needs when it runs, so ``khbook check`` never loads the writers.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from khbook import __version__
from khbook.base.errors import KhbookError, WorkbookError, render_error
from khbook.base.gcpause import started
from khbook.cli.commands import cmd_batch, cmd_check, cmd_refresh, cmd_template, debug_detail
from khbook.cli.lang import (
    Parser,
    Texts,
    UsageError,
    add_as_of,
    add_format,
    add_lang,
    add_password,
    add_spec,
    prescan_lang,
    resolve_lang,
)
from khbook.cli.workflows import cmd_import, cmd_kit, cmd_merge, cmd_split, cmd_upgrade

if TYPE_CHECKING:
    from khbook.spec import Spec

__all__ = ["Texts", "build_parser", "main", "resolve_lang"]

#: The layers a command imports when it runs, imported before it while the collector is still
#: paused (:func:`khbook.base.gcpause.pause_while_starting`); a command not named here starts
#: the collector first.
_LAYERS = {
    "check": ("khbook.pipeline", "khbook.report.render"),
    "refresh": ("khbook.pipeline", "khbook.report.render"),
}


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
    add_lang(p, t)
    p.add_argument("--examples", type=int, default=0, metavar="N", help=t("cli_help.examples"))
    p.add_argument("--as-of", metavar="YYYY-MM-DD", help=t("cli_help.examples_as_of"))
    p.add_argument("--macro", action="store_true", help=t("cli_help.macro"))
    add_spec(p, t)

    p = command("check", cmd_check)
    p.add_argument("files", nargs="+", metavar="FILE", help=t("cli_help.files"))
    add_as_of(p, t)
    add_format(p, t)
    p.add_argument("--customers", action="store_true", help=t("cli_help.customers"))
    add_password(p, t, "password_open")
    add_lang(p, t)
    add_spec(p, t)

    p = command("refresh", cmd_refresh)
    p.add_argument("file", metavar="FILE", help=t("cli_help.file"))
    p.add_argument("-o", "--output", metavar="OUT", help=t("cli_help.refresh_output"))
    add_password(p, t, "password_refresh")
    add_as_of(p, t)
    add_format(p, t)
    add_lang(p, t)
    add_spec(p, t)

    p = command("batch", cmd_batch)
    p.add_argument("directory", metavar="DIR", help=t("cli_help.directory"))
    p.add_argument("-o", "--output", metavar="OUTDIR", help=t("cli_help.batch_output"))
    add_as_of(p, t)
    p.add_argument("--previous", metavar="PREV_OUTDIR", help=t("cli_help.previous"))
    p.add_argument("--archive", metavar="ARCHIVE_DIR", help=t("cli_help.archive"))
    p.add_argument("--jobs", type=int, metavar="N", help=t("cli_help.jobs"))
    p.add_argument("--scheduler", metavar="ADDRESS", help=t("cli_help.scheduler"))
    p.add_argument("--mask", action="store_true", help=t("cli_help.mask"))
    add_password(p, t, "password_batch")
    add_format(p, t)
    add_lang(p, t)
    add_spec(p, t)

    p = command("import", cmd_import)
    p.add_argument("sources", nargs="+", metavar="SRC", help=t("cli_help.sources"))
    p.add_argument("-o", "--output", metavar="BOOK", help=t("cli_help.import_output"))
    p.add_argument("--owner", metavar="NAME", help=t("cli_help.owner"))
    p.add_argument("--id-prefix", default="KH", metavar="KH", help=t("cli_help.id_prefix"))
    p.add_argument("--map", metavar="FILE", help=t("cli_help.map"))
    p.add_argument("--write-map", metavar="FILE", help=t("cli_help.write_map"))
    p.add_argument("--into", metavar="BOOK", help=t("cli_help.into"))
    add_as_of(p, t)
    add_format(p, t)
    add_lang(p, t)
    add_spec(p, t)

    p = command("kit", cmd_kit)
    p.add_argument("-o", "--output", metavar="DIR", required=True, help=t("cli_help.kit_output"))
    add_lang(p, t)
    p.add_argument("--wheel", metavar="FILE", help=t("cli_help.wheel"))
    p.add_argument("--windows-wheels", metavar="PYVER", help=t("cli_help.windows_wheels"))
    p.add_argument("--lite-url", metavar="URL", help=t("cli_help.lite_url"))
    add_spec(p, t)

    p = command("split", cmd_split)
    p.add_argument("master", metavar="MASTER", help=t("cli_help.master"))
    p.add_argument("-o", "--output", metavar="OUTDIR", required=True, help=t("cli_help.split_output"))
    p.add_argument("--by", metavar="COLUMN", help=t("cli_help.by"))
    p.add_argument("--reassign", metavar="MAP", help=t("cli_help.reassign"))
    add_password(p, t, "password_split")
    add_as_of(p, t)
    add_lang(p, t)
    add_spec(p, t)

    p = command("merge", cmd_merge)
    p.add_argument("directory", metavar="DIR", help=t("cli_help.merge_dir"))
    p.add_argument("-o", "--output", metavar="MASTER", required=True, help=t("cli_help.merge_output"))
    add_password(p, t, "password_open")
    add_as_of(p, t)
    add_lang(p, t)
    add_spec(p, t)

    p = command("upgrade", cmd_upgrade)
    p.add_argument("file", metavar="FILE", help=t("cli_help.upgrade_file"))
    p.add_argument("-o", "--output", metavar="OUT", help=t("cli_help.upgrade_output"))
    add_password(p, t, "password_open")
    add_as_of(p, t)
    add_lang(p, t)
    add_spec(p, t)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(prescan_lang(argv))
    t = parser.texts
    args = parser.parse_args(argv)
    try:
        for module in _LAYERS.get(args.command, ()):
            importlib.import_module(module)
        started()
        return args.func(args)
    except UsageError as exc:
        print(t.error(str(exc)), file=sys.stderr)
        return 2
    except KhbookError as exc:
        print(t.error(render_error(exc, _error_spec(exc, args), args.lang)), file=sys.stderr)
        debug_detail(exc)
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
