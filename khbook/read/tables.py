"""Reader: raw sheets -> the spec's tables, with header matching and per-cell parsing.

- finds the spec sheets by name or alias (or, failing that, by their headers);
- finds the header row (not always row 1) and matches columns by header text or alias,
  in any order; unknown columns and sheets are reported as info, a missing required
  column as one error;
- parses every cell on its own (dates, amounts, codes, phones...) so one bad cell never
  masks another, keeping the raw value and the cell address for messages.

Values that fail to parse become blanks in the typed frame and a finding; values that
parse but break a rule (not in the list, negative, in the future, duplicated) are left
for the pandera schemas in khbook.checks.schema to report.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pandas as pd

from khbook.base.gcpause import paused_gc
from khbook.findings import Cell, FindingFactory, StageResult
from khbook.read import contacts, identity, parsers
from khbook.read.model import Book, ColumnInfo, ReadResult, Table, col_letter
from khbook.read.rawbook import RawBook, RawSheet
from khbook.read.shape import not_khbook_error
from khbook.spec import Column, Sheet, Spec
from khbook.spec.vocabulary import words

HEADER_SCAN_ROWS = 30
EXCEL_CELL_LIMIT = 32767
_STAR = re.compile(words("separators", "header_stars"))
_SPACE = re.compile(r"\s+")


def norm_header(value: Any) -> str:
    """Header text -> matching key: NFKC, no spaces, no required-marks, case-folded."""
    text = parsers.clean_text(value)
    if not text:
        return ""
    text = _STAR.sub("", text)
    return _SPACE.sub("", text).casefold()


class _Matcher:
    """Maps normalised header texts of one spec sheet to column keys."""

    def __init__(self, sheet: Sheet) -> None:
        self.keys: dict[str, str] = {}
        for col in sheet.columns:
            for n in col.match_names():
                self.keys.setdefault(norm_header(n), col.key)

    def score(self, row: list[Any]) -> int:
        return len({self.keys[h] for h in map(norm_header, row) if h in self.keys})


def _find_header_row(rows: list[list[Any]], matcher: _Matcher) -> tuple[int, int]:
    """(row0, score) of the best header candidate among the first rows."""
    best, best_score = -1, 0
    for i, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        s = matcher.score(row)
        if s > best_score:
            best, best_score = i, s
    return best, best_score


_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def _english_book(spec: Spec, by_name: dict[str, RawSheet]) -> bool:
    """Most of the template's sheets are there under their English names: the English template."""
    hits = sum(1 for sheet in spec.sheets if norm_header(sheet.name.en) in by_name)
    return hits * 2 > len(spec.sheets)


def _headers_match(s: RawSheet, sheet: Sheet) -> bool:
    matcher = _Matcher(sheet)
    _, score = _find_header_row(s.rows, matcher)
    return score >= max(3, sum(c.required for c in sheet.columns))


def _recognised(s: RawSheet, sheet: Sheet) -> bool:
    """A sheet of a khbook workbook: the template's own name, or the template's headers (a
    list that is merely called 客户列表 is not)."""
    return norm_header(s.name) in {norm_header(sheet.name.zh), norm_header(sheet.name.en)} or _headers_match(s, sheet)


def _match_sheets(raw: RawBook, spec: Spec) -> tuple[dict[str, RawSheet], list[str]]:
    """spec sheet key -> raw sheet; and the names of sheets that matched nothing.

    A name without Chinese characters (``Contacts``) is common in books of every kind: it
    counts only in the English template (most of its sheets under their English names) or
    when the sheet's headers are the template's.
    """
    by_name = {norm_header(s.name): s for s in raw.sheets}
    english = _english_book(spec, by_name)
    found: dict[str, RawSheet] = {}
    used: set[str] = set()
    for sheet in spec.sheets:
        for n in sheet.match_names():
            s = by_name.get(norm_header(n))
            if s is not None and not english and not _HAN.search(n) and not _headers_match(s, sheet):
                continue
            if s is not None and s.name not in used:
                found[sheet.key] = s
                used.add(s.name)
                break
    # renamed sheets: recognise the rest by their headers
    for sheet in spec.sheets:
        if sheet.key in found:
            continue
        matcher = _Matcher(sheet)
        needed = max(3, sum(c.required for c in sheet.columns))
        best: tuple[int, RawSheet | None] = (0, None)
        for s in raw.sheets:
            if s.name in used:
                continue
            _, score = _find_header_row(s.rows, matcher)
            if score >= needed and score > best[0]:
                best = (score, s)
        if best[1] is not None:
            found[sheet.key] = best[1]
            used.add(best[1].name)
    extra = [s.name for s in raw.sheets if s.name not in used]
    return found, extra


# ----------------------------------------------------------------------- cell parsing


class _ColumnParser:
    """Parses one column's raw values into typed values, reporting type failures."""

    def __init__(self, spec: Spec, col: Column, date1904: bool, as_of: dt.date) -> None:
        self.spec, self.col = spec, col
        checks = spec.rules.checks
        self.not_applicable = frozenset(checks.not_applicable)
        self.date_min = checks.date_min
        self.date_max = dt.date(min(as_of.year + checks.date_max_years_ahead, 9999), 12, 31)
        self.date1904 = date1904
        self.values = spec.list_for(col)
        self.fn: Callable[[Any], parsers.Parsed] = getattr(self, f"_{col.type}")

    def parse(self, value: Any) -> parsers.Parsed:
        return self.fn(value)

    def _text(self, v: Any) -> parsers.Parsed:
        t = parsers.clean_text(v)
        if t is not None and len(t) > EXCEL_CELL_LIMIT:
            return parsers.Parsed(t, "text_too_long", str(len(t)))
        return parsers.Parsed(t)

    def _id(self, v: Any) -> parsers.Parsed:
        if isinstance(v, float) and abs(v) >= 1e15:
            return parsers.Parsed(None, "stored_as_number")
        return self._text(v)

    def _date(self, v: Any) -> parsers.Parsed:
        return parsers.parse_date(v, date1904=self.date1904, min_date=self.date_min, max_date=self.date_max)

    def _amount(self, v: Any) -> parsers.Parsed:
        p = parsers.parse_amount(v)
        if p.value is not None:
            return parsers.Parsed(float(p.value), p.rule, p.detail)
        return p

    def _integer(self, v: Any) -> parsers.Parsed:
        return parsers.parse_integer(v)

    def _choice(self, v: Any) -> parsers.Parsed:
        t = parsers.clean_text(v)
        if t is None:
            return parsers.Parsed(None)
        assert self.values is not None
        return parsers.Parsed(self.values.canonical(t) or t)

    def _multi(self, v: Any) -> parsers.Parsed:
        t = parsers.clean_text(v)
        if t is None:
            return parsers.Parsed(())
        assert self.values is not None
        return parsers.Parsed(tuple(self.values.canonical(x) or x for x in parsers.split_multi(t)))

    def _phone(self, v: Any) -> parsers.Parsed:
        return contacts.check_phone(v)

    def _email(self, v: Any) -> parsers.Parsed:
        return contacts.check_email(v)

    def _uscc(self, v: Any) -> parsers.Parsed:
        return identity.check_credit_code(v, not_applicable=self.not_applicable)

    def many(self, texts: list[str]) -> list[parsers.Parsed] | None:
        """The parses of many distinct texts at once, for the types that have a bulk parser (else None)."""
        kind = self.col.type
        if kind == "phone":
            return contacts.check_phones(texts)
        if kind == "email":
            return contacts.check_emails(texts)
        if kind == "uscc":
            return identity.check_credit_codes(texts, not_applicable=self.not_applicable)
        return None


_DTYPES = {"date": "datetime64[ns]", "amount": "float64", "integer": "Int64"}


SIMILAR = 0.6  # difflib ratio from which an unknown header is taken for a renamed template column


def likely_column(header: str, candidates: list[Column]) -> Column | None:
    """The template column an unknown header most likely is (similar to its name or an alias), or None."""
    h = norm_header(header)
    best, score = None, SIMILAR
    for col in candidates:
        for name in col.match_names():
            ratio = difflib.SequenceMatcher(None, h, norm_header(name)).ratio()
            if ratio >= score and (best is None or ratio > score):
                best, score = col, ratio
    return best


def read_table(
    raw: RawSheet, sheet: Sheet, spec: Spec, ff: FindingFactory, *, as_of: dt.date, date1904: bool = False
) -> tuple[Table | None, set[tuple[int, str]]]:
    """Read one spec sheet from its raw sheet: the table (None, with findings, when no header is
    found) and the (row, field key) cells that failed to parse (blank in the typed frame)."""
    matcher = _Matcher(sheet)
    header0, score = _find_header_row(raw.rows, matcher)
    if header0 < 0:
        for col in sheet.columns:
            if col.required:
                ff.add("missing_column", sheet=raw.name, cell="A1", row=1, column=col.header(ff.lang), field=col.key)
        return None, set()
    header_row = raw.rows[header0]
    columns: dict[str, ColumnInfo] = {}
    extras: list[tuple[str, str]] = []  # (cell, header text) of columns that are not the template's
    for j, value in enumerate(header_row):
        h = norm_header(value)
        if not h:
            continue
        text = _STAR.sub("", parsers.clean_text(value) or "").strip()
        key = matcher.keys.get(h)
        cell = f"{col_letter(j)}{header0 + 1}"
        if key is None:
            extras.append((cell, text))
        elif key in columns:
            ff.add("duplicate_header", sheet=raw.name, cell=cell, row=header0 + 1, column=text, field=key,
                   other=f"{columns[key].letter}{header0 + 1}")
        else:
            columns[key] = ColumnInfo(key, text, j, col_letter(j))
    absent = [col for col in sheet.columns if col.key not in columns]
    for cell, text in extras:
        likely = likely_column(text, absent)
        if likely is None:
            ff.add("extra_column", sheet=raw.name, cell=cell, row=header0 + 1, column=text, value=text)
        else:  # a renamed header: say which column it probably is (khbook learns no alias silently)
            ff.add("renamed_column", sheet=raw.name, cell=cell, row=header0 + 1, column=text, value=text,
                   field=likely.key, detail=likely.header(ff.lang))
    for col in absent:
        if col.required:
            ff.add("missing_column", sheet=raw.name, cell=f"A{header0 + 1}", row=header0 + 1,
                   column=col.header(ff.lang), field=col.key)

    keys = list(columns)
    idx = [columns[k].index for k in keys]
    body = raw.rows[header0 + 1:]
    nrows = len(body)
    cols = _transpose(body, idx)
    del body
    errors = {r0 - header0 - 1 for (r0, _c) in raw.errors if header0 < r0 <= header0 + nrows}
    skip = _skipped(cols, [header_row[j] for j in idx], errors, nrows)
    keep = [i for i in range(nrows) if i not in skip] if skip else None
    data_rows: list[int] = [i + header0 + 2 for i in (range(nrows) if keep is None else keep)]
    raw_cols: list[list[Any]] = [[] for _ in keys]

    typed: dict[str, list[Any]] = {}
    bad: set[tuple[int, str]] = set()
    # parse 客户ID first so every other finding of the row can name its customer
    order = sorted(range(len(keys)), key=lambda n: keys[n] != "customer_id")
    cids: list[str | None] = [None] * len(data_rows)
    for n in order:
        k, j = keys[n], idx[n]
        col = sheet.column(k)
        raw_cols[n] = _raw_values(cols[n], keep)
        cols[n] = ()  # each column's cells are handled while they are in the processor's cache
        typed[k] = _read_column(raw, spec, ff, _ColumnParser(spec, col, date1904, as_of), columns[k],
                                raw_cols[n], data_rows, cids, bad)
        if k == "customer_id":
            ids = typed[k]
            cids = ids if set(map(type, ids)) <= _TEXTS else [c if isinstance(c, str) else None for c in ids]
    index = pd.Index(data_rows, dtype="int64", name="row")
    frame = pd.DataFrame({k: _series(typed[k], sheet.column(k).type, index) for k in keys}, index=index)
    rawf = pd.DataFrame({k: pd.Series(v, index=index, dtype=object) for k, v in zip(keys, raw_cols, strict=True)}, index=index)
    return Table(sheet.key, raw.name, header0 + 1, columns, frame, rawf), bad


def _transpose(body: list[list[Any]], idx: list[int]) -> list[tuple[Any, ...]]:
    """The cells of the data rows, one tuple per mapped column (`idx`: 0-based sheet columns)."""
    if not body:
        return [() for _ in idx]
    width = max(map(len, body))
    if min(map(len, body)) != width:
        body = [r + [None] * (width - len(r)) for r in body]
    transposed = list(zip(*body, strict=True))  # in C, once
    empty = (None,) * len(body)
    return [transposed[j] if j < width else empty for j in idx]


def _skipped(cols: list[tuple[Any, ...]], header: list[Any], errors: set[int], nrows: int) -> set[int]:
    """Positions of the data rows that are left out: blank in every mapped column (unless the row
    holds an Excel error, which calamine reads as blank), or a pasted copy of the header row.

    Each test starts from the rows the first column allows and narrows them column by column,
    so a full book costs one pass over one column."""
    if not cols:
        return set(range(nrows))
    first = cols[0]
    blank = [i for i, v in enumerate(first) if v == "" or v is None]
    for c in cols[1:]:
        if not blank:
            break
        blank = [i for i in blank if c[i] == "" or c[i] is None]
    h = header[0]
    same = [i for i, v in enumerate(first) if v == h]
    for c, h in zip(cols[1:], header[1:], strict=True):
        if not same:
            break
        same = [i for i in same if c[i] == h]
    return set(blank).difference(errors).union(same)


def _raw_values(cells: tuple[Any, ...], keep: list[int] | None) -> list[Any]:
    """The raw values of one column's kept rows, a blank cell (calamine's "") as None."""
    if keep is not None:
        return [None if (v := cells[i]) == "" else v for i in keep]
    return [None if v == "" else v for v in cells]


_NUMBERS = frozenset({bool, int, float, Decimal})
_TEXTS = frozenset({str, type(None)})
_BULK = frozenset({"phone", "email", "uscc"})  # types with a bulk parser (_ColumnParser.many)


def _cell_key(v: Any) -> Any:
    """Cache key of a raw value in a column mixing number types: (type, value), so 1, 1.0 and True stay apart."""
    return (v.__class__, v)


def _read_column(raw: RawSheet, spec: Spec, ff: FindingFactory, parser: _ColumnParser, info: ColumnInfo,
                 values: list[Any], data_rows: list[int], cids: list[str | None], bad: set[tuple[int, str]]) -> list[Any]:
    """The typed values of one column: each distinct raw value parsed once, findings in row order."""
    k, j, letter, header = info.key, info.index, info.letter, info.header
    empty: Any = () if parser.col.type == "multi" else None
    ckeys: list[Any] = values
    distinct = dict.fromkeys(values)
    kinds = set(map(type, distinct))
    # equal numbers of different types (1, 1.0, True) are the only values a dict merges: a
    # column mixing number types is keyed by (type, value) (a number's key is a number)
    if kinds & _NUMBERS and len(set(map(type, values)) & _NUMBERS) > 1:
        ckeys = [_cell_key(v) for v in values]
        distinct = dict.fromkeys(ckeys)
    # each distinct value -> its typed value, and the finding it gives if any
    typed: dict[Any, Any] = {}
    ruled: dict[Any, tuple[parsers.Parsed, Any, bool]] = {}
    if parser.col.type in ("text", "id") and kinds <= _TEXTS:  # texts: cleaned in bulk
        texts = [v for v in distinct if v is not None]
        typed = dict(zip(texts, parsers.clean_texts(texts), strict=True))
        typed[None] = None
        if max(map(len, filter(None, typed.values())), default=0) <= EXCEL_CELL_LIMIT:
            distinct = {}
        else:  # a text over Excel's limit: each through the parser (which says so)
            typed = {}
    pre: dict[Any, parsers.Parsed] = {}
    if distinct and kinds <= _TEXTS and parser.col.type in _BULK:
        texts = [v for v in distinct if v is not None and v and not v.isspace()]
        pre = dict(zip(texts, parser.many(texts) or (), strict=True))
    for key in distinct:
        v = key[1] if key.__class__ is tuple else key
        if v is None or (v.__class__ is str and (not v or v.isspace())):
            typed[key] = empty
            continue
        p = pre[key] if key in pre else parser.parse(v)
        if p.rule is not None:
            rule = spec.rule(p.rule)
            detail = rule.detail(p.detail, ff.lang) if p.detail in rule.details else p.detail
            error = rule.severity == "error"
            ruled[key] = (p, detail, error)
            typed[key] = empty if error else p.value
        else:
            typed[key] = p.value
    out = list(map(typed.__getitem__, ckeys))
    errors = {r0 + 1: e for (r0, jj), e in raw.errors.items() if jj == j} if raw.errors else {}
    if not ruled and not errors:
        return out
    rows = [i for i, key in enumerate(ckeys) if key in ruled or data_rows[i] in errors] if ruled else \
        [i for i, r in enumerate(data_rows) if r in errors]
    for i in rows:
        r = data_rows[i]
        if r in errors:
            ff.add("excel_error", sheet=raw.name, cell=f"{letter}{r}", row=r, column=header,
                   field=k, customer_id=cids[i], value=errors[r])
            bad.add((r, k))
            out[i] = empty
            continue
        p, detail, error = ruled[ckeys[i]]
        v = values[i]
        ff.add(p.rule, sheet=raw.name, cell=f"{letter}{r}", row=r, column=header,
               field=k, customer_id=cids[i], value=v if p.shown is None else p.shown, detail=detail)
        if error:
            bad.add((r, k))
    return out


def _series(values: list[Any], ctype: str, index: pd.Index) -> pd.Series:
    dtype = _DTYPES.get(ctype)
    if dtype == "datetime64[ns]":
        return pd.Series(pd.to_datetime(pd.Series(values, dtype=object), errors="coerce").to_numpy(dtype="datetime64[ns]"), index=index)
    if dtype is not None:
        return pd.Series(values, index=index, dtype=dtype)
    return pd.Series(values, index=index, dtype=object)


def read_book(raw: RawBook, spec: Spec, *, as_of: dt.date, lang: str = "zh", file: str = "") -> ReadResult:
    """Read the spec's tables out of a raw workbook, with the structural and parse findings and
    the cells that could not be parsed."""
    ff = FindingFactory(spec, lang, file=file)
    untrusted: set[Cell] = set()
    found, extra = _match_sheets(raw, spec)
    if not any(_recognised(s, spec.sheet(k)) for k, s in found.items()):
        raise not_khbook_error(raw, spec)
    own = {norm_header(n) for n in spec.own_sheet_names()}
    for name in extra:
        if norm_header(name) not in own:
            ff.add("extra_sheet", sheet=name, value=name)
    tables: dict[str, Table] = {}
    for sheet in spec.sheets:
        rs = found.get(sheet.key)
        if rs is None:
            ff.add("missing_sheet", sheet=sheet.name(ff.lang), detail=sheet.name(ff.lang))
            continue
        with paused_gc():
            t, bad = read_table(rs, sheet, spec, ff, as_of=as_of, date1904=raw.date1904)
            rs.release()  # the typed and raw frames now hold what is needed
        if t is not None:
            tables[sheet.key] = t
            untrusted.update((sheet.key, r, k) for r, k in bad)
    for rule, name in raw.notes:   # sheets skipped or read another way (read.rawbook)
        ff.add(rule, sheet=name, value=name)
    book = Book(raw.path, tables, extra, raw.date1904, lang=_book_lang(tables, spec))
    return ReadResult(book, StageResult(tuple(ff.items), frozenset(untrusted)))


def _book_lang(tables: dict[str, Table], spec: Spec) -> str:
    """The workbook's own language: the one most of its sheet names and headers are in (zh on a tie).

    Values khbook writes into the workbook (list labels of computed columns) are in this
    language, whatever the language of the messages.
    """
    votes = {"zh": 0, "en": 0}
    for key, t in tables.items():
        sheet = spec.sheet(key)
        names = [(sheet.name, t.name)] + [(sheet.column(k).header, info.header) for k, info in t.columns.items()]
        for text, found in names:
            for lang in votes:
                if text(lang) != text("zh" if lang == "en" else "en") and norm_header(found) == norm_header(text(lang)):
                    votes[lang] += 1
    return "en" if votes["en"] > votes["zh"] else "zh"
