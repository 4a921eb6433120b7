"""Files that are neither a zip package nor a compound file: what they are, in one line.

A CSV or HTML export saved under an .xlsx name, an Excel 2003 XML spreadsheet, a text
file, or unrecognised bytes under a foreign suffix (.xls, .csv, .et, ...). Only the first
64 KB are looked at.
"""

from __future__ import annotations

from pathlib import Path

from khbook.base.errors import Hint, WorkbookError
from khbook.base.xmlsafe import sniff_text
from khbook.read.limits import (
    HINT_CSV,
    HINT_NUMBERS,
    HINT_SAVE_XLSX,
    HINT_WPS,
    HINT_WRONG_FILE,
    HINT_XLS,
    HINT_XLSB,
)
from khbook.spec.vocabulary import words

# Suffixes that are never a workbook khbook reads, with what to do about them.
# (code, message, hint): the code names the message in the `errors` area of labels.yaml.
FOREIGN_SUFFIX: dict[str, tuple[str, str, Hint]] = {
    ".xls": ("xls_suffix", "is an old .xls file", HINT_XLS),
    ".xlsb": ("xlsb_suffix", "is a binary .xlsb workbook", HINT_XLSB),
    ".csv": ("csv_suffix", "is a CSV text file, not an Excel workbook", HINT_CSV),
    ".txt": ("text_file", "is a text file, not an Excel workbook", HINT_SAVE_XLSX),
    ".et": ("wps_et_suffix", "is a WPS .et spreadsheet", HINT_WPS),
    ".ods": ("ods_suffix", "is an OpenDocument spreadsheet", Hint("open_save_xlsx", "open it and save as .xlsx")),
    ".numbers": ("numbers", "is an Apple Numbers file", HINT_NUMBERS),
}


def not_zip_error(p: Path, head: bytes) -> WorkbookError:
    """The refusal for a file whose first bytes (`head`) are not a zip or compound file."""
    suffix = p.suffix.lower()
    text = _as_text(head)
    if text is None:
        if suffix in FOREIGN_SUFFIX:
            code, what, hint = FOREIGN_SUFFIX[suffix]
            return WorkbookError(str(p), what, hint, code=code)
        return WorkbookError(str(p), "is not an Excel workbook (not a zip package; the content is unrecognised)",
                             HINT_WRONG_FILE, code="not_zip")
    low = text.lstrip("\ufeff \t\r\n").lower()
    if low.startswith(("<!doctype html", "<html", "<table")) or "<html" in low[:2048]:
        return WorkbookError(str(p), "looks like a web page (HTML) saved with an Excel name, not a real workbook",
                             HINT_SAVE_XLSX, code="html")
    if "urn:schemas-microsoft-com:office:spreadsheet" in low[:8192]:
        return WorkbookError(str(p), "is an Excel 2003 XML spreadsheet, not .xlsx", HINT_SAVE_XLSX, code="xml2003")
    if suffix == ".csv":  # a genuine CSV, named as one
        return WorkbookError(str(p), "is a CSV text file, not an Excel workbook", HINT_CSV, code="csv_suffix")
    if _looks_like_csv(text):
        return WorkbookError(str(p), "looks like a CSV text file, not an Excel workbook", HINT_CSV,
                             code="csv_text")
    return WorkbookError(str(p), "is a text file, not an Excel workbook", HINT_SAVE_XLSX, code="text_file")


def _as_text(head: bytes) -> str | None:
    """Decode the first bytes as text (UTF-8/UTF-16 with BOM, GB18030), or None for binary."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = sniff_text(head)
    else:
        if b"\x00" in head:
            return None
        for codec in ("utf-8", "gb18030"):
            try:
                text = head.decode(codec)
                break
            except UnicodeDecodeError as exc:
                if exc.start >= len(head) - 4:  # a character cut at the end of the sample
                    text = head[:exc.start].decode(codec, errors="ignore")
                    break
        else:
            return None
    printable = sum(ch.isprintable() or ch in "\t\r\n" for ch in text)
    return text if text and printable >= 0.95 * len(text) else None


def _looks_like_csv(text: str) -> bool:
    lines = [ln for ln in text.splitlines()[:20] if ln.strip()]
    if not lines:
        return False
    for sep in tuple(str(s) for s in words("separators", "csv")):
        counts = [ln.count(sep) for ln in lines]
        if counts[0] >= 1 and sum(c >= 1 for c in counts) >= 0.8 * len(counts):
            return True
    return False
