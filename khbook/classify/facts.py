"""Per-customer facts for the classifier, aggregated once per sheet (vectorised).

:func:`gather` turns the typed frames of a :class:`~khbook.read.model.Book` into one
:class:`Facts` of numpy arrays, position ``i`` = the ``i``-th distinct customer ID of the
customers sheet (first occurrence wins). Every date is a day number (days since
1970-01-01, time of day dropped, NaN when blank); every amount an integer number of
millionths of a 万元 held in a float64 (exact up to 2**53, i.e. 9 billion 万元), so sums
and threshold comparisons are exact.

Linking: a row of another sheet belongs to a customer when its customer_id equals one of
the customer IDs and the cell (sheet, row, "customer_id") is not untrusted.
A deal's date is its deal_date, else its updated date.

This module knows nothing of labels' meanings beyond the deal stages the caller passes;
the decisions and the reasons live in :mod:`khbook.classify.engine`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from khbook.read.model import Book, Table

EPOCH = dt.date(1970, 1, 1)
MICRO = 1_000_000  # amounts are held in millionths of a 万元 (0.01 元)

Untrusted = set[tuple[str, int, str]]


def day_number(d: dt.date) -> int:
    return (d - EPOCH).days


def day_date(n: float) -> dt.date:
    return EPOCH + dt.timedelta(days=int(n))


def to_days(s: pd.Series | None, n: int) -> np.ndarray:
    """A date column -> float day numbers (NaN for blanks); all-NaN when the column is absent."""
    if s is None:
        return np.full(n, np.nan)
    if not pd.api.types.is_datetime64_any_dtype(s.dtype):
        s = pd.to_datetime(s, errors="coerce")
    v = s.to_numpy(dtype="datetime64[ns]")
    out = v.astype("datetime64[D]").astype("int64").astype("float64")
    out[np.isnat(v)] = np.nan
    return out


def to_micro(s: pd.Series | None, n: int) -> np.ndarray:
    """An amount column (万元) -> integer-valued float millionths (NaN for blanks)."""
    if s is None:
        return np.full(n, np.nan)
    v = pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    return np.round(v * MICRO)


def _col(frame: pd.DataFrame, key: str) -> pd.Series | None:
    return frame[key] if key in frame.columns else None


def is_blank(v: Any) -> bool:
    """None, NaN, NA, NaT, an empty text or an empty tuple."""
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    if isinstance(v, float):
        return v != v
    if isinstance(v, (str, tuple)):
        return not (v.strip() if isinstance(v, str) else v)
    return False


def blank_mask(s: pd.Series, *, multi: bool = False) -> np.ndarray:
    """True where a typed value is blank (None, NaN, NA, NaT, ''; an empty tuple when multi)."""
    if multi:
        return np.fromiter((not v if isinstance(v, tuple) else is_blank(v) for v in s.tolist()), dtype=bool, count=len(s))
    blank = s.isna().to_numpy(dtype=bool)
    if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
        blank = blank | (s == "").to_numpy(dtype=bool, na_value=True)
    return blank


def _objects(s: pd.Series | None, n: int) -> list[Any]:
    """A column as a list with blanks (None, NaN, NA, '') as None."""
    if s is None:
        return [None] * n
    values = s.tolist()
    for i in np.flatnonzero(blank_mask(s)).tolist():
        values[i] = None
    return values


def _untrusted_rows(untrusted: Untrusted, sheet: str) -> set[int]:
    return {r for (s, r, k) in untrusted if s == sheet and k == "customer_id"}


@dataclass
class Linked:
    """The rows of one related sheet that belong to a customer, and whose they are."""

    frame: pd.DataFrame
    codes: np.ndarray  # customer position per row

    @property
    def size(self) -> int:
        return len(self.codes)


def link(table: Table | None, ids: pd.Index, untrusted: Untrusted) -> Linked:
    if table is None or "customer_id" not in table.frame.columns or table.frame.empty:
        return Linked(pd.DataFrame(), np.empty(0, dtype=np.int64))
    f = table.frame
    bad = _untrusted_rows(untrusted, table.key)
    keep = f["customer_id"].notna().to_numpy()
    if bad:
        keep = keep & ~f.index.isin(list(bad))
    f = f[keep]
    codes = ids.get_indexer(f["customer_id"])
    mine = codes >= 0
    return Linked(f[mine], codes[mine].astype(np.int64))


def group(codes: np.ndarray, values: np.ndarray, n: int, how: str) -> np.ndarray:
    """Aggregate values per customer position (NaN skipped) into an array of length n."""
    out = np.full(n, np.nan)
    ok = ~np.isnan(values)
    if not ok.any():
        return out
    s = pd.Series(values[ok]).groupby(codes[ok]).agg(how)
    out[s.index.to_numpy()] = s.to_numpy(dtype="float64")
    return out


def count(codes: np.ndarray, mask: np.ndarray | None, n: int) -> np.ndarray:
    c = codes if mask is None else codes[mask]
    return np.bincount(c, minlength=n).astype(np.int64)


def rank_max(codes: np.ndarray, stages: np.ndarray, labels: list[str], n: int) -> np.ndarray:
    """Per customer, the highest index in `labels` among its stages (-1 when none)."""
    out = np.full(n, -1, dtype=np.int64)
    for i, label in enumerate(labels):
        out[codes[stages == label]] = i  # later labels overwrite earlier ones
    return out


@dataclass
class Facts:
    """Everything the decisions need, one array entry per customer."""

    n: int
    ids: list[str]
    rows: list[int]
    pos: np.ndarray                         # positions of those rows in the customers frame
    dup_rows: dict[int, list[int]]          # position -> later rows with the same ID
    name: list[Any]
    owner: list[Any]
    amount_col: np.ndarray                  # micro 万元 or NaN
    employees: np.ndarray                   # float, NaN when blank
    size_typed: list[Any]
    region_typed: list[Any]
    address: list[Any]
    credit_code: list[Any]
    first_contact: np.ndarray               # day number
    # follow-ups
    fu_rows: np.ndarray                     # linked follow-up rows (dated or not)
    fu_last: np.ndarray                     # latest follow-up day
    fu_due: np.ndarray                      # latest passed next_date (< as-of), day
    # deals
    deal_rows: np.ndarray
    won_sum: np.ndarray                     # micro, won deals in the window (amount rule)
    won_in_window: np.ndarray               # count
    won_in_window_no_amount: np.ndarray     # count
    won_any_amount_stage: np.ndarray        # count of deals at the amount rule's won stage
    won_undated_amount_stage: np.ndarray
    won_count: np.ndarray                   # deals at the stage rule's won stage
    won_first: np.ndarray                   # day
    won_last: np.ndarray                    # day
    won_undated: np.ndarray
    lost_last: np.ndarray                   # day of the latest lost deal
    other_last: np.ndarray                  # day of the latest dated deal of another known stage
    open_rank: np.ndarray                   # index in open_stages of the furthest open deal, -1
    priority_rank: np.ndarray               # index in priority stages, -1
    # needs and contacts
    lift: dict[int, str] = field(default_factory=dict)      # position -> lifting tag
    contacts: np.ndarray = field(default_factory=lambda: np.empty(0))
    role_mask: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))  # bit k = role_names[k]
    role_names: list[str] = field(default_factory=list)

    def roles(self, i: int) -> list[str]:
        m = int(self.role_mask[i]) if len(self.role_mask) else 0
        return [r for k, r in enumerate(self.role_names) if m >> k & 1]


def gather(book: Book, as_of: dt.date, untrusted: Untrusted, *, amount_won: str, window_days: int,
           won: str, lost: str, open_stages: list[str], priority_stages: list[str],
           lift_tags: list[str], suspect: Untrusted | None = None) -> Facts:
    """Aggregate the book into per-customer facts (see the module docstring).

    `suspect`: amount cells (sheet, row, field) that look typed in yuan: a deal's suspect
    actual amount counts as missing.
    """
    today = day_number(as_of)
    ct = book.table("customers")
    cf = ct.frame if ct is not None else pd.DataFrame()
    id_col = _col(cf, "customer_id")
    if id_col is None:
        id_col = pd.Series([None] * len(cf), index=cf.index, dtype=object)
    present = ~blank_mask(id_col)
    dup = id_col.duplicated(keep="first").to_numpy(dtype=bool)
    firsts = np.flatnonzero(present & ~dup)
    dup_rows: dict[int, list[int]] = {}
    later = np.flatnonzero(present & dup)
    if len(later):
        pos = pd.Index(id_col.iloc[firsts]).get_indexer(id_col.iloc[later])
        for p, r in zip(pos.tolist(), cf.index[later].tolist(), strict=True):
            dup_rows.setdefault(p, []).append(int(r))
    sub = cf.iloc[firsts] if len(cf) else cf
    n = len(firsts)
    ids = [str(v) for v in id_col.iloc[firsts].tolist()]
    index = pd.Index(ids, dtype=object)

    emp = _col(sub, "employees")
    employees = (pd.to_numeric(emp, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
                 if emp is not None else np.full(n, np.nan))

    facts = Facts(
        n=n, ids=ids, rows=sub.index.astype('int64').tolist(), pos=firsts, dup_rows=dup_rows,
        name=_objects(_col(sub, "name"), n), owner=_objects(_col(sub, "owner"), n),
        amount_col=to_micro(_col(sub, "annual_amount"), n), employees=employees,
        size_typed=_objects(_col(sub, "size_band"), n), region_typed=_objects(_col(sub, "region"), n),
        address=_objects(_col(sub, "address"), n), credit_code=_objects(_col(sub, "credit_code"), n),
        first_contact=to_days(_col(sub, "first_contact"), n),
        fu_rows=np.zeros(n, np.int64), fu_last=np.full(n, np.nan), fu_due=np.full(n, np.nan),
        deal_rows=np.zeros(n, np.int64), won_sum=np.zeros(n), won_in_window=np.zeros(n, np.int64),
        won_in_window_no_amount=np.zeros(n, np.int64), won_any_amount_stage=np.zeros(n, np.int64),
        won_undated_amount_stage=np.zeros(n, np.int64), won_count=np.zeros(n, np.int64),
        won_first=np.full(n, np.nan), won_last=np.full(n, np.nan), won_undated=np.zeros(n, np.int64),
        lost_last=np.full(n, np.nan), other_last=np.full(n, np.nan),
        open_rank=np.full(n, -1, np.int64), priority_rank=np.full(n, -1, np.int64),
        contacts=np.zeros(n, np.int64), role_mask=np.zeros(n, np.int64),
    )
    if n == 0:
        return facts

    # follow-ups: latest dated interaction; latest planned next date that has passed
    fu = link(book.table("followups"), index, untrusted)
    if fu.size:
        facts.fu_rows = count(fu.codes, None, n)
        d = to_days(_col(fu.frame, "date"), fu.size)
        facts.fu_last = group(fu.codes, d, n, "max")
        nd = to_days(_col(fu.frame, "next_date"), fu.size)
        nd[~(nd < today)] = np.nan
        facts.fu_due = group(fu.codes, nd, n, "max")

    # deals
    de = link(book.table("deals"), index, untrusted)
    if de.size:
        codes = de.codes
        facts.deal_rows = count(codes, None, n)
        stage = np.array(_objects(_col(de.frame, "stage"), de.size), dtype=object)
        d = to_days(_col(de.frame, "deal_date"), de.size)
        upd = to_days(_col(de.frame, "updated"), de.size)
        d = np.where(np.isnan(d), upd, d)
        amount = to_micro(_col(de.frame, "actual_amount"), de.size)
        doubtful = [r for (sh, r, k) in suspect or () if sh == "deals" and k == "actual_amount"]
        if doubtful:
            amount[de.frame.index.isin(doubtful)] = np.nan
        dated = ~np.isnan(d)
        age = today - d
        w_amt = stage == amount_won
        in_window = w_amt & dated & (age >= 0) & (age < window_days)
        facts.won_any_amount_stage = count(codes, w_amt, n)
        facts.won_undated_amount_stage = count(codes, w_amt & ~dated, n)
        facts.won_in_window = count(codes, in_window, n)
        facts.won_in_window_no_amount = count(codes, in_window & np.isnan(amount), n)
        facts.won_sum = np.nan_to_num(group(codes, np.where(in_window, amount, np.nan), n, "sum"))
        w = stage == won
        facts.won_count = count(codes, w, n)
        facts.won_undated = count(codes, w & ~dated, n)
        facts.won_first = group(codes, np.where(w, d, np.nan), n, "min")
        facts.won_last = group(codes, np.where(w, d, np.nan), n, "max")
        lo = stage == lost
        facts.lost_last = group(codes, np.where(lo, d, np.nan), n, "max")
        known = np.array([s is not None for s in stage], dtype=bool)
        facts.other_last = group(codes, np.where(known & ~lo, d, np.nan), n, "max")
        facts.open_rank = rank_max(codes, stage, open_stages, n)
        facts.priority_rank = rank_max(codes, stage, priority_stages, n)

    # needs: tags that lift the value tier (the first lifting tag met, in the rules' order)
    ne = link(book.table("needs"), index, untrusted)
    if ne.size and "tags" in ne.frame.columns and lift_tags:
        tags = ne.frame["tags"].tolist()
        for tg in reversed(lift_tags):  # earlier tags overwrite later ones
            has = np.fromiter((isinstance(t, tuple) and tg in t for t in tags), dtype=bool, count=len(tags))
            for code in np.unique(ne.codes[has]).tolist():
                facts.lift[code] = tg

    # contacts: distinct decision roles as a bit mask per customer
    co = link(book.table("contacts"), index, untrusted)
    if co.size:
        facts.contacts = count(co.codes, None, n)
        if "decision_role" in co.frame.columns:
            role = np.array(_objects(co.frame["decision_role"], co.size), dtype=object)
            known = np.array([r is not None for r in role], dtype=bool)
            names = sorted({str(r) for r in role[known]})
            mask = np.zeros(n, dtype=np.int64)
            for bit, name in enumerate(names):
                mask |= (count(co.codes, role == name, n) > 0).astype(np.int64) << bit
            facts.role_mask, facts.role_names = mask, names
    return facts
