"""Encrypt a finished workbook with an open password (Office agile encryption, AES-256).

Outputs meant for sending (split workbooks, the batch's 汇总.xlsx) are written as usual,
then encrypted in place with msoffcrypto-tool, atomically: Excel, WPS and LibreOffice ask
for the password when opening them, and khbook reads them given ``--password``.
"""

from __future__ import annotations

from pathlib import Path

from khbook.base.errors import Hint, WorkbookError
from khbook.base.fsutil import atomic_output


def encrypt_file(path: str | Path, password: str) -> Path:
    """Replace the .xlsx at `path` by its encrypted form (the password is never stored or shown)."""
    from msoffcrypto.format.ooxml import OOXMLFile

    target = Path(path)
    if not password:
        raise WorkbookError(str(target), "an empty password cannot encrypt", Hint("give_password", "give a password"),
                            code="empty_password")
    with atomic_output(target) as tmp:
        with open(target, "rb") as src, open(tmp, "wb") as out:
            OOXMLFile(src).encrypt(password, out)
    return target
