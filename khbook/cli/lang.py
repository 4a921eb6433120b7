"""The command line's language: which one (--lang, KHBOOK_LANG, the system locale, else Chinese),
its words (:class:`Texts` over labels.yaml's ``cli_help``/``cli_argparse``/``console`` areas) and an
argparse parser that speaks it (usage line, section titles, option errors).
"""

from __future__ import annotations

import argparse
import locale
import os
import re
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

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


def prescan_lang(argv: Sequence[str]) -> str | None:
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


def add_spec(p: argparse.ArgumentParser, t: Texts) -> None:
    p.add_argument("--spec", metavar="DIR", help=t("cli_help.spec"))


def add_as_of(p: argparse.ArgumentParser, t: Texts) -> None:
    p.add_argument("--as-of", metavar="YYYY-MM-DD", help=t("cli_help.as_of"))


def add_format(p: argparse.ArgumentParser, t: Texts) -> None:
    p.add_argument("--format", choices=("text", "json"), default="text", help=t("cli_help.format"))


def add_lang(p: argparse.ArgumentParser, t: Texts) -> None:
    p.add_argument("--lang", choices=("zh", "en"), default=t.lang, help=t("cli_help.lang"))


def texts(spec: Spec, lang: str) -> Texts:
    return Texts(lang, spec.labels)


_ASK = object()  # --password given without a value: ask for it


def add_password(p: argparse.ArgumentParser, t: Texts, what: str) -> None:
    """--password [PASSWORD]: `what` (a cli_help key) says what it opens or encrypts."""
    p.add_argument("--password", nargs="?", const=_ASK, metavar="PASSWORD",
                   help=t("cli_help.password", what=t(f"cli_help.{what}")))


def password(args: argparse.Namespace, t: Texts) -> str | None:
    """--password, asked for when given without a value, else KHBOOK_PASSWORD; never echoed."""
    from khbook.read.decrypt import password_from_env

    value = getattr(args, "password", None)
    if value is _ASK:
        import getpass

        value = getpass.getpass(t("console.password_prompt"))
    return value or password_from_env()
