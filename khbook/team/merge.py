"""`khbook merge`: the reps' workbooks back into one department workbook.

Every row of every file is kept, in file order, with the file it came from in one more
column right of the template's. Nothing is resolved silently: a customer that comes from
two files is listed on the 合并冲突 sheet, field by field where the two differ, and so is
every row of that customer on the other sheets that only one of the files has. The
output is in the current template with the computed columns recomputed for the whole
department.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from khbook.base.errors import Hint, WorkbookError
from khbook.findings import value_text
from khbook.spec import Sheet, Spec
from khbook.team.book import (
    ExtraSheet,
    Row,
    TeamBook,
    classify_rows,
    read_team_book,
    write_team_book,
)

SUFFIXES = (".xlsx", ".xlsm")


@dataclass
class Conflict:
    kind: str            # "same_customer" | "edited" | "rows"
    customer_id: str
    sheet: str           # sheet name in the output language
    field: str           # column header ('' for a whole row)
    file1: str
    row1: int | None
    value1: str
    file2: str
    row2: int | None
    value2: str

    def cells(self, words: dict[str, str]) -> list[Any]:
        return [words[f"conflict_{self.kind}"], self.customer_id, self.sheet, self.field, self.file1, self.row1,
                self.value1, self.file2, self.row2, self.value2]


@dataclass
class MergeResult:
    output: Path
    files: list[Path]
    customers: int
    rows: int
    conflicts: list[Conflict] = field(default_factory=list)


def workbook_files(directory: Path, *, skip: set[Path] = frozenset()) -> list[Path]:  # type: ignore[assignment]
    """The workbooks of a folder (not its subfolders), by name; lock and hidden files, and
    khbook's annotated copies (NAME.checked.xlsx), skipped."""
    out = []
    for p in sorted(directory.iterdir(), key=lambda x: x.name):
        if p.suffix.lower() in SUFFIXES and p.is_file() and not p.name.startswith(("~$", ".")) \
                and not p.stem.endswith(".checked") and p.resolve() not in skip:
            out.append(p)
    return out


def _fields(sheet: Sheet) -> list[str]:
    return [c.key for c in sheet.columns if not c.computed]


def _text(row: Row, keys: list[str]) -> tuple[str, ...]:
    return tuple(value_text(row.values.get(k)) for k in keys)


def find_conflicts(spec: Spec, books: list[TeamBook], lang: str) -> list[Conflict]:
    """Customers present in more than one file, and how their rows differ."""
    seen: dict[str, tuple[TeamBook, Row]] = {}
    child: dict[tuple[int, str], dict[str, list[Row]]] = {}
    for b in books:
        for sheet in spec.sheets[1:]:
            for r in b.rows[sheet.key]:
                child.setdefault((id(b), sheet.key), defaultdict(list))[r.customer_id or ""].append(r)  # type: ignore[arg-type]
    customers = spec.sheet("customers")
    keys = _fields(customers)
    headers = {c.key: c.header(lang) for c in customers.columns}
    out: list[Conflict] = []
    for b in books:
        for r in b.rows["customers"]:
            cid = r.customer_id
            if not cid:
                continue
            if cid not in seen:
                seen[cid] = (b, r)
                continue
            a, ra = seen[cid]
            if a is b:
                continue  # a duplicate inside one file: the checks report it
            fa, fb = a.path.name, b.path.name
            diff = [k for k in keys if value_text(ra.values.get(k)) != value_text(r.values.get(k))]
            for k in diff:
                out.append(Conflict("edited", cid, customers.name(lang), headers[k], fa, ra.row,
                                    value_text(ra.values.get(k)), fb, r.row, value_text(r.values.get(k))))
            if not diff:
                out.append(Conflict("same_customer", cid, customers.name(lang), "", fa, ra.row, "", fb, r.row, ""))
            for sheet in spec.sheets[1:]:
                ks = _fields(sheet)
                rows_a = child.get((id(a), sheet.key), {}).get(cid, [])
                rows_b = child.get((id(b), sheet.key), {}).get(cid, [])
                out.extend(_row_differences(sheet, ks, cid, (fa, rows_a), (fb, rows_b), lang))
    return out


def _row_differences(sheet: Sheet, keys: list[str], cid: str, a: tuple[str, list[Row]], b: tuple[str, list[Row]],
                     lang: str) -> list[Conflict]:
    out = []
    for (fx, xs), (fy, ys) in ((a, b), (b, a)):
        left = Counter(_text(r, keys) for r in ys)
        for r in xs:
            t = _text(r, keys)
            if left[t]:
                left[t] -= 1
                continue
            shown = " | ".join(v for v in t[1:] if v)
            out.append(Conflict("rows", cid, sheet.name(lang), "", fx, r.row, shown, fy, None, ""))
    return out


def merge_dir(directory: str | Path, output: str | Path, *, spec: Spec, as_of: dt.date | None = None,
              lang: str = "zh", password: str | None = None) -> MergeResult:
    """Merge every workbook of `directory` into `output` (encrypted ones opened with
    `password`); see the module docstring."""
    as_of = as_of or dt.date.today()
    d, target = Path(directory), Path(output)
    if not d.is_dir():
        raise WorkbookError(str(d), "is not a folder", Hint("give_folder", "give the folder with the reps' workbooks"),
                            code="not_folder")
    words = spec.texts("team", lang)
    skip = {target.resolve()}
    files = [p for p in workbook_files(d, skip=skip) if p.stem != words["handover_file"]]
    if not files:
        raise WorkbookError(str(d), "holds no .xlsx or .xlsm workbooks",
                            Hint("give_folder", "give the folder with the reps' workbooks"), code="no_workbooks")
    books = [read_team_book(p, spec, as_of=as_of, lang=lang, password=password) for p in files]
    rows: dict[str, list[Row]] = {s.key: [] for s in spec.sheets}
    for b in books:
        for sheet in spec.sheets:
            for r in b.rows[sheet.key]:
                rows[sheet.key].append(Row(r.values, r.row, r.customer_id, b.path.name))
    conflicts = find_conflicts(spec, books, lang)
    classes = classify_rows(spec, rows, as_of=as_of, lang=lang)
    sheet = ExtraSheet(words["conflicts_sheet"], spec.text_list("team.conflict_columns", lang),
                       [c.cells(words) for c in conflicts], [34, 14, 12, 16, 20, 8, 30, 20, 8, 30])
    write_team_book(spec, target, rows, classes=classes, lang=lang, source_header=words["source_column"],
                    extra_sheets=[sheet], first_sheet=sheet.name if conflicts else None)
    return MergeResult(target, files, len(rows["customers"]), sum(len(rows[s.key]) for s in spec.sheets[1:]), conflicts)
