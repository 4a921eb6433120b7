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
            self._width = max(map(len, self.rows), default=0)
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
    # (rule, sheet name) of sheets skipped or read another way: each becomes an info finding
    notes: list[tuple[str, str]] = field(default_factory=list)

    def sheet_names(self) -> list[str]:
        return [s.name for s in self.sheets]

    def close(self) -> None:
        """Release the underlying reader (file handle); loaded grids stay usable."""
        if self.closer is not None:
            self.closer()
            self.closer = None


_CELL_ERR = re.compile(rb'<c\b[^>]*?\br="([A-Z]{1,3})(\d+)"[^>]*?\bt="e"[^>]*>(?:(?!</c>).)*?<v>([^<]*)</v>', re.S)
_CELL_ERR2 = re.compile(rb'<c\b[^>]*?\bt="e"[^>]*?\br="([A-Z]{1,3})(\d+)"[^>]*>(?:(?!</c>).)*?<v>([^<]*)</v>', re.S)


_MACRO_TYPES = ("/xlMacrosheet", "/xlIntlMacrosheet", "/macrosheet")


def _sheet_parts(zf: zipfile.ZipFile, path: str, workbook_part: str) -> tuple[dict[str, str], set[str]]:
    """(sheet name -> part name inside the package, names of Excel 4.0 macro sheets), through the
    workbook part's relationships."""
    from khbook.base.xmlsafe import parse_xml
    from khbook.read.zipcheck import local, part_rels, read_member, resolve_target

    wb = parse_xml(read_member(zf, workbook_part, limit=limits.MAX_PART_BYTES), path=path, part=workbook_part)
    rels = part_rels(workbook_part)
    if rels not in zf.namelist():
        return {}, set()
    root = parse_xml(read_member(zf, rels, limit=16 * 1024**2), path=path, part=rels)
    targets = {r.get("Id"): resolve_target(workbook_part, r.get("Target", "")) for r in root}
    macro_ids = {r.get("Id") for r in root if r.get("Type", "").endswith(_MACRO_TYPES)}
    out, macro = {}, set()
    for s in wb.iter():
        if isinstance(s.tag, str) and local(s.tag) == "sheet":
            rid = next((v for k, v in s.attrib.items() if local(k) == "id" and k != "id"), None)
            if rid in targets:
                out[s.get("name")] = targets[rid]
            if rid in macro_ids:
                macro.add(s.get("name"))
    return out, macro


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
    with _package(p, info) as zf:
        try:
            parts, macro = _sheet_parts(zf, p, info.workbook_part)
        except WorkbookError:
            parts, macro = {}, set()
        version = spec_version(zf, p)
    hidden = set(info.hidden_sheets)
    try:
        if posixpath.basename(info.workbook_part) != "workbook.xml":
            wb = CalamineWorkbook.from_filelike(_calamine_view(p, info))
        elif info.decrypted is not None:
            wb = CalamineWorkbook.from_filelike(io.BytesIO(info.decrypted))
        else:
            wb = CalamineWorkbook.from_path(p)
    except Exception as exc:  # calamine raises its own error types: read it the other way
        try:
            book = _load_openpyxl(p, _source(p, info), info.date1904, info.kind, hidden, macro)
        except WorkbookError:
            raise library_error(p, exc) from None  # neither reader copes: calamine's cause, in words
        book.spec_version, book.decrypted = version, info.decrypted
        return book
    sheets: list[RawSheet] = []
    fallback = _Fallback(p, _source(p, info))
    try:
        with _package(p, info) as zf:
            for meta in wb.sheets_metadata:
                if str(meta.typ).split(".")[-1] != "WorkSheet" or meta.name in macro:
                    continue
                name = meta.name
                part = parts.get(name)
                marked = part is not None and (info.error_parts is None or part in info.error_parts)
                errors = _error_cells(zf, part) if marked else {}
                sheets.append(RawSheet(name, None, name in hidden, errors, loader=_loader(wb, name, fallback)))
    except zipfile.BadZipFile as exc:
        wb.close()
        raise WorkbookError(p, f"is damaged ({exc})", _HINT_RETRY, code="damaged", params={"detail": str(exc)}) from None
    except BaseException:
        wb.close()
        raise
    book = RawBook(p, sheets, info.date1904, info.kind, version, closer=lambda: (wb.close(), fallback.close()),
                   decrypted=info.decrypted)
    book.notes = fallback.notes
    book.notes += [("macro_sheet_skipped", name) for name in info.sheet_names if name in macro]
    return book


def _source(path: str, info: PackageInfo) -> str | io.BytesIO:
    """What a reader opens: the file, or the decrypted package (Excel's default password)."""
    return path if info.decrypted is None else io.BytesIO(info.decrypted)


def _package(path: str, info: PackageInfo) -> zipfile.ZipFile:
    zf = zipfile.ZipFile(_source(path, info))
    zf.filename = path  # messages name the user's file
    return zf


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


def _loader(wb: Any, name: str, fallback: _Fallback) -> Callable[[], list[list[Any]]]:
    def load() -> list[list[Any]]:
        try:
            rows = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
        except Exception:  # noqa: BLE001 - calamine's own error types: read the sheet the other way
            return fallback.sheet(name)
        return shared_texts(rows)
    return load


def shared_texts(rows: list[list[Any]]) -> list[list[Any]]:
    """`rows` with equal texts as one string object (in place).

    The reader gives every cell its own string: a column of 50k rows that says 物流 in
    most of them holds 50k copies. The raw frames keep these values for the whole check
    (and the refresh), so a large book holds a third fewer objects this way, and the
    per-value parse caches hash each distinct text once.
    """
    seen: dict[str, str] = {}
    get = seen.setdefault
    for i, row in enumerate(rows):
        rows[i] = [get(v, v) if v.__class__ is str else v for v in row]
    return rows


class _Fallback:
    """openpyxl's reader for the sheets calamine cannot read (opened on first use)."""

    def __init__(self, path: str, source: str | io.BytesIO) -> None:
        self.path, self.source = path, source
        self.notes: list[tuple[str, str]] = []
        self._wb: Any = None

    def sheet(self, name: str) -> list[list[Any]]:
        if self._wb is None:
            self._wb = _open_openpyxl(self.path, self.source)
        rows, _errors = _openpyxl_rows(self._wb, self.path, name)
        if ("read_fallback", name) not in self.notes:
            self.notes.append(("read_fallback", name))
        return rows

    def close(self) -> None:
        if self._wb is not None:
            self._wb.close()
            self._wb = None


def _open_openpyxl(path: str, source: str | io.BytesIO) -> Any:
    import warnings

    import openpyxl

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return openpyxl.load_workbook(source, read_only=True, data_only=True, keep_links=False)
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


def _load_openpyxl(path: str, source: str | io.BytesIO, date1904: bool, kind: str, hidden: set[str],
                   macro: set[str]) -> RawBook:
    """The whole workbook through openpyxl (calamine could not open it); macro sheets skipped."""
    wb = _open_openpyxl(path, source)
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
