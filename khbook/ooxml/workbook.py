"""xl/workbook.xml and its companions: the sheet list, defined names, removal of a sheet
with the parts only it used, docProps/app.xml titles and xl/calcChain.xml entries.

workbook.xml is only rewritten when a sheet is added, replaced (state/filter name) or
removed; the elements it had are kept.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from lxml import etree

from khbook.base.errors import Hint, WorkbookError
from khbook.base.excel import quote_sheet
from khbook.ooxml.package import Package
from khbook.ooxml.xmlutil import (
    CT_WORKSHEET,
    MAIN,
    REL_NS,
    RT_CALCCHAIN,
    RT_EXTENDED,
    RT_WORKSHEET,
    insert_ordered,
    nsmap_for,
    q,
)

WORKBOOK_ORDER = (
    "fileVersion", "fileSharing", "workbookPr", "workbookProtection", "bookViews", "sheets",
    "functionGroups", "externalReferences", "definedNames", "calcPr", "oleSize",
    "customWorkbookViews", "pivotCaches", "smartTagPr", "smartTagTypes", "webPublishing",
    "fileRecoveryPr", "webPublishObjects", "extLst",
)
_RID = f"{{{REL_NS}}}id"
_VT = "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"
FILTER_NAME = "_xlnm._FilterDatabase"


@dataclass
class SheetRef:
    name: str
    sheet_id: int
    rid: str
    part: str | None      # None when the relationship is missing or not a worksheet
    element: etree._Element


class Workbook:
    def __init__(self, pkg: Package) -> None:
        self.pkg = pkg
        office = [t for r, t in pkg.targets("") if r.type.endswith("/officeDocument")]
        if not office:
            raise WorkbookError(str(pkg.src), "the package has no workbook part", Hint("excel_file", "is this an Excel file?"),
                                code="no_workbook_part")
        self.part = office[0]
        self.root = pkg.xml(self.part)
        self.dirty = False
        self._orig_names = [s.name for s in self.sheets() if s.part]
        self.date1904 = False
        pr = self.root.find(q("workbookPr"))
        if pr is not None and pr.get("date1904") in ("1", "true"):
            self.date1904 = True

    # ---- sheets ------------------------------------------------------------------------
    def sheets(self) -> list[SheetRef]:
        by_id = {r.id: (r, t) for r, t in self.pkg.targets(self.part)}
        out = []
        sheets = self.root.find(q("sheets"))
        for el in sheets.iterchildren(q("sheet")) if sheets is not None else []:
            rid = el.get(_RID, "")
            rel = by_id.get(rid)
            part = rel[1] if rel and rel[0].type == RT_WORKSHEET else None
            out.append(SheetRef(el.get("name", ""), int(el.get("sheetId", "0")), rid, part, el))
        return out

    def find(self, name: str) -> tuple[int, SheetRef] | None:
        for i, s in enumerate(self.sheets()):
            if s.name.lower() == name.lower():
                return i, s
        return None

    def worksheet_part(self, name: str) -> str:
        hit = self.find(name)
        if hit is None or hit[1].part is None:
            raise WorkbookError(str(self.pkg.src), f"no worksheet named {name!r}", Hint("sheet_name", "check the sheet name"),
                                code="no_such_sheet", params={"sheet": repr(name)})
        return hit[1].part

    def add_sheet(self, name: str, hidden: bool) -> tuple[int, str]:
        """Append a sheet entry and a fresh worksheet part; returns (index, part name)."""
        part = self.pkg.free_name("xl/worksheets/sheet{}.xml")
        rid = self.pkg.add_rel(self.part, RT_WORKSHEET, part)
        sheets = self.root.find(q("sheets"))
        sheet_id = max([s.sheet_id for s in self.sheets()] + [0]) + 1
        el = etree.SubElement(sheets, q("sheet"), name=name, sheetId=str(sheet_id), nsmap=nsmap_for(sheets, REL_NS))
        el.set(_RID, rid)
        if hidden:
            el.set("state", "hidden")
        self.pkg.set_override(part, CT_WORKSHEET)
        self.dirty = True
        return len(self.sheets()) - 1, part

    def set_hidden(self, ref: SheetRef, hidden: bool) -> None:
        state = ref.element.get("state")
        if hidden and state is None:
            ref.element.set("state", "hidden")
            self.dirty = True
        elif not hidden and state == "hidden":
            del ref.element.attrib["state"]
            self.dirty = True

    def remove_sheet(self, name: str) -> None:
        hit = self.find(name)
        if hit is None:
            return
        idx, ref = hit
        if sum(1 for s in self.sheets() if s.element.get("state") is None) <= 1 and ref.element.get("state") is None:
            raise WorkbookError(str(self.pkg.src), f"cannot remove {name!r}: a workbook needs a visible sheet",
                                code="last_visible_sheet", params={"sheet": repr(name)})
        ref.element.getparent().remove(ref.element)
        self.pkg.drop_rel(self.part, ref.rid)
        if ref.part:
            purge(self.pkg, ref.part)
        dn = self.root.find(q("definedNames"))
        for el in list(dn) if dn is not None else []:
            lid = el.get("localSheetId")
            if lid is not None and lid.isdigit():
                if int(lid) == idx:
                    dn.remove(el)
                elif int(lid) > idx:
                    el.set("localSheetId", str(int(lid) - 1))
        if dn is not None and len(dn) == 0:
            self.root.remove(dn)
        for view in self.root.iter(q("workbookView")):
            for attr in ("activeTab", "firstSheet"):
                v = view.get(attr)
                if v is not None and v.isdigit() and int(v) >= idx and int(v) > 0:
                    view.set(attr, str(int(v) - 1))
        self.drop_calc_entries({ref.sheet_id: None})
        self.dirty = True

    def set_filter_name(self, index: int, sheet_name: str, ref: str | None) -> None:
        """Keep the hidden _xlnm._FilterDatabase name of a (new) sheet in line with its autofilter."""
        dn = self.root.find(q("definedNames"))
        existing = None
        for el in dn if dn is not None else []:
            if el.get("name") == FILTER_NAME and el.get("localSheetId") == str(index):
                existing = el
        if ref is None:
            if existing is not None:
                dn.remove(existing)
                self.dirty = True
            return
        a, _, b = ref.partition(":")
        text = f"{quote_sheet(sheet_name)}!{_abs(a)}:{_abs(b or a)}"
        if existing is not None:
            if existing.text != text:
                existing.text = text
                self.dirty = True
            return
        if dn is None:
            dn = etree.Element(q("definedNames"))
            insert_ordered(self.root, dn, WORKBOOK_ORDER)
        el = etree.SubElement(dn, q("definedName"), name=FILTER_NAME, localSheetId=str(index), hidden="1")
        el.text = text
        self.dirty = True

    # ---- calc chain ------------------------------------------------------------------
    def drop_calc_entries(self, cells: dict[int, set[str] | None]) -> None:
        """Remove calcChain entries: sheetId -> cell refs (None = every cell of the sheet)."""
        found = self.pkg.targets(self.part, RT_CALCCHAIN)
        if not found or not cells or not self.pkg.exists(found[0][1]):
            return
        rel, part = found[0]
        root = self.pkg.xml(part)
        sheet = None
        kept: list[tuple[etree._Element, str]] = []
        changed = False
        for c in list(root):
            if not isinstance(c.tag, str):
                continue
            sheet = c.get("i", sheet)
            sid = int(sheet) if sheet and sheet.isdigit() else None
            if sid in cells and (cells[sid] is None or c.get("r") in (cells[sid] or ())):
                root.remove(c)
                changed = True
            else:
                kept.append((c, sheet or ""))
        if not changed:
            return
        prev = None
        for c, sheet in kept:   # write i where it differs from the previous kept entry
            if sheet != prev:
                c.set("i", sheet)
            prev = sheet
        if kept:
            self.pkg.put(part, root)
        else:
            self.pkg.remove(part)
            self.pkg.drop_rel(self.part, rel.id)

    # ---- output -----------------------------------------------------------------------
    def save(self) -> None:
        if self.dirty:
            self.pkg.put(self.part, self.root)
        self._update_app()

    def _update_app(self) -> None:
        new_names = [s.name for s in self.sheets() if s.part]
        if new_names == self._orig_names:
            return
        found = [t for r, t in self.pkg.targets("") if r.type == RT_EXTENDED]
        if not found or not self.pkg.exists(found[0]):
            return
        root = self.pkg.xml(found[0])
        ns = {"e": root.nsmap.get(None, ""), "vt": _VT}
        pairs = root.find("e:HeadingPairs/vt:vector", ns)
        titles = root.find("e:TitlesOfParts/vt:vector", ns)
        if pairs is None or titles is None:
            return
        variants = pairs.findall("vt:variant", ns)
        lp = titles.findall("vt:lpstr", ns)
        start = 0
        for i in range(0, len(variants) - 1, 2):
            count_el = variants[i + 1].find("vt:i4", ns)
            if count_el is None or not (count_el.text or "").isdigit():
                return
            count = int(count_el.text)
            if [e.text for e in lp[start:start + count]] == self._orig_names:
                for e in lp[start:start + count]:
                    titles.remove(e)
                anchor = lp[start - 1] if start > 0 else None
                for n, name in enumerate(new_names):
                    el = etree.Element(f"{{{_VT}}}lpstr")
                    el.text = name
                    if anchor is None:
                        titles.insert(n, el)
                    else:
                        anchor.addnext(el)
                    anchor = el
                count_el.text = str(len(new_names))
                titles.set("size", str(len(titles.findall("vt:lpstr", ns))))
                self.pkg.put(found[0], root)
                return
            start += count


def _abs(ref: str) -> str:
    letters = "".join(ch for ch in ref if ch.isalpha())
    digits = "".join(ch for ch in ref if ch.isdigit())
    return f"${letters}${digits}"


def purge(pkg: Package, part: str) -> list[str]:
    """Remove `part` and every part reachable from it that nothing else references."""
    removed: list[str] = []
    todo = [part]
    while todo:
        current = todo.pop()
        if not pkg.exists(current) and not pkg.rels(current):
            continue
        children = [t for _, t in pkg.targets(current)]
        pkg.clear_rels(current)
        pkg.remove(current)
        removed.append(current)
        referenced = {t for src in pkg.all_rels_sources() if src not in removed
                      for _, t in pkg.targets(src)}
        for child in children:
            if child not in referenced and pkg.exists(child) and not child.endswith(".rels"):
                todo.append(child)
    return removed


def reset_part(pkg: Package, part: str) -> None:
    """Drop a part's relationships and the parts only they referenced; keep the part itself."""
    children = [t for _, t in pkg.targets(part)]
    pkg.clear_rels(part)
    referenced = {t for src in pkg.all_rels_sources() for _, t in pkg.targets(src)}
    for child in children:
        if child not in referenced and pkg.exists(child):
            purge(pkg, child)


__all__ = ["MAIN", "SheetRef", "Workbook", "posixpath", "purge", "reset_part"]
