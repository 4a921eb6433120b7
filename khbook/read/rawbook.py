"""Raw workbook access: a file (or an open Excel book) -> sheets of raw cell values.

This is the only place that opens workbook files for reading values. Files go through the
safety gate (khbook.read.safety) first, then python-calamine reads every sheet's cached values
(fast, and it understands the CJK date formats 27-36/50-58 that openpyxl misses, and it
ignores the stored sheet dimension that WPS sometimes writes wrong). calamine turns Excel
error cells (#N/A, #REF!) into blanks, so their coordinates are recovered from the sheet
XML with a bounded scan.

Valid packages calamine refuses are read another way (README "Safety"): a workbook it
cannot open at all (an Excel 4.0 macro sheet, for one) or a sheet it cannot read
(unusual relationship targets) goes through openpyxl's reader instead; macro sheets are
never read, and :attr:`RawBook.notes` says what was skipped or read the other way (the
reader turns each note into a 提示 finding). Where neither reader copes, the package is
damaged, and the error says so in words, not the library's.

The xlwings adapter builds the same :class:`RawBook` from the open workbook, so everything
downstream (reader, checks, classifier) is shared.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from khbook.base.errors import Hint, WorkbookError

_HINT_RETRY = Hint("resave_retry_xlsx", "open it in Excel or WPS, save it again as .xlsx and retry")


class RawSheet:
    """One sheet's cell values: row 0 is Excel row 1, column 0 is column A.

    A sheet read from a file is loaded lazily and can be released once the reader is done
    with it, so a large workbook never holds every sheet's grid at once.
    """

    def __init__(self, name: str, rows: list[list[Any]] | None = None, hidden: bool = False,
                 errors: dict[tuple[int, int], str] | None = None, *,
                 loader: Callable[[], list[list[Any]]] | None = None) -> None:
        self.name, self.hidden = name, hidden
        self.errors: dict[tuple[int, int], str] = errors or {}  # (row0, col0) -> "#N/A"
        self._rows, self._loader = rows, loader
        self._width: int | None = None

    @property
    def rows(self) -> list[list[Any]]:
        if self._rows is None:
            self._rows = self._loader() if self._loader else []
        return self._rows

    @property
    def width(self) -> int:
        """Number of columns of the widest row (kept after release)."""
        if self._width is None:
            self._width = max((len(r) for r in self.rows), default=0)
        return self._width

    def release(self) -> None:
        """Drop a lazily loaded grid (it is reloaded if needed again)."""
        if self._loader is not None and self._rows is not None:
            self.width  # noqa: B018 - remember the width before dropping the rows
            self._rows = None


@dataclass
class RawBook:
    path: str
    sheets: list[RawSheet]
    date1904: bool = False
    kind: str = "xlsx"
    closer: Callable[[], None] | None = field(default=None, repr=False)
    notes: list[tuple[str, str]] = field(default_factory=list)
    """(rule, sheet name) of sheets skipped or read another way: 提示 findings."""

    def sheet_names(self) -> list[str]:
        return [s.name for s in self.sheets]

    def close(self) -> None:
        """Release the underlying reader (file handle); loaded grids stay usable."""
        if self.closer is not None:
            self.closer()
            self.closer = None


_CELL_ERR = re.compile(rb'<c\b[^>]*?\br="([A-Z]{1,3})(\d+)"[^>]*?\bt="e"[^>]*>(?:(?!</c>).)*?<v>([^<]*)</v>', re.S)
_CELL_ERR2 = re.compile(rb'<c\b[^>]*?\bt="e"[^>]*?\br="([A-Z]{1,3})(\d+)"[^>]*>(?:(?!</c>).)*?<v>([^<]*)</v>', re.S)


def _col_index(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n - 1


_MACRO_TYPES = ("/xlMacrosheet", "/xlIntlMacrosheet", "/macrosheet")


def _sheet_parts(zf: zipfile.ZipFile, path: str) -> tuple[dict[str, str], set[str]]:
    """(sheet name -> part name inside the package, names of Excel 4.0 macro sheets)."""
    from khbook.base.xmlsafe import parse_xml
    from khbook.read.safety import read_member

    wb = parse_xml(read_member(zf, "xl/workbook.xml", limit=64 * 1024**2), path=path, part="xl/workbook.xml")
    rels_name = "xl/_rels/workbook.xml.rels"
    if rels_name not in zf.namelist():
        return {}, set()
    rels = parse_xml(read_member(zf, rels_name, limit=16 * 1024**2), path=path, part=rels_name)
    targets, macro = {}, set()
    for r in rels:
        target = r.get("Target", "")
        if target.startswith("/"):
            part = posixpath.normpath(target.lstrip("/"))
        else:
            part = posixpath.normpath(posixpath.join("xl", target))
        targets[r.get("Id")] = part
        if r.get("Type", "").endswith(_MACRO_TYPES):
            macro.add(r.get("Id"))
    out, macro_names = {}, set()
    for s in wb.iter("{*}sheet"):
        rid = next((v for k, v in s.attrib.items() if k.endswith("}id")), None)
        if rid in targets:
            out[s.get("name")] = targets[rid]
        if rid in macro:
            macro_names.add(s.get("name"))
    return out, macro_names


def _error_cells(zf: zipfile.ZipFile, part: str) -> dict[tuple[int, int], str]:
    from khbook.read.safety import read_member

    if part not in zf.namelist():
        return {}
    data = read_member(zf, part, limit=2 * 1024**3)
    if b't="e"' not in data:
        return {}
    found: dict[tuple[int, int], str] = {}
    for rx in (_CELL_ERR, _CELL_ERR2):
        for m in rx.finditer(data):
            found[(int(m.group(2)) - 1, _col_index(m.group(1)))] = m.group(3).decode("utf-8", "replace")
    return found


def load_raw(path: str | Path) -> RawBook:
    """Read every sheet of a workbook file into a RawBook (after the safety gate)."""
    from python_calamine import CalamineWorkbook

    from khbook.read.safety import inspect_workbook

    info = inspect_workbook(path)
    p = str(path)
    with zipfile.ZipFile(p) as zf:
        try:
            parts, macro = _sheet_parts(zf, p)
        except WorkbookError:
            parts, macro = {}, set()
    hidden = set(info.hidden_sheets)
    try:
        wb = CalamineWorkbook.from_path(p)
    except Exception:  # noqa: BLE001 - calamine raises its own error types: read it the other way
        return _load_openpyxl(p, info.date1904, info.kind, hidden, macro)
    sheets: list[RawSheet] = []
    fallback = _Fallback(p, macro)
    try:
        with zipfile.ZipFile(p) as zf:
            for meta in wb.sheets_metadata:
                if str(meta.typ).split(".")[-1] != "WorkSheet" or meta.name in macro:
                    continue
                name = meta.name
                errors = _error_cells(zf, parts[name]) if name in parts else {}
                sheets.append(RawSheet(name, None, name in hidden, errors, loader=_loader(wb, name, fallback)))
    except zipfile.BadZipFile as exc:
        wb.close()
        raise WorkbookError(p, f"is damaged ({exc})", _HINT_RETRY, code="damaged", params={"detail": str(exc)}) from None
    except BaseException:
        wb.close()
        raise
    book = RawBook(p, sheets, info.date1904, info.kind, closer=lambda: (wb.close(), fallback.close()))
    book.notes = fallback.notes
    book.notes += [("macro_sheet_skipped", name) for name in info.sheet_names if name in macro]
    return book


def _loader(wb: Any, name: str, fallback: _Fallback) -> Callable[[], list[list[Any]]]:
    def load() -> list[list[Any]]:
        try:
            return wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
        except Exception:  # noqa: BLE001 - calamine's own error types: read the sheet the other way
            return fallback.sheet(name)
    return load


class _Fallback:
    """openpyxl's reader for the sheets calamine cannot read (opened on first use)."""

    def __init__(self, path: str, macro: set[str]) -> None:
        self.path, self.macro = path, macro
        self.notes: list[tuple[str, str]] = []
        self._wb: Any = None

    def sheet(self, name: str) -> list[list[Any]]:
        if self._wb is None:
            self._wb = _open_openpyxl(self.path)
        rows, _errors = _openpyxl_rows(self._wb, self.path, name)
        if ("read_fallback", name) not in self.notes:
            self.notes.append(("read_fallback", name))
        return rows

    def close(self) -> None:
        if self._wb is not None:
            self._wb.close()
            self._wb = None


def _open_openpyxl(path: str) -> Any:
    import warnings

    import openpyxl

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return openpyxl.load_workbook(path, read_only=True, data_only=True, keep_links=False)
    except Exception:  # noqa: BLE001 - neither reader understands the package: it is damaged
        raise WorkbookError(path, "cannot be read: the workbook's structure is damaged", _HINT_RETRY,
                            code="unreadable") from None


def _openpyxl_rows(wb: Any, path: str, name: str) -> tuple[list[list[Any]], dict[tuple[int, int], str]]:
    """A sheet's values as calamine gives them (blank cells as "", errors recorded apart)."""
    import warnings

    errors: dict[tuple[int, int], str] = {}
    try:
        ws = wb[name]
        grid: list[list[Any]] = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for row in ws.iter_rows():
                cells = [c for c in row if getattr(c, "row", None) is not None]
                if not cells:
                    continue
                r0 = cells[0].row - 1
                while len(grid) < r0:
                    grid.append([])
                values: list[Any] = []
                for c in cells:
                    while len(values) < c.column - 1:
                        values.append("")
                    value = c.value
                    if c.data_type == "e":
                        errors[(r0, c.column - 1)] = str(value)
                        value = None
                    values.append("" if value is None else value)
                grid.append(values)
    except IndexError:
        raise WorkbookError(path, f"sheet {name!r} is damaged: a cell refers to a shared text that does not exist",
                            _HINT_RETRY, code="shared_string_missing", params={"sheet": repr(name)}) from None
    except Exception:  # noqa: BLE001 - openpyxl's own failures on a damaged part
        raise WorkbookError(path, f"sheet {name!r} is damaged and cannot be read", _HINT_RETRY,
                            code="sheet_unreadable", params={"sheet": repr(name)}) from None
    width = max((len(r) for r in grid), default=0)
    for r in grid:
        r.extend([""] * (width - len(r)))
    return grid, errors


def _load_openpyxl(path: str, date1904: bool, kind: str, hidden: set[str], macro: set[str]) -> RawBook:
    """The whole workbook through openpyxl (calamine could not open it); macro sheets skipped."""
    wb = _open_openpyxl(path)
    sheets: list[RawSheet] = []
    notes: list[tuple[str, str]] = []
    for name in wb.sheetnames:
        if name in macro:
            notes.append(("macro_sheet_skipped", name))
            continue
        if not hasattr(wb[name], "iter_rows"):
            continue   # a chartsheet
        rows, errors = _openpyxl_rows(wb, path, name)
        sheets.append(RawSheet(name, rows, name in hidden, errors))
    wb.close()
    if not notes:
        notes.append(("book_read_fallback", ""))
    return RawBook(path, sheets, date1904, kind, notes=notes)
