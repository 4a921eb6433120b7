"""The input gate's limits and the hints its modules share.

Each limit is documented in the README ("Safety") and can be raised through the
environment; the gate's modules read them from here at call time (so a test can lower one).
"""

from __future__ import annotations

import os

from khbook.base.errors import Hint


def _env_int(name: str, default: int) -> int:
    try:
        value = int(os.environ.get(name, ""))
    except ValueError:
        return default
    return value if value > 0 else default


MAX_FILE_BYTES = _env_int("KHBOOK_MAX_FILE_BYTES", 200 * 1024**2)
MAX_UNCOMPRESSED_BYTES = _env_int("KHBOOK_MAX_UNCOMPRESSED", 1 * 1024**3)
MAX_MEMBER_RATIO = _env_int("KHBOOK_MAX_MEMBER_RATIO", 200)
RATIO_MIN_BYTES = _env_int("KHBOOK_RATIO_MIN_BYTES", 10 * 1024**2)  # ratio rule applies above this
MAX_MEMBERS = _env_int("KHBOOK_MAX_MEMBERS", 10000)
MAX_PART_BYTES = 64 * 1024**2   # workbook part, [Content_Types].xml, .rels read whole
PROLOG_LIMIT = 1024**2          # bytes scanned for the XML prolog of each part
CHUNK = 1024**2


def mb(n: int) -> str:
    """A byte count for a message: ``"12 MB"``, ``"1.5 GB"``."""
    return f"{n / 1024**2:,.0f} MB" if n < 1024**3 else f"{n / 1024**3:,.1f} GB"


RESAVE = "open it in Excel or WPS and save it again as .xlsx"
HINT_RESAVE = Hint("resave", RESAVE)
HINT_RESEND = Hint("resend", "ask the sender for a fresh copy, or re-save it in Excel")
HINT_CSV = Hint("csv_convert", "open it in Excel or WPS and save it as an Excel workbook (.xlsx) via File > Save As, "
                "or paste its rows into a template written by khbook template")
HINT_PASSWORD = Hint("password", "give its password with --password (or the KHBOOK_PASSWORD environment variable), "
                     "or remove the password in Excel via File > Info > Protect Workbook and save again")
HINT_XLS = Hint("save_as_xlsx_menu", "open it in Excel or WPS and save it as .xlsx via File > Save As > Excel Workbook")
HINT_SAVE_XLSX = Hint("save_as_xlsx", "open it in Excel and save as .xlsx")
HINT_XLSB = Hint("xlsb", "open it in Excel and save it as .xlsx")
HINT_WPS = Hint("wps_et", "open it in WPS and save it as .xlsx via File > Save As > Excel Workbook")
HINT_NUMBERS = Hint("numbers", "export it from Numbers as Excel (.xlsx)")
HINT_GIVE_XLSX = Hint("give_xlsx", "give the .xlsx workbook instead")
HINT_WRONG_FILE = Hint("wrong_file", "check you picked the right file; if Excel opens it, save it again as .xlsx")
HINT_NOT_NORMAL = Hint("not_normal", "this is not a normal workbook: " + RESAVE)
