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
import datetime as dt
import json
import os
import random
import shutil
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import xlsxwriter  # noqa: E402
from gen import AS_OF, _uscc  # noqa: E402

from khbook.spec import load_spec  # noqa: E402

REPS = ["张伟", "李娜", "王强", "刘洋", "陈静", "杨帆", "赵磊", "黄敏", "周杰", "吴芳"]


def generate_rep(path: Path, customers: int, seed: int) -> Path:
    """One rep's workbook: `customers` customers, ~1 % of them shared with other reps."""
    spec = load_spec()
    rng = random.Random(seed)
    lists = {n: v.labels("zh") for n, v in spec.lists.items()}
    owner = REPS[seed % len(REPS)]
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    datefmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    sheets = {s.key: wb.add_worksheet(s.name("zh")) for s in spec.sheets}
    cols = {s.key: {c.key: j for j, c in enumerate(s.columns)} for s in spec.sheets}
    for s in spec.sheets:
        for j, col in enumerate(s.columns):
            sheets[s.key].write_string(0, j, col.header("zh"))
    rows = {k: 1 for k in sheets}

    def put(sheet: str, values: dict) -> None:
        ws, r = sheets[sheet], rows[sheet]
        for key, v in values.items():
            j = cols[sheet][key]
            if isinstance(v, dt.date):
                ws.write_datetime(r, j, dt.datetime(v.year, v.month, v.day), datefmt)
            elif isinstance(v, (int, float)):
                ws.write_number(r, j, v)
            elif v is not None:
                ws.write_string(r, j, str(v))
        rows[sheet] += 1

    def day(n: int) -> dt.date:
        return AS_OF - dt.timedelta(days=n)

    for i in range(customers):
        cid = f"KH{seed:03d}{i:04d}"
        bad = rng.random() < 0.02
        shared = rng.random() < 0.01
        name = f"共享示例客户{rng.randint(0, 200)}有限公司" if shared else f"示例客户{seed}-{i}有限公司"
        put("customers", {
            "customer_id": cid, "name": name, "credit_code": _uscc(rng) if not bad else "91110000600037341M",
            "industry": rng.choice(lists["industry"]) if not bad else "新能源", "employees": rng.randint(5, 3000),
            "address": rng.choice(["广东省深圳市南山区", "上海市浦东新区", "北京市海淀区", "浙江省杭州市", "四川省成都市"]) + f"{i}号",
            "source": rng.choice(lists["source"]), "first_contact": day(rng.randint(200, 900)),
            "annual_amount": round(rng.uniform(0, 120), 2) if rng.random() < 0.7 else f"{rng.randint(1, 90)}万",
            "owner": owner,
        })
        for k in range(2):
            put("contacts", {"customer_id": cid, "name": f"联系人{i}-{k}",
                             "mobile": f"13{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}" if not bad else "1395678",
                             "email": f"c{i}{k}@example.com", "decision_role": rng.choice(lists["decision_role"])})
        for k in range(3):
            d0 = rng.randint(1, 400)
            put("followups", {"customer_id": cid, "date": day(d0) if k else f"{day(d0):%Y/%m/%d}",
                              "method": rng.choice(lists["followup_method"]), "by": owner, "summary": "沟通需求与报价",
                              "next_date": day(d0 - 20)})
        put("needs", {"customer_id": cid, "need_type": rng.choice(lists["need_type"]), "keywords": "降本增效；数字化转型",
                      "tags": rng.choice(lists["customer_tag"])})
        for _k in range(2):
            stage = rng.choice(lists["deal_stage"])
            put("deals", {"customer_id": cid, "project": f"项目{i}", "stage": stage, "expected_amount": rng.randint(1, 80),
                          "actual_amount": rng.randint(1, 80) if stage == "成交" else None,
                          "deal_date": day(rng.randint(1, 700)) if stage in ("成交", "流失") else None,
                          "loss_reason": "价格" if stage == "流失" else None, "updated": day(rng.randint(1, 300))})
    wb.close()
    return path


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
import khbook.batch, khbook.refresh, khbook.batch_html, khbook.batch_workbook
from khbook.spec import load_spec
folder, out, jobs, as_of = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
import datetime as dt
spec = load_spec()
t0 = time.perf_counter()
result = khbook.batch.run_batch(folder, out, spec=spec, as_of=dt.date.fromisoformat(as_of), jobs=jobs)
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
