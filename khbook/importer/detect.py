"""Find the data on a source sheet and guess what each column holds.

A sheet of a customer list may have a title row or two, a header row or none, blank rows in
between. :func:`read_source` finds the header (the row among the first non-empty ones whose
cells are most often the template's headers or their aliases; failing that, a row of plain
words above rows of recognisable values), then gives every column a target column of the
template: by its header, else by its content (company names, people's names, phones even
stored as numbers, e-mails, credit codes, dates, amounts with units, addresses), each guess
with its evidence. The vocabulary is ``templates/import.yaml``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from khbook.classify.regions import RegionTable
from khbook.read import contacts, identity, parsers
from khbook.read.model import col_letter
from khbook.read.tables import norm_header
from khbook.spec import Spec
from khbook.spec.vocab import ImportVocab, import_vocab

STRONG = ("email", "credit_code", "mobile", "landline", "date", "company", "amount")
_MOBILE = re.compile(r"(?:\+?86)?1[3-9]\d{9}")
_DATEISH = re.compile(r"\d{4}\s*[^\d\s]\s*\d{1,2}|\d{1,2}\s*[-/.]\s*\d{1,2}\s*[-/.]\s*\d{4}|\d{8}$")
_HAN = re.compile(r"[\u3400-\u9fff]+")
_PHONE_NOISE = re.compile(r"[\d\s()+\-/.#]")


@dataclass
class SourceColumn:
    """One column of a source sheet and where its values go."""

    index: int
    header: str | None
    target: str | None = None     # "sheet_key.column_key", or None: the customer's 备注
    how: str = "none"             # header | content | map | none
    kind: str | None = None
    hits: int = 0
    total: int = 0
    example: str | None = None
    factor: float | None = None   # amounts: the header's unit in 万元 (元 -> 0.0001)

    @property
    def letter(self) -> str:
        return col_letter(self.index)


@dataclass
class SourceSheet:
    """The data found on one sheet of one source file."""

    file: str                     # the file's name, as the mapping file and the raw sheet show it
    path: str
    sheet: str
    header_row: int               # 1-based; 0: no header
    rows: list[tuple[int, list[Any]]]        # every non-empty row (Excel row, values)
    data: list[tuple[int, list[Any]]]        # the data rows
    columns: list[SourceColumn] = field(default_factory=list)

    @property
    def has_customers(self) -> bool:
        """Some column names the company (name, credit code or ID): the rows are customers."""
        return any(c.target in ("customers.name", "customers.credit_code", "customers.customer_id") for c in self.columns)

    def column(self, letter: str) -> SourceColumn | None:
        return next((c for c in self.columns if c.letter == letter), None)


class Classifier:
    """Tells the kind of one cell value (company, person, mobile, ...) by the vocabulary."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.vocab: ImportVocab = import_vocab(spec)
        self.regions = RegionTable(spec.regions)
        self.places = {p for short in self.regions.provinces() for p in (self.regions.province_name(short), short)}
        for p in (spec.regions.get("provinces") or {}).values():
            self.places.update(str(c) for c in p.get("cities") or ())
            self.places.update(str(s) for s in p.get("short") or ())
        self.not_applicable = frozenset(spec.rules.checks.not_applicable)

    def kind(self, v: Any) -> str | None:
        if v is None or isinstance(v, bool):
            return None
        if isinstance(v, dt.date | dt.datetime):
            return "date"
        if isinstance(v, int | float):
            if float(v).is_integer() and _MOBILE.fullmatch(str(int(v))):
                return "mobile"
            return "number"
        text = parsers.clean_text(v)
        if text is None:
            return None
        return self.text_kind(text)

    def text_kind(self, t: str) -> str | None:
        if "@" in t and contacts.check_email(t).ok:
            return "email"
        if len(t) == 18 and identity.check_credit_code(t).ok:
            return "credit_code"
        digits = re.sub(r"\D", "", t)
        if len(digits) >= 10 and len(_PHONE_NOISE.sub("", t)) <= 3 and contacts.check_phone(t).ok:
            first = re.split(r"\D{2,}|/", t.strip())[0]
            return "mobile" if _MOBILE.fullmatch(re.sub(r"\D", "", first)) else "landline"
        if _DATEISH.match(t) and parsers.parse_date(t).ok:
            return "date"
        if self.vocab.is_company(t):
            return "company"
        if self._is_address(t):
            return "address"
        if re.match(r"[\d.]", t) and parsers.parse_amount(t).ok:
            return "amount" if any(u in t for u in self.vocab.amount_units) else "number"
        if self._is_person(t):
            return "person"
        return "text"

    def _is_address(self, t: str) -> bool:
        if t in self.places:
            return True
        return (self.regions.province_of_address(t) is not None
                and any(w in t for w in self.vocab.address_words) and len(t) <= 80)

    def _is_person(self, t: str) -> bool:
        v = self.vocab
        if not _HAN.fullmatch(t):
            return False
        lo, hi = v.person_name_length
        if any(t.endswith(x) for x in v.person_titles) and any(t.startswith(s) for s in v.surnames) and len(t) <= hi + 1:
            return True
        return lo <= len(t) <= hi and any(t.startswith(s) and len(t) > len(s) for s in v.surnames)


def header_targets(spec: Spec) -> dict[str, str]:
    """Normalised header text or alias -> "sheet.column" (the customers sheet first; computed
    columns and the other sheets' customer IDs are not import targets)."""
    out: dict[str, str] = {}
    for sheet in spec.sheets:
        for col in sheet.columns:
            if col.computed or (col.references and sheet.key != "customers"):
                continue
            for n in col.match_names():
                out.setdefault(norm_header(n), f"{sheet.key}.{col.key}")
    return out


def _cells(row: list[Any]) -> list[tuple[int, Any]]:
    return [(j, v) for j, v in enumerate(row) if parsers.clean_text(v) is not None]


def _find_header(rows: list[tuple[int, list[Any]]], clf: Classifier, targets: dict[str, str]) -> int | None:
    """Position (in `rows`) of the header row, or None."""
    scan = rows[: clf.vocab.header_scan_rows]
    best, best_score = None, 0
    for i, (_r, row) in enumerate(scan):
        score = len({targets[h] for h in (norm_header(v) for _j, v in _cells(row)) if h in targets})
        if score > best_score:
            best, best_score = i, score
    if best is not None:
        return best
    width = max((len(_cells(row)) for _r, row in scan), default=0)
    for i, (_r, row) in enumerate(scan[:-1]):
        cells = _cells(row)
        if width >= 2 and len(cells) < 2:
            continue  # a title row
        plain = all(isinstance(v, str) and clf.kind(v) not in STRONG for _j, v in cells)
        below = any(clf.kind(v) in STRONG for _j, v in _cells(scan[i + 1][1]))
        return i if plain and below else None
    return None


def _data_start(rows: list[tuple[int, list[Any]]]) -> int:
    """Skip title rows (a single value while the table is wider) at the top of a headerless sheet."""
    width = max((len(_cells(row)) for _r, row in rows[:20]), default=0)
    for i, (_r, row) in enumerate(rows):
        if width < 2 or len(_cells(row)) >= 2:
            return i
    return 0


def _unit(header: str | None, vocab: ImportVocab) -> float | None:
    if not header:
        return None
    for unit, factor in sorted(vocab.header_units.items(), key=lambda kv: -len(kv[0])):
        if unit in header:
            return factor
    return None


def read_source(file: str, path: str, sheet: str, grid: list[list[Any]], spec: Spec, clf: Classifier,
                header_row: int | None = None) -> SourceSheet:
    """Find the data on one sheet and guess its columns; `header_row` (1-based, 0 = none) overrides."""
    rows = [(r + 1, row) for r, row in enumerate(grid) if _cells(row)]
    targets = header_targets(spec)
    if header_row is None:
        h = _find_header(rows, clf, targets)
        hr = rows[h][0] if h is not None else 0
    else:
        hr = header_row
    if hr:
        header = next((row for r, row in rows if r == hr), [])
        data = [(r, row) for r, row in rows if r > hr and [parsers.clean_text(v) for v in row] !=
                [parsers.clean_text(v) for v in header]]
    else:
        header = []
        data = rows[_data_start(rows):] if header_row is None else rows
    width = max((len(row) for _r, row in rows), default=0)
    src = SourceSheet(file, path, sheet, hr, rows, data)
    used: set[str] = set()
    for j in range(width):
        text = parsers.clean_text(header[j]) if j < len(header) else None
        values = [row[j] for _r, row in data if j < len(row) and parsers.clean_text(row[j]) is not None]
        if text is None and not values:
            continue
        col = SourceColumn(j, text)
        kinds = Counter(k for k in (clf.kind(v) for v in values) if k)
        if kinds:
            kind, hits = kinds.most_common(1)[0]
            col.kind, col.hits, col.total = kind, hits, len(values)
            col.example = next((parsers.clean_text(v) for v in values if clf.kind(v) == kind), None)
        col.factor = _unit(text, clf.vocab)
        key = norm_header(text) if text else ""
        if key in targets and targets[key] not in used:
            col.target, col.how = targets[key], "header"
        elif col.kind and col.total and col.hits / col.total >= clf.vocab.kind_share:
            numeric_amount = col.factor is not None or any(w.casefold() in (text or "").casefold()
                                                           for w in clf.vocab.amount_words)
            kind = "amount" if col.kind == "number" and numeric_amount else col.kind
            target = clf.vocab.kind_targets.get(kind)
            if target and target not in used and target not in {targets.get(norm_header(v)) for v in header if v}:
                col.target, col.how, col.kind = target, "content", kind
        if col.target:
            used.add(col.target)
        src.columns.append(col)
    return src
