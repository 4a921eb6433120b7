"""The xlwings adapter: the "刷新分类" button, run inside the open workbook.

One module of about 600 lines on purpose: xlwings Lite loads the button's code as one
unit, and reading the open book, writing the plan back in batched calls and restoring
marks share the same range and colour helpers.

Two ways run this code from a button, and both end in :func:`refresh_book`:

* classic xlwings (Windows/macOS Excel + a local Python): the button in the .xlsm built
  by ``khbook template --macro`` calls the VBA macro ``SampleCall`` (the standalone
  xlwings VBA module, see :mod:`khbook.template.macro`), which runs ``import <stem>; <stem>.main()``
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
:func:`refresh_book`          one block per run of adjacent computed columns, the fills
                              above per marked sheet (previous marks cleared in the same
                              call), 3 x :func:`recreate_sheet`, <= 8 column-width calls
                              per new sheet. Measured on the remote engine: 28 actions for
                              20 customers, 30 for 2,000 (tests/test_xlwings_remote.py)
============================  ==========================================================

Not written through xlwings (one call per cell): cell comments and hyperlinks (the 异常清单
cell column stays text), and the 分类汇总 charts; ``khbook refresh`` writes them into a copy.
Text that Excel would re-parse on entry (numbers, dates, formulas) is written with Excel's
quote prefix (:func:`as_text`), so it stays text as in the file.

Nothing here imports xlwings at module level: khbook works without it, and the import
happens inside the functions that need it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from khbook.base.excel import ERROR_CODES, MARK_COLOURS, col_letters
from khbook.spec.vocabulary import words

if TYPE_CHECKING:
    from khbook.annotate.plan import Plan
    from khbook.read.rawbook import RawBook
    from khbook.report.report import Report
    from khbook.spec import Spec

#: Excel refuses a range address (``Range("A1,C3,...")``) longer than this.
MAX_ADDRESS_LEN = 255
#: ``Range.set_colors`` accepts at most this many cells per call (xlwings >= 0.37.5).
SET_COLORS_MAX_CELLS = 10_000

Color = str | tuple[int, int, int] | None
Cell = str | tuple[int, int]

_A1 = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d+)$")


# --------------------------------------------------------------------------- addresses
col_letter = col_letters  # 1 -> A, 27 -> AA (one home: khbook.base.excel)


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




def read_sheets(book: Any, *, errors: dict[str, dict[tuple[int, int], str]] | None = None
                ) -> dict[str, list[list[Any]]]:
    """Every sheet's values, anchored at A1 (row 0 = Excel row 1, column 0 = column A).

    One ``.value`` read per sheet over ``A1:<last cell of the used range>``, so cell
    coordinates stay right when the used range starts below or right of A1. Blanks are
    None, whole numbers are floats, datetimes at midnight are dates (as python-calamine
    reads a file). Error cells (``#N/A``) become None; pass ``errors`` to collect them as
    ``{sheet: {(row0, col0): "#N/A"}}`` (what :class:`khbook.read.rawbook.RawSheet` keeps).
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
                if isinstance(value, str) and value in ERROR_CODES:
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


# --------------------------------------------------------------------------- the refresh
#: Fill colours of khbook's marks (the same as the annotated copy's conditional formats).
MARK_COLORS: dict[str, str] = {kind: "#" + rgb for kind, rgb in MARK_COLOURS.items()}
#: Header of a computed column that khbook added (the annotated copy's COMPUTED_FILL).
HEADER_MARK_COLOR = "#D9D9D9"

#: A CJK ideograph that is not part of a date or time ("2026年9月1日" is a date to Excel).
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_DATE_CJK = frozenset(str(words("dates", "excel_date_chars")))
_FORMULA_START = ("=", "+", "-", "@", "'")
#: Most column-width runs a new sheet gets (one call each); more collapse into one call.
MAX_WIDTH_CALLS = 8


def as_text(value: Any) -> Any:
    """A string Excel could re-parse (a number, date, time, boolean, error or formula) gets
    Excel's text prefix ``'`` (not part of the value: Excel stores the text as typed, with
    its quote-prefix flag). Strings with a plain CJK word ("高价值", "62万") and non-strings
    are returned as they are.
    """
    if not isinstance(value, str) or value == "":
        return value
    if value.startswith(_FORMULA_START) or not any(ch not in _DATE_CJK for ch in _CJK.findall(value)):
        return "'" + value
    return value


def raw_from_book(book: Any) -> RawBook:
    """The open ``book`` as a :class:`~khbook.read.rawbook.RawBook` (what ``load_raw`` gives for a file).

    One ``.value`` read per sheet (:func:`read_sheets`); hidden state from ``sheet.visible``;
    error cells into ``RawSheet.errors``; the 1904 date system where the engine exposes it
    (classic Excel: ``Workbook.Date1904``), else False; ``path`` is the workbook's name.
    """
    from khbook.read.rawbook import RawBook, RawSheet

    errors: dict[str, dict[tuple[int, int], str]] = {}
    grids = read_sheets(book, errors=errors)
    sheets = []
    for sheet in book.sheets:
        try:
            hidden = not sheet.visible
        except Exception:  # an engine that cannot say: treat as visible
            hidden = False
        sheets.append(RawSheet(sheet.name, grids[sheet.name], hidden, errors.get(sheet.name, {})))
    name = str(book.name)
    return RawBook(name, sheets, _date1904(book), "xlsm" if name.lower().endswith(".xlsm") else "xlsx")


def _date1904(book: Any) -> bool:
    try:
        api = book.api
        if isinstance(api, dict):  # remote engine / xlwings Lite: not in the payload
            return False
        value = getattr(api, "Date1904", None)  # Windows (COM)
        if value is None:
            value = api.date_1904.get()  # macOS (appscript)
        return bool(value)
    except Exception:
        return False


def _restore_color(report: Any, spec: Any, sheet: str, cell: tuple[int, int]) -> Color:
    """The fill a previously marked cell goes back to: the template's fill of its column
    (computed/derived data cells, template header cells), else no fill."""
    from khbook.template.styles import DATA_STYLE, HEADER_STYLE, column_state

    book = report.book
    table = next((t for t in (book.tables.values() if book else []) if t.name == sheet), None)
    if table is None:
        return None
    row, col = cell
    for key, info in table.columns.items():
        if info.index + 1 != col:
            continue
        try:
            state = column_state(spec.sheet(table.key).column(key))
        except Exception:
            return None
        if row == table.header_row:
            return HEADER_STYLE.get(state, {}).get("bg_color")
        if row > table.header_row:
            return DATA_STYLE.get(state, {}).get("bg_color")
    return None


def previous_marks(raw: RawBook, spec: Any) -> dict[str, set[tuple[int, int]]]:
    """Cells khbook coloured last time, from the previous 异常清单 (either language):
    its 工作表 and 单元格 columns list every marked cell. ``{sheet: {(row, col)}}``."""
    from khbook.spec import LANGS

    names = {spec.output_sheets["findings"](lang).casefold() for lang in LANGS}
    sheet_heads = {spec.text_list("annotated.findings_columns", lang)[1] for lang in LANGS}
    cell_heads = {spec.text_list("annotated.findings_columns", lang)[2] for lang in LANGS}
    out: dict[str, set[tuple[int, int]]] = {}
    for rs in raw.sheets:
        if rs.name.casefold() not in names or not rs.rows:
            continue
        header = [str(v).strip() if v is not None else "" for v in rs.rows[0]]
        sc = next((i for i, h in enumerate(header) if h in sheet_heads), None)
        cc = next((i for i, h in enumerate(header) if h in cell_heads), None)
        if sc is None or cc is None:
            continue
        for row in rs.rows[1:]:
            if max(sc, cc) >= len(row) or not row[sc] or not row[cc]:
                continue
            try:
                out.setdefault(str(row[sc]), set()).add(cell_tuple(str(row[cc])))
            except ValueError:
                continue
    return out


def _current(grid: list[list[Any]], row: int, col: int) -> Any:
    if row - 1 < len(grid) and col - 1 < len(grid[row - 1]):
        return grid[row - 1][col - 1]
    return None


def _keeps(error: bool) -> bool:
    """Can a gap cell be written back unchanged? Not an error cell (``#N/A`` reads as blank)."""
    return not error


def _column_runs(writes: Mapping[str, Any], grid: list[list[Any]],
                 errors: Mapping[tuple[int, int], str]) -> list[tuple[int, int, list[list[Any]]]]:
    """``{ref: value}`` -> blocks ``(top row, left col, 2-D values)``, 1-based.

    Each column's writes become one run from its first to its last written row; gaps
    carry the cell's current value (strings through :func:`as_text`, so text stays text).
    Adjacent columns are merged into one block when no gap cell of the merged rectangle is
    an error cell; an error cell (which reads as blank) splits its column's run instead.
    """
    by_col: dict[int, dict[int, Any]] = {}
    for ref, value in writes.items():
        row, col = cell_tuple(ref)
        by_col.setdefault(col, {})[row] = value

    def gap_ok(row: int, col: int) -> bool:
        return _keeps((row - 1, col - 1) in errors)

    def cell(row: int, col: int) -> Any:
        return as_text(by_col.get(col, {}).get(row, _current(grid, row, col)))

    blocks: list[tuple[int, int, list[list[Any]]]] = []
    cols = sorted(by_col)
    groups: list[list[int]] = []
    for col in cols:
        if groups and groups[-1][-1] == col - 1:
            groups[-1].append(col)
        else:
            groups.append([col])
    for group in groups:
        top = min(min(by_col[c]) for c in group)
        bottom = max(max(by_col[c]) for c in group)
        if all(r in by_col[c] or gap_ok(r, c) for c in group for r in range(top, bottom + 1)):
            blocks.append((top, group[0], [[cell(r, c) for c in group] for r in range(top, bottom + 1)]))
            continue
        for c in group:  # fall back: per column, split at the cells that cannot be rewritten
            rows = by_col[c]
            run: list[int] = []
            for r in range(min(rows), max(rows) + 2):
                if r <= max(rows) and (r in rows or gap_ok(r, c)):
                    run.append(r)
                    continue
                while run and run[-1] not in rows:
                    run.pop()
                if run:
                    blocks.append((run[0], c, [[cell(x, c)] for x in run]))
                run = []
    return blocks


def _widths(sheet: Any, widths: Mapping[str, float], remote: bool) -> int:
    """Column widths (characters), one call per run of adjacent columns of equal width;
    more than :data:`MAX_WIDTH_CALLS` runs collapse into one call at the widest width."""
    cols = sorted((cell_tuple(f"{letter}1")[1], w) for letter, w in widths.items())
    if not cols:
        return 0
    runs = 1 + sum(1 for a, b in zip(cols, cols[1:], strict=False) if b[0] != a[0] + 1 or b[1] != a[1])
    if runs > MAX_WIDTH_CALLS:
        width = max(w for _, w in cols)
        cols = [(c, width) for c in range(cols[0][0], cols[-1][0] + 1)]
    calls = 0
    i = 0
    while i < len(cols):
        j = i
        while j + 1 < len(cols) and cols[j + 1][0] == cols[j][0] + 1 and cols[j + 1][1] == cols[i][1]:
            j += 1
        width = cols[i][1]
        # the remote engine (Office.js) takes points; classic Excel takes characters
        value = round((width * 7 + 5) * 0.75, 2) if remote else width
        sheet.range((1, cols[i][0]), (1, cols[j][0])).column_width = value
        calls += 1
        i = j + 1
    return calls


@dataclass
class BookRefresh:
    """What :func:`refresh_book_result` did: the report, the plan, the message, the write calls."""

    report: Report
    plan: Plan
    message: str
    calls: int = 0
    calls_by_step: dict[str, int] = field(default_factory=dict)


def refresh_book_result(book: Any, *, as_of: dt.date | None = None, lang: str = "zh",
                        spec: Spec | None = None, now: dt.datetime | None = None) -> BookRefresh:
    """:func:`refresh_book` with everything it did (for tests and callers that want counts)."""
    from khbook.pipeline import plan_refresh
    from khbook.spec import load_spec

    spec = spec or load_spec()
    raw = raw_from_book(book)
    report, plan = plan_refresh(raw, spec, as_of=as_of or dt.date.today(), lang=lang, now=now)
    remote = is_remote(book)
    steps: dict[str, int] = {"values": 0, "fills": 0, "sheets": 0, "widths": 0}
    grids = {rs.name: rs for rs in raw.sheets}
    previous = previous_marks(raw, spec)
    marked = 0

    # 1. the data sheets: computed columns (column blocks), then marks (fills)
    planned = {p.sheet: p for p in plan.sheets}
    for name in [s.name for s in book.sheets]:
        sp = planned.get(name)
        old = previous.get(name, set())
        if sp is None and not old:
            continue
        sheet = book.sheets[name]
        rs = grids[name]
        if sp is not None:
            for top, left, block in _column_runs(sp.writes, rs.rows, rs.errors):
                steps["values"] += write_block(sheet, top, left, block)
            if sp.new_columns:
                steps["widths"] += _widths(sheet, sp.new_columns, remote)
        colors: dict[tuple[int, int], Color] = {}
        for cell in old:
            colors[cell] = _restore_color(report, spec, name, cell)
        if sp is not None:
            for ref in sp.header_marks:
                colors[cell_tuple(ref)] = HEADER_MARK_COLOR
            for ref, (kind, _comment) in sp.marks.items():
                colors[cell_tuple(ref)] = MARK_COLORS.get(kind, MARK_COLORS["info"])
                marked += 1
        by_color: dict[Color, list[tuple[int, int]]] = {}
        for cell, color in colors.items():
            by_color.setdefault(color, []).append(cell)
        steps["fills"] += fill_cells(sheet, by_color)

    # 2. the three sheets khbook owns, recreated: one value write each, widths, severity fills
    for ns in plan.new_sheets:
        sheet, calls = recreate_sheet(book, ns.name, _plain_rows(ns.rows))
        steps["sheets"] += calls
        steps["widths"] += _widths(sheet, ns.widths, remote)
        fills: dict[Color, list[str]] = {}
        for ref, kind in ns.fills.items():
            fills.setdefault(MARK_COLORS.get(kind, MARK_COLORS["info"]), []).append(ref)
        steps["fills"] += fill_cells(sheet, fills)

    counts = report.counts
    texts = spec.texts("xlwings", lang)  # labels.yaml
    parts = [
        texts["done"].format(customers=len(report.customers), error=counts.get("error", 0),
                             warning=counts.get("warning", 0), info=counts.get("info", 0),
                             changed=len(plan.changes), filled=plan.filled, marked=marked),
        texts["sheets"].format(names=texts["name_sep"].join(n.name for n in plan.new_sheets)),
    ]
    if any(p.marks for p in plan.sheets):
        parts.append(texts["skipped"].format(findings=plan.new_sheets[0].name))
    return BookRefresh(report, plan, "\n".join(parts), sum(steps.values()), steps)


def _plain_rows(rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """Rows of a new sheet as Excel takes them: Decimals as floats, strings through :func:`as_text`."""
    from decimal import Decimal

    return [[as_text(float(v) if isinstance(v, Decimal) else v) for v in row] for row in rows]


# --------------------------------------------------------------------------- entry points
def refresh_book(book: Any, *, as_of: dt.date | None = None, lang: str = "zh", spec: Spec | None = None) -> str:
    """Recompute tiers, tags and findings in the open ``book``; returns a short message.

    The same reader, checks, classifier and plan as ``khbook refresh``
    (:func:`khbook.pipeline.check_raw` + :func:`khbook.annotate.plan.plan_annotation`), applied
    through the xlwings API with batched writes: computed columns as column blocks, marks as
    fills (khbook's previous fills, listed by the previous 异常清单, are cleared first), the
    three output sheets recreated with one value write each. Cell comments are not written
    (one call per cell); the message says so.
    """
    return refresh_book_result(book, as_of=as_of, lang=lang, spec=spec).message


def refresh_caller() -> str:
    """Entry point for classic xlwings ``RunPython``: refresh the workbook that called,
    then show the message in an Excel alert (and the status bar)."""
    import xlwings

    book = xlwings.Book.caller()
    app = book.app
    try:
        app.screen_updating = False
    except Exception:
        pass
    try:
        message = refresh_book(book)
        from khbook.spec import load_spec

        alert_title = load_spec().text("words.button_title", "zh")
    finally:
        try:
            app.screen_updating = True
        except Exception:
            pass
    try:
        app.alert(message, title=alert_title)
    except Exception:  # an Excel without alert support: the status bar still shows it
        app.status_bar = message.splitlines()[0]
    return message
