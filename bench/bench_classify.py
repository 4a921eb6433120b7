"""Micro-benchmark of the classifier on typed frames built directly (no workbook, no reader).

Per customer: 2 contacts, 3 follow-ups, 1 needs row and 2 deals (8 related rows: 400k
for 50k customers), with realistic blanks. Prints the best of a few runs of
classify() and summarize().

    .venv/bin/python bench/bench_classify.py [--customers 50000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

import numpy as np
import pandas as pd

from khbook.classify.engine import classify, summarize
from khbook.read.model import Book, ColumnInfo, Table, col_letter
from khbook.spec import Spec, load_spec

AS_OF = dt.date(2026, 11, 24)


def _table(spec: Spec, key: str, data: dict[str, object]) -> Table:
    n = len(next(iter(data.values())))  # type: ignore[arg-type]
    index = pd.Index(np.arange(2, n + 2), dtype="int64", name="row")
    frame = pd.DataFrame({k: pd.Series(v, index=index) if not isinstance(v, pd.Series) else v.set_axis(index)
                          for k, v in data.items()}, index=index)
    sheet = spec.sheet(key)
    columns = {k: ColumnInfo(k, sheet.column(k).header.zh, j, col_letter(j)) for j, k in enumerate(frame.columns)}
    return Table(key, sheet.name.zh, 1, columns, frame, frame)


def _dates(rng: np.random.Generator, n: int, max_days: int, blank: float = 0.0) -> pd.Series:
    d = np.datetime64(AS_OF, "ns") - rng.integers(0, max_days, n).astype("timedelta64[D]")
    s = pd.Series(d.astype("datetime64[ns]"))
    if blank:
        s[rng.random(n) < blank] = pd.NaT
    return s


def _pick(rng: np.random.Generator, labels: list[str], n: int, blank: float = 0.0) -> pd.Series:
    v = np.array(labels, dtype=object)[rng.integers(0, len(labels), n)]
    if blank:
        v[rng.random(n) < blank] = None
    return pd.Series(v, dtype=object)


def make_book(spec: Spec, n: int, seed: int = 1) -> Book:
    rng = np.random.default_rng(seed)
    lists = {k: v.labels("zh") for k, v in spec.lists.items()}
    ids = np.array([f"KH{i:07d}" for i in range(n)], dtype=object)
    provinces = ["广东省深圳市南山区科技园路1号", "浙江省杭州市西湖区文三路2号", "北京市朝阳区建国路3号",
                 "四川省成都市高新区天府大道4号", "朝阳区某路5号"]
    amount = rng.gamma(1.2, 20, n).round(2)
    amount[rng.random(n) < 0.4] = np.nan
    employees = pd.array(rng.integers(1, 2000, n), dtype="Int64")
    employees[rng.random(n) < 0.3] = pd.NA
    customers = {
        "customer_id": pd.Series(ids, dtype=object),
        "name": pd.Series([f"客户{i}有限公司" for i in range(n)], dtype=object),
        "credit_code": _pick(rng, ["91110000600037341L", "9144030071526726XG", "914403001922038216"], n, 0.2),
        "industry": _pick(rng, lists["industry"], n, 0.02),
        "employees": pd.Series(employees),
        "address": pd.Series([None if a is None else f"{a}{i}室" for i, a in enumerate(_pick(rng, provinces, n, 0.1))],
                             dtype=object),  # distinct addresses, like real data
        "region": _pick(rng, lists["region"], n, 0.5),
        "first_contact": _dates(rng, n, 1500),
        "annual_amount": pd.Series(amount),
        "owner": _pick(rng, [f"销售{i}" for i in range(40)], n),
    }

    def rel(k: int) -> np.ndarray:
        return np.repeat(ids, k)

    contacts = {"customer_id": pd.Series(rel(2), dtype=object), "name": pd.Series(["联系人"] * 2 * n, dtype=object),
                "decision_role": _pick(rng, lists["decision_role"], 2 * n, 0.3)}
    m = 3 * n
    followups = {"customer_id": pd.Series(rel(3), dtype=object), "date": _dates(rng, m, 400, 0.01),
                 "method": _pick(rng, lists["followup_method"], m), "by": _pick(rng, ["张三", "李四"], m),
                 "summary": pd.Series(["沟通"] * m, dtype=object),
                 "next_date": _dates(rng, m, 200, 0.5) + pd.to_timedelta(rng.integers(0, 60, m), unit="D")}
    tags = lists["customer_tag"]
    needs = {"customer_id": pd.Series(ids, dtype=object),
             "tags": pd.Series([tuple(tags[j] for j in range(len(tags)) if (i >> j) % 7 == 1) for i in range(n)], dtype=object)}
    d = 2 * n
    actual = rng.gamma(1.0, 15, d).round(2)
    actual[rng.random(d) < 0.05] = np.nan
    deals = {"customer_id": pd.Series(rel(2), dtype=object), "stage": _pick(rng, lists["deal_stage"], d),
             "actual_amount": pd.Series(actual), "deal_date": _dates(rng, d, 900, 0.1), "updated": _dates(rng, d, 300)}
    tables = {k: _table(spec, k, v) for k, v in
              (("customers", customers), ("contacts", contacts), ("followups", followups), ("needs", needs), ("deals", deals))}
    return Book("bench.xlsx", tables)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--customers", type=int, default=50_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    spec = load_spec()
    t0 = time.perf_counter()
    book = make_book(spec, args.customers)
    related = sum(len(t.frame) for k, t in book.tables.items() if k != "customers")
    print(f"built {args.customers} customers + {related} related rows in {time.perf_counter() - t0:.2f} s")
    untrusted = {("deals", 5, "customer_id"), ("customers", 3, "annual_amount")}
    best_c = best_s = best_cpu = float("inf")
    out = []
    for _ in range(args.repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = classify(book, spec, AS_OF, untrusted=untrusted)
        best_c = min(best_c, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
        t0 = time.perf_counter()
        s = summarize(out, spec)
        best_s = min(best_s, time.perf_counter() - t0)
    print(f"classify: {best_c:.3f} s wall, {best_cpu:.3f} s CPU for {len(out)} customers (best of {args.repeat})")
    print(f"summarize: {best_s:.3f} s")
    print("stage:", s["stage"])
    print("value_tier:", s["value_tier"], " abc:", s["abc_class"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
