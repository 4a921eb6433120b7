"""The `khbook` command line: each command parses options, calls one library function,
renders the result and maps library exceptions to a one-line error (exit status 2)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from khbook.errors import KhbookError


def _add_spec(p: argparse.ArgumentParser) -> None:
    p.add_argument("--spec", metavar="DIR", help="use a customised copy of the spec directory (default: the built-in templates/)")


def _add_lang(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lang", choices=("zh", "en"), default="zh", help="language of headers, lists and messages (default: zh)")


def cmd_template(args: argparse.Namespace) -> int:
    from khbook.spec import load_spec
    from khbook.template import write_template

    spec = load_spec(args.spec)
    out = Path(args.output) if args.output else Path("客户管理模板.xlsm" if args.macro else "客户管理模板.xlsx")
    write_template(spec, out, lang=args.lang, examples=args.examples, macro=args.macro)
    print(f"wrote {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="khbook", description="Excel-native customer workbooks: template, check, classify, annotate, batch.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("template", help="write the blank customer workbook template", description="Write the blank customer workbook a new hire gets: instructions, five data sheets with dropdowns and validations, a hidden lists sheet.")
    p.add_argument("-o", "--output", metavar="FILE", help="output path (default: 客户管理模板.xlsx in the current folder)")
    _add_lang(p)
    p.add_argument("--examples", type=int, default=0, metavar="N", help="fill N fake example customers that pass every check (default: 0)")
    p.add_argument("--macro", action="store_true", help="write an .xlsm with a 刷新分类 button bound to the xlwings adapter")
    _add_spec(p)
    p.set_defaults(func=cmd_template)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except KhbookError as exc:
        print(f"khbook: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("khbook: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
