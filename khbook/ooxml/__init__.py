"""A spec-agnostic OOXML package patcher: the engine under ``khbook refresh``.

:func:`write_annotated` writes edits into a *copy* of an .xlsx/.xlsm without an openpyxl
load/save round trip. Every zip member of the input is copied byte-identical (raw, still
compressed) unless it must change; a part that changes is parsed once with
khbook.base.xmlsafe and keeps every element it had (x14 extension blocks, extLst,
mc:AlternateContent, data validations, conditional formats, merged cells, comments,
drawings, charts, pivot caches, VBA, form controls ...).

What it does to the copy:

- **writes**: cell values in existing sheets (rows/cells created in order, <dimension>
  widened). Strings are always text (inline strings), never formulas; a written cell
  loses its formula (see :mod:`khbook.ooxml.sheetxml` for shared/array formulas) and its
  calcChain entry; its style (``s``) is kept, dates get a date number format.
- **marks**: one <conditionalFormatting> per kind whose rule is the constant-true formula
  ``"khbook:<kind>"="khbook:<kind>"`` with a fill dxf; the previous refresh's marks (same
  marker) are removed first, so refreshing twice does not stack. Cell styles are untouched.
- **comments**: legacy comments by author ``khbook`` with VML note shapes; khbook's old
  comments are replaced, other authors' comments are kept and win (the cell is skipped).
- **new sheets**: appended after the existing ones; an existing sheet of the same name
  (khbook's own, from an earlier refresh) is replaced in place, with the parts only it
  used (drawing, charts, comments) removed.
- **replace_sheets**: further existing sheets to delete (khbook's own sheets that this
  run no longer produces); defined names scoped to later sheets are re-indexed.
"""

from __future__ import annotations

import datetime
import decimal
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Collection

Value = str | int | float | decimal.Decimal | datetime.date | datetime.datetime | None


@dataclass
class SheetEdits:
    """Edits to one existing worksheet."""

    sheet: str
    writes: dict[str, Value] = field(default_factory=dict)
    marks: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    new_columns: dict[str, float] = field(default_factory=dict)
    header_marks: dict[str, str] = field(default_factory=dict)


@dataclass
class ChartSpec:
    """A native chart on a new sheet; ranges refer to that sheet."""

    title: str
    kind: str            # "bar" | "column" | "pie"
    categories: str      # e.g. "A2:A5"
    values: str          # e.g. "B2:B5"
    anchor: str          # top-left cell, e.g. "E2" (about 8 columns x 15 rows)


@dataclass
class NewSheet:
    """A sheet khbook generates; row 1 is the header row."""

    name: str
    rows: list[list[Value]]
    widths: dict[str, float] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    fills: dict[str, str] = field(default_factory=dict)
    charts: list[ChartSpec] = field(default_factory=list)
    autofilter: bool = True
    freeze_header: bool = True
    hidden: bool = False


@dataclass
class PatchStats:
    """What write_annotated did (for tests and the CLI)."""

    cells_written: int = 0
    marks: int = 0
    comments_added: int = 0
    comments_removed: int = 0
    comments_skipped: list[str] = field(default_factory=list)   # "Sheet!C5": a user comment is there
    formulas_removed: list[str] = field(default_factory=list)   # "Sheet!C5"
    sheets_added: list[str] = field(default_factory=list)
    sheets_replaced: list[str] = field(default_factory=list)
    sheets_removed: list[str] = field(default_factory=list)
    charts: int = 0
    parts_changed: int = 0     # rewritten or added members
    parts_copied: int = 0      # members copied byte-identical
    parts_removed: int = 0


def write_annotated(src: Path, dst: Path, edits: list[SheetEdits], new_sheets: list[NewSheet], *,
                    replace_sheets: Collection[str] = ()) -> PatchStats:
    """Write `src` with `edits` and `new_sheets` applied to `dst` (atomically); `src` is never modified.

    The patcher (:mod:`khbook.ooxml.patch`, lxml) is imported here, not with this package: the
    plan's data classes above are all the xlwings adapter needs (xlwings Lite has no lxml to spare).
    """
    from khbook.ooxml.patch import write_annotated as write

    return write(src, dst, edits, new_sheets, replace_sheets=replace_sheets)


def marker_formula(kind: str) -> str:
    """The constant-true formula of khbook's conditional format for ``kind`` (see :mod:`khbook.ooxml.sheetxml`)."""
    from khbook.ooxml.sheetxml import marker_formula as formula

    return formula(kind)


__all__ = [
    "ChartSpec", "NewSheet", "PatchStats", "SheetEdits", "Value", "marker_formula", "write_annotated",
]
