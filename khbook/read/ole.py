"""OLE2 compound files at the gate: what kind of file it is, and Excel's default password.

An .xlsx that starts with the OLE2 signature is either an encrypted workbook (the zip
package wrapped in an ``EncryptedPackage`` stream) or another Office file with a
workbook name (an old .xls, a WPS .et, a Word .doc). olefile lists the streams; no
stream content is read to tell them apart.

Excel encrypts some books with its built-in default password ``VelvetSweatshop`` (a
book whose structure is protected, or saved "read-only recommended") and opens them
without asking. :func:`open_encrypted` tries that password with msoffcrypto-tool and
returns the decrypted package; any other password is refused as ``encrypted``.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import BinaryIO

from khbook.base.errors import WorkbookError
from khbook.read.limits import HINT_GIVE_XLSX, HINT_PASSWORD, HINT_WPS, HINT_XLS

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
DEFAULT_PASSWORD = "VelvetSweatshop"  # Excel's built-in password (MS-OFFCRYPTO 2.4.2.4 / 2.3.6)
_ENCRYPTED = {"EncryptionInfo", "EncryptedPackage"}


def stream_names(fh: BinaryIO) -> set[str]:
    """Names of all storages and streams in an OLE2 compound file (and the root's name).

    Raises ValueError for a file olefile cannot parse (damaged or not a compound file).
    """
    import olefile

    fh.seek(0)
    try:
        ole = olefile.OleFileIO(fh)
    except Exception as exc:  # noqa: BLE001 - olefile raises many types on malformed input
        raise ValueError(f"not a readable compound file: {exc}") from None
    try:
        names = {part for entry in ole.listdir(streams=True, storages=True) for part in entry}
        return names | {ole.root.name}
    finally:
        ole.close()


def ole_error(p: Path, names: set[str]) -> WorkbookError:
    """The refusal for a compound file with these stream names."""
    if _ENCRYPTED <= names:
        return WorkbookError(str(p), "is password-protected (encrypted), so it cannot be read", HINT_PASSWORD,
                             code="encrypted")
    if names & {"Workbook", "Book"}:
        return WorkbookError(str(p), "is an old .xls file (Excel 97-2003), not .xlsx", HINT_XLS, code="old_xls")
    if p.suffix.lower() == ".et" or names & {"WPS", "WksSSWorkBook"}:
        return WorkbookError(str(p), "is a WPS .et spreadsheet, not .xlsx", HINT_WPS, code="wps_et")
    if "WordDocument" in names:
        return WorkbookError(str(p), "is a Word document (.doc), not an Excel workbook", HINT_GIVE_XLSX, code="word_doc")
    return WorkbookError(str(p), "is an old Office compound file, not an .xlsx workbook", HINT_XLS, code="ole_other")


def is_encrypted_package(names: set[str]) -> bool:
    return _ENCRYPTED <= names


def open_encrypted(fh: BinaryIO) -> bytes | None:
    """The decrypted package of an encrypted workbook when Excel's default password opens it, else None."""
    import msoffcrypto

    fh.seek(0)
    try:
        office = msoffcrypto.OfficeFile(fh)
        office.load_key(password=DEFAULT_PASSWORD, verify_password=True)
        out = io.BytesIO()
        office.decrypt(out)
    except Exception:  # noqa: BLE001 - a wrong password or a damaged envelope: refused as encrypted
        return None
    return out.getvalue()
