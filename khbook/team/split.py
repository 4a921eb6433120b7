"""`khbook split`: one workbook per owner from a department workbook, with reassignments.

The department workbook (a merged book, a batch's customers or any book in the template)
is read once; every customer goes to the file of its owner (the 负责人 column, or another
customers column given with ``by``) together with exactly its rows on the other sheets.
Customers without an owner, and rows whose 客户ID is on no customer, go to one file for
the manager: nothing is dropped.

Reassignment: a mapping (old owner -> new owner, or 客户ID -> new owner) rewrites the owner
before the customers are grouped; a book that came from ``khbook merge`` also tells which
owners the manager changed by hand (a customer whose owner is not the owner of the file it
came from). Every moved customer is listed in a handover report with the rows that moved.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from khbook.base.encrypt import encrypt_file
from khbook.base.errors import Hint, WorkbookError
from khbook.read.parsers import clean_text
from khbook.read.rawbook import load_raw
from khbook.read.tables import norm_header
from khbook.spec import Column, Spec
from khbook.team.book import ExtraSheet, Row, TeamBook, read_team_book, write_team_book
from khbook.team.merge import workbook_files

CHILD_SHEETS_KEY = "customer_id"
_BAD_FILE_CHARS = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


@dataclass
class Move:
    """One customer handed to another owner."""

    customer_id: str
    name: str
    old: str
    new: str
    rows: dict[str, int]     # other sheet key -> rows moved with it
    basis: str               # "by_customer" | "by_owner" | "in_master"


@dataclass
class SplitResult:
    files: dict[str, Path]                       # owner ("" for the manager's file) -> file
    customers: dict[str, int]                    # owner -> customers
    rows: dict[str, int]                         # owner -> rows on the other sheets
    orphans: int                                 # other-sheet rows with no known customer
    moves: list[Move] = field(default_factory=list)
    handover: Path | None = None
    unmatched: list[str] = field(default_factory=list)
    stale: list[Path] = field(default_factory=list)  # workbooks already in the folder that this split did not write


def file_stem(name: str) -> str:
    """A name usable as a file name on Windows, macOS and Linux."""
    stem = _BAD_FILE_CHARS.sub("_", name).strip().strip(".")
    return stem[:80] or "_"


def by_column(spec: Spec, by: str | None) -> Column:
    """The customers column to split by: its key, header or an alias (default 负责人)."""
    sheet = spec.sheet("customers")
    if not by:
        return sheet.column("owner")
    want = norm_header(by)
    for col in sheet.columns:
        if want in {norm_header(n) for n in (col.key, *col.match_names())}:
            return col
    raise WorkbookError(by, f"--by {by!r}: no such column on the customers sheet",
                        Hint("by_column", "give a header of the customers sheet, e.g. Owner"), code="no_such_column")


def read_mapping(path: str | Path) -> list[tuple[str, str]]:
    """A reassignment mapping: two columns (old owner or 客户ID, new owner), .csv or .xlsx."""
    p = Path(path)
    pairs: list[list[Any]]
    if p.suffix.lower() == ".csv":
        try:
            data = p.read_bytes()
        except OSError as exc:
            raise WorkbookError(str(p), f"cannot be read ({exc.strerror})", code="read_failed",
                                params={"reason": exc.strerror or str(exc)}) from None
        for enc in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(enc)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise WorkbookError(str(p), "is not UTF-8 or GB18030 text", Hint("save_utf8", "save it as CSV UTF-8"),
                                code="csv_encoding")
        pairs = [list(r) for r in csv.reader(text.splitlines())]
    else:
        raw = load_raw(p)
        try:
            pairs = raw.sheets[0].rows if raw.sheets else []
        finally:
            raw.close()
    out = []
    for line in pairs:
        cells = [clean_text(v) if v is not None else None for v in line[:2]]
        if len(cells) == 2 and cells[0] and cells[1]:
            out.append((cells[0], cells[1]))
    return out


def _owner(value: Any) -> str:
    return clean_text(value) or "" if value is not None else ""


def plan_owners(book: TeamBook, col: Column, mapping: list[tuple[str, str]], source_header: str) -> tuple[list[str], list[Move], list[str]]:
    """The owner of every customers row after reassignment, the moves, unmatched mapping keys."""
    customers = book.rows["customers"]
    typed = book.typed("customers", col.key)
    current = [_owner(typed.get(r.row)) for r in customers]
    ids = {r.customer_id for r in customers if r.customer_id}
    by_id = {a: b for a, b in mapping if a in ids}
    owners_present = set(current)
    by_owner = {a: b for a, b in mapping if a not in ids and a in owners_present}
    # a first line that matches nothing is the mapping's header row
    unmatched = [a for i, (a, _b) in enumerate(mapping) if i and a not in ids and a not in owners_present]
    # a merged book: the owner of each source file is its customers' most common owner
    file_owner: dict[str, str] = {}
    if any(source_header in r.extra for r in customers):
        counts: dict[str, Counter[str]] = defaultdict(Counter)
        for r, o in zip(customers, current, strict=True):
            src = r.extra.get(source_header)
            if src and o:
                counts[str(src)][o] += 1
        file_owner = {f: c.most_common(1)[0][0] for f, c in counts.items()}
    new: list[str] = []
    moves: list[Move] = []
    names = book.typed("customers", "name")
    for r, o in zip(customers, current, strict=True):
        basis, target, before = "", o, o
        prev = file_owner.get(str(r.extra.get(source_header, "")))
        if prev and o and prev != o:
            basis, before = "in_master", prev
        if r.customer_id in by_id:
            basis, target = "by_customer", by_id[r.customer_id]
        elif o in by_owner:
            basis, target = "by_owner", by_owner[o]
        new.append(target)
        if basis and target != before:
            moves.append(Move(r.customer_id or "", str(names.get(r.row) or ""), before, target, {}, basis))
    return new, moves, unmatched


def split_book(master: str | Path, out_dir: str | Path, *, spec: Spec, by: str | None = None,
               mapping: str | Path | None = None, as_of: dt.date | None = None, lang: str = "zh",
               password: str | None = None, encrypt: str | None = None) -> SplitResult:
    """Write one workbook per owner into `out_dir`; see the module docstring.

    `password` opens an encrypted master; with `encrypt` every written workbook (and the
    handover report) is encrypted with that password.
    """
    as_of = as_of or dt.date.today()
    col = by_column(spec, by)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise WorkbookError(str(out), "is a file, not a folder", Hint("other_output", "choose another output path with -o"),
                            code="is_file")
    out.mkdir(parents=True, exist_ok=True)
    pairs = read_mapping(mapping) if mapping else []
    book = read_team_book(master, spec, as_of=as_of, lang=lang, password=password)
    words = spec.texts("team", lang)
    owners, moves, unmatched = plan_owners(book, col, pairs, words["source_column"])

    groups: dict[str, dict[str, list[Row]]] = defaultdict(lambda: {s.key: [] for s in spec.sheets})
    classes = book.classes
    group_classes: dict[str, list[Any]] = defaultdict(list)
    home: dict[str, str] = {}
    before = book.typed("customers", col.key)
    for r, o in zip(book.rows["customers"], owners, strict=True):
        values = dict(r.values)
        if col.key in values and o != _owner(before.get(r.row)):
            values[col.key] = o
        groups[o]["customers"].append(Row(values, r.row, r.customer_id))
        group_classes[o].append(classes.get(r.row))
        if r.customer_id and r.customer_id not in home:
            home[r.customer_id] = o
    orphans = 0
    moved_rows: dict[str, Counter[str]] = defaultdict(Counter)
    for sheet in spec.sheets[1:]:
        for r in book.rows[sheet.key]:
            o = home.get(r.customer_id or "")
            if o is None:
                orphans += 1
                o = ""
            groups[o][sheet.key].append(r)
            moved_rows[r.customer_id or ""][sheet.key] += 1
    for m in moves:
        m.rows = {s.key: moved_rows[m.customer_id][s.key] for s in spec.sheets[1:]}

    files: dict[str, Path] = {}
    used: set[str] = set()
    for o in sorted(groups, key=lambda x: (x == "", x)):
        stem = file_stem(o) if o else words["unassigned_file"]
        base, n = stem, 2
        while stem.casefold() in used:
            stem, n = f"{base}-{n}", n + 1
        used.add(stem.casefold())
        path = out / f"{stem}.xlsx"
        write_team_book(spec, path, groups[o], classes=group_classes[o], lang=lang)
        if encrypt:
            encrypt_file(path, encrypt)
        files[o] = path
    result = SplitResult(files, {o: len(g["customers"]) for o, g in groups.items()},
                         {o: sum(len(g[s.key]) for s in spec.sheets[1:]) for o, g in groups.items()}, orphans,
                         moves, None, unmatched)
    written = {p.resolve() for p in files.values()} | {(out / f"{words['handover_file']}.xlsx").resolve()}
    result.stale = [p for p in workbook_files(out) if p.resolve() not in written]
    if moves:
        result.handover = write_handover(spec, out / f"{words['handover_file']}.xlsx", moves, lang)
        if encrypt:
            encrypt_file(result.handover, encrypt)
    return result


def write_handover(spec: Spec, path: Path, moves: list[Move], lang: str) -> Path:
    """The handover report: one line per moved customer, with the rows that went along."""
    import xlsxwriter

    from khbook.base.fsutil import atomic_output
    from khbook.team.book import write_extra_sheet

    words = spec.texts("team", lang)
    headers = spec.text_list("team.handover_columns", lang)
    keys = [s.key for s in spec.sheets[1:]]
    lines = [[m.customer_id, m.name, m.old, m.new, *(m.rows.get(k, 0) for k in keys), words[m.basis]]
             for m in sorted(moves, key=lambda m: (m.new, m.old, m.customer_id))]
    with atomic_output(path) as tmp:
        wb = xlsxwriter.Workbook(str(tmp))
        try:
            bold = wb.add_format({"bold": True, "bg_color": "#EDEDED"})
            ws = wb.add_worksheet(words["handover_file"])
            write_extra_sheet(ws, ExtraSheet(words["handover_file"], headers, lines,
                                        [14, 30, 12, 12, 12, 14, 10, 10, 30]), bold, wb)
        finally:
            wb.close()
    return path
