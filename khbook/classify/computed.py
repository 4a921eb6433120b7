"""Computed and derived columns: the classification as cell values, and what it changes.

The customers sheet's computed columns (客户价值等级, 客户等级(ABC), 合作阶段, 状态标签, 分类依据)
and derived ones (所在区域, 企业规模) are never trusted from the sheet. This module turns a
CustomerClass into the text each column should hold (in the workbook's language) and
reports every typed value that the recomputation changes (old -> new).
"""

from __future__ import annotations

from dataclasses import dataclass

from khbook.findings import FindingFactory, StageResult, value_text
from khbook.read.model import Book, CustomerClass
from khbook.spec import Column, Spec
from khbook.spec.vocabulary import list_join

# spec column key -> CustomerClass attribute, where the names differ
_ATTR = {"status_tags": "tags"}



def class_columns(spec: Spec) -> list[Column]:
    """Customers-sheet columns that khbook fills from the classification, in sheet order."""
    fields = CustomerClass.__dataclass_fields__
    return [c for c in spec.sheet("customers").columns if (c.computed or c.derived) and _ATTR.get(c.key, c.key) in fields]


def canonical_value(c: CustomerClass, col: Column) -> object:
    return getattr(c, _ATTR.get(col.key, col.key))


def display(spec: Spec, col: Column, value: object, lang: str) -> str | None:
    """The cell text for a canonical computed value."""
    if value is None:
        return None
    if col.key == "reasons" and isinstance(value, dict):
        return reason_text(spec, value, lang)
    values = spec.list_for(col)
    if col.type == "multi":
        items = [values.translate(v, lang) if values else v for v in value]  # type: ignore[union-attr]
        return list_join(lang).join(items) or None
    if values is not None:
        return values.translate(str(value), lang)
    return str(value)


def reason_text(spec: Spec, reasons: dict[str, str], lang: str) -> str | None:
    """The 分类依据 cell: every reason once, in order; a reason another one already contains
    (the decision chain, said again by its tag) is left out."""
    texts = list(dict.fromkeys(str(v) for v in reasons.values() if v))  # equal reasons said once
    blob = "\x00".join(texts)  # each text occurs once in itself: more often when another contains it
    kept = [t for t in texts if blob.count(t) == 1] if len(texts) > 1 else texts
    return spec.reasons["tag_sep"](lang).join(kept) or None


def _same(col: Column, old: object, new: object) -> bool:
    if col.type == "multi":
        return set(old or ()) == set(new or ())  # type: ignore[arg-type]
    return old == new


@dataclass
class Change:
    row: int
    field: str
    old: str            # as the rep typed it
    new: str | None     # the text khbook writes
    customer_id: str


def computed_changes(book: Book, customers: list[CustomerClass], spec: Spec, lang: str) -> list[Change]:
    """Typed values of computed/derived columns that the recomputation changes."""
    t = book.table("customers")
    if t is None:
        return []
    out: list[Change] = []
    cols = [c for c in class_columns(spec) if c.key in t.frame and c.key != "reasons"]
    raws = {c.key: {r: v for r, v in zip(t.raw.index.tolist(), t.raw[c.key].tolist(), strict=True) if v is not None}
            for c in cols}
    filled = set().union(*raws.values())  # the rows where the rep typed any of these columns
    if not filled:
        return []
    typed = {c.key: t.values(c.key) for c in cols}
    for c in customers:
        if c.row is None or c.row not in filled:
            continue
        for col in cols:
            old = typed[col.key].get(c.row)
            raw = raws[col.key].get(c.row)
            if raw is None or (col.type == "multi" and not old):
                continue
            new = canonical_value(c, col)
            if new is None and col.derived:
                continue  # nothing derived: the typed value stands
            if not _same(col, old, new):
                out.append(Change(c.row, col.key, value_text(raw), display(spec, col, new, lang), c.customer_id))
    return out


def report_changes(changes: list[Change], book: Book, spec: Spec, *, lang: str = "zh", file: str = "") -> StageResult:
    """One ``computed_changed`` finding (提示) per changed computed value."""
    ff = FindingFactory(spec, lang, file=file)
    t = book.table("customers")
    if t is None:
        return StageResult()
    for ch in changes:
        ff.add("computed_changed", sheet=t.name, cell=t.cell(ch.row, ch.field), row=ch.row, column=t.header(ch.field),
               field=ch.field, customer_id=ch.customer_id, value=ch.old, detail=ch.new or "")
    return StageResult(tuple(ff.items))
