"""ISO/IEC 29500 Strict packages: their namespaces mapped to the transitional ones and back.

Excel's "Strict Open XML Spreadsheet" writes the same markup as a normal .xlsx under other
namespace names (``http://purl.oclc.org/ooxml/spreadsheetml/main`` for SpreadsheetML,
``http://purl.oclc.org/ooxml/officeDocument/relationships/...`` for relationship types).
The patcher works in the transitional names: :class:`~khbook.ooxml.package.Package`
maps each XML part it reads with :func:`to_transitional` and each part it writes with
:func:`to_strict`, so what khbook adds to a Strict book is Strict too. The package-level
names (content types, package relationships, core properties) are the same in both.
"""

from __future__ import annotations

import re

_T = "http://schemas.openxmlformats.org"
_S = "http://purl.oclc.org/ooxml"

# (transitional, strict); a longer name before any name it starts with
PAIRS: list[tuple[str, str]] = [
    (f"{_T}/officeDocument/2006/relationships/extended-properties",
     f"{_S}/officeDocument/relationships/extendedProperties"),
    (f"{_T}/officeDocument/2006/relationships/custom-properties",
     f"{_S}/officeDocument/relationships/customProperties"),
    (f"{_T}/officeDocument/2006/relationships", f"{_S}/officeDocument/relationships"),
    (f"{_T}/officeDocument/2006/extended-properties", f"{_S}/officeDocument/extendedProperties"),
    (f"{_T}/officeDocument/2006/custom-properties", f"{_S}/officeDocument/customProperties"),
    (f"{_T}/officeDocument/2006/docPropsVTypes", f"{_S}/officeDocument/docPropsVTypes"),
    (f"{_T}/officeDocument/2006/sharedTypes", f"{_S}/officeDocument/sharedTypes"),
    (f"{_T}/spreadsheetml/2006/main", f"{_S}/spreadsheetml/main"),
    (f"{_T}/drawingml/2006/main", f"{_S}/drawingml/main"),
    (f"{_T}/drawingml/2006/chartDrawing", f"{_S}/drawingml/chartDrawing"),
    (f"{_T}/drawingml/2006/chart", f"{_S}/drawingml/chart"),
    (f"{_T}/drawingml/2006/spreadsheetDrawing", f"{_S}/drawingml/spreadsheetDrawing"),
    (f"{_T}/drawingml/2006/picture", f"{_S}/drawingml/picture"),
]
_OFFICE_DOCUMENT = f"{_S}/officeDocument/relationships/officeDocument".encode()


def _pattern(names: list[str]) -> re.Pattern[bytes]:
    # a name ends at a quote or a "/" (a relationship type under it): never mid-word
    return re.compile(b"(" + b"|".join(re.escape(n.encode()) for n in names) + rb')(?=["\'/<])')


_TO_STRICT = dict((t.encode(), s.encode()) for t, s in PAIRS)
_TO_TRANSITIONAL = dict((s.encode(), t.encode()) for t, s in PAIRS)
_RX_STRICT = _pattern([t for t, _ in PAIRS])
_RX_TRANSITIONAL = _pattern([s for _, s in PAIRS])


def is_strict(package_rels: bytes) -> bool:
    """True when the package relationships (``_rels/.rels``) point at a Strict workbook."""
    return _OFFICE_DOCUMENT in package_rels


def is_xml(name: str) -> bool:
    return name.lower().endswith((".xml", ".rels", ".vml"))


def to_transitional(data: bytes) -> bytes:
    if b"purl.oclc.org" not in data:
        return data
    return _RX_TRANSITIONAL.sub(lambda m: _TO_TRANSITIONAL[m.group(1)], data)


def to_strict(data: bytes) -> bytes:
    if b"schemas.openxmlformats.org" not in data:
        return data
    return _RX_STRICT.sub(lambda m: _TO_STRICT[m.group(1)], data)
