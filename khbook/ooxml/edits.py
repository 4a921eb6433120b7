"""What the patcher is asked to do, and what it did: plain records, no XML.

:class:`SheetEdits` (cell writes, marks, new columns on an existing sheet), :class:`NewSheet`
(a sheet khbook generates, with its :class:`ChartSpec` charts) and :class:`PatchStats`. The
refresh plan (:mod:`khbook.annotate`) builds these; :func:`khbook.ooxml.write_annotated`
applies them.
"""

from __future__ import annotations

import datetime
import decimal
from dataclasses import dataclass, field

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
    wrap: frozenset[str] = frozenset()  # column letters whose long texts wrap (rows get a fitting height)
    merges: tuple[str, ...] = ()  # ranges merged into one cell (e.g. "A9:F9" for a note across the sheet)
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
