"""Raw workbook access: a file (or an open Excel book) -> sheets of raw cell values.

This is the only place that opens workbook files for reading values. Files go through the
safety gate (khbook.read.safety) first, then python-calamine reads every sheet's cached values
(fast, and it understands the CJK date formats 27-36/50-58 that openpyxl misses, and it
ignores the stored sheet dimension that WPS sometimes writes wrong). calamine turns Excel
error cells (#N/A, #REF!) into blanks, so their coordinates are recovered from the sheet
XML with a bounded scan.

The xlwings adapter builds the same :class:`RawBook` from the open workbook, so everything
downstream (reader, checks, classifier) is shared.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
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
    spec_version: int | None = None    # the template version the book records (read.docprops)
    closer: Callable[[], None] | None = field(default=None, repr=False)

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


def _sheet_parts(zf: zipfile.ZipFile, path: str) -> dict[str, str]:
    """Sheet name -> part name inside the package."""
    from khbook.base.xmlsafe import parse_xml
    from khbook.read.safety import read_member

    ns_main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    ns_rel = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
    wb = parse_xml(read_member(zf, "xl/workbook.xml", limit=64 * 1024**2), path=path, part="xl/workbook.xml")
    rels_name = "xl/_rels/workbook.xml.rels"
    if rels_name not in zf.namelist():
        return {}
    rels = parse_xml(read_member(zf, rels_name, limit=16 * 1024**2), path=path, part=rels_name)
    targets = {}
    for r in rels:
        target = r.get("Target", "")
        if target.startswith("/"):
            part = target.lstrip("/")
        else:
            part = str(PurePosixPath("xl") / target)
        targets[r.get("Id")] = part
    out = {}
    for s in wb.iter(f"{ns_main}sheet"):
        rid = s.get(f"{ns_rel}id")
        if rid in targets:
            out[s.get("name")] = targets[rid]
    return out


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

    from khbook.read.docprops import spec_version
    from khbook.read.safety import inspect_workbook

    info = inspect_workbook(path)
    p = str(path)
    try:
        wb = CalamineWorkbook.from_path(p)
    except Exception as exc:  # calamine raises its own error types for damaged files
        detail = _short(exc)
        raise WorkbookError(p, f"cannot be read as a workbook ({detail})", _HINT_RETRY,
                            code="unreadable", params={"detail": detail}) from None
    hidden = set(info.hidden_sheets)
    sheets: list[RawSheet] = []
    try:
        with zipfile.ZipFile(p) as zf:
            parts = _sheet_parts(zf, p)
            version = spec_version(zf, p)
            for meta in wb.sheets_metadata:
                if str(meta.typ).split(".")[-1] != "WorkSheet":
                    continue
                name = meta.name
                errors = _error_cells(zf, parts[name]) if name in parts else {}
                sheets.append(RawSheet(name, None, name in hidden, errors, loader=_loader(wb, p, name)))
    except zipfile.BadZipFile as exc:
        wb.close()
        raise WorkbookError(p, f"is damaged ({exc})", _HINT_RETRY, code="damaged", params={"detail": str(exc)}) from None
    except BaseException:
        wb.close()
        raise
    return RawBook(p, sheets, info.date1904, info.kind, version, closer=wb.close)


def _loader(wb: Any, path: str, name: str) -> Callable[[], list[list[Any]]]:
    def load() -> list[list[Any]]:
        try:
            return wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
        except Exception as exc:  # calamine's own error types
            detail = _short(exc)
            raise WorkbookError(path, f"sheet {name!r} cannot be read ({detail})", _HINT_RETRY,
                                code="sheet_unreadable", params={"sheet": repr(name), "detail": detail}) from None
    return load


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]
