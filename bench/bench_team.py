"""Benchmark `khbook split` and `khbook merge` on a generated department workbook.

    .venv/bin/python bench/bench_team.py [--sizes 5000,20000]

Split reads the department book once and writes one workbook per owner (4 owners in the
generated book, plus the file for customers without an owner); merge reads them all back
and writes the department book again.
"""

from __future__ import annotations

import argparse
import sys

from common import HEADER, WORK, measure, table, workbook

SPLIT = """
import datetime as dt
from khbook.spec import load_spec
from khbook.team.split import split_book
spec = load_spec()
t0 = time.perf_counter()
res = split_book(PATH, PATH.replace(".xlsx", "-split"), spec=spec, as_of=dt.date(2026, 11, 24))
elapsed = time.perf_counter() - t0
extra = {"files": len(res.files)}
"""
MERGE = """
import datetime as dt
from khbook.spec import load_spec
from khbook.team.merge import merge_dir
spec = load_spec()
t0 = time.perf_counter()
res = merge_dir(PATH.replace(".xlsx", "-split"), PATH.replace(".xlsx", ".merged.xlsx"), spec=spec, as_of=dt.date(2026, 11, 24))
elapsed = time.perf_counter() - t0
extra = {"conflicts": len(res.conflicts)}
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="5000,20000")
    args = ap.parse_args()
    WORK.mkdir(exist_ok=True)
    print(HEADER)
    for n in (int(x) for x in args.sizes.split(",")):
        path = workbook(n)
        print(table(n, path, "khbook split", measure(SPLIT, path), None), flush=True)
        print(table(n, path, "khbook merge", measure(MERGE, path), None), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
