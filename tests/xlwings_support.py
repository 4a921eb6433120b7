"""Test helpers for the xlwings adapter, without Excel.

xlwings' remote engine (``xlwings.Book(json=...)``, the engine xlwings Lite runs in the
browser) takes a JSON description of a workbook as an Office.js client sends it and
records every write as an *action* (``book.json()["actions"]``) for the client to apply.
These helpers play the client's part on Linux:

* :func:`book_json_from_xlsx` builds that JSON from a real .xlsx, the way the xlwings
  Office.js client does (``getBookData``): per sheet, the values of ``A1:<last used
  cell>``; blanks as ``""``; error cells as their text (``"#N/A"``); cells whose number
  format is a date or time as ISO strings ``"2024-05-10T00:00:00.000Z"`` (the client's
  ``new Date(...).toISOString()``); numbers as JSON numbers.
* :func:`apply_actions` applies the returned actions to an openpyxl workbook (what
  Office.js would do in Excel), so a test can compare the result with khbook's own
  annotated copy.
* :func:`vba_modules` reads the VBA source out of a ``vbaProject.bin`` (a minimal MS-CFB
  reader and MS-OVBA decompressor), so tests can check that a macro exists without
  olefile/oletools.

The remote engine is xlwings PRO code, free for noncommercial use only: tests enable it
for their own process with ``XLWINGS_LICENSE_KEY=noncommercial`` (see
:func:`remote_engine_or_skip`); khbook itself never depends on it.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import struct
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from khbook.excel.adapter import col_letter

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?Z?$")


# --------------------------------------------------------------------------- engine
def remote_engine_or_skip(monkeypatch: Any) -> Any:
    """Return the ``xlwings`` module with its remote engine registered, or skip.

    Sets ``XLWINGS_LICENSE_KEY=noncommercial`` for this test only (monkeypatch). xlwings
    registers its engines when first imported, so if it was imported earlier without a
    key the remote engine is registered here.
    """
    import pytest

    monkeypatch.setenv("XLWINGS_LICENSE_KEY", "noncommercial")
    try:
        import xlwings as xw
    except Exception as exc:  # pragma: no cover - depends on the machine
        pytest.skip(f"xlwings cannot be imported here: {exc}")
    if "remote" not in [e.name for e in xw.engines]:
        try:
            from xlwings.pro import _xlremote

            xw.engines.add(xw.Engine(impl=_xlremote.engine))
        except Exception as exc:  # pragma: no cover - depends on the installed build
            pytest.skip(f"xlwings' remote engine cannot run here: {type(exc).__name__}: {exc}")
    return xw


# --------------------------------------------------------------------------- JSON in
def _js_number(value: float) -> int | float:
    """JSON has one number type: 3.0 arrives in Python as 3, as from JSON.parse."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _iso(value: dt.datetime) -> str:
    return value.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def _client_value(value: Any) -> Any:
    """One cell as the Office.js client puts it in the payload."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return value
    if isinstance(value, dt.datetime):
        return _iso(value)
    if isinstance(value, dt.date):
        return _iso(dt.datetime(value.year, value.month, value.day))
    if isinstance(value, dt.time):
        return _iso(dt.datetime.combine(dt.date(1899, 12, 30), value))
    if isinstance(value, dt.timedelta):
        return _js_number(value.total_seconds() / 86400)
    if isinstance(value, int | float):
        return _js_number(float(value))
    return str(value)


def _used_address(grid: list[list[Any]]) -> str | None:
    cells = [(r, c) for r, row in enumerate(grid) for c, v in enumerate(row) if v != ""]
    if not cells:
        return None
    top, bottom = min(r for r, _ in cells), max(r for r, _ in cells)
    left, right = min(c for _, c in cells), max(c for _, c in cells)
    first = f"${col_letter(left + 1)}${top + 1}"
    last = f"${col_letter(right + 1)}${bottom + 1}"
    return first if first == last else f"{first}:{last}"


def book_json_from_xlsx(path: str | Path, *, selection: str = "A1") -> dict[str, Any]:
    """The remote-engine JSON for the workbook at ``path``, as the Office.js client sends it.

    Values come from python-calamine (cached values; it knows the CJK date formats), error
    cells from openpyxl (calamine blanks them), sheet order, visibility and the active sheet
    from openpyxl. Defined names that point at one range are sent as the client does.
    """
    import openpyxl
    import xlwings
    from python_calamine import CalamineWorkbook

    path = Path(path)
    wb = openpyxl.load_workbook(path, data_only=True)
    cal = CalamineWorkbook.from_path(str(path))
    try:
        sheets = []
        for ws in wb.worksheets:
            rows = cal.get_sheet_by_name(ws.title).to_python(skip_empty_area=False)
            grid = [[_client_value(v) for v in row] for row in rows]
            for row in ws.iter_rows():
                for cell in row:
                    if cell.data_type == "e" and isinstance(cell.value, str):
                        r, c = cell.row - 1, cell.column - 1
                        while len(grid) <= r:
                            grid.append([])
                        grid[r].extend([""] * (c + 1 - len(grid[r])))
                        grid[r][c] = cell.value
            width = max((len(r) for r in grid), default=0)
            grid = [r + [""] * (width - len(r)) for r in grid] if width else [[""]]
            sheets.append({
                "name": ws.title,
                "values": grid,
                "used_range_address": _used_address(grid),
                "visibility": {"visible": "Visible", "hidden": "Hidden"}.get(ws.sheet_state, "VeryHidden"),
                "show_gridlines": bool(ws.sheet_view.showGridLines is not False),
                "pictures": [],
                "shapes": [],
                "charts": [],
                "tables": [],
                "notes": [],
                "pivot_tables": [],
                "print_area": None,
            })
        names = []
        for name, defn in wb.defined_names.items():
            dests = list(defn.destinations)
            if len(dests) != 1 or dests[0][0] not in wb.sheetnames:
                continue
            sheet_name, address = dests[0]
            names.append({
                "name": name,
                "sheet_index": wb.sheetnames.index(sheet_name),
                "address": address.replace("$", ""),
                "refers_to": f"={defn.attr_text}",
                "book_scope": True,
                "scope_sheet_name": None,
                "scope_sheet_index": None,
            })
        return {
            "client": "Office.js",
            "version": xlwings.__version__,
            "book": {"name": path.name, "active_sheet_index": wb.index(wb.active), "selection": selection},
            "names": names,
            "sheets": sheets,
        }
    finally:
        cal.close()
        wb.close()


# --------------------------------------------------------------------------- actions out
def count_write_actions(actions: Iterable[dict[str, Any]] | dict[str, Any]) -> int:
    """How many actions (round trips to Excel) a run produced; accepts ``book.json()``."""
    if isinstance(actions, dict):
        actions = actions["actions"]
    return sum(1 for _ in actions)


def actions_by_func(actions: Iterable[dict[str, Any]] | dict[str, Any]) -> Counter[str]:
    if isinstance(actions, dict):
        actions = actions["actions"]
    return Counter(a["func"] for a in actions)


_NUMBER_TEXT = re.compile(r"^[+-]?[¥$]?\d[\d,]*(\.\d+)?%?$")


def _excel_value(value: Any) -> Any:
    """What a written value becomes in the cell, as Excel parses a typed entry: "" is blank;
    a leading ``'`` keeps the rest as text (the quote prefix); ISO text becomes a date (the
    engine sends dates as "2024-05-10" / "2024-05-10 13:30:00"); text that looks like a
    number becomes a number (so a test notices text that was not protected).
    """
    if value == "" or value is None:
        return None
    if isinstance(value, str):
        if value.startswith("'"):
            return value[1:]
        try:
            if _ISO_DATE.match(value):
                return dt.datetime.fromisoformat(value)
            if _ISO_DATETIME.match(value):
                return dt.datetime.fromisoformat(value.rstrip("Z").replace("T", " ").split(".")[0])
        except ValueError:  # "2024-02-30" is no date: Excel keeps it as text
            return value
        if _NUMBER_TEXT.match(value):
            number = float(value.strip("¥$%").replace(",", ""))
            return number / 100 if value.endswith("%") else number
    return value


def _fill(color: str | None) -> Any:
    from openpyxl.styles import PatternFill

    if color is None:
        return PatternFill(fill_type=None)
    rgb = color.lstrip("#").upper()
    return PatternFill(fill_type="solid", start_color="FF" + rgb, end_color="FF" + rgb)


def _cells(ws: Any, a: dict[str, Any]) -> Iterable[Any]:
    for r in range(a["row_count"]):
        for c in range(a["column_count"]):
            yield r, c, ws.cell(a["start_row"] + r + 1, a["start_column"] + c + 1)


_NO_EFFECT = {"setAutofit", "setSheetAutofit", "setScreenUpdating", "calculate", "alert", "rangeSelect"}


def apply_actions(actions: Iterable[dict[str, Any]] | dict[str, Any], wb: Any) -> None:
    """Apply remote-engine actions to the openpyxl workbook ``wb`` in place.

    Covers what the adapter uses (values, fills, sheets, names, number formats, column
    widths, hyperlinks, notes, freeze panes, fonts); an unknown action raises so a test
    never passes by ignoring a write.
    """
    from openpyxl.comments import Comment
    from openpyxl.styles import Font

    if isinstance(actions, dict):
        actions = actions["actions"]
    for a in actions:
        func = a["func"]
        args = a.get("args") or []
        ws = wb.worksheets[a["sheet_position"]] if a.get("sheet_position") is not None else None
        if func == "setValues":
            for r, row in enumerate(a["values"]):
                for c, v in enumerate(row):
                    ws.cell(a["start_row"] + r + 1, a["start_column"] + c + 1).value = _excel_value(v)
        elif func == "setRangeColor":
            for _, _, cell in _cells(ws, a):
                cell.fill = _fill(args[0])
        elif func == "setRangeColors":
            matrix = args[0]
            for r, c, cell in _cells(ws, a):
                if matrix[r][c] != "keep":
                    cell.fill = _fill(matrix[r][c])
        elif func in ("rangeClear", "rangeClearContents", "rangeClearFormats"):
            for _, _, cell in _cells(ws, a):
                if func != "rangeClearFormats":
                    cell.value = None
                if func != "rangeClearContents":
                    cell.style = "Normal"
        elif func == "addSheet":
            wb.create_sheet(title=args[1], index=args[0])
        elif func == "sheetDelete":
            wb.remove(ws)
        elif func in ("sheetClear", "sheetClearContents", "sheetClearFormats"):
            for row in ws.iter_rows():
                for cell in row:
                    if func != "sheetClearFormats":
                        cell.value = None
                    if func != "sheetClearContents":
                        cell.style = "Normal"
        elif func == "setSheetName":
            ws.title = args[0]
        elif func == "activateSheet":
            wb.active = args[0]
        elif func == "setSheetVisibility":
            ws.sheet_state = "visible" if args[0] == "Visible" else "hidden"
        elif func == "setNumberFormat":
            for _, _, cell in _cells(ws, a):
                cell.number_format = args[0]
        elif func == "setColumnWidth":
            for c in range(a["column_count"]):
                ws.column_dimensions[col_letter(a["start_column"] + c + 1)].width = args[0]
        elif func == "setWrapText":
            from openpyxl.styles import Alignment

            for _, _, cell in _cells(ws, a):
                cell.alignment = Alignment(wrap_text=bool(args[0]))
        elif func == "setFontProperty":
            prop, value = args[0], args[1]
            for _, _, cell in _cells(ws, a):
                font = cell.font.copy()
                if prop == "color" and isinstance(value, str):
                    value = "FF" + value.lstrip("#").upper()
                cell.font = Font(**{**{k: getattr(font, k) for k in ("name", "size", "bold", "italic", "color")}, prop: value})
        elif func == "addHyperlink":
            cell = ws.cell(a["start_row"] + 1, a["start_column"] + 1)
            cell.hyperlink = args[0]
            if args[1] is not None:
                cell.value = args[1]
        elif func in ("addNote", "addComment"):
            cell = ws[args[0].replace("$", "")]
            cell.comment = Comment(args[1], "khbook")
        elif func == "freezePaneAtRange":
            ws.freeze_panes = ws.cell(a["start_row"] + a["row_count"] + 1, a["start_column"] + a["column_count"] + 1)
        elif func == "freezePaneUnfreeze":
            ws.freeze_panes = None
        elif func in _NO_EFFECT:
            continue
        else:
            raise NotImplementedError(f"apply_actions: action {func!r} is not modelled")


# --------------------------------------------------------------------------- VBA
def cfb_streams(data: bytes) -> dict[str, bytes]:
    """All streams of a compound file (MS-CFB, v3/v4), by path (``"VBA/dir"``)."""
    if data[:8] != bytes.fromhex("D0CF11E0A1B11AE1"):
        raise ValueError("not an OLE2 compound file")
    ssz = 1 << struct.unpack_from("<H", data, 0x1E)[0]
    mssz = 1 << struct.unpack_from("<H", data, 0x20)[0]
    nfat, first_dir, _, cutoff, first_mfat, nmfat, first_difat, ndifat = struct.unpack_from("<8I", data, 0x2C)
    per = ssz // 4

    def sector(i: int) -> bytes:
        return data[(i + 1) * ssz:(i + 2) * ssz]

    def chain(start: int, table: list[int]) -> list[int]:
        out: list[int] = []
        while start < 0xFFFFFFFA:
            if len(out) > len(table):
                raise ValueError("sector chain loops")
            out.append(start)
            start = table[start]
        return out

    difat = list(struct.unpack_from("<109I", data, 0x4C))
    s = first_difat
    for _ in range(ndifat):
        vals = struct.unpack(f"<{per}I", sector(s))
        difat += vals[:-1]
        s = vals[-1]
    fat: list[int] = []
    for f in difat[:nfat]:
        fat += struct.unpack(f"<{per}I", sector(f))
    dirdata = b"".join(sector(i) for i in chain(first_dir, fat))
    entries = []
    for off in range(0, len(dirdata), 128):
        e = dirdata[off:off + 128]
        nlen = struct.unpack_from("<H", e, 64)[0]
        left, right, child = struct.unpack_from("<III", e, 68)
        start, size = struct.unpack_from("<IQ", e, 116)
        entries.append((e[:max(nlen - 2, 0)].decode("utf-16-le"), e[66], left, right, child, start, size & 0xFFFFFFFF))
    mini = b"".join(sector(i) for i in chain(entries[0][5], fat))
    mfat: list[int] = []
    if nmfat:
        for i in chain(first_mfat, fat):
            mfat += struct.unpack(f"<{per}I", sector(i))
    out: dict[str, bytes] = {}

    def walk(idx: int, prefix: str, depth: int = 0) -> None:
        if idx == 0xFFFFFFFF or depth > 512:
            return
        name, typ, left, right, child, start, size = entries[idx]
        walk(left, prefix, depth + 1)
        walk(right, prefix, depth + 1)
        if typ == 2:
            if size < cutoff:
                buf = b"".join(mini[j * mssz:(j + 1) * mssz] for j in chain(start, mfat))
            else:
                buf = b"".join(sector(j) for j in chain(start, fat))
            out[prefix + name] = buf[:size]
        elif typ == 1:
            walk(child, prefix + name + "/", depth + 1)

    walk(entries[0][4], "")
    return out


def ovba_decompress(buf: bytes) -> bytes:
    """MS-OVBA 2.4.1 decompression of a CompressedContainer."""
    if not buf or buf[0] != 1:
        raise ValueError("not an MS-OVBA compressed container")
    out = bytearray()
    pos = 1
    while pos < len(buf):
        header = struct.unpack_from("<H", buf, pos)[0]
        end = min(pos + (header & 0x0FFF) + 3, len(buf))
        pos += 2
        start = len(out)
        if not header & 0x8000:
            out += buf[pos:pos + 4096]
            pos += 4096
            continue
        while pos < end:
            flags = buf[pos]
            pos += 1
            for bit in range(8):
                if pos >= end:
                    break
                if not (flags >> bit) & 1:
                    out.append(buf[pos])
                    pos += 1
                    continue
                token = struct.unpack_from("<H", buf, pos)[0]
                pos += 2
                diff = len(out) - start
                bits = max(math.ceil(math.log2(diff)) if diff > 1 else 0, 4)
                length = (token & (0xFFFF >> bits)) + 3
                offset = (token >> (16 - bits)) + 1
                for _ in range(length):
                    out.append(out[-offset])
        pos = end
    return bytes(out)


def vba_modules(vba_project: bytes) -> dict[str, str]:
    """Module name -> VBA source text of a ``vbaProject.bin``."""
    streams = cfb_streams(vba_project)
    d = ovba_decompress(streams["VBA/dir"])
    pos, codepage = 0, 1252
    modules: list[dict[str, Any]] = []
    while pos + 6 <= len(d):
        rid, size = struct.unpack_from("<HI", d, pos)
        pos += 6
        if rid == 0x0009:  # PROJECTVERSION: its Size field is 4 but 6 bytes follow
            size = 6
        value = d[pos:pos + size]
        pos += size
        if rid == 0x0003:
            codepage = struct.unpack("<H", value)[0]
        elif rid == 0x0019:
            modules.append({"name": value.decode(f"cp{codepage}", "replace")})
        elif rid == 0x001A and modules:
            modules[-1]["stream"] = value.decode(f"cp{codepage}", "replace")
        elif rid == 0x0031 and modules:
            modules[-1]["offset"] = struct.unpack("<I", value)[0]
        elif rid == 0x0010:
            break
    out = {}
    for m in modules:
        raw = streams["VBA/" + m["stream"]]
        out[m["name"]] = ovba_decompress(raw[m["offset"]:]).decode(f"cp{codepage}", "replace")
    return out


# --------------------------------------------------------------------------- fills
def colored_cells(actions: Iterable[dict[str, Any]] | dict[str, Any], sheet_names: list[str]
                  ) -> dict[tuple[str, str], str | None]:
    """``{(sheet name, "C5"): "#RRGGBB" or None}`` for every cell a ``setRangeColors`` /
    ``setRangeColor`` action touched (last one wins); ``sheet_names`` are the workbook's
    sheets before the actions (added and deleted sheets are tracked)."""
    if isinstance(actions, dict):
        actions = actions["actions"]
    names = list(sheet_names)
    out: dict[tuple[str, str], str | None] = {}
    for a in actions:
        func = a["func"]
        if func == "addSheet":
            names.insert(a["args"][0], a["args"][1])
        elif func == "sheetDelete":
            names.pop(a["sheet_position"])
        elif func in ("setRangeColors", "setRangeColor"):
            name = names[a["sheet_position"]]
            for r in range(a["row_count"]):
                for c in range(a["column_count"]):
                    color = a["args"][0][r][c] if func == "setRangeColors" else a["args"][0]
                    if color != "keep":
                        color = color.upper() if isinstance(color, str) else color
                        out[(name, f"{col_letter(a['start_column'] + c + 1)}{a['start_row'] + r + 1}")] = color
    return out
