"""Safe XML parsing for workbook parts: no DTDs, no entities, no network.

Every XML part khbook parses itself goes through :func:`parse_xml`. A part carrying a
DOCTYPE (the vehicle of entity-expansion and external-entity attacks) is refused.
"""

from __future__ import annotations

from lxml import etree

from khbook.errors import WorkbookError

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
    huge_tree=True, remove_blank_text=False,
)


def parse_xml(data: bytes, *, path: str = "", part: str = "") -> etree._Element:
    """Parse one package part; refuse DTDs/entities with a WorkbookError naming the part."""
    head = data[:4096]
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head or b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise WorkbookError(path, f"part {part} declares a DTD or entities, which workbooks never need; refused as unsafe",
                            "re-save the file in Excel or WPS and try again")
    try:
        return etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise WorkbookError(path, f"part {part} is not well-formed XML ({exc.msg})", "the file is damaged: re-save it in Excel or WPS") from None
