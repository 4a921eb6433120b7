"""Benchmark `khbook batch`: 100 workbooks of 500 customers, --jobs 1 vs all cores.

Workbooks are written with XlsxWriter from the spec headers (like bench/gen.py: ~9 rows
per customer over the five sheets, ~2 % typical mistakes), one rep per file, company
names unique per file except ~1 % shared with other reps (cross-file duplicates); cached
under bench/_work/. Each run is measured in a fresh interpreter (imports excluded, no
warm caches): discovery, refresh of every file with its annotated copy, consolidation and
the three shared outputs. Prints both wall times and the speed-up.

    .venv/bin/python bench/bench_batch.py [--files 100] [--customers 500] [--jobs N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from gen import AS_OF, generate  # noqa: E402

from khbook.spec import load_spec  # noqa: E402

REPS = ["张伟", "李娜", "王强", "刘洋", "陈静", "杨帆", "赵磊", "黄敏", "周杰", "吴芳"]


def generate_rep(path: Path, customers: int, seed: int) -> Path:
    """One rep's workbook: `customers` customers, ~1 % of them shared with other reps."""
    return generate(path, customers, load_spec(), seed, owner=REPS[seed % len(REPS)], id_prefix=f"KH{seed:03d}",
                    shared=0.01)


def _one(args: tuple[str, int, int]) -> str:
    path, customers, seed = args
    generate_rep(Path(path), customers, seed)
    return path


def make_folder(files: int, customers: int, jobs: int) -> Path:
    folder = HERE / "_work" / f"batch_{files}x{customers}"
    stamp = folder / ".complete"
    if stamp.exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    tasks = [(str(folder / f"rep{i:03d}.xlsx"), customers, i + 1) for i in range(files)]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(_one, tasks))
    stamp.write_text("ok")
    print(f"generated {files} workbooks x {customers} customers in {time.perf_counter() - t0:.1f} s")
    return folder


RUN = """
import json, sys, time
import khbook.batch.run, khbook.pipeline, khbook.batch.html, khbook.batch.workbook
from khbook.spec import load_spec
folder, out, jobs, as_of = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
import datetime as dt
spec = load_spec()
t0 = time.perf_counter()
result = khbook.batch.run.run_batch(folder, out, spec=spec, as_of=dt.date.fromisoformat(as_of), jobs=jobs)
print(json.dumps({"elapsed": time.perf_counter() - t0, "totals": result.totals()}))
"""


def timed(folder: Path, jobs: int) -> tuple[float, dict]:
    """One batch run in a fresh interpreter; (seconds, totals)."""
    out = HERE / "_work" / f"batch_out_j{jobs}"
    shutil.rmtree(out, ignore_errors=True)
    proc = subprocess.run([sys.executable, "-c", RUN, str(folder), str(out), str(jobs), AS_OF.isoformat()],
                          capture_output=True, text=True, check=True, cwd=HERE.parent)
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    return data["elapsed"], data["totals"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=100)
    ap.add_argument("--customers", type=int, default=500)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel run's workers (default: all cores)")
    a = ap.parse_args()
    folder = make_folder(a.files, a.customers, a.jobs)
    t1, totals = timed(folder, 1)
    print(f"--jobs 1 : {t1:7.1f} s  ({t1 / a.files:.2f} s per file; {totals['customers']} customers, "
          f"{totals['errors']} errors, {totals['warnings']} warnings, {totals['duplicates']} cross-file duplicates)")
    tn, _ = timed(folder, a.jobs)
    print(f"--jobs {a.jobs} : {tn:7.1f} s  (speed-up {t1 / tn:.2f}x on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
