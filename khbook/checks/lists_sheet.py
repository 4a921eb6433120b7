"""The hidden lists sheet (下拉列表) against the spec: a rep's edits there are reported.

The dropdowns read their options from this sheet, but khbook validates against the spec
(lists.yaml): an option a rep types into the hidden sheet (a new 行业 新能源) passes the
dropdown and is then rejected cell by cell. One finding per edited list says what differs.
"""

from __future__ import annotations

from khbook.findings import FindingFactory
from khbook.read.model import col_letter
from khbook.read.parsers import clean_text
from khbook.read.rawbook import RawBook
from khbook.spec import Spec
from khbook.spec.vocabulary import list_join


def check_lists_sheet(raw: RawBook, spec: Spec, ff: FindingFactory) -> None:
    names = {spec.lists_sheet(lang) for lang in ("zh", "en")}
    sheet = next((s for s in raw.sheets if s.name in names), None)
    if sheet is None or not sheet.rows:
        return
    header = sheet.rows[0]
    users = {c.list: c for s in spec.sheets for c in s.columns if c.list}
    rule = spec.rule("lists_sheet_edited")
    for j, name in enumerate(header):
        vl = spec.lists.get(str(name)) if name is not None else None
        if vl is None:
            continue
        found = [t for r in sheet.rows[1:] if j < len(r) and (t := clean_text(r[j])) is not None]
        lang = "en" if sum(v in vl.labels("en") for v in found) > sum(v in vl.labels("zh") for v in found) else "zh"
        expected = vl.labels(lang)
        added = [v for v in found if v not in expected]
        removed = [v for v in expected if v not in found]
        if not added and not removed:
            continue
        join = list_join(ff.lang)
        parts = []
        if added:
            parts.append(rule.detail("added", ff.lang).format(values=join.join(added)))
        if removed:
            parts.append(rule.detail("removed", ff.lang).format(values=join.join(removed)))
        row = next((i + 2 for i, v in enumerate(found) if v in added), 1)
        col = users.get(vl.name)
        ff.add("lists_sheet_edited", sheet=sheet.name, cell=f"{col_letter(j)}{row}", row=row,
               column=col.header(ff.lang) if col else str(name), value=join.join(added),
               detail=rule.detail("join", ff.lang).join(parts), other=sheet.name)
