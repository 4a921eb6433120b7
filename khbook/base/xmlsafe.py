"""Safe XML parsing for workbook parts: no DTDs, no entities, no network.

Every XML part khbook parses itself goes through :func:`parse_xml`. A part carrying a
DOCTYPE or an ENTITY declaration (the vehicle of entity-expansion "billion laughs" and
external-entity attacks) is refused before the parser sees it, in any encoding (UTF-8,
UTF-16, UTF-32), and checked again on the parsed tree. Entities are never resolved and
nothing is ever fetched from the network.
"""

from __future__ import annotations

import codecs

from lxml import etree

from khbook.base.errors import Hint, WorkbookError

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
    huge_tree=True, remove_blank_text=False,
)

_MARKERS = ("<!DOCTYPE", "<!ENTITY")
_UNSAFE_HINT = Hint("resave_retry", "re-save the file in Excel or WPS and try again")

# (byte-order mark or first bytes of "<?" / "<", codec): XML encodings sniffed per the
# XML 1.0 spec, appendix F. UTF-32 before UTF-16, whose BOM is a prefix of UTF-32LE's.
_SNIFF: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"), (b"\x00\x00\x00<", "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"),
    (b"<\x00", "utf-16-le"), (b"\x00<", "utf-16-be"),
)


def sniff_text(data: bytes) -> str:
    """Decode `data` (possibly a prefix of a part) for marker scanning; never raises."""
    for prefix, codec in _SNIFF:
        if data.startswith(prefix):
            return data.decode(codec, errors="ignore")
    return data.decode("utf-8", errors="ignore")


def declares_dtd(data: bytes) -> bool:
    """True when `data` (a whole part or its first bytes) holds a DOCTYPE or ENTITY declaration."""
    if any(m.encode() in data for m in _MARKERS):
        return True
    text = sniff_text(data)
    return any(m in text for m in _MARKERS)


def unsafe_part_error(path: str, part: str) -> WorkbookError:
    """The one error for a part that declares a DTD or entities."""
    return WorkbookError(
        path, f"part {part} declares a DTD or entities, which workbooks never need; refused as unsafe",
        _UNSAFE_HINT, code="dtd", params={"part": part},
    )


def parse_xml(data: bytes, *, path: str = "", part: str = "") -> etree._Element:
    """Parse one package part; refuse DTDs/entities with a WorkbookError naming the part."""
    if declares_dtd(data):
        raise unsafe_part_error(path, part)
    try:
        root = etree.fromstring(data, _PARSER)
    except (etree.XMLSyntaxError, ValueError) as exc:
        msg = getattr(exc, "msg", None) or str(exc)
        raise WorkbookError(path, f"part {part} is not well-formed XML ({msg})",
                            Hint("damaged_resave", "the file is damaged: re-save it in Excel or WPS"),
                            code="bad_xml", params={"part": part, "detail": msg}) from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise unsafe_part_error(path, part)
    return root
