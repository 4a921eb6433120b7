"""`khbook import`: bring existing customer lists into a khbook workbook.

read every sheet of every source (safety gate, raw values) -> find the data and guess the
columns (:mod:`~khbook.importer.detect`; a mapping file overrides) -> split the rows into
customers, contacts, follow-ups and deals, merging rows of one company
(:mod:`~khbook.importer.build`) -> write them into the blank template (``write_template``)
or onto a copy of an existing workbook (``--into``), through the OOXML patcher, so every
dropdown and validation of the book stays as it was -> add the 导入原始数据 sheet (every
non-empty source row with its file, sheet and row) -> check the result.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from khbook.base.errors import Hint, WorkbookError
from khbook.base.fsutil import refuse_overwrite
from khbook.importer.build import Built, build, company_keys
from khbook.importer.detect import Classifier, SourceSheet, read_source
from khbook.importer.mapping import apply_map, lookup, read_map, write_map
from khbook.ooxml import NewSheet, SheetEdits, write_annotated
from khbook.pipeline import check_file
from khbook.read.model import Table, col_letter
from khbook.read.rawbook import load_raw
from khbook.read.tables import norm_header
from khbook.report.report import Report
from khbook.spec import Spec, load_spec
from khbook.spec.vocab import import_vocab
from khbook.template.writer import write_template

CHILD_SHEETS = ("contacts", "followups", "needs", "deals")


@dataclass
class ImportResult:
    """What an import read, guessed, created and found."""

    sources: list[SourceSheet]
    output: Path | None = None
    map_written: Path | None = None
    rows_read: int = 0
    created: list[tuple[str, str]] = field(default_factory=list)      # (customer ID, name)
    existing: list[tuple[str, str]] = field(default_factory=list)     # --into: already in the book
    merged_rows: int = 0
    continuation_rows: int = 0
    unmapped_values: int = 0
    contacts: int = 0
    followups: int = 0
    deals: int = 0
    defaults: dict[str, int] = field(default_factory=dict)
    report: Report | None = None

    @property
    def guesses(self) -> int:
        return sum(1 for s in self.sources for c in s.columns if c.how == "content")

    def to_dict(self) -> dict[str, Any]:
        return {
            "output": str(self.output) if self.output else None,
            "map": str(self.map_written) if self.map_written else None,
            "rows_read": self.rows_read, "customers_created": len(self.created),
            "customers_existing": [{"customer_id": i, "name": n} for i, n in self.existing],
            "rows_merged": self.merged_rows + self.continuation_rows, "values_not_mapped": self.unmapped_values,
            "guesses": self.guesses, "contacts": self.contacts, "followups": self.followups, "deals": self.deals,
            "sources": [{"file": s.file, "sheet": s.sheet, "header_row": s.header_row, "data_rows": len(s.data),
                         "columns": [{"column": c.letter, "header": c.header, "target": c.target, "how": c.how,
                                      "kind": c.kind, "hits": c.hits, "total": c.total, "example": c.example}
                                     for c in s.columns]} for s in self.sources],
            "check": self.report.to_dict() if self.report else None,
        }


def read_sources(paths: list[str | Path], spec: Spec, maps: dict | None = None) -> list[SourceSheet]:
    """Every sheet with values of every source file, its data found and its columns guessed."""
    clf = Classifier(spec)
    own = {n.casefold() for n in spec.own_sheet_names()} | {spec.text("importer.raw_sheet", lang).casefold()
                                                             for lang in ("zh", "en")}
    template_names = {norm_header(n) for sheet in spec.sheets for n in (sheet.name.zh, sheet.name.en)}
    out: list[SourceSheet] = []
    for path in paths:
        raw = load_raw(path)
        try:
            name = Path(path).name
            if sum(norm_header(s.name) in template_names for s in raw.sheets) >= 2:
                raise WorkbookError(str(path), "is already a khbook workbook: nothing to import",
                                    Hint("use_into", "to add lists to this workbook, name it with --into"),
                                    code="already_khbook")
            for sheet in raw.sheets:
                if sheet.name.casefold() in own:
                    continue
                m = lookup(maps or {}, name, sheet.name)
                src = read_source(name, str(path), sheet.name, sheet.rows, spec, clf,
                                  header_row=m.header_row if m else None)
                sheet.release()
                if not src.rows:
                    continue
                if m is not None:
                    apply_map(src, m)
                out.append(src)
        finally:
            raw.close()
    return out


def _next_row(t: Table) -> int:
    return (int(t.frame.index.max()) if len(t.frame.index) else t.header_row) + 1


def _id_maker(prefix: str, taken: set[str]):
    n = 0
    for cid in taken:
        tail = cid[len(prefix):] if cid.startswith(prefix) else ""
        if tail.isdigit():
            n = max(n, int(tail))

    def make() -> str:
        nonlocal n
        while True:
            n += 1
            cid = f"{prefix}{n:04d}"
            if cid not in taken:
                taken.add(cid)
                return cid
    return make


def _assign_ids(built: Built, base: Report, prefix: str, result: ImportResult) -> None:
    cust_t = base.book.table("customers")
    taken: set[str] = set()
    known: dict[str, str] = {}
    if cust_t is not None:
        for _r, rec in cust_t.frame.iterrows():
            cid = rec.get("customer_id")
            if isinstance(cid, str) and cid:
                taken.add(cid)
                for key in company_keys({"name": rec.get("name"), "credit_code": rec.get("credit_code")}):
                    known.setdefault(key, cid)
    make = _id_maker(prefix, taken)
    for cust in built.customers:
        hit = next((known[k] for k in company_keys(cust.fields) if k in known), None)
        if hit:
            cust.customer_id, cust.existing = hit, True
            result.existing.append((hit, str(cust.fields.get("name") or "")))
            continue
        own = cust.fields.get("customer_id")
        if isinstance(own, str) and own and own not in taken:
            taken.add(own)
            cust.customer_id = own
        else:
            cust.customer_id = make()
        result.created.append((cust.customer_id, str(cust.fields.get("name") or "")))


def _edits(built: Built, base: Report, spec: Spec, lang: str, result: ImportResult) -> list[SheetEdits]:
    sep = spec.text("importer.remark_sep", lang)
    edits: list[SheetEdits] = []
    have_contacts: set[tuple[str, str]] = set()
    ct = base.book.table("contacts")
    if ct is not None and "name" in ct.frame:
        have_contacts = {(str(a), str(b)) for a, b in zip(ct.frame.get("customer_id", []), ct.frame["name"], strict=False)}
    for key in ("customers", *CHILD_SHEETS):
        t = base.book.table(key)
        if t is None:
            continue
        e = SheetEdits(t.name)
        row = _next_row(t)
        for cust in built.customers:
            if key == "customers":
                if cust.existing:
                    continue
                recs = [dict(cust.fields)]
                if cust.remarks:
                    recs[0]["remark"] = sep.join(x for x in [recs[0].get("remark"), *cust.remarks] if x)
            else:
                recs = getattr(cust, key)
                if key == "contacts" and cust.existing:
                    recs = [c for c in recs if (cust.customer_id, str(c.get("name"))) not in have_contacts]
            for rec in recs:
                rec = dict(rec, customer_id=cust.customer_id)
                for k, v in rec.items():
                    if k in t.columns and v not in (None, ""):
                        e.writes[f"{t.columns[k].letter}{row}"] = v
                row += 1
                if key != "customers":
                    setattr(result, key, getattr(result, key) + 1)
        if e.writes:
            edits.append(e)
    return edits


def _raw_sheet(sources: list[SourceSheet], built: Built, spec: Spec, lang: str, previous: list[list[Any]]) -> NewSheet:
    width = max((len(row) for s in sources for _r, row in s.rows), default=0)
    head = spec.text_list("importer.raw_columns", lang)
    rows: list[list[Any]] = [[*head, *(col_letter(j) for j in range(width))]]
    rows += [r[: len(head) + width] + [None] * max(0, len(head) + width - len(r)) for r in previous]
    for s in sources:
        for r, row in s.rows:
            cust = built.row_customer.get((s.file, s.sheet, r))
            cells = [str(v) if isinstance(v, bool) else (None if v == "" else v) for v in row]
            rows.append([s.file, s.sheet, r, cust.customer_id if cust else None, *cells,
                         *([None] * (width - len(cells)))])
    widths: dict[str, float] = {}
    for j in range(len(rows[0])):
        longest = max((_text_width(r[j]) for r in rows if j < len(r)), default=4)
        widths[col_letter(j)] = float(min(50, max(6, longest + 2)))
    return NewSheet(spec.text("importer.raw_sheet", lang), rows, widths=widths)


def _text_width(v: Any) -> int:
    if v is None:
        return 0
    text = v.isoformat() if isinstance(v, dt.date) else str(v)
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _previous_raw(into: Path, name: str) -> list[list[Any]]:
    raw = load_raw(into)
    try:
        for s in raw.sheets:
            if s.name == name:
                return [list(r) for r in s.rows[1:] if any(v not in (None, "") for v in r)]
        return []
    finally:
        raw.close()


def import_lists(sources: list[str | Path], output: str | Path | None, *, spec: Spec | None = None,
                 owner: str | None = None, id_prefix: str = "KH", map_file: str | Path | None = None,
                 write_map_to: str | Path | None = None, into: str | Path | None = None,
                 lang: str = "zh", as_of: dt.date | None = None) -> ImportResult:
    """Import `sources` into a new workbook `output` (or a copy of `into` written to `output`).

    With `output` None only the mapping file is written (`write_map_to`). Source files and
    `into` are never modified.
    """
    spec = spec or load_spec()
    as_of = as_of or dt.date.today()
    out = Path(output) if output is not None else None
    if out is not None:
        for p in [*sources, *([into] if into else [])]:
            refuse_overwrite(p, out)
    if out is not None:
        want = ".xlsm" if into is not None and Path(into).suffix.lower() == ".xlsm" else ".xlsx"
        if out.suffix.lower() != want:
            raise WorkbookError(str(out), f"the output name must end in {want}, as its content",
                                Hint("other_output", "choose another output path with -o"),
                                code="output_suffix", params={"suffix": want})
    maps = read_map(map_file, spec) if map_file else None
    srcs = read_sources(list(sources), spec, maps)
    result = ImportResult(srcs)
    if write_map_to:
        result.map_written = write_map(write_map_to, srcs, spec, lang)
    if out is None:
        return result
    vocab = import_vocab(spec)
    built = build(srcs, spec, vocab, owner=owner, colon=spec.text("importer.colon", lang))
    result.rows_read, result.merged_rows = built.rows_read, built.merged_rows
    result.continuation_rows, result.unmapped_values, result.defaults = (built.continuation_rows, built.unmapped_values,
                                                                        built.defaults)
    raw_name = spec.text("importer.raw_sheet", lang)
    with tempfile.TemporaryDirectory(prefix="khbook-import-") as tmp:
        base = Path(into) if into else write_template(spec, Path(tmp) / "template.xlsx", lang=lang)
        base_report = check_file(base, spec, as_of=as_of, lang=lang)
        _assign_ids(built, base_report, id_prefix, result)
        edits = _edits(built, base_report, spec, lang, result)
        previous = _previous_raw(base, raw_name) if into else []
        write_annotated(base, out, edits, [_raw_sheet(srcs, built, spec, lang, previous)])
    result.output = out
    result.report = check_file(out, spec, as_of=as_of, lang=lang)
    return result

