"""Who a customer is: the 统一社会信用代码 (unified social credit code) and the company-name key.

Two customers are the same company when their credit codes are equal or, without a code,
when their names give the same key (:func:`normalize_company`). Both are checked the way
:mod:`khbook.read.parsers` checks any cell: a raw value in, a :class:`Parsed` (or a key) out,
with bulk forms for a column's distinct values.

- credit codes (GB 32100-2015): 18 characters of a 31-letter alphabet, a first character
  from 1-9, A, N or Y, and a check digit; a number (or text in scientific notation) is a
  code Excel stored as a number and lost digits of;
- company keys do *not* strip a leading 中国 (``中国银行`` and ``银行`` must not merge); they
  strip one trailing legal form and keep 集团.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Collection
from decimal import Decimal
from functools import lru_cache
from typing import Any

from khbook.read.parsers import (
    BLANK,
    CACHE_SIZE,
    Parsed,
    clean_text,
    clean_texts,
    is_not_applicable,
)
from khbook.spec.vocabulary import words

__all__ = ["USCC_ALPHABET", "check_credit_code", "check_credit_codes", "company_keys", "normalize_company",
           "uscc_check_digit"]

_BLANK = BLANK
_CACHE = CACHE_SIZE

# ----------------------------------------------------------------------- credit code

_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_ALPHABET = frozenset(_USCC_CHARS)
_USCC_VALUE = {c: i for i, c in enumerate(_USCC_CHARS)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_FIRST = frozenset("123456789ANY")
_SCI = re.compile(r"[-+]?\d+(?:\.\d+)?E[-+]?\d+")
_USCC_SEP = re.compile(r"[\s-]+")
_STORED_AS_NUMBER = Parsed(None, "stored_as_number")
_BAD_USCC = {k: Parsed(None, "bad_credit_code", k) for k in ("length", "alphabet", "first_char", "check_digit")}


@lru_cache(maxsize=_CACHE)
def _uscc_text(s: str) -> Parsed:
    code = _USCC_SEP.sub("", s).upper()
    if _SCI.fullmatch(code):
        return _STORED_AS_NUMBER
    if len(code) != 18:
        return _BAD_USCC["length"]
    if not USCC_ALPHABET.issuperset(code) or not code[2:8].isdigit():
        return _BAD_USCC["alphabet"]
    if code[0] not in _USCC_FIRST:
        return _BAD_USCC["first_char"]
    if uscc_check_digit(code[:17]) != code[17]:
        return _BAD_USCC["check_digit"]
    return Parsed(code)


def uscc_check_digit(body: str) -> str:
    """The GB 32100-2015 check digit of a credit code's first 17 characters (all in the
    alphabet): python-stdnum's ``cn.uscc.calc_check_digit`` (tests/test_parsers.py holds it to
    that), without its per-character clean-up (its validate() rejects the A/N/Y first chars)."""
    total = sum(map(operator.mul, map(_USCC_VALUE.__getitem__, body), _USCC_WEIGHTS))
    return _USCC_CHARS[(31 - total) % 31]


def check_credit_codes(texts: list[str], *, not_applicable: Collection[str] = ()) -> list[Parsed]:
    """:func:`check_credit_code` of many distinct texts (a column's), each checked once (no cache)."""
    one = _uscc_text.__wrapped__
    return [_BLANK if (t := clean_text(s)) is None or (len(t) != 18 and is_not_applicable(t, not_applicable))
            else one(t) for s in texts]


def check_credit_code(v: Any, *, not_applicable: Collection[str] = ()) -> Parsed:
    """A 统一社会信用代码 cell -> ``Parsed(code)`` (18 chars, upper case).

    Not-applicable words give ``Parsed(None)``; numbers (and text in scientific
    notation) give ``stored_as_number``; otherwise ``bad_credit_code`` with detail
    ``length``, ``alphabet``, ``first_char`` or ``check_digit`` (GB 32100-2015).
    """
    if v is None:
        return _BLANK
    if isinstance(v, bool):
        return _BAD_USCC["length"]
    if isinstance(v, int | float | Decimal):
        if isinstance(v, float) and math.isnan(v):
            return _BLANK
        return _STORED_AS_NUMBER
    s = clean_text(v)
    if s is None or (len(s) != 18 and is_not_applicable(s, not_applicable)):
        return _BLANK
    return _uscc_text(s)


# -------------------------------------------------------------------------- company names

_EN_FORMS = re.compile(
    r"(?:[\s,.]+(?:co|company|corp|corporation|ltd|limited|inc|incorporated|llc|plc|gmbh)\b\.?)+\s*$"
)
_NON_WORD = re.compile(r"[\W_]+")
_CN_FORMS = re.compile(words("companies", "legal_forms"))


@lru_cache(maxsize=_CACHE)
def normalize_company(name: str) -> str:
    """Key for duplicate-company detection.

    NFKC, case-folded, English legal forms (``Co., Ltd.``, ``Inc.``, ``LLC``...) dropped,
    spaces/punctuation/brackets of both widths dropped, then one trailing Chinese legal
    form (股份有限公司, 有限责任公司, 有限公司, 股份公司, 公司, 股份) dropped; 集团 and a
    leading 中国 are kept. ``深圳市示例科技有限公司`` == ``深圳市示例科技 有限责任公司``.
    """
    return _company_key(clean_text(name))


def company_keys(names: list[str]) -> list[str]:
    """:func:`normalize_company` of many names at once (a column's; no cache)."""
    return list(map(_company_key, clean_texts(names)))


def _company_key(text: str | None) -> str:
    if not text:
        return ""
    text = text.casefold()
    stripped = _EN_FORMS.sub("", text)
    key = _NON_WORD.sub("", stripped or text)
    short = _CN_FORMS.sub("", key)
    return short or key
