"""One home for Excel's small rules: column letters, cell references, sheet names, error codes,
and the colours of khbook's marks.

Written here rather than imported from ``openpyxl.utils.cell`` or ``xlsxwriter.utility``: those
packages cost a quarter of a second to import, and the xlwings Lite path (Pyodide) and
``khbook check`` need none of the rest of them. Every layer imports these from here.
"""

from __future__ import annotations

import functools

#: Characters Excel forbids in a sheet name.
BAD_SHEET_CHARS = frozenset("[]:*?/\\")

#: Excel's error values, as text (what a cell shows and what readers hand over).
ERROR_CODES = frozenset({
    "#N/A", "#REF!", "#VALUE!", "#DIV/0!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!", "#CALC!", "#DATA!",
    "#GETTING_DATA", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!", "#EXTERNAL!",
    "#PYTHON!", "#N/A!",
})

#: The fill colour (RGB hex) of each kind of mark khbook puts on a cell, in every writer.
MARK_COLOURS = {"error": "FFC7CE", "warning": "FFEB9C", "info": "DDEBF7", "changed": "E2EFDA"}
#: The kinds of mark, in the order their conditional formats are stacked.
MARK_KINDS = tuple(MARK_COLOURS)


@functools.lru_cache(maxsize=16384)
def col_letters(index: int) -> str:
    """1-based column index -> letters (1 -> A, 27 -> AA)."""
    s = ""
    while index:
        index, r = divmod(index - 1, 26)
        s = chr(65 + r) + s
    return s


def col_index(letters: str | bytes) -> int:
    """Column letters -> 1-based index (A -> 1, AA -> 27)."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ch if isinstance(ch, int) else ord(ch)) - 64
    return n


def valid_sheet_name(name: str) -> bool:
    """Excel's rules for a sheet name: 1-31 characters, none of ``[]:*?/\\``, no leading or
    trailing apostrophe, and not the reserved name ``History``."""
    return (1 <= len(name) <= 31 and not BAD_SHEET_CHARS & set(name) and name[0] != "'" and name[-1] != "'"
            and name.casefold() != "history")


def quote_sheet(name: str) -> str:
    """Sheet name for a formula or link reference: always quoted, single quotes doubled."""
    return "'" + name.replace("'", "''") + "'"
