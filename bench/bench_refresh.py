"""Benchmark `khbook refresh` against a bare calamine read and an openpyxl load+save.

    .venv/bin/python bench/bench_refresh.py [--sizes 1000,10000,50000] [--no-openpyxl]
"""

from __future__ import annotations

import argparse
import sys

from common import CALAMINE_READ, HEADER, WORK, measure, table, workbook

REFRESH = """
import datetime as dt
from khbook.pipeline import refresh_file
from khbook.spec import load_spec
spec = load_spec()
t0 = time.perf_counter()
res = refresh_file(PATH, PATH.replace(".xlsx", ".checked.xlsx"), spec=spec, as_of=dt.date(2026, 11, 24))
elapsed = time.perf_counter() - t0
extra = {"findings": len(res.report.findings), "cells_written": sum(len(p.writes) for p in res.plan.sheets)}
"""
OPENPYXL = """
import openpyxl
t0 = time.perf_counter()
wb = openpyxl.load_workbook(PATH)
wb.save(PATH.replace(".xlsx", ".openpyxl.xlsx"))
elapsed = time.perf_counter() - t0
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="1000,10000,50000")
    ap.add_argument("--no-openpyxl", action="store_true", help="skip the (slow) openpyxl round trip")
    args = ap.parse_args()
    print(HEADER)
    for n in (int(x) for x in args.sizes.split(",")):
        path = workbook(n)
        base = measure(CALAMINE_READ, path)
        print(table(n, path, "calamine read", base, None), flush=True)
        print(table(n, path, "khbook refresh", measure(REFRESH, path), base["seconds"]), flush=True)
        if not args.no_openpyxl:
            print(table(n, path, "openpyxl load+save", measure(OPENPYXL, path), base["seconds"]), flush=True)
    for p in WORK.glob("*.checked.xlsx"):
        p.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
