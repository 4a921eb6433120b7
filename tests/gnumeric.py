"""Gnumeric (``ssconvert``) as a third client for the workbooks khbook writes.

:func:`load` converts a workbook to Gnumeric's own format and returns the sheet names
Gnumeric loaded and the messages it printed while reading, normalised (process ids, times
and cell positions dropped, multi-line messages joined). :func:`new_messages` is what an
output adds over its input, apart from :data:`NOT_IMPLEMENTED`: features that Gnumeric
does not implement and reports for every file that has them, whoever wrote it.

Callers skip visibly with :func:`need_ssconvert` when Gnumeric is not installed.
"""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from lxml import etree

TIMEOUT = 120
GNM = "http://www.gnumeric.org/v10.dtd"

# Features Gnumeric 1.12 does not implement: it names them while reading any file that has
# them (Excel's, LibreOffice's, XlsxWriter's, khbook's). Documented in README "Safety".
NOT_IMPLEMENTED: dict[str, str] = {
    # cell comments: Gnumeric reads the comment text from the comments part, but not the
    # VML note shape that shows it
    r"^Unhandled object of type Note$": "VML note shapes of cell comments",
    # the template's duplicate-ID highlight
    r"Ignoring unhandled conditional format of type 'duplicateValues'$": "the duplicate-values conditional format",
    # form-control buttons (the .xlsm template's macro buttons): VML client data and text box
    r"^Unexpected element 'x:(FmlaMacro|TextHAlign|TextVAlign)' in state : "
    r"\{catch all\)\} -> shape -> ClientData$": "form-control button properties",
    r"^Unexpected element '(font|b)' in state : \{catch all\)\} -> shape -> textbox -> div": "form-control button captions",
    r"^Unhandled object of type Button$": "form-control buttons",
    # chart data labels: Gnumeric reads showVal/showCatName/showPercent, not these two flags
    r"^Unexpected element 'c:(showLegendKey|showSerName|showBubbleSize)' in state : "
    r"chartSpace -> chart -> plotArea -> (barChart|pieChart) -> ser -> dLbls$": "chart data-label flags",
    # a sheet name with an apostrophe ('Bob''s'!A1, as Excel writes it) in a formula,
    # defined name or chart range: Gnumeric's parser does not take the doubled quote
    r"At [A-Z]+\d+: '.*''.*' Invalid expression$": "references to a sheet name with an apostrophe",
}

_WARNING = re.compile(r"^\*\* \((ssconvert|gnumeric):\d+\): (WARNING|CRITICAL|ERROR) \*\*: [\d:.]+: ")
_CELL = re.compile(r"^(.+?)![A-Z]{1,3}\d+ : ")


@dataclass
class Loaded:
    ok: bool
    sheets: list[str]
    messages: list[str]
    output: str


def ssconvert() -> str | None:
    return shutil.which("ssconvert")


def need_ssconvert() -> None:
    if ssconvert() is None:
        pytest.skip("Gnumeric (ssconvert) not installed (Debian: gnumeric): third-client check skipped")


def normalise(text: str) -> list[str]:
    """ssconvert's stderr/stdout -> one line per message, without pids, times and cells."""
    out: list[str] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        if line.startswith("\t") and out:
            out[-1] += " " + line.strip()
            continue
        line = _WARNING.sub(lambda m: f"{m.group(2)}: ", line)
        line = _CELL.sub(r"\1 : ", line)
        out.append(line.strip())
    return out


def load(path: Path) -> Loaded:
    """Let Gnumeric read `path` (converted to .gnumeric in a temporary folder)."""
    exe = ssconvert()
    assert exe
    with tempfile.TemporaryDirectory(prefix="khbook-gnm-") as d:
        target = Path(d) / "out.gnumeric"
        proc = subprocess.run([exe, str(path), str(target)], capture_output=True, text=True,
                              timeout=TIMEOUT, env={"HOME": d, "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
        text = proc.stdout + proc.stderr
        sheets: list[str] = []
        if target.exists() and target.stat().st_size:
            root = etree.fromstring(gzip.decompress(target.read_bytes()), etree.XMLParser(huge_tree=True))
            sheets = [el.text or "" for el in root.iter(f"{{{GNM}}}SheetName")]
    return Loaded(proc.returncode == 0 and bool(sheets), sheets, normalise(text), text)


def unexplained(messages: list[str]) -> list[str]:
    """Messages not explained by :data:`NOT_IMPLEMENTED`."""
    return [m for m in messages if not any(re.search(rx, m) for rx in NOT_IMPLEMENTED)]


def new_messages(output: Loaded, source: Loaded | None) -> list[str]:
    """Messages the output has and its input had not, apart from :data:`NOT_IMPLEMENTED`."""
    before = set(source.messages) if source is not None else set()
    return unexplained([m for m in output.messages if m not in before])
