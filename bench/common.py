"""Shared benchmark plumbing: run a snippet in a fresh interpreter, return time and peak RSS."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

WORK = Path(__file__).resolve().parent / "_work"

CALAMINE_READ = """
from python_calamine import CalamineWorkbook
t0 = time.perf_counter()
wb = CalamineWorkbook.from_path(PATH)
for n in wb.sheet_names:
    wb.get_sheet_by_name(n).to_python(skip_empty_area=False)
elapsed = time.perf_counter() - t0
"""


def measure(snippet: str, path: Path) -> dict:
    """Run `snippet` (which sets `elapsed`, may set `extra`) with PATH bound; time excludes imports."""
    code = (f"import time, json, resource\nPATH = {str(path)!r}\nextra = {{}}\n" + snippet
            + "\nprint(json.dumps({'seconds': elapsed, 'peak_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, **extra}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def workbook(n: int) -> Path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from gen import generate

    WORK.mkdir(exist_ok=True)
    path = WORK / f"customers_{n}.xlsx"
    if not path.exists():
        generate(path, n)
    return path


def table(n: int, path: Path, name: str, m: dict, base: float | None) -> str:
    ratio = f"x{m['seconds'] / base:.2f} of calamine" if base else ""
    extra = ", ".join(f"{k}={v}" for k, v in m.items() if k not in ("seconds", "peak_mb"))
    return f"{n:>9} {n * 9:>7} {path.stat().st_size / 1e6:>5.1f}  {name:<22} {m['seconds']:>8.2f} {m['peak_mb']:>8.0f}  {ratio} {extra}"


HEADER = f"{'customers':>9} {'rows':>7} {'MB':>5}  {'measure':<22} {'seconds':>8} {'peak MB':>8}  notes"
