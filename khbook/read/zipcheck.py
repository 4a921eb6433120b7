"""The zip package at the gate: its directory, its kind, its main part, its parts' bytes.

Everything here works on an open :class:`zipfile.ZipFile` *before* any reader parses a
part: the central directory is checked without decompressing anything (member count,
duplicate names, encryption, compression methods, declared sizes, per-part ratios), XML
prologs are scanned for DTDs through a bounded decompressor, and every part is streamed
once so CRC errors surface here. :func:`read_member` is the one bounded way to read a part.

The workbook part is found as OPC says: the target of the ``officeDocument``
relationship in ``_rels/.rels`` (:func:`main_part`), not at a fixed path.
"""

from __future__ import annotations

import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath
from urllib.parse import unquote

from lxml import etree

from khbook.base.errors import Hint, WorkbookError
from khbook.base.xmlsafe import parse_xml, sniff_text, unsafe_part_error
from khbook.read import limits
from khbook.read.limits import (
    HINT_GIVE_XLSX,
    HINT_NOT_NORMAL,
    HINT_NUMBERS,
    HINT_PASSWORD,
    HINT_RESAVE,
    HINT_RESEND,
    HINT_WRONG_FILE,
    HINT_XLSB,
    RESAVE,
    mb,
)

ACCEPTED_SUFFIXES = (".xlsx", ".xlsm")
DEFAULT_WORKBOOK_PART = "xl/workbook.xml"
PACKAGE_RELS = "_rels/.rels"

_CT_KIND = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": "xlsx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml": "xlsx",
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml": "xlsm",
    "application/vnd.ms-excel.template.macroEnabled.main+xml": "xlsm",
}


def local(tag: str) -> str:
    return etree.QName(tag).localname if tag.startswith("{") else tag


# -- the directory -----------------------------------------------------------------------


def open_zip(p: Path, fh: object) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(fh)  # type: ignore[arg-type]
    except zipfile.LargeZipFile:
        raise too_big(p, limits.MAX_UNCOMPRESSED_BYTES + 1) from None
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError, struct.error):
        raise WorkbookError(str(p), "is damaged or incomplete (its zip directory is missing or corrupt; "
                            "the file looks cut short)", HINT_RESEND, code="truncated") from None


def check_directory(p: Path, zf: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    infos = zf.infolist()
    if len(infos) > limits.MAX_MEMBERS:
        count, limit = f"{len(infos):,}", f"{limits.MAX_MEMBERS:,}"
        raise WorkbookError(str(p), f"has too many parts ({count}; the limit is {limit})", HINT_NOT_NORMAL,
                            code="too_many_parts", params={"count": count, "limit": limit})
    names = [i.filename for i in infos]
    if len(set(names)) != len(names):
        raise WorkbookError(str(p), "has duplicate parts (an ambiguous zip, a known attack)",
                            Hint("unsafe_resave", RESAVE), code="duplicate_parts")
    total = sum(i.file_size for i in infos)
    if total > limits.MAX_UNCOMPRESSED_BYTES:
        raise too_big(p, total)
    for info in infos:
        _check_info(p, info)
    return infos


def _check_info(p: Path, info: zipfile.ZipInfo) -> None:
    if info.flag_bits & 0x1:
        raise WorkbookError(str(p), f"part {info.filename} is encrypted", HINT_PASSWORD,
                            code="encrypted_part", params={"part": info.filename})
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise WorkbookError(str(p), f"part {info.filename} uses an unsupported compression method "
                            f"({info.compress_type})", HINT_RESAVE,
                            code="compression", params={"part": info.filename, "method": info.compress_type})
    ratio_limit = limits.MAX_MEMBER_RATIO
    if info.file_size > limits.RATIO_MIN_BYTES and info.file_size > ratio_limit * max(info.compress_size, 1):
        ratio = f"{info.file_size / max(info.compress_size, 1):,.0f}"
        size = mb(info.file_size)
        raise WorkbookError(
            str(p), f"part {info.filename} would expand {ratio} times (to {size}): "
            f"a zip bomb; refused before unpacking (the limit is {ratio_limit} times)",
            Hint("genuine_resave", "if the file is genuine, " + RESAVE),
            code="zip_bomb", params={"part": info.filename, "ratio": ratio, "size": size, "limit": ratio_limit})


def too_big(p: Path, total: int) -> WorkbookError:
    size, limit = mb(total), mb(limits.MAX_UNCOMPRESSED_BYTES)
    return WorkbookError(
        str(p), f"would unpack to {size}, over the {limit} limit "
        "(a zip bomb or an unusually huge workbook); refused before unpacking",
        Hint("split_or_raise", "if the file is genuine, split it or raise KHBOOK_MAX_UNCOMPRESSED"),
        code="zip_bomb_total", params={"size": size, "limit": limit})


# -- the main part and the package kind --------------------------------------------------


def main_part(zf: zipfile.ZipFile, names: set[str], where: str) -> str | None:
    """The workbook part: the target of the ``officeDocument`` relationship in ``_rels/.rels``.

    Falls back on ``xl/workbook.xml`` when the package relationships are missing or name no
    existing part (some exporters); None when neither gives a part of the package.
    """
    if PACKAGE_RELS in names:
        root = parse_xml(read_member(zf, PACKAGE_RELS, limit=limits.MAX_PART_BYTES), path=where, part=PACKAGE_RELS)
        by_lower = {n.lower(): n for n in names}
        for el in root:
            if not isinstance(el.tag, str) or local(el.tag) != "Relationship" or el.get("TargetMode") == "External":
                continue
            if el.get("Type", "").rstrip("/").endswith("/officeDocument"):
                target = posixpath.normpath(unquote(el.get("Target", "")).lstrip("/"))
                found = by_lower.get(target.lower())  # OPC part names compare case-insensitively
                if found is not None:
                    return found
    return DEFAULT_WORKBOOK_PART if DEFAULT_WORKBOOK_PART in names else None


def part_rels(part: str) -> str:
    """The relationships part of `part`: ``book/main.xml`` -> ``book/_rels/main.xml.rels``."""
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def resolve_target(source_part: str, target: str) -> str:
    """A relationship target of `source_part` -> the package part name it points to."""
    target = unquote(target)
    if target.startswith("/"):
        return posixpath.normpath(target.lstrip("/"))
    return posixpath.normpath(posixpath.join(posixpath.dirname(source_part), target))


def check_kind(p: Path, zf: zipfile.ZipFile, names: set[str], main: str | None) -> None:
    """Refuse packages that are not a spreadsheet (OpenDocument, Numbers, .xlsb, Word, PowerPoint)."""
    if main is not None:
        if main.lower().endswith(".bin"):
            raise WorkbookError(str(p), "is a binary .xlsb workbook, not .xlsx", HINT_XLSB, code="xlsb")
        return
    if "mimetype" in names:
        mime = read_member(zf, "mimetype", limit=256).decode("ascii", errors="replace").strip()
        if mime == "application/vnd.oasis.opendocument.spreadsheet":
            raise WorkbookError(str(p), "is an OpenDocument spreadsheet (.ods), not .xlsx",
                                Hint("ods", "open it in WPS, LibreOffice or Excel and save as .xlsx"), code="ods")
        raise WorkbookError(str(p), f"is an OpenDocument file ({mime}), not an Excel workbook", HINT_GIVE_XLSX,
                            code="odf_other", params={"mime": mime})
    if "xl/workbook.bin" in names:
        raise WorkbookError(str(p), "is a binary .xlsb workbook, not .xlsx", HINT_XLSB, code="xlsb")
    if any(n.startswith("Index/") and n.endswith(".iwa") for n in names):
        raise WorkbookError(str(p), "is an Apple Numbers file", HINT_NUMBERS, code="numbers")
    if "word/document.xml" in names:
        raise WorkbookError(str(p), "is a Word document, not an Excel workbook", HINT_GIVE_XLSX, code="word_docx")
    if "ppt/presentation.xml" in names:
        raise WorkbookError(str(p), "is a PowerPoint file, not an Excel workbook", HINT_GIVE_XLSX, code="powerpoint")
    raise WorkbookError(str(p), "is not an Excel workbook (a zip file without a workbook part)", HINT_WRONG_FILE,
                        code="zip_not_workbook")


def package_kind(p: Path, zf: zipfile.ZipFile, names: set[str], main: str) -> str:
    """``"xlsx"`` or ``"xlsm"``, from the main part's content type (else from the contents)."""
    kind = ""
    ctype = ""
    if "[Content_Types].xml" in names:
        root = parse_xml(read_member(zf, "[Content_Types].xml", limit=limits.MAX_PART_BYTES),
                         path=str(p), part="[Content_Types].xml")
        ext = PurePosixPath(main).suffix.lstrip(".").lower()
        default = ""
        for el in root:
            if not isinstance(el.tag, str):
                continue
            tag = local(el.tag)
            if tag == "Override" and el.get("PartName", "").lstrip("/").lower() == main.lower():
                ctype = el.get("ContentType", "")
            elif tag == "Default" and el.get("Extension", "").lower() == ext:
                default = el.get("ContentType", "")
        ctype = ctype or default
        if "binary" in ctype:
            raise WorkbookError(str(p), "is a binary .xlsb workbook, not .xlsx", HINT_XLSB, code="xlsb")
        if "wordprocessingml" in ctype:
            raise WorkbookError(str(p), "is a Word document, not an Excel workbook", HINT_GIVE_XLSX, code="word_docx")
        if "presentationml" in ctype:
            raise WorkbookError(str(p), "is a PowerPoint file, not an Excel workbook", HINT_GIVE_XLSX, code="powerpoint")
        kind = _CT_KIND.get(ctype, "")
    if not kind:  # content type missing or unknown (some exporters): fall back on the contents
        has_vba = any(n.lower().endswith("vbaproject.bin") for n in names)
        kind = "xlsm" if has_vba or p.suffix.lower() == ".xlsm" else "xlsx"
    suffix = p.suffix.lower()
    if suffix not in ACCEPTED_SUFFIXES:
        shown = suffix or "(none)"
        raise WorkbookError(str(p), f"is an .{kind} workbook with the wrong extension {shown}",
                            Hint("rename", f"rename it to end in .{kind}"),
                            code="wrong_extension", params={"kind": kind, "suffix": shown})
    return kind


# -- the parts ---------------------------------------------------------------------------


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
            size = mb(limit)
            raise WorkbookError(where, f"part {name} is larger than {size} once unpacked; refused", HINT_NOT_NORMAL,
                                code="part_too_large", params={"part": name, "size": size})
        chunks.append(chunk)
    return b"".join(chunks)


def _stream(zf: zipfile.ZipFile, name: str, where: str, chunk: int = limits.CHUNK) -> Iterator[bytes]:
    """Yield a part's bytes chunk by chunk, turning every zip/zlib failure into WorkbookError."""
    try:
        with zf.open(name) as fh:
            while data := fh.read(chunk):
                yield data
    except KeyError:
        raise WorkbookError(where, f"part {name} is missing", HINT_RESAVE,
                            code="part_missing", params={"part": name}) from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError,
            RuntimeError, struct.error) as exc:
        detail = _short(exc)
        raise WorkbookError(where, f"part {name} is damaged ({detail})", HINT_RESEND,
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
        if len(head) >= limits.PROLOG_LIMIT:
            size = mb(limits.PROLOG_LIMIT)
            raise WorkbookError(where, f"part {name} has an XML prolog over {size}; refused as unsafe", HINT_RESAVE,
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


ERROR_CELL_MARK = b't="e"'  # an error cell (#N/A, #REF!) in a sheet part: calamine reads it as blank


def verify_parts(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], where: str) -> frozenset[str]:
    """Stream every part once (nothing kept): CRC errors and truncated data surface here.

    Returns the parts whose bytes hold :data:`ERROR_CELL_MARK`: the reader looks for error
    cells in those alone, instead of unpacking every sheet a second time."""
    marked: set[str] = set()
    for info in infos:
        if info.is_dir():
            continue
        size, hit = scan(_stream(zf, info.filename, where), ERROR_CELL_MARK)
        if size != info.file_size:
            raise WorkbookError(where, f"part {info.filename} is damaged (size mismatch)", HINT_RESEND,
                                code="size_mismatch", params={"part": info.filename})
        if hit:
            marked.add(info.filename)
    return frozenset(marked)


def scan(chunks: Iterable[bytes], mark: bytes) -> tuple[int, bool]:
    """The total size of `chunks` and whether their bytes hold `mark` (also across chunks)."""
    overlap = len(mark) - 1
    size, tail, hit = 0, b"", False
    for chunk in chunks:
        size += len(chunk)
        if not hit:
            hit = mark in chunk or mark in tail + chunk[:overlap]
            tail = (tail + chunk)[-overlap:] if len(chunk) < overlap else chunk[-overlap:]
    return size, hit
