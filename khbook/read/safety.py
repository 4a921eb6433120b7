"""The input gate: every workbook khbook reads passes :func:`inspect_workbook` first.

Before any library (python-calamine, openpyxl) touches a file, the gate checks, in order:

1. the path: exists, is a file, is readable, is not empty, not over ``MAX_FILE_BYTES``,
   not an Excel lock file (``~$name.xlsx``);
2. the first bytes: an OLE2 compound file is an encrypted workbook or an old .xls
   (:mod:`khbook.read.ole`, told apart by its stream names); an encrypted workbook that
   Excel's default password opens is decrypted in memory and goes on as its package;
   text is a CSV/HTML/XML export and anything else that is not a zip is refused
   (:mod:`khbook.read.notzip`);
3. the zip's central directory, *before decompressing anything*: readable (else
   truncated/damaged), at most ``MAX_MEMBERS`` parts, no duplicate names, no encrypted
   parts, only stored/deflated parts, total declared size at most
   ``MAX_UNCOMPRESSED_BYTES``, no large part with a compression ratio above
   ``MAX_MEMBER_RATIO`` (zip bombs) (:mod:`khbook.read.zipcheck`, as are 4-6);
4. the package kind: the workbook part is the target of the ``officeDocument``
   relationship in ``_rels/.rels``; OpenDocument, Numbers, .xlsb, Word/PowerPoint and
   other zips are refused; the workbook part's content type decides xlsx vs xlsm;
5. every XML part's prolog (read through a bounded decompressor): no DOCTYPE/ENTITY, so
   no parser ever sees an entity-expansion or external-entity attack;
6. every part streams through the decompressor once (bounded chunks, nothing kept): CRC
   errors and lying size headers are caught here rather than half-way through a read;
7. the workbook part (via :func:`khbook.base.xmlsafe.parse_xml`): sheet names, states and
   the 1904 date system flag.

Every refusal is a :class:`~khbook.base.errors.WorkbookError` naming the file, what is wrong
and what to do; never a traceback. The file is only ever opened read-only. The limits live
in :mod:`khbook.read.limits`.
"""

from __future__ import annotations

import io
import stat
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import BinaryIO

from khbook.base.errors import Hint, WorkbookError, os_error_name
from khbook.base.xmlsafe import parse_xml
from khbook.read import limits
from khbook.read.limits import HINT_RESAVE, mb
from khbook.read.notzip import not_zip_error
from khbook.read.ole import OLE_MAGIC, is_encrypted_package, ole_error, open_encrypted, stream_names
from khbook.read.zipcheck import (
    assert_no_dtd,
    check_directory,
    check_kind,
    is_xml_part,
    local,
    main_part,
    open_zip,
    package_kind,
    read_member,
    verify_parts,
)

__all__ = ["PackageInfo", "assert_no_dtd", "inspect_workbook", "is_xml_part", "read_member"]

_HINT_CHECK_PATH = Hint("check_path", "check the path and try again")
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")


@dataclass(frozen=True)
class PackageInfo:
    """What the gate learned about a workbook that passed it."""

    path: Path
    kind: str                       # "xlsx" | "xlsm"
    members: tuple[str, ...]
    uncompressed: int               # total declared uncompressed size of all parts
    date1904: bool
    sheet_names: tuple[str, ...]    # in workbook order
    hidden_sheets: tuple[str, ...]  # state hidden or veryHidden
    workbook_part: str = "xl/workbook.xml"  # the officeDocument target
    # the decrypted package when Excel's default password opened an encrypted file
    decrypted: bytes | None = field(default=None, repr=False)
    # the parts that may hold error cells (zipcheck.ERROR_CELL_MARK); None: not known, look in every sheet
    error_parts: frozenset[str] | None = None


def inspect_workbook(path: str | Path) -> PackageInfo:
    """Check `path` is a safe, readable .xlsx/.xlsm and describe it; refuse with a WorkbookError."""
    p = Path(path)
    _check_path(p)
    with _open_readonly(p) as fh:
        head = fh.read(8)
        if head.startswith(OLE_MAGIC):
            return _inspect_compound(p, fh)
        if not head.startswith(_ZIP_MAGICS):
            fh.seek(0)
            raise not_zip_error(p, fh.read(64 * 1024))
        fh.seek(0)
        zf = open_zip(p, fh)
        with zf:
            return _inspect_package(p, zf)


def _inspect_compound(p: Path, fh: BinaryIO) -> PackageInfo:
    try:
        names = stream_names(fh)
    except ValueError:
        names = set()
    if is_encrypted_package(names):
        plain = open_encrypted(fh)
        if plain is not None and plain.startswith(_ZIP_MAGICS):
            with open_zip(p, io.BytesIO(plain)) as zf:
                info = _inspect_package(p, zf)
            return replace(info, decrypted=plain)
    raise ole_error(p, names)


# -- 1. the path -------------------------------------------------------------------------


def _check_path(p: Path) -> int:
    try:
        st = p.stat()
    except FileNotFoundError:
        raise WorkbookError(str(p), "file not found", Hint("check_name", "check the name and the folder"),
                            code="not_found") from None
    except PermissionError:
        raise WorkbookError(str(p), "cannot be read: permission denied",
                            Hint("check_permissions", "check the file permissions, or copy it somewhere you can read"),
                            code="read_denied") from None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise WorkbookError(str(p), f"cannot be read: {reason}", _HINT_CHECK_PATH,
                            code="read_failed", params={"reason": reason, "errno": os_error_name(exc)}) from None
    if stat.S_ISDIR(st.st_mode):
        raise WorkbookError(str(p), "is a folder, not a workbook file",
                            Hint("use_batch", "give a .xlsx file, or use the batch command for a folder"), code="is_folder")
    if not stat.S_ISREG(st.st_mode):
        raise WorkbookError(str(p), "is not a regular file (a device, pipe or socket)",
                            Hint("saved_file", "give a saved .xlsx file"), code="not_regular")
    if p.name.startswith("~$"):
        raise WorkbookError(str(p), "is an Excel/WPS lock file, not a workbook",
                            Hint("lock_file", "ignore it: it exists while the workbook is open; close Excel/WPS and it goes away"),
                            code="lock_file")
    if st.st_size == 0:
        raise WorkbookError(str(p), "is empty (0 bytes)",
                            Hint("fresh_copy", "the copy failed or the file was never saved: get a fresh copy"), code="empty")
    if st.st_size > limits.MAX_FILE_BYTES:
        size, limit = mb(st.st_size), mb(limits.MAX_FILE_BYTES)
        raise WorkbookError(str(p), f"is too large ({size}; the limit is {limit})",
                            Hint("too_large", "split the workbook, or raise KHBOOK_MAX_FILE_BYTES if you trust it"),
                            code="too_large", params={"size": size, "limit": limit})
    return st.st_size


class _open_readonly:
    """Open read-only, turning OS errors into WorkbookError."""

    def __init__(self, p: Path) -> None:
        self.p = p
        self.fh: BinaryIO | None = None

    def __enter__(self) -> BinaryIO:
        try:
            self.fh = open(self.p, "rb")  # noqa: SIM115 - closed in __exit__
        except PermissionError:
            raise WorkbookError(str(self.p), "cannot be read: permission denied",
                                Hint("close_it", "close it in Excel/WPS if it is open there, or check the file permissions"),
                                code="read_denied") from None
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise WorkbookError(str(self.p), f"cannot be read: {reason}", _HINT_CHECK_PATH,
                                code="read_failed", params={"reason": reason, "errno": os_error_name(exc)}) from None
        return self.fh

    def __exit__(self, *exc: object) -> None:
        if self.fh is not None:
            self.fh.close()


# -- 3-7. the package --------------------------------------------------------------------


def _read_workbook(p: Path, zf: zipfile.ZipFile, part: str) -> tuple[bool, tuple[str, ...], tuple[str, ...]]:
    root = parse_xml(read_member(zf, part, limit=limits.MAX_PART_BYTES), path=str(p), part=part)
    date1904 = False
    sheets: list[str] = []
    hidden: list[str] = []
    for el in root.iter():
        tag = local(el.tag) if isinstance(el.tag, str) else ""
        if tag == "workbookPr":
            date1904 = el.get("date1904", "false").strip().lower() in ("1", "true")
        elif tag == "sheet":
            name = el.get("name")
            if name is None:
                raise WorkbookError(str(p), "lists a sheet without a name", HINT_RESAVE, code="unnamed_sheet")
            sheets.append(name)
            if el.get("state", "visible") in ("hidden", "veryHidden"):
                hidden.append(name)
    if not sheets:
        raise WorkbookError(str(p), "has no sheets", HINT_RESAVE, code="no_sheets")
    return date1904, tuple(sheets), tuple(hidden)


def _inspect_package(p: Path, zf: zipfile.ZipFile) -> PackageInfo:
    where = str(p)
    zf.filename = where  # so helpers name the file the user gave
    infos = check_directory(p, zf)
    names = {i.filename for i in infos}
    main = main_part(zf, names, where)
    check_kind(p, zf, names, main)
    assert main is not None  # check_kind refuses a package without one
    assert_no_dtd(zf, [i.filename for i in infos if is_xml_part(i.filename)])
    kind = package_kind(p, zf, names, main)
    error_parts = verify_parts(zf, infos, where)
    date1904, sheets, hidden = _read_workbook(p, zf, main)
    return PackageInfo(
        path=p, kind=kind, members=tuple(i.filename for i in infos),
        uncompressed=sum(i.file_size for i in infos), date1904=date1904,
        sheet_names=sheets, hidden_sheets=hidden, workbook_part=main, error_parts=error_parts,
    )
