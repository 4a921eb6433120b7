"""The input gate: every workbook khbook reads passes :func:`inspect_workbook` first.

Before any library (python-calamine, openpyxl) touches a file, the gate checks, in order:

1. the path: exists, is a file, is readable, is not empty, not over ``MAX_FILE_BYTES``,
   not an Excel lock file (``~$name.xlsx``);
2. the first bytes: an OLE2 compound file is an encrypted (password) workbook or an old
   .xls (told apart by its stream names); text is a CSV/HTML/XML export; anything else
   that is not a zip is refused;
3. the zip's central directory, *before decompressing anything*: readable (else
   truncated/damaged), at most ``MAX_MEMBERS`` parts, no duplicate names, no encrypted
   parts, only stored/deflated parts, total declared size at most
   ``MAX_UNCOMPRESSED_BYTES``, no large part with a compression ratio above
   ``MAX_MEMBER_RATIO`` (zip bombs);
4. the package kind: OpenDocument, Numbers, .xlsb, Word/PowerPoint and other zips are
   refused; the workbook part's content type decides xlsx vs xlsm;
5. every XML part's prolog (read through a bounded decompressor): no DOCTYPE/ENTITY, so
   no parser ever sees an entity-expansion or external-entity attack;
6. every part streams through the decompressor once (bounded chunks, nothing kept): CRC
   errors and lying size headers are caught here rather than half-way through a read;
7. xl/workbook.xml (via :func:`khbook.base.xmlsafe.parse_xml`): sheet names, states and the
   1904 date system flag.

Every refusal is a :class:`~khbook.base.errors.WorkbookError` naming the file, what is wrong
and what to do; never a traceback. The file is only ever opened read-only.
"""

from __future__ import annotations

import os
import re
import stat
import struct
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from lxml import etree

from khbook.base.errors import Hint, WorkbookError, os_error_name
from khbook.base.xmlsafe import parse_xml, sniff_text, unsafe_part_error
from khbook.spec.vocabulary import words


def _env_int(name: str, default: int) -> int:
    try:
        value = int(os.environ.get(name, ""))
    except ValueError:
        return default
    return value if value > 0 else default


# Documented limits (README "Safety"); each can be raised through the environment.
MAX_FILE_BYTES = _env_int("KHBOOK_MAX_FILE_BYTES", 200 * 1024**2)
MAX_UNCOMPRESSED_BYTES = _env_int("KHBOOK_MAX_UNCOMPRESSED", 1 * 1024**3)
MAX_MEMBER_RATIO = _env_int("KHBOOK_MAX_MEMBER_RATIO", 200)
RATIO_MIN_BYTES = _env_int("KHBOOK_RATIO_MIN_BYTES", 10 * 1024**2)  # ratio rule applies above this
MAX_MEMBERS = _env_int("KHBOOK_MAX_MEMBERS", 10000)
MAX_PART_BYTES = 64 * 1024**2   # workbook.xml, [Content_Types].xml, .rels read whole
PROLOG_LIMIT = 1024**2          # bytes scanned for the XML prolog of each part
CHUNK = 1024**2

ACCEPTED_SUFFIXES = (".xlsx", ".xlsm")
WORKBOOK_PART = "xl/workbook.xml"

_RESAVE = "open it in Excel or WPS and save it again as .xlsx"
_HINT_RESAVE = Hint("resave", _RESAVE)
_HINT_RESEND = Hint("resend", "ask the sender for a fresh copy, or re-save it in Excel")
_HINT_PASSWORD = Hint("password", "remove the password in Excel via File > Info > Protect Workbook, then save again")
_HINT_XLS = Hint("save_as_xlsx_menu", "open it in Excel or WPS and save it as .xlsx via File > Save As > Excel Workbook")
_HINT_CSV = Hint("csv_convert", "open it in Excel or WPS and save it as an Excel workbook (.xlsx) via File > Save As, "
                 "or paste its rows into a template written by khbook template")
_HINT_SAVE_XLSX = Hint("save_as_xlsx", "open it in Excel and save as .xlsx")
_HINT_XLSB = Hint("xlsb", "open it in Excel and save it as .xlsx")
_HINT_WPS = Hint("wps_et", "open it in WPS and save it as .xlsx via File > Save As > Excel Workbook")
_HINT_NUMBERS = Hint("numbers", "export it from Numbers as Excel (.xlsx)")
_HINT_GIVE_XLSX = Hint("give_xlsx", "give the .xlsx workbook instead")
_HINT_WRONG_FILE = Hint("wrong_file", "check you picked the right file; if Excel opens it, save it again as .xlsx")
_HINT_NOT_NORMAL = Hint("not_normal", "this is not a normal workbook: " + _RESAVE)
_HINT_CHECK_PATH = Hint("check_path", "check the path and try again")

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")

_CT_KIND = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": "xlsx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml": "xlsx",
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml": "xlsm",
    "application/vnd.ms-excel.template.macroEnabled.main+xml": "xlsm",
}

# Suffixes that are never a workbook khbook reads, with what to do about them.
# (code, message, hint): the code names the message in the `errors` area of labels.yaml.
_FOREIGN_SUFFIX: dict[str, tuple[str, str, Hint]] = {
    ".xls": ("xls_suffix", "is an old .xls file", _HINT_XLS),
    ".xlsb": ("xlsb_suffix", "is a binary .xlsb workbook", _HINT_XLSB),
    ".csv": ("csv_suffix", "is a CSV text file, not an Excel workbook", _HINT_CSV),
    ".txt": ("text_file", "is a text file, not an Excel workbook", _HINT_SAVE_XLSX),
    ".et": ("wps_et_suffix", "is a WPS .et spreadsheet", _HINT_WPS),
    ".ods": ("ods_suffix", "is an OpenDocument spreadsheet", Hint("open_save_xlsx", "open it and save as .xlsx")),
    ".numbers": ("numbers", "is an Apple Numbers file", _HINT_NUMBERS),
}


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


def inspect_workbook(path: str | Path) -> PackageInfo:
    """Check `path` is a safe, readable .xlsx/.xlsm and describe it; refuse with a WorkbookError."""
    p = Path(path)
    size = _check_path(p)
    with _open_readonly(p) as fh:
        head = fh.read(8)
        if head.startswith(_OLE_MAGIC):
            raise _ole_error(p, fh, size)
        if not head.startswith(_ZIP_MAGICS):
            fh.seek(0)
            raise _not_zip_error(p, fh.read(64 * 1024))
        fh.seek(0)
        zf = _open_zip(p, fh)
        with zf:
            return _inspect_package(p, zf)


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
    if st.st_size > MAX_FILE_BYTES:
        size, limit = _mb(st.st_size), _mb(MAX_FILE_BYTES)
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


def _mb(n: int) -> str:
    return f"{n / 1024**2:,.0f} MB" if n < 1024**3 else f"{n / 1024**3:,.1f} GB"


# -- 2. not a zip ------------------------------------------------------------------------


def _ole_error(p: Path, fh: BinaryIO, size: int) -> WorkbookError:
    try:
        names = set(cfb_stream_names(fh, size))
    except ValueError:
        names = set()
    if {"EncryptionInfo", "EncryptedPackage"} <= names:
        return WorkbookError(str(p), "is password-protected (encrypted), so it cannot be read", _HINT_PASSWORD,
                             code="encrypted")
    if names & {"Workbook", "Book"}:
        return WorkbookError(str(p), "is an old .xls file (Excel 97-2003), not .xlsx", _HINT_XLS, code="old_xls")
    if p.suffix.lower() == ".et" or names & {"WPS", "WksSSWorkBook"}:
        return WorkbookError(str(p), "is a WPS .et spreadsheet, not .xlsx", _HINT_WPS, code="wps_et")
    if "WordDocument" in names:
        return WorkbookError(str(p), "is a Word document (.doc), not an Excel workbook", _HINT_GIVE_XLSX, code="word_doc")
    return WorkbookError(str(p), "is an old Office compound file, not an .xlsx workbook", _HINT_XLS, code="ole_other")


def cfb_stream_names(fh: BinaryIO, size: int) -> list[str]:
    """Names of all storages and streams in an OLE2 compound file (MS-CFB), read minimally.

    Reads the header, the DIFAT (109 entries in the header, then the DIFAT sector chain),
    the FAT sectors it lists, then follows the directory chain; stream contents are never
    read. Every loop is bounded by the file's sector count; a malformed file raises
    ValueError.
    """
    fh.seek(0)
    header = fh.read(512)
    if len(header) < 512 or not header.startswith(_OLE_MAGIC):
        raise ValueError("short header")
    sector_shift = struct.unpack_from("<H", header, 0x1E)[0]
    if sector_shift not in (9, 12):
        raise ValueError("bad sector size")
    ssz = 1 << sector_shift
    n_sectors = max(0, (size - ssz) // ssz)  # the header fills sector -1
    first_dir = struct.unpack_from("<I", header, 0x30)[0]
    difat = list(struct.unpack_from("<109I", header, 0x4C))
    difat_sid, n_difat = struct.unpack_from("<II", header, 0x44)
    per = ssz // 4 - 1  # a DIFAT sector: FAT sector ids, then the next DIFAT sector's id
    for _ in range(min(n_difat, n_sectors)):
        if difat_sid >= 0xFFFFFFFA:
            break
        ids = struct.unpack(f"<{per + 1}I", _sector(fh, difat_sid, ssz, n_sectors))
        difat.extend(ids[:per])
        difat_sid = ids[per]
    fat: list[int] = []
    for sid in difat:
        if sid >= 0xFFFFFFFA:
            continue
        fat.extend(struct.unpack(f"<{ssz // 4}I", _sector(fh, sid, ssz, n_sectors)))
    names: list[str] = []
    sid, seen = first_dir, 0
    while sid < 0xFFFFFFFA and seen <= n_sectors:
        data = _sector(fh, sid, ssz, n_sectors)
        for off in range(0, ssz, 128):
            entry = data[off:off + 128]
            name_len, obj_type = struct.unpack_from("<HB", entry, 0x40)
            if obj_type in (1, 2, 5) and 2 <= name_len <= 64:
                names.append(entry[:name_len - 2].decode("utf-16-le", errors="replace"))
        sid = fat[sid] if sid < len(fat) else 0xFFFFFFFE
        seen += 1
    if not names:
        raise ValueError("no directory entries")
    return names


def _sector(fh: BinaryIO, sid: int, ssz: int, n_sectors: int) -> bytes:
    if sid >= n_sectors:
        raise ValueError("sector out of range")
    fh.seek((sid + 1) * ssz)
    data = fh.read(ssz)
    if len(data) < ssz:
        raise ValueError("truncated sector")
    return data


def _not_zip_error(p: Path, head: bytes) -> WorkbookError:
    suffix = p.suffix.lower()
    text = _as_text(head)
    if text is None:
        if suffix in _FOREIGN_SUFFIX:
            code, what, hint = _FOREIGN_SUFFIX[suffix]
            return WorkbookError(str(p), what, hint, code=code)
        return WorkbookError(str(p), "is not an Excel workbook (not a zip package; the content is unrecognised)",
                             _HINT_WRONG_FILE, code="not_zip")
    low = text.lstrip("\ufeff \t\r\n").lower()
    if low.startswith(("<!doctype html", "<html", "<table")) or "<html" in low[:2048]:
        return WorkbookError(str(p), "looks like a web page (HTML) saved with an Excel name, not a real workbook",
                             _HINT_SAVE_XLSX, code="html")
    if "urn:schemas-microsoft-com:office:spreadsheet" in low[:8192]:
        return WorkbookError(str(p), "is an Excel 2003 XML spreadsheet, not .xlsx", _HINT_SAVE_XLSX, code="xml2003")
    if suffix == ".csv":  # a genuine CSV, named as one
        return WorkbookError(str(p), "is a CSV text file, not an Excel workbook", _HINT_CSV, code="csv_suffix")
    if _looks_like_csv(text):
        return WorkbookError(str(p), "looks like a CSV text file, not an Excel workbook", _HINT_CSV,
                             code="csv_text")
    return WorkbookError(str(p), "is a text file, not an Excel workbook", _HINT_SAVE_XLSX, code="text_file")


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


_CSV_SEPARATORS = tuple(str(s) for s in words("separators", "csv"))


def _looks_like_csv(text: str) -> bool:
    lines = [ln for ln in text.splitlines()[:20] if ln.strip()]
    if not lines:
        return False
    for sep in _CSV_SEPARATORS:
        counts = [ln.count(sep) for ln in lines]
        if counts[0] >= 1 and sum(c >= 1 for c in counts) >= 0.8 * len(counts):
            return True
    return False


# -- 3. the zip directory ----------------------------------------------------------------


def _open_zip(p: Path, fh: BinaryIO) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(fh)
    except zipfile.LargeZipFile:
        raise _too_big(p, MAX_UNCOMPRESSED_BYTES + 1) from None
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError, struct.error):
        raise WorkbookError(str(p), "is damaged or incomplete (its zip directory is missing or corrupt; "
                            "the file looks cut short)", _HINT_RESEND, code="truncated") from None


def _check_directory(p: Path, zf: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        count, limit = f"{len(infos):,}", f"{MAX_MEMBERS:,}"
        raise WorkbookError(str(p), f"has too many parts ({count}; the limit is {limit})", _HINT_NOT_NORMAL,
                            code="too_many_parts", params={"count": count, "limit": limit})
    names = [i.filename for i in infos]
    if len(set(names)) != len(names):
        raise WorkbookError(str(p), "has duplicate parts (an ambiguous zip, a known attack)",
                            Hint("unsafe_resave", _RESAVE), code="duplicate_parts")
    total = sum(i.file_size for i in infos)
    if total > MAX_UNCOMPRESSED_BYTES:
        raise _too_big(p, total)
    for info in infos:
        _check_info(p, info)
    return infos


def _check_info(p: Path, info: zipfile.ZipInfo) -> None:
    if info.flag_bits & 0x1:
        raise WorkbookError(str(p), f"part {info.filename} is encrypted", _HINT_PASSWORD,
                            code="encrypted_part", params={"part": info.filename})
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise WorkbookError(str(p), f"part {info.filename} uses an unsupported compression method "
                            f"({info.compress_type})", _HINT_RESAVE,
                            code="compression", params={"part": info.filename, "method": info.compress_type})
    if info.file_size > RATIO_MIN_BYTES and info.file_size > MAX_MEMBER_RATIO * max(info.compress_size, 1):
        ratio = f"{info.file_size / max(info.compress_size, 1):,.0f}"
        size = _mb(info.file_size)
        raise WorkbookError(
            str(p), f"part {info.filename} would expand {ratio} times (to {size}): "
            f"a zip bomb; refused before unpacking (the limit is {MAX_MEMBER_RATIO} times)",
            Hint("genuine_resave", "if the file is genuine, " + _RESAVE),
            code="zip_bomb", params={"part": info.filename, "ratio": ratio, "size": size, "limit": MAX_MEMBER_RATIO})


def _too_big(p: Path, total: int) -> WorkbookError:
    size, limit = _mb(total), _mb(MAX_UNCOMPRESSED_BYTES)
    return WorkbookError(
        str(p), f"would unpack to {size}, over the {limit} limit "
        "(a zip bomb or an unusually huge workbook); refused before unpacking",
        Hint("split_or_raise", "if the file is genuine, split it or raise KHBOOK_MAX_UNCOMPRESSED"),
        code="zip_bomb_total", params={"size": size, "limit": limit})


# -- 4. the package kind -----------------------------------------------------------------


def _check_kind(p: Path, zf: zipfile.ZipFile, names: set[str]) -> None:
    if WORKBOOK_PART in names:
        return
    if "mimetype" in names:
        mime = read_member(zf, "mimetype", limit=256).decode("ascii", errors="replace").strip()
        if mime == "application/vnd.oasis.opendocument.spreadsheet":
            raise WorkbookError(str(p), "is an OpenDocument spreadsheet (.ods), not .xlsx",
                                Hint("ods", "open it in WPS, LibreOffice or Excel and save as .xlsx"), code="ods")
        raise WorkbookError(str(p), f"is an OpenDocument file ({mime}), not an Excel workbook", _HINT_GIVE_XLSX,
                            code="odf_other", params={"mime": mime})
    if "xl/workbook.bin" in names:
        raise WorkbookError(str(p), "is a binary .xlsb workbook, not .xlsx", _HINT_XLSB, code="xlsb")
    if any(n.startswith("Index/") and n.endswith(".iwa") for n in names):
        raise WorkbookError(str(p), "is an Apple Numbers file", _HINT_NUMBERS, code="numbers")
    if "word/document.xml" in names:
        raise WorkbookError(str(p), "is a Word document, not an Excel workbook", _HINT_GIVE_XLSX, code="word_docx")
    if "ppt/presentation.xml" in names:
        raise WorkbookError(str(p), "is a PowerPoint file, not an Excel workbook", _HINT_GIVE_XLSX, code="powerpoint")
    raise WorkbookError(str(p), "is not an Excel workbook (a zip file without xl/workbook.xml)", _HINT_WRONG_FILE,
                        code="zip_not_workbook")


def _kind(p: Path, zf: zipfile.ZipFile, names: set[str]) -> str:
    kind = ""
    if "[Content_Types].xml" in names:
        root = parse_xml(read_member(zf, "[Content_Types].xml", limit=MAX_PART_BYTES),
                         path=str(p), part="[Content_Types].xml")
        for el in root:
            if _local(el.tag) == "Override" and el.get("PartName", "").lstrip("/") == WORKBOOK_PART:
                ctype = el.get("ContentType", "")
                if "binary" in ctype:
                    raise WorkbookError(str(p), "is a binary .xlsb workbook, not .xlsx", _HINT_XLSB, code="xlsb")
                kind = _CT_KIND.get(ctype, "")
    if not kind:  # content type missing or unknown (some exporters): fall back on the contents
        kind = "xlsm" if "xl/vbaProject.bin" in names or p.suffix.lower() == ".xlsm" else "xlsx"
    suffix = p.suffix.lower()
    if suffix not in ACCEPTED_SUFFIXES:
        ext = suffix or "(none)"
        raise WorkbookError(str(p), f"is an .{kind} workbook with the wrong extension {ext}",
                            Hint("rename", f"rename it to end in .{kind}"),
                            code="wrong_extension", params={"kind": kind, "suffix": ext})
    return kind


# -- 5-7. the parts ----------------------------------------------------------------------


def read_member(zf: zipfile.ZipFile, name: str, *, limit: int) -> bytes:
    """Read one part through a bounded decompressor: never more than `limit` bytes in memory.

    Raises WorkbookError when the part is missing, larger than `limit` (whatever its header
    claims), or damaged (CRC error, truncated data).
    """
    where = str(zf.filename or "")
    chunks: list[bytes] = []
    total = 0
    for chunk in _stream(zf, name, where):
        total += len(chunk)
        if total > limit:
            size = _mb(limit)
            raise WorkbookError(where, f"part {name} is larger than {size} once unpacked; refused", _HINT_NOT_NORMAL,
                                code="part_too_large", params={"part": name, "size": size})
        chunks.append(chunk)
    return b"".join(chunks)


def _stream(zf: zipfile.ZipFile, name: str, where: str, chunk: int = CHUNK) -> Iterator[bytes]:
    """Yield a part's bytes chunk by chunk, turning every zip/zlib failure into WorkbookError."""
    try:
        with zf.open(name) as fh:
            while data := fh.read(chunk):
                yield data
    except KeyError:
        raise WorkbookError(where, f"part {name} is missing", _HINT_RESAVE,
                            code="part_missing", params={"part": name}) from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError,
            RuntimeError, struct.error) as exc:
        detail = _short(exc)
        raise WorkbookError(where, f"part {name} is damaged ({detail})", _HINT_RESEND,
                            code="part_damaged", params={"part": name, "detail": detail}) from None


def _short(exc: BaseException) -> str:
    text = str(exc).split("\n")[0]
    return text[:120] if text else type(exc).__name__


def is_xml_part(name: str) -> bool:
    """Parts some XML parser may read: scanned for DTDs."""
    return PurePosixPath(name).suffix.lower() in (".xml", ".rels", ".vml")


def assert_no_dtd(zf: zipfile.ZipFile, names: Iterable[str]) -> None:
    """Refuse when any of the named XML parts declares a DOCTYPE/ENTITY in its prolog.

    Only the prolog (what precedes the root element) may hold a DOCTYPE; it is read through
    the bounded decompressor, at most PROLOG_LIMIT bytes per part.
    """
    where = str(zf.filename or "")
    for name in names:
        if _prolog_declares_dtd(zf, name, where):
            raise unsafe_part_error(where, name)


_ROOT_START = re.compile(r"<[^?!]")


def _prolog_declares_dtd(zf: zipfile.ZipFile, name: str, where: str) -> bool:
    head = b""
    for chunk in _stream(zf, name, where, chunk=16 * 1024):
        head += chunk
        text = sniff_text(head)
        prolog = _prolog(text)
        if prolog is not None:
            return _prolog_unsafe(prolog)
        if len(head) >= PROLOG_LIMIT:
            size = _mb(PROLOG_LIMIT)
            raise WorkbookError(where, f"part {name} has an XML prolog over {size}; refused as unsafe", _HINT_RESAVE,
                                code="prolog_too_long", params={"part": name, "size": size})
    return _prolog_unsafe(sniff_text(head))


def _prolog(text: str) -> str | None:
    """The text before the root element, or None if the root start is not in `text` yet."""
    pos = 0
    while True:
        m = _ROOT_START.search(text, pos)
        if m is None:
            return None
        # skip a "<" that sits inside a comment or processing instruction
        before = text[:m.start()]
        if before.count("<!--") > before.count("-->") or before.count("<?") > before.count("?>"):
            pos = m.start() + 1
            continue
        return before


def _prolog_unsafe(prolog: str) -> bool:
    stripped = re.sub(r"<!--.*?-->", "", prolog, flags=re.S)
    return "<!" in stripped


def _verify_parts(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], where: str) -> None:
    """Stream every part once (nothing kept): CRC errors and truncated data surface here."""
    for info in infos:
        if info.is_dir():
            continue
        seen = 0
        for chunk in _stream(zf, info.filename, where):
            seen += len(chunk)
        if seen != info.file_size:
            raise WorkbookError(where, f"part {info.filename} is damaged (size mismatch)", _HINT_RESEND,
                                code="size_mismatch", params={"part": info.filename})


def _read_workbook(p: Path, zf: zipfile.ZipFile) -> tuple[bool, tuple[str, ...], tuple[str, ...]]:
    root = parse_xml(read_member(zf, WORKBOOK_PART, limit=MAX_PART_BYTES), path=str(p), part=WORKBOOK_PART)
    date1904 = False
    sheets: list[str] = []
    hidden: list[str] = []
    for el in root.iter():
        tag = _local(el.tag) if isinstance(el.tag, str) else ""
        if tag == "workbookPr":
            date1904 = el.get("date1904", "false").strip().lower() in ("1", "true")
        elif tag == "sheet":
            name = el.get("name")
            if name is None:
                raise WorkbookError(str(p), "lists a sheet without a name", _HINT_RESAVE, code="unnamed_sheet")
            sheets.append(name)
            if el.get("state", "visible") in ("hidden", "veryHidden"):
                hidden.append(name)
    if not sheets:
        raise WorkbookError(str(p), "has no sheets", _HINT_RESAVE, code="no_sheets")
    return date1904, tuple(sheets), tuple(hidden)


def _local(tag: str) -> str:
    return etree.QName(tag).localname if tag.startswith("{") else tag


def _inspect_package(p: Path, zf: zipfile.ZipFile) -> PackageInfo:
    where = str(p)
    zf.filename = where  # so helpers name the file the user gave
    infos = _check_directory(p, zf)
    names = {i.filename for i in infos}
    _check_kind(p, zf, names)
    assert_no_dtd(zf, [i.filename for i in infos if is_xml_part(i.filename)])
    kind = _kind(p, zf, names)
    _verify_parts(zf, infos, where)
    date1904, sheets, hidden = _read_workbook(p, zf)
    return PackageInfo(
        path=p, kind=kind, members=tuple(i.filename for i in infos),
        uncompressed=sum(i.file_size for i in infos), date1904=date1904,
        sheet_names=sheets, hidden_sheets=hidden,
    )
