"""Amounts that look typed in the wrong unit: yuan in a 万元 column (疑似按元填写).

Reps often type ``500000`` (yuan) where the column is in 万元: khbook would read 50 亿元 and
that one customer would swallow every ABC share. A *bare* number (a typed number, or text
that is only digits, separators and a decimal point) in an amount column is suspect when it
is at least ``amount_unit.min_value`` and at least ``amount_unit.median_factor`` times the
median of the column's other positive amounts in the book (or when there are no others).
An amount written with its unit (``5亿``, ``50000万``, ``500000元``) is trusted as written.

A suspect cell gets a warning (rule ``amount_in_yuan``) naming the value in yuan and in
万元, and is returned so the classifier leaves it out (of the ABC total, and of the sums
of deals) until it is corrected.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from statistics import median
from typing import Any

import numpy as np

from khbook.findings import Cell, FindingFactory, StageResult
from khbook.read.model import Book, Table
from khbook.read.parsers import clean_text
from khbook.spec import Spec

_BARE = re.compile(r"\d+(?:\.\d+)?")
_SEPARATORS = re.compile(r"[,\s]")


def is_bare_number(raw: Any) -> bool:
    """A cell value with no unit: a number, or text of digits (thousands separators allowed)."""
    if isinstance(raw, bool):
        return False
    if isinstance(raw, (int, float, Decimal)):
        return True
    text = clean_text(raw) if isinstance(raw, str) else None  # NFKC: a full-width comma becomes ","
    return text is not None and bool(_BARE.fullmatch(_SEPARATORS.sub("", text)))


def _wan(yuan: Decimal) -> str:
    text = f"{(yuan / 10000).quantize(Decimal('0.01')):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def suspect_cells(table: Table, key: str, spec: Spec, untrusted: frozenset[Cell] = frozenset()) -> list[int]:
    """Rows of one amount column whose bare number looks typed in yuan (see the module docstring)."""
    if key not in table.frame.columns or key not in table.raw.columns:
        return []
    unit = spec.rules.amount_unit
    values = table.frame[key].tolist()
    raws = table.raw[key].tolist()
    rows = table.frame.index.tolist()
    # the large amounts first, column-wise (NaN, a blank, is never large), then exactly, cell by cell
    floor = math.nextafter(float(unit.min_value), -math.inf)
    large = np.flatnonzero(np.asarray(values, dtype=float) >= floor).tolist()
    candidates = [i for i in large if values[i] >= unit.min_value and is_bare_number(raws[i])
                  and (table.key, rows[i], key) not in untrusted]
    if not candidates:
        return []
    chosen = set(candidates)
    others = [Decimal(str(v)) for i, v in enumerate(values) if i not in chosen and v == v and v is not None and v > 0]
    if others:
        limit = Decimal(str(median(others))) * unit.median_factor
        candidates = [i for i in candidates if Decimal(str(values[i])) >= limit]
    return [int(rows[i]) for i in candidates]


def amounts_in_yuan(book: Book, spec: Spec, *, untrusted: frozenset[Cell] = frozenset(), lang: str = "zh",
                    file: str = "") -> tuple[StageResult, frozenset[Cell]]:
    """Warn about every suspect amount cell of the book: the warnings, and the suspect cells
    as (sheet key, row, field) (the classifier leaves them out of the ABC total)."""
    ff = FindingFactory(spec, lang, file=file)
    out: set[Cell] = set()
    for sheet in spec.sheets:
        t = book.table(sheet.key)
        if t is None:
            continue
        for col in sheet.columns:
            if col.type != "amount" or col.computed:
                continue
            for row in suspect_cells(t, col.key, spec, untrusted):
                raw = t.raw.at[row, col.key]
                yuan = Decimal(str(t.frame.at[row, col.key]))
                ff.add("amount_in_yuan", sheet=t.name, cell=t.cell(row, col.key), row=row, column=t.header(col.key),
                       field=col.key, customer_id=t.customer_id(row), value=raw, detail=_wan(yuan))
                out.add((t.key, row, col.key))
    return StageResult(tuple(ff.items)), frozenset(out)
