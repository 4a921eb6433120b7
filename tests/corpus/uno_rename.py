"""Rename sheets in LibreOffice and save the book again as .xlsx (for the conformance corpus).

Runs under Debian's /usr/bin/python3 (python3-uno), never the project's venv:

    /usr/bin/python3 tests/corpus/uno_rename.py SRC.xlsx DST.xlsx OLD=NEW [OLD=NEW ...]

Starts a private headless soffice (tests/uno_validity.py's helpers), renames the sheets as a
user would on the sheet tab, stores with LibreOffice's own Excel 2007-365 filter and prints
one JSON line: {"saved": bool, "sheets": [...], "error": str}.
"""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import uno  # type: ignore[import-not-found]  # noqa: E402
from uno_validity import _prop, office, open_sheets  # type: ignore[import-not-found]  # noqa: E402


def run(src: str, dst: str, renames: dict[str, str]) -> dict:
    result: dict = {"saved": False, "sheets": [], "error": ""}
    try:
        with office() as (_ctx, desktop):
            doc = open_sheets(desktop, src)
            if doc is None:
                result["error"] = "LibreOffice did not load the file"
                return result
            for old, new in renames.items():
                doc.Sheets.getByName(old).setName(new)
            doc.storeToURL(uno.systemPathToFileUrl(os.path.abspath(dst)),
                           (_prop("FilterName", "Calc MS Excel 2007 XML"), _prop("Overwrite", True)))
            result["sheets"] = list(doc.Sheets.ElementNames)
            result["saved"] = os.path.exists(dst)
            doc.close(True)
    except Exception as exc:  # noqa: BLE001 - reported to the caller as text
        result["error"] = f"{type(exc).__name__}: {exc}"
    return result


if __name__ == "__main__":
    pairs = dict(arg.split("=", 1) for arg in sys.argv[3:])
    out = run(sys.argv[1], sys.argv[2], pairs)
    print(json.dumps(out, ensure_ascii=False))
    sys.exit(0 if out["saved"] and not out["error"] else 3)
