"""Benchmark `khbook check` (and classification) against bare reads of the same file.

For 1k, 10k and 50k customers (~9 rows each over 5 sheets) prints, each measured in a
fresh subprocess: a bare python-calamine read of every sheet, pandas.read_excel with the
calamine engine, the full khbook check (all sheets, all rules, classification), and the
classification alone; wall time (excluding interpreter start and imports) and peak RSS.

    .venv/bin/python bench/bench_check.py [--sizes 1000,10000,50000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / "_work"

SNIPPETS = {
    "calamine read": """
from python_calamine import CalamineWorkbook
t0 = time.perf_counter()
wb = CalamineWorkbook.from_path(PATH)
for n in wb.sheet_names:
    wb.get_sheet_by_name(n).to_python(skip_empty_area=False)
elapsed = time.perf_counter() - t0
""",
    "pandas (calamine)": """
import pandas as pd
t0 = time.perf_counter()
pd.read_excel(PATH, sheet_name=None, engine="calamine")
elapsed = time.perf_counter() - t0
""",
    "khbook check": """
import datetime as dt
from khbook.check import check_file
from khbook.spec import load_spec
spec = load_spec()
t0 = time.perf_counter()
r = check_file(PATH, spec, as_of=dt.date(2026, 11, 24))
elapsed = time.perf_counter() - t0
extra = {"findings": len(r.findings), "customers": len(r.customers)}
""",
    "classify only": """
import datetime as dt
from khbook.check import check_file
from khbook.classify import classify
from khbook.spec import load_spec
spec = load_spec()
r = check_file(PATH, spec, as_of=dt.date(2026, 11, 24))
untrusted = {(t.key, row, k) for t in r.book.tables.values() for (row, k) in t.bad}
t0 = time.perf_counter()
classify(r.book, spec, dt.date(2026, 11, 24), untrusted=untrusted)
elapsed = time.perf_counter() - t0
""",
}


def measure(name: str, path: Path) -> dict:
    code = f"import time, json, resource\nPATH = {str(path)!r}\nextra = {{}}\n" + SNIPPETS[name] + (
        "\nprint(json.dumps({'seconds': elapsed, 'peak_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, **extra}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="1000,10000,50000")
    args = ap.parse_args()
    sys.path.insert(0, str(HERE))
    from gen import generate

    WORK.mkdir(exist_ok=True)
    print(f"{'customers':>9} {'rows':>7} {'MB':>5}  {'measure':<18} {'seconds':>8} {'peak MB':>8}  notes")
    for n in (int(x) for x in args.sizes.split(",")):
        path = WORK / f"check_{n}.xlsx"
        if not path.exists():
            generate(path, n)
        size = path.stat().st_size / 1e6
        base = None
        for name in SNIPPETS:
            m = measure(name, path)
            if name == "calamine read":
                base = m["seconds"]
            ratio = f"x{m['seconds'] / base:.2f} of calamine" if base else ""
            extra = ", ".join(f"{k}={v}" for k, v in m.items() if k not in ("seconds", "peak_mb"))
            print(f"{n:>9} {n * 9:>7} {size:>5.1f}  {name:<18} {m['seconds']:>8.2f} {m['peak_mb']:>8.0f}  {ratio} {extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
