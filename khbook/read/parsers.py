"""Cell-level value parsers and normalisers.

Dates, amounts, integers and list items, with the text normalisation, the not-applicable
words and the caches that every parser shares. Phones and e-mails, which need their own
libraries, are in :mod:`khbook.read.contacts`; credit codes and company-name keys in
:mod:`khbook.read.identity`.

Every cell the reader hands over goes through one of these functions. Each takes a raw
value as a reader returns it (``str``, ``int``, ``float``, ``bool``, ``date``,
``datetime``, ``None``) and returns either a normalised value or a :class:`Parsed`
carrying the typed value and, when the cell is bad, the rule id of ``checks.yaml`` and
one of that rule's ``details`` keys.

Conventions (the value traps of real workbooks, each with a test in tests/test_parsers.py):

- every text is normalised first: Unicode NFKC (full-width ``１２３``, ``＠``, ``Ｘ``,
  ``，`` become ASCII), zero-width characters dropped, non-breaking spaces made spaces,
  trimmed (:func:`clean_text`);
- blank cells give ``Parsed(None)`` and no rule: "required" is checked elsewhere;
- the text-level work is cached (``functools.lru_cache``) since the same values repeat
  many times in a workbook; the public functions put cheap fast paths first.

Decisions worth knowing:

- dates: only year-first text is accepted; ``10/05/2024``, ``5/10/24``, ``24-5-10`` are
  *ambiguous* (never guessed). Digit-only text and numbers are Excel serials only in
  20000..80000 (1954..2119), or ``YYYYMMDD`` when they have 8 digits.
- amounts are in 万元. A plain number (typed or text) is already 万元; a figure with a
  currency sign/word (``¥``, ``RMB``, ``CNY``, ``人民币``) or ``元`` and no magnitude unit
  is in yuan. Units: 亿 (x10000), 千万 (x1000), 百万 (x100), 万/w (x1), 千/k (x0.1).
  Chinese numerals go through cn2an; a numeral that spells its own magnitude
  (contains 万 or 亿, or ends in 千) is read as yuan, otherwise like a typed number.
- integers (employees): markers of approximation (约, 大约, 左右, 多, 余, 以上, ``+``)
  and the units 人/名/个 are stripped, ``约100`` is 100; 万/千 multiply
  (``1.2万人`` = 12000); a fraction, a negative number or a range is ``bad_integer``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from khbook.base.excel import ERROR_CODES
from khbook.spec.vocabulary import words

__all__ = [
    "Parsed",
    "clean_text",
    "clean_texts",
    "is_excel_error",
    "is_not_applicable",
    "parse_amount",
    "parse_date",
    "parse_integer",
    "split_multi",
]

CACHE_SIZE = 1 << 16  # lru_cache size of the text-level parsers (the same values repeat)
_CACHE = CACHE_SIZE


@dataclass(slots=True, unsafe_hash=True)
class Parsed:
    """A parsed cell: typed value (or None) and, when bad, a rule id and detail key.

    Shared by the caches, so never changed once made (not ``frozen``: a frozen dataclass
    costs four times as much to make, and the reader makes one per distinct value)."""

    value: Any
    rule: str | None = None
    detail: str = ""
    shown: str | None = None  # the part of the cell a finding names (default: the whole cell)

    @property
    def ok(self) -> bool:
        return self.rule is None


BLANK = Parsed(None)  # a blank cell: no value, no finding
_BLANK = BLANK

# ------------------------------------------------------------------------------- text

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_ZERO_WIDTH[0xA0] = " "
_ZERO_WIDTH[0x202F] = " "


def _clean_one(s: str) -> str | None:
    # every character the table maps is unprintable (Cf, Zs): a printable text skips it
    if not s.isprintable():
        s = s.translate(_ZERO_WIDTH)
    s = unicodedata.normalize("NFKC", s)
    if not s.isprintable():
        s = s.translate(_ZERO_WIDTH)
    return s.strip() or None


_clean_str = lru_cache(maxsize=_CACHE)(_clean_one)


def clean_texts(texts: list[str]) -> list[str | None]:
    """:func:`clean_text` of many distinct texts at once (no cache: each is cleaned once)."""
    if "".join(texts).isascii():
        out: list[str | None] = list(map(str.strip, texts))
        return [t or None for t in out] if "" in out else out
    nfkc = unicodedata.normalize
    # a printable text that stays printable once normalised needs no table: _clean_one inlined
    return [s.strip() or None if s.isascii() else (t.strip() or None)
            if s.isprintable() and (t := nfkc("NFKC", s)).isprintable() else _clean_one(s) for s in texts]


def _num_text(v: float) -> str | None:
    if math.isnan(v):
        return None
    if v.is_integer() and abs(v) < 1e16:
        return str(int(v))
    return repr(v)


def clean_text(v: Any) -> str | None:
    """Any cell value -> normalised text, or None when blank.

    Text: NFKC, zero-width characters dropped, NBSP -> space, trimmed (inner spaces
    kept). Numbers: integral floats without ``.0``; bools ``TRUE``/``FALSE``; dates and
    datetimes their ISO date.
    """
    if v is None:
        return None
    if isinstance(v, str):
        if v.isascii():
            s = v.strip()
            return s or None
        return _clean_str(v)
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return _num_text(v)
    if isinstance(v, dt.datetime):
        return v.date().isoformat()
    if isinstance(v, dt.date | dt.time):
        return v.isoformat()
    if isinstance(v, Decimal):
        return str(v) if v.is_finite() else None
    return clean_text(str(v))


EXCEL_ERRORS = ERROR_CODES


def is_excel_error(v: Any) -> bool:
    """True for an Excel error value (``#N/A``, ``#REF!`` ...), as text or error object.

    python-calamine 0.9 turns error cells into empty strings (the reader recovers them
    from the sheet XML and passes the code text); other readers may return an error
    object whose ``str()`` is the code, which is accepted too.
    """
    if v is None or isinstance(v, int | float | dt.date):
        return False
    if not isinstance(v, str):
        v = str(v)
    return v.strip().upper() in EXCEL_ERRORS


# ------------------------------------------------------------------------------ dates

_EPOCH_1900 = dt.date(1899, 12, 30)
_EPOCH_1904 = dt.date(1904, 1, 1)
SERIAL_MIN, SERIAL_MAX = 20000, 80000

_TIME = r"(?:[ T]+\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:\s*(?:Z|[+-]\d{2}:?\d{2}|[AaPp][Mm]))?)?"
_DATE_YMD = re.compile(r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})" + _TIME)
_DATE_CJK = re.compile(words("dates", "cjk"))  # vocabulary.yaml: 2026年9月1日 and its time parts
_DATE_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_DATE_DMY = re.compile(r"\d{1,2}([-/.])\d{1,2}\1\d{2,4}" + _TIME)
_SERIAL_TEXT = re.compile(r"\d{5}(?:\.\d+)?")

_BAD_DATE = {k: Parsed(None, "bad_date", k) for k in ("impossible", "ambiguous", "out_of_range", "unrecognised")}


def _ymd(y: str, m: str, d: str) -> dt.date | Parsed:
    try:
        return dt.date(int(y), int(m), int(d))
    except ValueError:
        return _BAD_DATE["impossible"]


def _serial(x: float, date1904: bool) -> dt.date | Parsed:
    if not SERIAL_MIN <= x <= SERIAL_MAX:
        return _BAD_DATE["unrecognised"]
    return (_EPOCH_1904 if date1904 else _EPOCH_1900) + dt.timedelta(days=int(x))


@lru_cache(maxsize=_CACHE)
def _serial_date(x: float, date1904: bool) -> dt.date | Parsed:
    return _serial(x, date1904)


@lru_cache(maxsize=_CACHE)
def _date_text(s: str, date1904: bool) -> dt.date | Parsed:
    m = _DATE_YMD.fullmatch(s)
    if m:
        return _ymd(m[1], m[3], m[4])
    m = _DATE_CJK.fullmatch(s)
    if m:
        return _ymd(m[1], m[2], m[3])
    m = _DATE_COMPACT.fullmatch(s)
    if m:
        return _ymd(m[1], m[2], m[3])
    if _DATE_DMY.fullmatch(s):
        return _BAD_DATE["ambiguous"]
    if _SERIAL_TEXT.fullmatch(s):
        return _serial(float(s), date1904)
    return _BAD_DATE["unrecognised"]


def parse_date(
    v: Any, *, date1904: bool = False, min_date: dt.date = dt.date(1900, 1, 1), max_date: dt.date | None = None
) -> Parsed:
    """A cell -> ``Parsed(datetime.date)``; bad cells give rule ``bad_date``.

    Accepts date/datetime objects, Excel serials in 20000..80000 (1904 system when
    `date1904`), 8-digit ``YYYYMMDD`` numbers and year-first text dates (``2024-05-10``, ``2024/5/10``, ``2024年5月10日``) with an
    optional time part. The as-of/future check is the caller's.
    """
    if v is None:
        return _BLANK
    if isinstance(v, dt.datetime):
        d: dt.date | Parsed = v.date()
    elif isinstance(v, dt.date):
        d = v
    elif isinstance(v, float) and SERIAL_MIN <= v <= SERIAL_MAX:
        d = _serial_date(v, date1904)
    elif isinstance(v, str):
        s = clean_text(v)
        if s is None:
            return _BLANK
        d = _date_text(s, date1904)
    elif isinstance(v, bool):
        return _BAD_DATE["unrecognised"]
    elif isinstance(v, int | float):
        if isinstance(v, float) and math.isnan(v):
            return _BLANK
        if 19000101 <= v <= 29991231 and float(v).is_integer():
            t = str(int(v))
            d = _ymd(t[:4], t[4:6], t[6:])
        else:
            d = _serial(float(v), date1904)
    else:
        return _BAD_DATE["unrecognised"]
    if isinstance(d, Parsed):
        return d
    if d < min_date or (max_date is not None and d > max_date):
        return _BAD_DATE["out_of_range"]
    return _date_parsed(d)


@lru_cache(maxsize=_CACHE)
def _date_parsed(d: dt.date) -> Parsed:
    return Parsed(d)


# ---------------------------------------------------------------------------- amounts

_PLAIN_NUM = re.compile(r"-?\d+(?:\.\d+)?")
# the words of amounts: vocabulary.yaml `amounts`
_UNDETERMINED = tuple(str(w).casefold() for w in words("amounts", "undetermined"))
_QUESTION = frozenset(str(w) for w in words("amounts", "question_marks"))
_CN_DIGITS = str(words("amounts", "numeral_chars"))
_NUMCH = r"[\d." + re.escape(_CN_DIGITS) + r"]"
_RANGE = re.compile(_NUMCH + r"\s*" + words("amounts", "range_units") + r"\s*" + words("amounts", "range_dashes")
                    + r"\s*[-+]?\s*" + _NUMCH)
_CURRENCY = re.compile(words("amounts", "currency"), re.IGNORECASE)
_CURRENCY_SIGNS = tuple(words("amounts", "currency_signs"))
_NOISE = re.compile(words("amounts", "noise"))
_MINUS = ("-", *words("amounts", "minus_words"))
_YUAN = str(words("amounts", "yuan"))
_UNIT_FACTOR = {str(k): Decimal(str(v)) for k, v in words("amounts", "units").items()}
_UNIT = re.compile(r"^(.*?)(" + "|".join(re.escape(u) for u in sorted(_UNIT_FACTOR, key=len, reverse=True)) + ")"
                   + re.escape(_YUAN) + "?$")
_MAGNITUDE = tuple(words("amounts", "magnitude_chars"))
_MAGNITUDE_END = str(words("amounts", "magnitude_end"))
_TEN_K = Decimal(10000)
_CN_NUMERAL = re.compile(r"[\d." + _CN_DIGITS + r"]+")
_BAD_AMOUNT = {k: Parsed(None, "bad_amount", k) for k in ("range", "undetermined", "unrecognised", "too_large")}


def _tidy(d: Decimal) -> Decimal:
    """Drop trailing zeros without switching to exponent notation (5E+1 -> 50)."""
    d = d.normalize()
    if d.as_tuple().exponent > 0:  # type: ignore[operator]
        d = d.quantize(Decimal(1))
    return d


MAX_AMOUNT = Decimal("1e9")  # 万元, i.e. 10 万亿元: anything larger is a typo, not a customer
MAX_INTEGER = 10**9


def _amount_result(d: Decimal) -> Parsed:
    if not d.is_finite() or abs(d) > MAX_AMOUNT:
        return _BAD_AMOUNT["too_large"]
    d = _tidy(d)
    if d.is_zero():
        return Parsed(Decimal(0))
    if d < 0:
        return Parsed(d, "negative_amount")
    return Parsed(d)


def _cn_number(s: str) -> Decimal | None:
    if not _CN_NUMERAL.fullmatch(s):
        return None
    import cn2an  # deferred: costs ~0.1 s to import and is rarely needed

    try:
        n = cn2an.cn2an(s, "smart")
    except (ValueError, KeyError, TypeError, IndexError):
        return None
    return Decimal(str(n))


@lru_cache(maxsize=_CACHE)
def _amount_text(s: str) -> Parsed:
    if _PLAIN_NUM.fullmatch(s):
        return _amount_result(Decimal(s))
    low = s.casefold()
    if any(w in low for w in _UNDETERMINED) or low in _QUESTION:
        return _BAD_AMOUNT["undetermined"]
    t = _NOISE.sub("", s)
    yuan = False
    t2 = _CURRENCY.sub("", t)
    if t2 != t:
        yuan, t = True, t2
    neg = False
    if t[:1] in _MINUS:
        neg, t = True, t[1:]
    elif t[:1] == "+":
        t = t[1:]
    if _RANGE.search(t):
        return _BAD_AMOUNT["range"]
    if t.startswith(_CURRENCY_SIGNS):  # sign after the minus: -¥500
        yuan, t = True, t[1:]
    if not t:
        return _BAD_AMOUNT["unrecognised"]
    value: Decimal | None = None
    m = _UNIT.match(t)
    if m and _PLAIN_NUM.fullmatch(m[1]):
        value = Decimal(m[1]) * _UNIT_FACTOR[m[2]]
    else:
        if t.endswith(_YUAN):
            yuan, t = True, t[:-1]
        if _PLAIN_NUM.fullmatch(t):
            value = Decimal(t)
        else:
            n = _cn_number(t)
            if n is None:
                return _BAD_AMOUNT["unrecognised"]
            value = n
            if any(m in t for m in _MAGNITUDE) or t.endswith(_MAGNITUDE_END):
                yuan = True
        if yuan:
            value = value / _TEN_K
    return _amount_result(-value if neg else value)


@lru_cache(maxsize=_CACHE)
def _amount_float(v: float) -> Parsed:
    return _amount_result(Decimal(repr(v)))


def parse_amount(v: Any) -> Parsed:
    """A cell -> ``Parsed(Decimal)`` in 万元; see the module docstring for the units."""
    if v is None:
        return _BLANK
    if isinstance(v, str):
        s = clean_text(v)
        if s is None:
            return _BLANK
        return _amount_text(s)
    if isinstance(v, bool):
        return _BAD_AMOUNT["unrecognised"]
    if isinstance(v, int):
        return _amount_float(float(v)) if abs(v) < 1 << 53 else _amount_result(Decimal(v))
    if isinstance(v, float):
        if math.isnan(v):
            return _BLANK
        if math.isinf(v):
            return _BAD_AMOUNT["unrecognised"]
        return _amount_float(v)
    if isinstance(v, Decimal):
        return _amount_result(v) if v.is_finite() else _BAD_AMOUNT["unrecognised"]
    return _BAD_AMOUNT["unrecognised"]


# --------------------------------------------------------------------------- integers

_BAD_INT = Parsed(None, "bad_integer")
_INT_NOISE = re.compile(words("integers", "noise"))
_INT_FACTOR = {str(k): int(v) for k, v in words("integers", "units").items()}
_INT_UNIT = re.compile(r"^(\d+(?:\.\d+)?)(" + "|".join(re.escape(u) for u in _INT_FACTOR) + ")$")


def _int_of(d: Decimal) -> Parsed:
    if d < 0 or d > MAX_INTEGER or d != d.to_integral_value():
        return _BAD_INT
    return Parsed(int(d))


@lru_cache(maxsize=_CACHE)
def _int_text(s: str) -> Parsed:
    if s.isdigit() and s.isascii():
        return Parsed(int(s)) if len(s) <= 10 and int(s) <= MAX_INTEGER else _BAD_INT
    if _RANGE.search(s):
        return _BAD_INT
    t = _INT_NOISE.sub("", s)
    if _PLAIN_NUM.fullmatch(t):
        return _int_of(Decimal(t))
    m = _INT_UNIT.match(t)
    if m:
        return _int_of(Decimal(m[1]) * _INT_FACTOR[m[2]])
    n = _cn_number(t) if t else None
    return _BAD_INT if n is None else _int_of(n)


def parse_integer(v: Any) -> Parsed:
    """A cell -> ``Parsed(int >= 0)``; otherwise rule ``bad_integer``.

    ``120人``, ``1,200``, ``120.0``, ``约100`` (approximation markers dropped), ``1.2万``
    and ``一百二十`` are accepted; ``12.5``, ``-3``, ``50-100`` are not.
    """
    if v is None:
        return _BLANK
    if isinstance(v, str):
        s = clean_text(v)
        return _BLANK if s is None else _int_text(s)
    if isinstance(v, bool):
        return _BAD_INT
    if isinstance(v, int):
        return Parsed(v) if 0 <= v <= MAX_INTEGER else _BAD_INT
    if isinstance(v, float):
        if math.isnan(v):
            return _BLANK
        if not v.is_integer() or v < 0 or v > MAX_INTEGER:
            return _BAD_INT
        return Parsed(int(v))
    if isinstance(v, Decimal):
        return _int_of(v) if v.is_finite() else _BAD_INT
    return _BAD_INT


# --------------------------------------------------------------------- multi-select

_MULTI_SEP = re.compile(words("separators", "multi"))


@lru_cache(maxsize=_CACHE)
def _split(text: str) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for part in _MULTI_SEP.split(text):
        part = part.strip()
        if part:
            seen.setdefault(part)
    return tuple(seen)


def split_multi(text: str) -> list[str]:
    """Split a multi-select cell on ``; ； , ， 、 /`` and newlines: trimmed, no empties,
    first-seen order, no duplicates."""
    if not text:
        return []
    return list(_split(text))


# ------------------------------------------------------------------- not applicable

def _na_key(s: str) -> str:
    return s.replace(" ", "").casefold()


@lru_cache(maxsize=64)
def _na_keys(words: frozenset[str]) -> frozenset[str]:
    return frozenset(_na_key(w) for w in words)


def is_not_applicable(s: str, not_applicable: Collection[str]) -> bool:
    """True when `s` is one of the not-applicable words (暂无, N/A...), ignoring case/spaces."""
    if not not_applicable:
        return False
    if s in not_applicable:
        return True
    words = not_applicable if isinstance(not_applicable, frozenset) else frozenset(not_applicable)
    return _na_key(s) in _na_keys(words)
