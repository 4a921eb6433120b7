"""Exceptions. Findings about the data are records (see findings.py), never exceptions;
exceptions are for a broken spec or a file that cannot be read or written.

A :class:`WorkbookError` carries a stable ``code`` (``"csv_text"``, ``"encrypted"``,
``"disk_full"``...), the format parameters of its message and the code of its hint
(a :class:`Hint`). Its ``str()`` is the English text, as ever; :meth:`WorkbookError.render`
words it in the user's language from the ``errors``/``error_hints`` areas of labels.yaml
(falling back to the English text for a code the spec does not know).
"""

from __future__ import annotations

import errno as _errno
from collections.abc import Mapping
from typing import Any, NamedTuple, Protocol


class Spec(Protocol):
    """What rendering an error needs of the spec (:class:`khbook.spec.Spec`): its labels.

    A protocol, not an import: the spec imports this module, and base imports nothing above it.
    """

    labels: Mapping[str, Any]


def os_error_name(exc: OSError) -> str:
    """The symbolic name of an OS error (``EIO``), which reads the same in every language."""
    return _errno.errorcode.get(exc.errno or 0, "") or type(exc).__name__


class KhbookError(Exception):
    """Base class: every khbook exception renders as one clear line."""


class SpecError(KhbookError):
    """The spec (templates/) is invalid: names the file and the key."""

    def __init__(self, file: str, key: str, message: str) -> None:
        self.file, self.key, self.message = file, key, message
        where = f"{file}: {key}" if key else file
        super().__init__(f"{where}: {message}")


class Hint(NamedTuple):
    """What to do about an error: a stable code (``error_hints.<code>`` in labels.yaml) and the English text."""

    code: str
    text: str


class WorkbookError(KhbookError):
    """A workbook cannot be read (or written): names the file, says why and what to do.

    ``code`` names the message in the ``errors`` area of labels.yaml, ``params`` fill its
    ``{placeholders}`` (and the hint's); a :class:`Hint` gives the hint's code. ``str()``
    stays the English ``"PATH: MESSAGE (HINT)"``.
    """

    def __init__(self, path: str, message: str, hint: str | Hint = "", *, code: str = "",
                 params: Mapping[str, object] | None = None) -> None:
        hint_code, hint_text = (hint.code, hint.text) if isinstance(hint, Hint) else ("", hint)
        self.path, self.message, self.hint = str(path), message, hint_text
        self.code, self.hint_code = code, hint_code
        self.params: dict[str, object] = dict(params or {})
        super().__init__(f"{path}: {self.reason}")

    @property
    def detail(self) -> str:
        """The underlying library's own text, when there is one (``""`` otherwise): kept for the
        JSON's ``detail`` field and ``KHBOOK_DEBUG=1``, while the message says it in plain words."""
        return str(self.params.get("detail", ""))

    @property
    def reason(self) -> str:
        """The English message and hint, without the path (``"MESSAGE (HINT)"``)."""
        return f"{self.message} ({self.hint})" if self.hint else self.message

    def render_reason(self, spec: Spec, lang: str) -> str:
        """Message and hint in `lang` (labels.yaml), without the path; English for an unknown code."""
        message = _label(spec, f"errors.{self.code}", lang, self.params) if self.code else None
        if message is None:
            return self.reason
        if not self.hint:
            return message
        hint = _label(spec, f"error_hints.{self.hint_code}", lang, self.params) if self.hint_code else None
        if hint is None:
            hint = self.hint
        return _label(spec, "error_format.with_hint", lang, {"message": message, "hint": hint}) or f"{message} ({hint})"

    def render(self, spec: Spec, lang: str) -> str:
        """The whole one-line error in `lang`, the file first (``"PATH：MESSAGE（HINT）"`` in zh)."""
        reason = self.render_reason(spec, lang)
        return _label(spec, "error_format.line", lang, {"path": self.path, "reason": reason}) or f"{self.path}: {reason}"


def _label(spec: Spec, key: str, lang: str, params: Mapping[str, object]) -> str | None:
    """A labels.yaml text filled with `params`, or None when missing or not fillable."""
    text = spec.labels.get(key)
    if text is None:
        return None
    try:
        value = text(lang)
        return value.format(**params) if isinstance(value, str) else None
    except (KeyError, IndexError, ValueError, AttributeError):
        return None


def render_error(exc: BaseException, spec: Spec | None, lang: str) -> str:
    """One line for any khbook exception: a WorkbookError in `lang` when a spec is at hand, else ``str()``."""
    if isinstance(exc, WorkbookError) and spec is not None:
        return exc.render(spec, lang)
    return str(exc)
