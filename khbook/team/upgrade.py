"""`khbook upgrade`: a rep's book from an older template into the current one.

The old book is read with the current spec (sheets and columns are matched by name or
alias, as ``khbook check`` does), then written into the current template:

- a list value the spec has renamed (the old spelling is an alias of the new item) is
  written as the new label;
- a column the template no longer has is never dropped: its values go to the 旧版列 sheet
  with the sheet, row and 客户ID they belonged to;
- a column the template has added appears empty;
- every one of these changes, and the sheet and header names that changed, is listed on
  the 升级报告 sheet of the new book (and returned), cell by cell.

The template version comes from the book's custom document property (see
:data:`khbook.template.writer.SPEC_VERSION_PROPERTY`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from khbook.base.errors import Hint, WorkbookError
from khbook.classify.computed import display
from khbook.read.model import col_letter
from khbook.read.parsers import clean_text, split_multi
from khbook.read.tables import norm_header
from khbook.spec import Column, Spec
from khbook.team.book import ExtraSheet, Row, classify_rows, read_team_book, write_team_book


@dataclass
class Change:
    kind: str          # version | sheet | header | added | retired | value
    sheet: str
    cell: str
    column: str
    old: str
    new: str

    def cells(self, words: dict[str, str]) -> list[Any]:
        return [words[f"change_{self.kind}"], self.sheet, self.cell, self.column, self.old, self.new]


@dataclass
class UpgradeResult:
    output: Path
    old_version: int | None
    version: int
    changes: list[Change] = field(default_factory=list)
    retired: int = 0       # values kept on the retired-columns sheet


def default_output(src: Path) -> Path:
    return src.with_name(f"{src.stem}.upgraded.xlsx")


def renamed_value(spec: Spec, col: Column, value: Any, lang: str) -> str | None:
    """The current label for an old spelling of a list value (one of the item's aliases);
    None when nothing changes. A current label, in either language, is left as it is."""
    values = spec.list_for(col)
    text = clean_text(value) if isinstance(value, str) else None
    if values is None or not text:
        return None
    current = {label for item in values.items for label in (item.zh, item.en)}
    if col.type == "multi":
        parts = split_multi(text)
        if all(x in current or values.canonical(x) is None for x in parts):
            return None
        return display(spec, col, tuple(x if x in current else values.canonical(x) or x for x in parts), lang)
    canonical = values.canonical(text)
    if text in current or canonical is None:
        return None
    return values.translate(canonical, lang)


def upgrade_book(src: str | Path, output: str | Path | None = None, *, spec: Spec, as_of: dt.date | None = None,
                 lang: str = "zh", password: str | None = None) -> UpgradeResult:
    """Write `src`'s data into the current template; see the module docstring."""
    as_of = as_of or dt.date.today()
    p = Path(src)
    out = Path(output) if output is not None else default_output(p)
    if out.exists() and p.exists() and out.resolve() == p.resolve():
        raise WorkbookError(str(p), "the output would overwrite the input",
                            Hint("other_output", "choose another output path with -o"), code="overwrite_input")
    book = read_team_book(p, spec, as_of=as_of, lang=lang, password=password)
    words = spec.texts("team", lang)
    changes: list[Change] = []
    if book.spec_version != spec.version:
        old = words["unknown_version"] if book.spec_version is None else str(book.spec_version)
        changes.append(Change("version", "", "", "", old, str(spec.version)))
    tables = book.report.book.tables if book.report.book else {}
    rows: dict[str, list[Row]] = {}
    retired_rows: list[list[Any]] = []
    retired_headers: list[str] = []
    for sheet in spec.sheets:
        t = tables.get(sheet.key)
        new_name = sheet.name(lang)
        rows[sheet.key] = []
        if t is None:
            continue
        if t.name != new_name:
            changes.append(Change("sheet", new_name, "", "", t.name, new_name))
        index = {c.key: i for i, c in enumerate(sheet.columns)}
        for col in sheet.columns:
            info = t.columns.get(col.key)
            if info is None:
                changes.append(Change("added", new_name, "", col.header(lang), "", ""))
            elif norm_header(info.header) != norm_header(col.header(lang)):
                changes.append(Change("header", new_name, "", col.header(lang), info.header, col.header(lang)))
        for h in book.extra_headers.get(sheet.key, []):
            changes.append(Change("retired", new_name, "", h, "", words["retired_sheet"]))
            if h not in retired_headers:
                retired_headers.append(h)
        lists = [c for c in sheet.columns if c.list and not c.computed and c.key in t.columns]
        for i, r in enumerate(book.rows[sheet.key]):
            values = dict(r.values)
            out_row = spec.header_row + 1 + i
            for col in lists:
                new = renamed_value(spec, col, values.get(col.key), lang)
                if new is not None:
                    changes.append(Change("value", new_name, f"{col_letter(index[col.key])}{out_row}", col.header(lang),
                                          str(values[col.key]), new))
                    values[col.key] = new
            rows[sheet.key].append(Row(values, r.row, r.customer_id))
            if r.extra:
                retired_rows.append([t.name, r.row, r.customer_id or "", *(r.extra.get(h) for h in retired_headers)])
    extra = [ExtraSheet(words["upgrade_sheet"], spec.text_list("team.upgrade_columns", lang),
                        [c.cells(words) for c in changes], [30, 14, 8, 18, 24, 24])]
    if retired_headers:
        head = spec.text_list("team.retired_columns", lang) + retired_headers
        width = len(head)
        extra.append(ExtraSheet(words["retired_sheet"], head, [line + [None] * (width - len(line)) for line in retired_rows]))
    classes = classify_rows(spec, rows, as_of=as_of, lang=lang)
    write_team_book(spec, out, rows, classes=classes, lang=lang, extra_sheets=extra)
    return UpgradeResult(out, book.spec_version, spec.version, changes, sum(len([v for v in r[3:] if v is not None])
                                                                             for r in retired_rows))
