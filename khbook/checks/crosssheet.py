"""Cross-sheet and logic checks: rule functions over the typed tables.

:func:`run_rules` runs every rule function over the book (with the per-column stage's failed
cells already blanked) and returns the stage's findings and untrusted cells as a value. Each
rule takes the book, the spec and the stage's :class:`Checks` (its finding factory, the as-of
date, the cells earlier stages found untrustworthy, and the cells this stage finds).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from khbook.findings import Cell, FindingFactory, StageResult
from khbook.read import identity
from khbook.read.model import Book, Table
from khbook.spec import Spec


@dataclass
class Checks:
    """One run of the cross-sheet stage: what the rules read (as-of date, earlier untrusted
    cells) and what they produce (findings in `ff`, error cells in `bad`)."""

    ff: FindingFactory
    as_of: dt.date
    untrusted: frozenset[Cell]
    bad: set[Cell] = field(default_factory=set)

    def trusted(self, t: Table, row: int, key: str) -> bool:
        return (t.key, row, key) not in self.untrusted

    def add(self, t: Table, rule: str, row: int, key: str, *, value: object = None, **kw: str) -> None:
        f = self.ff.add(rule, sheet=t.name, cell=t.cell(row, key) or t.cell(row, "customer_id") or f"A{row}", row=row,
                        column=t.header(key), field=key, customer_id=t.customer_id(row), value=value, **kw)
        if f.severity == "error":
            self.bad.add((t.key, row, key))

    def add_many(self, t: Table, rule: str, rows: list[int], key: str, *, values: Iterable[object],
                 details: Iterable[str], others: Iterable[str] | None = None) -> None:
        """:meth:`add` for many rows of one column at once (in the order given)."""
        info = t.columns.get(key) or t.columns.get("customer_id")
        letter = info.letter if info else "A"
        found = self.ff.add_many(rule, sheet=t.name, column=t.header(key), field=key, cells=[f"{letter}{r}" for r in rows],
                                 rows=rows, customer_ids=map(t.customer_id, rows), values=values, details=details,
                                 others=others)
        if found and found[0].severity == "error":
            self.bad.update((t.key, row, key) for row in rows)


RuleFn = Callable[[Book, Spec, Checks], None]


def _ids(t: Table) -> pd.Series:
    return t.frame["customer_id"] if "customer_id" in t.frame else pd.Series(dtype=object)


def _ref(t: Table, row: int, key: str) -> str:
    return f"{t.name}!{t.cell(row, key)}"


def _date(v: object) -> dt.date:
    return pd.Timestamp(v).date()  # type: ignore[arg-type]


def _iso(dates: pd.Series) -> list[str]:
    """The ISO texts of a column of (non-missing) dates, as :func:`_date` then ``isoformat`` give them."""
    return [d.isoformat() for d in dates.dt.date]


def _rows(index: pd.Index) -> list[int]:
    return [int(r) for r in index]


def orphan_ids(book: Book, spec: Spec, ck: Checks) -> None:
    """A 客户ID on another sheet that is not in the customers sheet."""
    customers = book.table("customers")
    known = set(_ids(customers).dropna()) if customers is not None else set()
    for sheet in spec.sheets:
        t = book.table(sheet.key)
        if t is None or sheet.key == "customers" or "customer_id" not in t.frame:
            continue
        col = sheet.column("customer_id")
        if not col.references:
            continue
        ids = t.frame["customer_id"]
        for row, cid in zip(ids.index.tolist(), ids.tolist(), strict=True):
            if cid is not None and cid == cid and cid not in known and ck.trusted(t, row, "customer_id"):
                ck.add(t, "orphan_id", row, "customer_id", value=t.raw.at[row, "customer_id"])


def duplicate_companies(book: Book, spec: Spec, ck: Checks) -> None:
    """The same company (normalised name) under two different 客户ID."""
    t = book.table("customers")
    if t is None or "name" not in t.frame or "customer_id" not in t.frame:
        return
    first: dict[str, tuple[int, str]] = {}
    named = [(row, name, cid) for row, name, cid in zip(t.frame.index.tolist(), t.frame["name"].tolist(),
                                                        t.frame["customer_id"].tolist(), strict=True)
             if isinstance(name, str) and isinstance(cid, str)]
    keys = identity.company_keys([name for _, name, _ in named])
    for (row, name, cid), key in zip(named, keys, strict=True):
        if not key:
            continue
        if key in first:
            frow, fcid = first[key]
            if fcid != cid:
                ck.add(t, "duplicate_company", int(row), "name", value=name, other=f"{t.cell(frow, 'name')} ({fcid})")
        else:
            first[key] = (int(row), cid)


def followup_dates(book: Book, spec: Spec, ck: Checks) -> None:
    """下次跟进时间 before 跟进时间."""
    t = book.table("followups")
    if t is None or "date" not in t.frame or "next_date" not in t.frame:
        return
    f = t.frame
    bad = f[f["date"].notna() & f["next_date"].notna() & (f["next_date"] < f["date"])]
    for row in bad.index:
        ck.add(t, "next_before_followup", int(row), "next_date", value=_date(f.at[row, "next_date"]),
             detail=_date(f.at[row, "date"]).isoformat())


def deal_logic(book: Book, spec: Spec, ck: Checks) -> None:
    """成交 without amount or date; 流失 without reason."""
    t = book.table("deals")
    if t is None or "stage" not in t.frame:
        return
    f = t.frame
    won, lost = spec.rules.stage.won_stage, spec.rules.stage.lost_stage
    is_won = f["stage"] == won
    for key, rule in (("actual_amount", "won_missing_amount"), ("deal_date", "won_missing_date")):
        missing = is_won & (f[key].isna() if key in f else True)
        for row in f.index[missing]:
            if ck.trusted(t, row, key):
                ck.add(t, rule, int(row), key if key in t.columns else "stage", value=None)
    is_lost = f["stage"] == lost
    no_reason = f["loss_reason"].isna() if "loss_reason" in f else True
    for row in f.index[is_lost & no_reason]:
        ck.add(t, "lost_missing_reason", int(row), "loss_reason" if "loss_reason" in t.columns else "stage")


def contact_dates(book: Book, spec: Spec, ck: Checks) -> None:
    """首次接触时间 after a 跟进时间; 成立时间 after 首次接触时间."""
    c = book.table("customers")
    if c is None:
        return
    f = c.frame
    if "founded" in f and "first_contact" in f:
        bad = f[f["founded"].notna() & f["first_contact"].notna() & (f["founded"] > f["first_contact"])]
        for row in bad.index:
            ck.add(c, "founded_after_first_contact", int(row), "founded", value=_date(f.at[row, "founded"]),
                 detail=_date(f.at[row, "first_contact"]).isoformat())
    fu = book.table("followups")
    if fu is None or "first_contact" not in f or "date" not in fu.frame or "customer_id" not in f:
        return
    g = fu.frame[fu.frame["customer_id"].notna() & fu.frame["date"].notna()]
    if g.empty:
        return
    earliest = _per_id(g, "date")
    first_rows = f[f["customer_id"].notna() & ~f["customer_id"].duplicated() & f["first_contact"].notna()]
    e_date = first_rows["customer_id"].map(earliest["date"])  # NaT for a customer with no follow-up: never late
    late = (first_rows["first_contact"] > e_date).to_numpy()
    e_row = first_rows["customer_id"][late].map(earliest["row"])
    ck.add_many(c, "first_contact_after_followup", _rows(first_rows.index[late]), "first_contact",
                values=_iso(first_rows["first_contact"][late]), details=_iso(e_date[late]),
                others=[_ref(fu, int(r), "date") for r in e_row])


def _per_id(g: pd.DataFrame, key: str, *, last: bool = False) -> pd.DataFrame:
    """Per 客户ID of `g` (no blank 客户ID or `key`): the row with the earliest date `key`, the
    first such row on a tie (with `last`: the latest date, the last row). Columns `key` and
    ``row``, indexed by 客户ID."""
    picked = g.iloc[np.argsort(g[key].to_numpy(), kind="stable")]  # g's rows are in sheet order
    picked = picked[~picked["customer_id"].duplicated(keep="last" if last else "first").to_numpy()]
    return pd.DataFrame({key: picked[key].to_numpy(), "row": picked.index.to_numpy()},
                        index=pd.Index(picked["customer_id"].to_numpy(), name="customer_id"))


def freshness(book: Book, spec: Spec, ck: Checks) -> None:
    """No follow-up for N days; overdue 下次跟进时间 with no follow-up since."""
    c = book.table("customers")
    fu = book.table("followups")
    if c is None or "customer_id" not in c.frame:
        return
    stale_days = spec.rules.checks.stale_followup_days
    asof = pd.Timestamp(ck.as_of)
    last = pd.Series(dtype="datetime64[ns]")
    if fu is not None and "date" in fu.frame and "customer_id" in fu.frame:
        last = fu.frame.dropna(subset=["customer_id", "date"]).groupby("customer_id")["date"].max()
    f = c.frame
    first_rows = f[f["customer_id"].notna() & ~f["customer_id"].duplicated()]
    lastd = first_rows["customer_id"].map(last) if len(last) else pd.Series(pd.NaT, index=first_rows.index)
    lastd = pd.to_datetime(lastd)
    since = (asof - lastd).dt.days
    stale = since > stale_days
    ck.add_many(c, "stale_customer", _rows(first_rows.index[stale]), "customer_id", values=_iso(lastd[stale]),
                details=[str(int(d)) for d in since[stale]])
    if "first_contact" in f:
        never = first_rows[lastd.isna()]
        waited = (asof - never["first_contact"]).dt.days
        none = ck.ff.spec.text("words.none", ck.ff.lang)
        late = waited > stale_days
        rows = _rows(never.index[late])
        ck.add_many(c, "stale_customer", rows, "customer_id", values=[none] * len(rows),
                    details=[str(int(d)) for d in waited[late]])
    if fu is None or "next_date" not in fu.frame or "date" not in fu.frame or "customer_id" not in fu.frame:
        return
    g = fu.frame.dropna(subset=["customer_id"])
    due = g[g["next_date"].notna() & (g["next_date"] < asof)]
    if due.empty:
        return
    # per customer, the latest planned date that has passed with no follow-up on or after it
    due = _per_id(due, "next_date", last=True)
    # aligned by 客户ID, compared column-wise (a customer with no dated follow-up compares NaT: kept)
    since = last.reindex(due.index)  # the latest follow-up of each customer
    due = due[~(since >= due["next_date"]).to_numpy()]
    ck.add_many(fu, "overdue_followup", [int(r) for r in due["row"]], "next_date", values=_iso(due["next_date"]),
                details=[str(d) for d in (asof - due["next_date"]).dt.days])


ALL_RULES: tuple[RuleFn, ...] = (orphan_ids, duplicate_companies, followup_dates, deal_logic, contact_dates, freshness)


def run_rules(book: Book, spec: Spec, *, as_of: dt.date, untrusted: frozenset[Cell], lang: str = "zh",
              file: str = "") -> StageResult:
    """Run every cross-sheet rule; cells in `untrusted` are not reported again."""
    ck = Checks(FindingFactory(spec, lang, file=file), as_of, untrusted)
    for fn in ALL_RULES:
        fn(book, spec, ck)
    return StageResult(tuple(ck.ff.items), frozenset(ck.bad))
