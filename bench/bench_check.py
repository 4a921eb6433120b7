"""Benchmark `khbook check` (and classification) against bare reads of the same file.

For 1k, 10k and 50k customers (~9 rows each over 5 sheets) prints, each measured in a
fresh subprocess: a bare python-calamine read of every sheet, pandas.read_excel with the
calamine engine, the full khbook check (all sheets, all rules, classification), and the
classification alone; wall time (excluding interpreter start and imports) and peak RSS.

    .venv/bin/python bench/bench_check.py [--sizes 1000,10000,50000]
"""

from __future__ import annotations

import argparse
import sys

from common import CALAMINE_READ, HEADER, measure, table, workbook

SNIPPETS = {
    "calamine read": CALAMINE_READ,
    "pandas (calamine)": """
import pandas as pd
t0 = time.perf_counter()
pd.read_excel(PATH, sheet_name=None, engine="calamine")
elapsed = time.perf_counter() - t0
""",
    "khbook check": """
import datetime as dt
from khbook.pipeline import check_file
from khbook.spec import load_spec
spec = load_spec()
t0 = time.perf_counter()
r = check_file(PATH, spec, as_of=dt.date(2026, 11, 24))
elapsed = time.perf_counter() - t0
extra = {"findings": len(r.findings), "customers": len(r.customers)}
""",
    "classify only": """
import datetime as dt
from khbook.pipeline import check_file
from khbook.classify.engine import classify
from khbook.spec import load_spec
spec = load_spec()
r = check_file(PATH, spec, as_of=dt.date(2026, 11, 24))
untrusted = set(r.untrusted)
t0 = time.perf_counter()
classify(r.book, spec, dt.date(2026, 11, 24), untrusted=untrusted)
elapsed = time.perf_counter() - t0
""",
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="1000,10000,50000")
    args = ap.parse_args()
    print(HEADER)
    for n in (int(x) for x in args.sizes.split(",")):
        path = workbook(n)
        base = None
        for name, snippet in SNIPPETS.items():
            m = measure(snippet, path)
            base = base or m["seconds"]
            print(table(n, path, name, m, base if name != "calamine read" else None), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
