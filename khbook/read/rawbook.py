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

import io
import posixpath
import re
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from khbook.base.errors import Hint, WorkbookError
from khbook.base.excel import col_index
from khbook.read import limits

if TYPE_CHECKING:
    from khbook.read.safety import PackageInfo

# The gate and the part readers (khbook.read.safety / zipcheck, lxml through base.xmlsafe) are
# imported by the functions that read files: the xlwings adapter builds a RawBook from the open
# workbook, and on xlwings Lite (Pyodide) lxml is not to be loaded for that.

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
    # the decrypted package when the file was encrypted with Excel's default password
    # (the patcher writes the annotated copy from it)
    decrypted: bytes | None = field(default=None, repr=False)

    def sheet_names(self) -> list[str]:
        return [s.name for s in self.sheets]

    def close(self) -> None:
        """Release the underlying reader (file handle); loaded grids stay usable."""
        if self.closer is not None:
            self.closer()
            self.closer = None


_CELL_ERR = re.compile(rb'<c\b[^>]*?\br="([A-Z]{1,3})(\d+)"[^>]*?\bt="e"[^>]*>(?:(?!</c>).)*?<v>([^<]*)</v>', re.S)
_CELL_ERR2 = re.compile(rb'<c\b[^>]*?\bt="e"[^>]*?\br="([A-Z]{1,3})(\d+)"[^>]*>(?:(?!</c>).)*?<v>([^<]*)</v>', re.S)


def _sheet_parts(zf: zipfile.ZipFile, path: str, workbook_part: str) -> dict[str, str]:
    """Sheet name -> part name inside the package (through the workbook part's relationships)."""
    from khbook.base.xmlsafe import parse_xml
    from khbook.read.zipcheck import local, part_rels, read_member, resolve_target

    wb = parse_xml(read_member(zf, workbook_part, limit=limits.MAX_PART_BYTES), path=path, part=workbook_part)
    rels = part_rels(workbook_part)
    if rels not in zf.namelist():
        return {}
    root = parse_xml(read_member(zf, rels, limit=16 * 1024**2), path=path, part=rels)
    targets = {r.get("Id"): resolve_target(workbook_part, r.get("Target", "")) for r in root}
    out = {}
    for s in wb.iter():
        if isinstance(s.tag, str) and local(s.tag) == "sheet":
            rid = next((v for k, v in s.attrib.items() if local(k) == "id" and k != "id"), None)
            if rid in targets:
                out[s.get("name")] = targets[rid]
    return out


def _error_cells(zf: zipfile.ZipFile, part: str) -> dict[tuple[int, int], str]:
    from khbook.read.zipcheck import read_member

    if part not in zf.namelist():
        return {}
    data = read_member(zf, part, limit=2 * 1024**3)
    if b't="e"' not in data:
        return {}
    found: dict[tuple[int, int], str] = {}
    for rx in (_CELL_ERR, _CELL_ERR2):
        for m in rx.finditer(data):
            found[(int(m.group(2)) - 1, col_index(m.group(1)) - 1)] = m.group(3).decode("utf-8", "replace")
    return found


def load_raw(path: str | Path) -> RawBook:
    """Read every sheet of a workbook file into a RawBook (after the safety gate)."""
    from python_calamine import CalamineWorkbook

    from khbook.read.docprops import spec_version
    from khbook.read.safety import inspect_workbook

    info = inspect_workbook(path)
    p = str(path)
    try:
        if posixpath.basename(info.workbook_part) != "workbook.xml":
            wb = CalamineWorkbook.from_filelike(_calamine_view(p, info))
        elif info.decrypted is not None:
            wb = CalamineWorkbook.from_filelike(io.BytesIO(info.decrypted))
        else:
            wb = CalamineWorkbook.from_path(p)
    except Exception as exc:  # calamine raises its own error types for damaged files
        raise library_error(p, exc) from None
    hidden = set(info.hidden_sheets)
    sheets: list[RawSheet] = []
    try:
        with zipfile.ZipFile(p if info.decrypted is None else io.BytesIO(info.decrypted)) as zf:
            zf.filename = p
            parts = _sheet_parts(zf, p, info.workbook_part)
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
    return RawBook(p, sheets, info.date1904, info.kind, version, closer=wb.close, decrypted=info.decrypted)


def _calamine_view(path: str, info: PackageInfo) -> io.BytesIO:
    """The package as calamine can read it, in memory, with its workbook part (and that part's
    relationships) under the name calamine looks for: ``workbook.xml`` in the workbook part's
    folder (calamine finds the folder through ``_rels/.rels`` but not the part's name)."""
    from khbook.read.zipcheck import part_rels

    main = info.workbook_part
    folder = posixpath.dirname(main)
    alias = {posixpath.join(folder, "workbook.xml"): main,
             part_rels(posixpath.join(folder, "workbook.xml")): part_rels(main)}
    src = io.BytesIO(info.decrypted) if info.decrypted is not None else path
    out = io.BytesIO()
    with zipfile.ZipFile(src) as zf, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zo:
        names = set(zf.namelist())
        for name in zf.namelist():
            if name not in alias:
                _copy_member(zf, zo, name, name)
        for name, original in alias.items():
            if original in names:
                _copy_member(zf, zo, original, name)
    out.seek(0)
    return out


def _copy_member(zf: zipfile.ZipFile, zo: zipfile.ZipFile, name: str, as_name: str) -> None:
    with zf.open(name) as fin, zo.open(as_name, "w", force_zip64=True) as fout:
        shutil.copyfileobj(fin, fout, limits.CHUNK)


def _loader(wb: Any, path: str, name: str) -> Callable[[], list[list[Any]]]:
    def load() -> list[list[Any]]:
        try:
            return wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
        except Exception as exc:  # calamine's own error types
            raise library_error(path, exc, name) from None
    return load


# What the reader library's own messages mean, in words a user understands; the library's
# text stays in the error's ``detail`` (the JSON's detail field, KHBOOK_DEBUG=1).
# pattern: (code, English message); the code names the message in labels.yaml `errors`.
_LIBRARY_CAUSES: dict[str, tuple[str, str]] = {
    "Unrecognized sheet:state: ?(?P<state>\\S*)": ("sheet_state", (
        "lists a sheet whose visibility is written as \"{state}\", which Excel never writes "
        "(the file was made by another program)")),
    "Range is missing the expected (?:row|column) component": ("bad_range", (
        "has a cell range without its row or column in sheet \"{sheet}\" (the file was made by another program)")),
    "Relationship not found": ("missing_relationship", (
        "lists a sheet that is missing from the file (the package is incomplete)")),
}


def library_error(path: str, exc: BaseException, sheet: str | None = None) -> WorkbookError:
    """A reader (calamine) failure as a WorkbookError: a known cause in plain words, else the library's text."""
    detail = _short(exc)
    for pattern, (code, message) in _LIBRARY_CAUSES.items():
        m = re.search(pattern, detail)
        if m is None:
            continue
        params: dict[str, object] = {**m.groupdict(), "detail": detail}
        if sheet is not None:
            params["sheet"] = sheet
        try:
            text = message.format(**params)
        except KeyError:  # a sheet-level cause raised without a sheet: the library's words
            break
        return WorkbookError(path, text, _HINT_RETRY, code=code, params=params)
    if sheet is not None:
        return WorkbookError(path, f"sheet '{sheet}' cannot be read ({detail})", _HINT_RETRY,
                             code="sheet_unreadable", params={"sheet": sheet, "detail": detail})
    return WorkbookError(path, f"cannot be read as a workbook ({detail})", _HINT_RETRY,
                         code="unreadable", params={"detail": detail})


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]
