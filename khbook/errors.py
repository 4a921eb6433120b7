"""Exceptions. Findings about the data are records (see findings.py), never exceptions;
exceptions are for a broken spec or a file that cannot be read or written."""

from __future__ import annotations


class KhbookError(Exception):
    """Base class: every khbook exception renders as one clear line."""


class SpecError(KhbookError):
    """The spec (templates/) is invalid: names the file and the key."""

    def __init__(self, file: str, key: str, message: str) -> None:
        self.file, self.key, self.message = file, key, message
        where = f"{file}: {key}" if key else file
        super().__init__(f"{where}: {message}")


class WorkbookError(KhbookError):
    """A workbook cannot be read (or written): names the file, says why and what to do."""

    def __init__(self, path: str, message: str, hint: str = "") -> None:
        self.path, self.message, self.hint = str(path), message, hint
        text = f"{path}: {message}"
        if hint:
            text += f" ({hint})"
        super().__init__(text)
