"""Ask LibreOffice which cells of a workbook are invalid by its own data-validity rules.

Runs under Debian's /usr/bin/python3 (python3-uno), never the project's venv:

    /usr/bin/python3 tests/uno_validity.py WORKBOOK.xlsx ENTRIES.json

ENTRIES.json: {"type": [[sheet, cell, value], ...], "check": [sheet, ...]}. A str value is
typed as text (setString), a number as a number (setValue). The script starts a private
headless soffice (own user profile, own pipe), loads the workbook, types the entries, calls
XSheetAuditing.showInvalid() on every sheet to check (LibreOffice draws a detective circle
around each invalid cell) and maps every circle on the sheet's draw page back to the cell
under its centre. It prints one JSON line: {"loaded": bool, "invalid": {sheet: [cells]},
"error": str}. soffice is always terminated (process group kill on timeout).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator

import uno  # type: ignore[import-not-found]
from com.sun.star.beans import PropertyValue  # type: ignore[import-not-found]
from com.sun.star.connection import NoConnectException  # type: ignore[import-not-found]

CONNECT_TIMEOUT = 40.0
SCAN_ROWS = 60
SCAN_COLS = 30


def _prop(name: str, value: object) -> PropertyValue:
    p = PropertyValue()
    p.Name, p.Value = name, value
    return p


def _start(profile: str, pipe: str) -> subprocess.Popen:
    cmd = [
        shutil.which("soffice") or "soffice", f"-env:UserInstallation=file://{profile}", "--headless", "--invisible",
        "--nologo", "--norestore", "--nodefault", "--nolockcheck", "--nofirststartwizard",
        f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext",
    ]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def _connect(pipe: str, proc: subprocess.Popen):
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    deadline = time.monotonic() + CONNECT_TIMEOUT
    while True:
        try:
            return resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
        except NoConnectException:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"cannot connect to soffice (exit status {proc.poll()})") from None
            time.sleep(0.3)


def _stop(proc: subprocess.Popen, desktop) -> None:
    if desktop is not None:
        try:
            desktop.terminate()
        except Exception:  # noqa: BLE001 - the bridge dies with the process
            pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@contextlib.contextmanager
def office() -> Iterator[tuple]:
    """A private headless LibreOffice for one job: yields (component context, desktop); the
    process is stopped and its profile removed however the job ends."""
    profile = tempfile.mkdtemp(prefix="khbook-lo-")
    pipe = f"khbook_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    proc = _start(profile, pipe)
    desktop = None
    try:
        ctx = _connect(pipe, proc)
        desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
        yield ctx, desktop
    finally:
        _stop(proc, desktop)
        shutil.rmtree(profile, ignore_errors=True)


def open_sheets(desktop, path: str, *props: PropertyValue):
    """The spreadsheet at `path`, hidden, or None when LibreOffice does not load it as one."""
    url = uno.systemPathToFileUrl(os.path.abspath(path))
    doc = desktop.loadComponentFromURL(url, "_blank", 0, (_prop("Hidden", True), *props))
    return doc if doc is not None and hasattr(doc, "Sheets") else None


def _type(doc, entries: list) -> None:
    for sheet, cell, value in entries:
        c = doc.Sheets.getByName(sheet).getCellRangeByName(cell)
        if isinstance(value, str):
            c.setString(value)
        else:
            c.setValue(float(value))


def _grid(sheet) -> tuple[list[int], list[int]]:
    """Left x of columns 0..SCAN_COLS and top y of rows 0..SCAN_ROWS (1/100 mm)."""
    xs = [sheet.getCellByPosition(c, 0).Position.X for c in range(SCAN_COLS + 1)]
    ys = [sheet.getCellByPosition(0, r).Position.Y for r in range(SCAN_ROWS + 1)]
    return xs, ys


def _index(edges: list[int], v: float) -> int:
    for i in range(len(edges) - 1):
        if edges[i] <= v < edges[i + 1]:
            return i
    return -1


def _cell_name(col: int, row: int) -> str:
    name, n = "", col + 1
    while n:
        n, r = divmod(n - 1, 26)
        name = chr(65 + r) + name
    return f"{name}{row + 1}"


def _circled(sheet) -> list[str]:
    sheet.showInvalid()
    xs, ys = _grid(sheet)
    cells = []
    page = sheet.DrawPage
    for i in range(page.Count):
        shape = page.getByIndex(i)
        pos, size = shape.Position, shape.Size
        col = _index(xs, pos.X + size.Width / 2)
        row = _index(ys, pos.Y + size.Height / 2)
        cells.append(_cell_name(col, row) if col >= 0 and row >= 0 else f"?{pos.X},{pos.Y}")
    return sorted(cells)


def run(path: str, entries: dict) -> dict:
    result: dict = {"loaded": False, "invalid": {}, "error": ""}
    try:
        with office() as (_ctx, desktop):
            doc = open_sheets(desktop, path)
            if doc is None:
                result["error"] = "LibreOffice did not load the file"
                return result
            result["loaded"] = True
            result["sheets"] = list(doc.Sheets.ElementNames)
            _type(doc, entries.get("type", []))
            doc.calculateAll()
            for name in entries.get("check", []):
                result["invalid"][name] = _circled(doc.Sheets.getByName(name))
            doc.close(True)
    except Exception as exc:  # noqa: BLE001 - reported to the test as text
        result["error"] = f"{type(exc).__name__}: {exc}"
    return result


if __name__ == "__main__":
    with open(sys.argv[2], encoding="utf-8") as fh:
        spec = json.load(fh)
    out = run(sys.argv[1], spec)
    print(json.dumps(out, ensure_ascii=False))
    sys.exit(0 if out["loaded"] and not out["error"] else 3)
