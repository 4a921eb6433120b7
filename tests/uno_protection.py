"""Ask LibreOffice how a workbook's sheet protection behaves when a person types.

Runs under Debian's /usr/bin/python3 (python3-uno), never the project's venv:

    /usr/bin/python3 tests/uno_protection.py WORKBOOK.xlsx ENTRIES.json [PASSWORD]

ENTRIES.json: {"type": [[sheet, cell, text], ...]}. For each entry the script reports
whether the sheet is protected and the cell locked (CellProtection), then types the text
the way a person does (select the cell, dispatch .uno:EnterString, which honours sheet
protection, unlike the API's setString) and reads the cell back. With PASSWORD the file
is opened with it (an encrypted workbook). It prints one JSON line: {"loaded": bool,
"sheets": [names], "protected": {sheet: bool}, "cells": [{"sheet", "cell", "protected",
"locked", "before", "after"}], "error": str}. The private soffice (own profile, own pipe)
is always stopped. Headless soffice survives one refused entry per run, not two in a row.
"""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from uno_validity import _prop, office, open_sheets  # noqa: E402


def run(path: str, entries: dict, password: str | None = None) -> dict:
    result: dict = {"loaded": False, "cells": [], "error": ""}
    try:
        with office() as (ctx, desktop):
            doc = open_sheets(desktop, path, *([_prop("Password", password)] if password is not None else []))
            if doc is None:
                result["error"] = "LibreOffice did not load the file"
                return result
            result["loaded"] = True
            result["sheets"] = list(doc.Sheets.ElementNames)
            result["protected"] = {n: bool(doc.Sheets.getByName(n).isProtected()) for n in result["sheets"]}
            controller = doc.CurrentController
            dispatcher = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.DispatchHelper", ctx)
            for sheet_name, cell_name, text in entries.get("type", []):
                sheet = doc.Sheets.getByName(sheet_name)
                cell = sheet.getCellRangeByName(cell_name)
                before = cell.getString()
                controller.setActiveSheet(sheet)
                controller.select(cell)
                dispatcher.executeDispatch(controller.Frame, ".uno:EnterString", "", 0, (_prop("StringName", text),))
                result["cells"].append({"sheet": sheet_name, "cell": cell_name, "protected": bool(sheet.isProtected()),
                                        "locked": bool(cell.CellProtection.IsLocked), "before": before,
                                        "after": cell.getString()})
            doc.close(True)
    except Exception as exc:  # noqa: BLE001 - reported to the test as text
        result["error"] = f"{type(exc).__name__}: {exc}"
    return result


if __name__ == "__main__":
    with open(sys.argv[2], encoding="utf-8") as fh:
        job = json.load(fh)
    out = run(sys.argv[1], job, sys.argv[3] if len(sys.argv) > 3 else None)
    print(json.dumps(out, ensure_ascii=False))
    sys.exit(0 if out["loaded"] and not out["error"] else 3)
