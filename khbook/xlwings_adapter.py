"""The xlwings adapter: the "刷新分类" button, run inside the open workbook.

Two ways run this code from a button, and both end in :func:`refresh_book`:

* classic xlwings (Windows/macOS Excel + a local Python): the button in the .xlsm built
  by ``khbook template --macro`` calls the VBA macro ``SampleCall`` (the standalone
  xlwings VBA module, see :mod:`khbook.macro`), which runs ``import <stem>; <stem>.main()``
  where ``<stem>.py`` is the companion file next to the workbook; its ``main()`` calls
  :func:`refresh_caller`.
* xlwings Lite (Python in the browser): a ``main.py`` with an ``@script`` function that
  receives the book and calls :func:`refresh_book`.

In xlwings Lite (and on xlwings' remote engine, which tests use) every write becomes one
queued action that Office.js applies; in classic xlwings every write is a COM/AppleScript
round trip. So the helpers here batch writes and report how many calls they made:

============================  ==========================================================
helper                        write calls
============================  ==========================================================
:func:`read_sheets`           0 (per sheet: one ``used_range`` read, one ``.value`` read)
:func:`write_column_blocks`   1 per contiguous column block, whatever its length
:func:`fill_cells`            remote/Lite: ``ceil(cells in the marked bounding box /
                              10,000)`` ``set_colors`` calls per sheet, all colours in the
                              same matrix; classic: one ``.color`` per colour and per
                              255-character union address (vertical runs are merged into
                              ``C5:C9``, so ~20-40 marked areas a call)
:func:`recreate_sheet`        3 (delete if present, add, one value write)
============================  ==========================================================

Nothing here imports xlwings at module level: khbook works without it, and the import
happens inside the functions that need it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

#: Excel refuses a range address (``Range("A1,C3,...")``) longer than this.
MAX_ADDRESS_LEN = 255
#: ``Range.set_colors`` accepts at most this many cells per call (xlwings >= 0.37.5).
SET_COLORS_MAX_CELLS = 10_000

Color = str | tuple[int, int, int] | None
Cell = str | tuple[int, int]

_A1 = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d+)$")


# --------------------------------------------------------------------------- addresses
def col_letter(col: int) -> str:
    """1 -> A, 27 -> AA."""
    out = ""
    while col > 0:
        col, rem = divmod(col - 1, 26)
        out = chr(65 + rem) + out
    return out


def cell_tuple(cell: Cell) -> tuple[int, int]:
    """``"C5"`` or ``(5, 3)`` -> ``(5, 3)`` (1-based row, column)."""
    if isinstance(cell, tuple):
        return cell
    m = _A1.match(cell.strip())
    if not m:
        raise ValueError(f"not a single-cell A1 address: {cell!r}")
    col = 0
    for ch in m.group(1).upper():
        col = col * 26 + ord(ch) - 64
    return int(m.group(2)), col


def _runs(cells: Iterable[tuple[int, int]]) -> list[str]:
    """Cells -> A1 areas, merging vertical runs in a column (C5,C6,C7 -> C5:C7)."""
    by_col: dict[int, list[int]] = {}
    for row, col in set(cells):
        by_col.setdefault(col, []).append(row)
    areas: list[str] = []
    for col in sorted(by_col):
        rows = sorted(by_col[col])
        start = prev = rows[0]
        for row in [*rows[1:], None]:
            if row is not None and row == prev + 1:
                prev = row
                continue
            letter = col_letter(col)
            areas.append(f"{letter}{start}" if start == prev else f"{letter}{start}:{letter}{prev}")
            if row is not None:
                start = prev = row
    return areas


def union_addresses(cells: Iterable[Cell], limit: int = MAX_ADDRESS_LEN) -> list[str]:
    """Group cells into union addresses (``"A2,C5:C9,D7"``), each at most ``limit`` chars."""
    chunks: list[str] = []
    current = ""
    for area in _runs(cell_tuple(c) for c in cells):
        candidate = f"{current},{area}" if current else area
        if len(candidate) > limit and current:
            chunks.append(current)
            current = area
        else:
            current = candidate
    if current:
        chunks.append(current)
    return chunks


# --------------------------------------------------------------------------- engines
def is_remote(book: Any) -> bool:
    """True for a book on xlwings' remote engine (xlwings Lite, ``xw.Book(json=...)``).

    That engine queues actions for Office.js. It has no union ranges: an address like
    ``"A2,C5"`` silently becomes ``A2``, so fills there go through ``set_colors``.
    """
    impl = getattr(book, "impl", None)
    return type(impl).__module__.endswith("_xlremote") or hasattr(impl, "append_json_action")


# --------------------------------------------------------------------------- reading
def _cell_value(value: Any) -> Any:
    """One value as python-calamine gives it for a file (so both paths read alike)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, dt.datetime):
        value = value.replace(tzinfo=None)
        if value.time() == dt.time(0, 0):
            return value.date()
        return value
    if isinstance(value, str) and value == "":
        return None
    return value


_ERRORS = {"#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!", "#DATA!",
           "#SPILL!", "#CALC!", "#GETTING_DATA", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!"}


def read_sheets(book: Any, *, errors: dict[str, dict[tuple[int, int], str]] | None = None
                ) -> dict[str, list[list[Any]]]:
    """Every sheet's values, anchored at A1 (row 0 = Excel row 1, column 0 = column A).

    One ``.value`` read per sheet over ``A1:<last cell of the used range>``, so cell
    coordinates stay right when the used range starts below or right of A1. Blanks are
    None, whole numbers are floats, datetimes at midnight are dates (as python-calamine
    reads a file). Error cells (``#N/A``) become None; pass ``errors`` to collect them as
    ``{sheet: {(row0, col0): "#N/A"}}`` (what :class:`khbook.rawbook.RawSheet` keeps).
    """
    out: dict[str, list[list[Any]]] = {}
    for sheet in book.sheets:
        used = sheet.used_range
        nrows, ncols = used.shape
        last_row = used.row + nrows - 1
        last_col = used.column + ncols - 1
        raw = sheet.range((1, 1), (last_row, last_col)).options(ndim=2, err_to_str=True).value
        grid: list[list[Any]] = []
        found: dict[tuple[int, int], str] = {}
        for r, row in enumerate(raw or []):
            cells = []
            for c, value in enumerate(row):
                if isinstance(value, str) and value in _ERRORS:
                    found[(r, c)] = value
                    value = None
                cells.append(_cell_value(value))
            grid.append(cells)
        while grid and all(v is None for v in grid[-1]):
            grid.pop()
        if errors is not None and found:
            errors[sheet.name] = found
        out[sheet.name] = grid
    return out


# --------------------------------------------------------------------------- writing
def write_column_blocks(sheet: Any, start_row: int, col_index: int, values: Sequence[Any]) -> int:
    """Write ``values`` down one column from (start_row, col_index), 1-based, in ONE call.

    Returns the number of write calls made (0 for no values, else 1).
    """
    if not values:
        return 0
    end_row = start_row + len(values) - 1
    sheet.range((start_row, col_index), (end_row, col_index)).value = [[v] for v in values]
    return 1


def write_block(sheet: Any, start_row: int, start_col: int, rows: Sequence[Sequence[Any]]) -> int:
    """Write a 2-D block (ragged rows are padded with None) in ONE call; returns calls."""
    if not rows:
        return 0
    width = max((len(r) for r in rows), default=0)
    if width == 0:
        return 0
    block = [list(r) + [None] * (width - len(r)) for r in rows]
    sheet.range((start_row, start_col), (start_row + len(block) - 1, start_col + width - 1)).value = block
    return 1


def _hex(color: Color) -> Color:
    if color is None or isinstance(color, tuple):
        return color
    return color if color.startswith("#") else f"#{color}"


def fill_cells(sheet: Any, cells_by_color: Mapping[Color, Iterable[Cell]]) -> int:
    """Set the fill of many cells with as few calls as the engine allows; returns calls.

    ``cells_by_color`` maps a colour (``"#FFC7CE"``, an RGB tuple, or None to clear the
    fill) to cells (``"C5"`` or ``(row, col)``, 1-based).

    * remote engine / xlwings Lite: one ``set_colors`` matrix over the bounding box of all
      marked cells (unmarked cells are ``...`` = keep), cut into row bands of at most
      10,000 cells; bands without a marked cell are skipped.
    * classic xlwings: per colour, union addresses of at most 255 characters, one
      ``.color`` assignment each.
    """
    cells = {c: [cell_tuple(x) for x in xs] for c, xs in cells_by_color.items()}
    cells = {c: xs for c, xs in cells.items() if xs}
    if not cells:
        return 0
    if is_remote(sheet.book):
        return _fill_matrix(sheet, cells)
    calls = 0
    for color, xs in cells.items():
        for address in union_addresses(xs):
            sheet.range(address).color = _hex(color)
            calls += 1
    return calls


def _fill_matrix(sheet: Any, cells: Mapping[Color, list[tuple[int, int]]]) -> int:
    wanted: dict[tuple[int, int], Color] = {}
    for color, xs in cells.items():
        for x in xs:
            wanted[x] = _hex(color)
    top = min(r for r, _ in wanted)
    bottom = max(r for r, _ in wanted)
    left = min(c for _, c in wanted)
    right = max(c for _, c in wanted)
    width = right - left + 1
    band = max(1, SET_COLORS_MAX_CELLS // width)
    calls = 0
    for r0 in range(top, bottom + 1, band):
        r1 = min(r0 + band - 1, bottom)
        if not any(r0 <= r <= r1 for r, _ in wanted):
            continue
        matrix = [[wanted.get((r, c), ...) for c in range(left, right + 1)] for r in range(r0, r1 + 1)]
        sheet.range((r0, left), (r1, right)).set_colors(matrix)
        calls += 1
    return calls


def recreate_sheet(book: Any, name: str, rows: Sequence[Sequence[Any]]) -> tuple[Any, int]:
    """Delete sheet ``name`` if present, add it after the last sheet, write ``rows`` once.

    Returns ``(sheet, write calls)``: 3 when the sheet existed, else 2 (1 more is never
    needed: the whole table goes in one ``.value`` call).
    """
    calls = 0
    for sheet in list(book.sheets):
        if sheet.name.casefold() == name.casefold():
            sheet.delete()
            calls += 1
            break
    new = book.sheets.add(name=name, after=book.sheets[-1])
    calls += 1
    calls += write_block(new, 1, 1, rows)
    return new, calls


# --------------------------------------------------------------------------- entry points
def refresh_book(book: Any) -> str:
    """Recompute tiers, tags and findings in the open ``book``; returns a short message.

    Pending: wires khbook's reader -> checks -> classifier -> plan (the same code as
    ``khbook refresh``) to the helpers above once the engine lands.
    """
    raise NotImplementedError("khbook's xlwings refresh is not wired to the engine yet")


def refresh_caller() -> str:
    """Entry point for classic xlwings ``RunPython``: refresh the workbook that called."""
    import xlwings

    return refresh_book(xlwings.Book.caller())
