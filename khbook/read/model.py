"""The in-memory model that flows from the reader through the checks to the classifier.

reader -> :class:`Book` of :class:`Table` (typed frames, cell coordinates kept)
checks -> findings (records) and the set of cells that cannot be trusted
classifier -> :class:`CustomerClass` records

Typed frames: one pandas DataFrame per sheet, index = the Excel row number (1-based),
one column per field key found in the file. Dtypes by spec column type:
  date -> datetime64[ns] (NaT when blank or unreadable)
  amount -> float64 in 万元 (NaN when blank or unreadable)
  integer -> Int64
  choice -> object: the canonical (Chinese) list label, or None
  multi -> object: tuple of canonical labels (empty tuple when blank)
  text, id, phone, email, uscc -> object: the cleaned text, or None
Cells that failed parsing are blank in the typed frame; each stage hands the cells it found
untrustworthy forward (:class:`khbook.findings.StageResult`), and :meth:`Book.masked` gives a
new book with failed cells blanked: no stage mutates another's tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from khbook.base.excel import col_letters
from khbook.findings import Cell, StageResult


def col_letter(index: int) -> str:
    """0-based column index -> Excel letters (0 -> A, 26 -> AA): the reader counts from 0."""
    return col_letters(index + 1)


_BLANK = object()  # Book.masked: "blank this cell"


@dataclass
class ColumnInfo:
    key: str
    header: str          # the header text as found in the file
    index: int           # 0-based column index in the sheet
    letter: str          # Excel column letters


@dataclass
class Table:
    """One spec sheet as found in a workbook."""

    key: str                              # spec sheet key, e.g. "customers"
    name: str                             # sheet name in the file
    header_row: int                       # 1-based row of the header
    columns: dict[str, ColumnInfo]        # field key -> where it is
    frame: pd.DataFrame                   # typed values (see module docstring)
    raw: pd.DataFrame                     # raw cell values as read, same index/columns
    _ids: dict[int, str] | None = field(default=None, repr=False)

    def customer_id(self, row: int) -> str | None:
        """The (cleaned) 客户ID on a row, or None."""
        if self._ids is None:
            s = self.frame["customer_id"] if "customer_id" in self.frame else None
            self._ids = {} if s is None else {r: v for r, v in zip(s.index.tolist(), s.tolist(), strict=True)
                                              if isinstance(v, str)}
        return self._ids.get(row)

    def values(self, key: str) -> dict[int, Any]:
        """row -> typed value of one column (fast repeated lookups)."""
        s = self.frame[key] if key in self.frame else None
        return {} if s is None else dict(zip(s.index.tolist(), s.tolist(), strict=True))  # lists: no per-cell boxing

    def cell(self, row: int, key: str) -> str:
        """`C17`-style address of a field on a row (empty if the column is absent)."""
        info = self.columns.get(key)
        return f"{info.letter}{row}" if info else ""

    def header(self, key: str) -> str:
        info = self.columns.get(key)
        return info.header if info else key


@dataclass
class Book:
    """A workbook as read: the spec sheets found, and what else was there."""

    path: str
    tables: dict[str, Table]              # spec sheet key -> table (absent sheets missing)
    extra_sheets: list[str] = field(default_factory=list)
    date1904: bool = False
    lang: str = "zh"                      # the workbook's own language (its sheet names and headers)

    def table(self, key: str) -> Table | None:
        return self.tables.get(key)

    def masked(self, cells: Iterable[Cell], values: Mapping[Cell, Any] | None = None) -> Book:
        """A new Book whose typed frames have `cells` blanked and `values` put in place (the
        originals are left as they are).

        Only the columns holding such cells are copied; every other column is shared."""
        by_column: dict[tuple[str, str], list[tuple[int, Any]]] = {}
        for key, row, field_key in cells:
            by_column.setdefault((key, field_key), []).append((row, _BLANK))
        for (key, row, field_key), value in (values or {}).items():
            by_column.setdefault((key, field_key), []).append((row, value))
        if not by_column:
            return self
        tables = dict(self.tables)
        for (key, field_key), rows in by_column.items():
            t = tables.get(key)
            if t is None or field_key not in t.frame:
                continue
            frame = t.frame.copy(deep=False)
            column = frame[field_key].copy()
            blank: Any = pd.NA if str(column.dtype) == "Int64" else None
            for row, value in rows:
                if value is not _BLANK:
                    column.at[row] = value
                else:
                    column.at[row] = () if column.dtype == object and isinstance(column.at[row], tuple) else blank
            frame[field_key] = column
            tables[key] = replace(t, frame=frame, _ids=None)
        return replace(self, tables=tables)


@dataclass(frozen=True)
class ReadResult:
    """What the reader hands forward: the book and its read stage's findings and untrusted cells."""

    book: Book
    stage: StageResult


@dataclass
class CustomerClass:
    """The classification of one customer, with a reason for every computed value."""

    customer_id: str
    name: str | None
    owner: str | None
    row: int | None                       # Excel row on the customers sheet
    annual_amount: float | None           # 万元
    value_tier: str                       # canonical labels (lists.yaml, zh)
    abc_class: str
    stage: str
    tags: tuple[str, ...]
    region: str | None
    size_band: str | None
    decision_chain: str | None
    reasons: dict[str, str]               # field key -> reason text

    def to_dict(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id, "name": self.name, "owner": self.owner,
            "annual_amount": self.annual_amount, "value_tier": self.value_tier,
            "abc_class": self.abc_class, "stage": self.stage, "tags": list(self.tags),
            "region": self.region, "size_band": self.size_band,
            "decision_chain": self.decision_chain, "reasons": dict(self.reasons),
        }


