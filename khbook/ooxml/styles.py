"""Append-only edits to xl/styles.xml: differential formats (dxf) for conditional
formatting, and cell formats (xf) derived from an existing one for new cells.

Existing fonts, fills, xfs and dxfs are never renumbered or changed; new entries are
appended and the `count` attributes updated. Identical entries are reused.
"""

from __future__ import annotations

import copy
import posixpath
import re

from lxml import etree

from khbook.ooxml.package import Package
from khbook.ooxml.xmlutil import CT_STYLES, MAIN, RT_STYLES, STYLES_ORDER, insert_ordered, q

_MINIMAL = (
    f'<styleSheet xmlns="{MAIN}"><fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
).encode()

# built-in number formats that are dates or times (incl. the CJK ones 27-36, 50-58)
_DATE_BUILTINS = set(range(14, 23)) | set(range(27, 37)) | set(range(45, 48)) | set(range(50, 59))
_DATE_CODE = re.compile(r"[ymdhs]", re.I)
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
LINK_RGB = "FF0563C1"


def is_date_code(code: str) -> bool:
    """True when a custom number format shows a date or time."""
    stripped = re.sub(r'"[^"]*"|\\.|\[[^\]]*\]', "", code.split(";")[0])
    return bool(_DATE_CODE.search(stripped))


class Styles:
    """The workbook's stylesheet, loaded on first use and written back only if changed."""

    def __init__(self, pkg: Package, workbook_part: str) -> None:
        self.pkg = pkg
        found = pkg.targets(workbook_part, RT_STYLES)
        if found and pkg.exists(found[0][1]):
            self.part = found[0][1]
            self.root = pkg.xml(self.part)
        else:  # no stylesheet (LibreOffice writes such packages), or a dangling relationship to one
            self.part = found[0][1] if found else posixpath.join(posixpath.dirname(workbook_part), "styles.xml")
            self.root = etree.fromstring(_MINIMAL)
            if not found:
                pkg.add_rel(workbook_part, RT_STYLES, self.part)
            pkg.put(self.part, self.root, CT_STYLES)
        self.dirty = False
        self._xf_cache: dict[tuple, int] = {}

    # ---- sections -------------------------------------------------------------------
    def _section(self, name: str) -> etree._Element:
        el = self.root.find(q(name))
        if el is None:
            el = etree.Element(q(name))
            insert_ordered(self.root, el, STYLES_ORDER)
            if name == "cellXfs":
                etree.SubElement(el, q("xf"), numFmtId="0", fontId="0", fillId="0", borderId="0", xfId="0")
            if name == "fonts":
                f = etree.SubElement(el, q("font"))
                etree.SubElement(f, q("sz"), val="11")
                etree.SubElement(f, q("name"), val="Calibri")
            if name == "fills":
                for pattern in ("none", "gray125"):
                    etree.SubElement(etree.SubElement(el, q("fill")), q("patternFill"), patternType=pattern)
            el.set("count", str(len(el)))
        return el

    def _append(self, section: str, new: etree._Element, *, reuse: bool = True) -> int:
        """Append `new` to a section (or reuse an identical entry); returns its index."""
        sec = self._section(section)
        items = [c for c in sec if isinstance(c.tag, str)]
        if reuse:
            key = _canon(new)
            for i, el in enumerate(items):
                if _canon(el) == key:
                    return i
        sec.append(new)
        sec.set("count", str(len(items) + 1))
        self.dirty = True
        return len(items)

    # ---- dxf ------------------------------------------------------------------------
    def dxf_fill(self, rgb: str, *, bold: bool = False) -> int:
        """A dxf with a solid fill (and optionally bold); reuses an identical one."""
        dxf = etree.Element(q("dxf"))
        if bold:
            etree.SubElement(etree.SubElement(dxf, q("font")), q("b"))
        pf = etree.SubElement(etree.SubElement(dxf, q("fill")), q("patternFill"), patternType="solid")
        etree.SubElement(pf, q("fgColor"), rgb=rgb)
        etree.SubElement(pf, q("bgColor"), rgb=rgb)
        return self._append("dxfs", dxf)

    # ---- number formats ---------------------------------------------------------------
    def num_fmt_code(self, fmt_id: int) -> str | None:
        sec = self.root.find(q("numFmts"))
        if sec is not None:
            for el in sec:
                if el.get("numFmtId") == str(fmt_id):
                    return el.get("formatCode")
        return None

    def num_fmt_id(self, code: str) -> int:
        sec = self._section("numFmts")
        used = [int(el.get("numFmtId", "0")) for el in sec if isinstance(el.tag, str)]
        for el in sec:
            if el.get("formatCode") == code:
                return int(el.get("numFmtId", "0"))
        new_id = max([163, *used]) + 1
        etree.SubElement(sec, q("numFmt"), numFmtId=str(new_id), formatCode=code)
        sec.set("count", str(len(used) + 1))
        self.dirty = True
        return new_id

    def _xf(self, index: int) -> etree._Element:
        xfs = [c for c in self._section("cellXfs") if isinstance(c.tag, str)]
        return xfs[index] if 0 <= index < len(xfs) else xfs[0]

    def is_date_xf(self, index: int) -> bool:
        fmt = int(self._xf(index).get("numFmtId", "0"))
        if fmt in _DATE_BUILTINS:
            return True
        code = self.num_fmt_code(fmt)
        return bool(code) and is_date_code(code)

    # ---- derived xfs ------------------------------------------------------------------
    def derived_xf(self, base: int = 0, *, num_fmt: str | None = None, bold: bool = False,
                   fill_rgb: str | None = None, link: bool = False, wrap: bool = False) -> int:
        """An xf like `base` with a number format, bold/link font, solid fill or wrapped, top-aligned text."""
        key = (base, num_fmt, bold, fill_rgb, link, wrap)
        if key in self._xf_cache:
            return self._xf_cache[key]
        xf = copy.deepcopy(self._xf(base))
        if num_fmt is not None:
            xf.set("numFmtId", str(self.num_fmt_id(num_fmt)))
            xf.set("applyNumberFormat", "1")
        if bold or link:
            fonts = [c for c in self._section("fonts") if isinstance(c.tag, str)]
            font_id = int(xf.get("fontId", "0"))
            font = copy.deepcopy(fonts[font_id] if font_id < len(fonts) else fonts[0])
            if bold and font.find(q("b")) is None:
                font.insert(0, etree.Element(q("b")))
            if link:
                for tag in ("u", "color"):
                    for el in font.findall(q(tag)):
                        font.remove(el)
                font.append(etree.Element(q("u")))
                font.append(etree.Element(q("color"), rgb=LINK_RGB))
            xf.set("fontId", str(self._append("fonts", font)))
            xf.set("applyFont", "1")
        if fill_rgb is not None:
            fill = etree.Element(q("fill"))
            pf = etree.SubElement(fill, q("patternFill"), patternType="solid")
            etree.SubElement(pf, q("fgColor"), rgb=fill_rgb)
            etree.SubElement(pf, q("bgColor"), indexed="64")
            xf.set("fillId", str(self._append("fills", fill)))
            xf.set("applyFill", "1")
        if wrap:
            for el in xf.findall(q("alignment")):
                xf.remove(el)
            align = etree.Element(q("alignment"), wrapText="1", vertical="top")
            protection = xf.find(q("protection"))
            if protection is not None:
                protection.addprevious(align)
            else:
                xf.append(align)
            xf.set("applyAlignment", "1")
        idx = self._append("cellXfs", xf) if _canon(xf) != _canon(self._xf(base)) else base
        self._xf_cache[key] = idx
        return idx

    def save(self) -> None:
        if self.dirty:
            self.pkg.put(self.part, self.root)
            self.dirty = False


def _canon(el: etree._Element) -> tuple:
    """A namespace-prefix-independent key for comparing style entries."""
    return (el.tag, tuple(sorted(el.attrib.items())), (el.text or "").strip(),
            tuple(_canon(c) for c in el if isinstance(c.tag, str)))
