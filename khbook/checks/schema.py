"""Per-column checks as pandera schemas built from the spec, run lazily.

The reader has already parsed every cell on its own (so a bad date never masks the
column's other problems, the pandera "masking" trap). Here the typed values are validated:
required, list membership, uniqueness, amounts >= 0, dates not after the as-of date. Every
failure pandera collects is mapped back to its cell and becomes a finding; failed cells are
then blanked in the typed frame so the classifier only sees values it can trust.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from khbook.findings import Cell, FindingFactory, StageResult
from khbook.read.model import Book, Table
from khbook.spec import Column, Sheet, Spec
from khbook.spec.vocabulary import list_join


def _load_backends() -> None:
    """pandera loads its pandas backends (their check and strategy modules) on its first
    validation: done here, once, with this module's other imports, not inside a first check."""
    probe = pa.Column(None, checks=[pa.Check(lambda s: s.notna(), name="probe")], nullable=True, required=False)
    pa.DataFrameSchema({"probe": probe}).validate(pd.DataFrame({"probe": [1]}), lazy=True)


_load_backends()

# check name (as pandera reports it) -> rule id in checks.yaml
_NOT_NULL = "not_nullable"


def _allowed(values: set[str]) -> pa.Check:
    return pa.Check(lambda s: s.isna() | s.isin(values), name="not_in_list")


def _allowed_multi(values: set[str]) -> pa.Check:
    def allowed(s: pd.Series) -> pd.Series:
        cells = s.tolist()
        ok = {t: all(x in values for x in t) for t in set(cells)}  # each distinct selection once
        return pd.Series(np.fromiter(map(ok.__getitem__, cells), dtype=bool, count=len(cells)), index=s.index)

    return pa.Check(allowed, name="not_in_list")


def _not_blank_multi() -> pa.Check:
    return pa.Check(lambda s: s.map(len) > 0, name=_NOT_NULL)


def _unique() -> pa.Check:
    return pa.Check(lambda s: ~(s.notna() & s.duplicated(keep=False)), name="duplicate")


def _non_negative() -> pa.Check:
    return pa.Check(lambda s: s.isna() | (s >= 0), name="negative_amount")


def _not_after(limit: pd.Timestamp) -> pa.Check:
    return pa.Check(lambda s: s.isna() | (s <= limit), name="future_date")


def column_schema(col: Column, spec: Spec, as_of: dt.date) -> pa.Column:
    checks: list[pa.Check] = []
    nullable = not col.required
    values = spec.list_for(col)
    if col.type == "choice" and values is not None:
        checks.append(_allowed({i.zh for i in values.items}))
    if col.type == "multi" and values is not None:
        checks.append(_allowed_multi({i.zh for i in values.items}))
        if col.required:
            checks.append(_not_blank_multi())
        nullable = True
    if col.unique:
        checks.append(_unique())
    if col.type == "amount":
        checks.append(_non_negative())
    if col.type == "date" and not col.future_ok:
        checks.append(_not_after(pd.Timestamp(as_of)))
    return pa.Column(None, checks=checks, nullable=nullable, required=False, name=col.key)


def sheet_schema(sheet: Sheet, spec: Spec, as_of: dt.date) -> pa.DataFrameSchema:
    """The pandera schema of one sheet (computed columns are not validated: khbook rewrites them)."""
    cols = {c.key: column_schema(c, spec, as_of) for c in sheet.columns if not c.computed}
    # a column without checks that may be blank cannot fail: left out, pandera need not look at it
    cols = {k: c for k, c in cols.items() if c.checks or not c.nullable}
    return pa.DataFrameSchema(cols, name=sheet.key, strict=False, coerce=False)


def failure_cases(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> pd.DataFrame:
    """All failures as a table (column, check, index), collected lazily."""
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        fc = exc.failure_cases
        return fc[fc["index"].notna()][["column", "check", "index"]]
    return pd.DataFrame(columns=["column", "check", "index"])


@dataclass(frozen=True)
class SchemaResult:
    """The per-column stage's findings and untrusted cells, and the cells whose values must be
    blanked before the next stages (every untrusted cell but a duplicate 客户ID, which still
    names its customer)."""

    stage: StageResult
    blank: frozenset[Cell]
    kept: dict[Cell, tuple[str, ...]]  # multi-value cells reduced to their valid items


def validate_book(book: Book, spec: Spec, *, as_of: dt.date, untrusted: frozenset[Cell],
                  lang: str = "zh", file: str = "") -> SchemaResult:
    """Run every sheet's schema over the book; cells already `untrusted` are not reported again."""
    ff = FindingFactory(spec, lang, file=file)
    bad: set[Cell] = set()
    blank: set[Cell] = set()
    kept: dict[Cell, tuple[str, ...]] = {}
    for sheet in spec.sheets:
        table = book.table(sheet.key)
        if table is not None:
            _validate_table(table, sheet, spec, ff, as_of, untrusted, bad, blank, kept)
    return SchemaResult(StageResult(tuple(ff.items), frozenset(bad)), frozenset(blank), kept)


def _validate_table(table: Table, sheet: Sheet, spec: Spec, ff: FindingFactory, as_of: dt.date,
                    untrusted: frozenset[Cell], bad: set[Cell], blank: set[Cell],
                    kept: dict[Cell, tuple[str, ...]]) -> None:
    frame = table.frame
    if frame.empty:
        return
    cases = failure_cases(sheet_schema(sheet, spec, as_of), frame)
    if cases.empty:
        return
    for key, group in cases.groupby("column", sort=False):
        col = sheet.column(str(key))
        info = table.columns.get(col.key)
        for check, rows in group.groupby("check", sort=False):
            found = _report(table, col, str(check), sorted(int(r) for r in rows["index"]), spec, ff, as_of,
                            info is not None, untrusted, kept)
            bad.update((table.key, r, col.key) for r in found)
            if col.key != "customer_id" or check != "duplicate":
                blank.update((table.key, r, col.key) for r in found)


def _report(table: Table, col: Column, check: str, rows: list[int], spec: Spec, ff: FindingFactory,
            as_of: dt.date, present: bool, untrusted: frozenset[Cell],
            kept: dict[Cell, tuple[str, ...]]) -> list[int]:
    """Add the findings of one failed check; return the rows whose cell is now in error (and put
    the valid items of a partly valid multi-value cell in `kept`)."""
    errors: list[int] = []
    raw = dict(zip(table.raw.index.tolist(), table.raw[col.key].tolist(), strict=True)) if present else {}
    typed = table.values(col.key)
    header = table.header(col.key) if present else col.header(ff.lang)
    firsts: dict[Any, int] = {}
    for r in rows:
        cid = table.customer_id(r)
        rawv = raw.get(r)
        common = dict(sheet=table.name, cell=table.cell(r, col.key) or f"A{r}", row=r, column=header,
                      field=col.key, customer_id=cid)
        if (table.key, r, col.key) in untrusted:
            continue  # already reported when the cell was parsed
        if check == _NOT_NULL:
            f = ff.add("required_missing", value=None, **common)
        elif check == "not_in_list":
            values = spec.list_for(col)
            labels = values.labels(ff.lang) if values else []
            sep = list_join(ff.lang)
            allowed = sep.join(labels)
            if col.type == "multi" and values is not None:
                # keep the valid items, name only the unknown ones
                known = {i.zh for i in values.items}
                items = typed[r] or ()
                unknown = [x for x in items if x not in known]
                kept[(table.key, r, col.key)] = tuple(x for x in items if x in known)
                f = ff.add("not_in_list_item", value=sep.join(unknown), allowed=allowed, **common)
            else:
                f = ff.add("not_in_list", value=rawv, allowed=allowed, **common)
        elif check == "duplicate":
            v = typed[r]
            if v not in firsts:
                firsts[v] = r
                continue  # the first occurrence is where the others point to
            other = table.cell(firsts[v], col.key)
            rule = "duplicate_id" if col.key == "customer_id" else "duplicate_value"
            f = ff.add(rule, value=rawv, other=other, **common)
        elif check == "negative_amount":
            f = ff.add("negative_amount", value=rawv, **common)
        elif check == "future_date":
            f = ff.add("future_date", value=typed[r].date(), detail=as_of.isoformat(), **common)
        else:  # a check added to the schema without a rule mapping
            raise AssertionError(f"unmapped schema check {check!r}")
        if f.severity == "error":
            errors.append(r)
    return errors
