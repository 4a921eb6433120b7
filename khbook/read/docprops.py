"""The spec version a khbook-written workbook records in its custom document properties.

The template writer stores the spec's ``version`` (workbook.yaml) as the custom property
:data:`SPEC_VERSION_PROPERTY` (docProps/custom.xml); the reader hands it to the checks so a
book on an older template is reported, and ``khbook upgrade`` names the version it came from.
A book without the property (made by hand, or by an older khbook) has no known version.
"""

from __future__ import annotations

import re
import zipfile

from khbook.base.xmlsafe import parse_xml

SPEC_VERSION_PROPERTY = "khbook_spec_version"
CUSTOM_PART = "docProps/custom.xml"
_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/custom-properties}"
_LIMIT = 1024 * 1024


def spec_version(zf: zipfile.ZipFile, path: str) -> int | None:
    """The recorded spec version of an open package, or None."""
    try:
        info = zf.getinfo(CUSTOM_PART)
    except KeyError:
        return None
    if info.file_size > _LIMIT:
        return None
    try:
        root = parse_xml(zf.read(info), path=path, part=CUSTOM_PART)
    except Exception:  # a damaged optional part never stops reading the book
        return None
    for prop in root.iter(f"{_NS}property"):
        if prop.get("name") == SPEC_VERSION_PROPERTY:
            text = "".join(prop.itertext()).strip()
            return int(text) if re.fullmatch(r"\d{1,9}", text) else None
    return None
