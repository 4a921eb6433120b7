"""Contact cells: phone numbers (with the Chinese office shorthand ``021-65759515/6/7``) and
e-mail addresses, each validated by a well-kept library (phonenumbers, email-validator).

Split from :mod:`khbook.read.parsers` (same conventions: a raw cell in, a :class:`Parsed` out,
cached per distinct text).
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection
from functools import lru_cache
from typing import Any

from khbook.read.parsers import BLANK, CACHE_SIZE, Parsed, clean_text, is_not_applicable
from khbook.spec.vocabulary import words

__all__ = ["check_email", "check_emails", "check_phone", "check_phones"]


_PHONE_SPLIT = re.compile(words("separators", "phones"))
_EXT_WORD = re.compile(words("phones", "extension"), re.IGNORECASE)
_LANDLINE_EXT = re.compile(r"((?:(?:\+|00)?86[- ]?)?(?:0?[1-9]\d{1,2}|\(0?[1-9]\d{1,2}\))[- ]?\d{7,8})-(\d{1,6})")
_MOBILE = re.compile(r"1[3-9]\d{9}")
_RETRY_PLUS = ("852", "853", "886")
_BAD_PHONE = {k: Parsed(None, "bad_phone", k) for k in ("too_short", "unrecognised")}
_DIGITS = re.compile(r"\d")


def _format_phone(n: Any) -> str:
    import phonenumbers as pn

    if n.country_code == 86:
        nsn = pn.national_significant_number(n)
        if nsn.startswith("1") and len(nsn) == 11:
            text = nsn
        else:
            area = pn.length_of_geographical_area_code(n)
            text = f"0{nsn[:area]}-{nsn[area:]}" if area else nsn
        return f"{text} ext. {n.extension}" if n.extension else text
    return pn.format_number(n, pn.PhoneNumberFormat.INTERNATIONAL)


class _CnPatterns:
    """phonenumbers' own CN metadata patterns, compiled once (lazily: importing
    phonenumbers costs time and is only needed when a workbook has phones)."""

    _loaded: _CnPatterns | None = None

    def __init__(self) -> None:
        import phonenumbers as pn

        md = pn.PhoneMetadata.metadata_for_region("CN")
        assert md is not None and md.mobile is not None and md.fixed_line is not None
        self.mobile = re.compile(md.mobile.national_number_pattern)
        self.fixed = re.compile(md.fixed_line.national_number_pattern)
        self.general = re.compile(md.general_desc.national_number_pattern)

    @classmethod
    def get(cls) -> _CnPatterns:
        if cls._loaded is None:
            cls._loaded = cls()
        return cls._loaded


# GB area codes: 10 and 2X have two digits, all others (3XX-9XX) three
_LANDLINE = re.compile(r"\(?0(10|2\d|[3-9]\d\d)\)?[- ]?(\d{7,8})")


def _fast_cn(part: str) -> str | None:
    """The common shapes, checked against the library's CN patterns without parsing:
    an 11-digit mobile, or ``0AA(A)-NNNNNNN(N)``. None: take the full library path."""
    if len(part) == 11 and _MOBILE.fullmatch(part):
        pats = _CnPatterns.get()
        return part if pats.mobile.fullmatch(part) else None
    m = _LANDLINE.fullmatch(part)
    if m is None:
        return None
    area, local = m[1], m[2]
    nsn = area + local
    pats = _CnPatterns.get()
    if pats.general.fullmatch(nsn) and pats.fixed.fullmatch(nsn) and not pats.mobile.fullmatch(nsn):
        return f"0{area}-{local}"
    return None


@lru_cache(maxsize=CACHE_SIZE)
def _one_phone(part: str) -> str | None:
    fast = _fast_cn(part)
    if fast is not None:
        return fast
    import phonenumbers as pn

    candidates = [part]
    digits = "".join(_DIGITS.findall(part))
    if not part.startswith("+") and digits.startswith(_RETRY_PLUS):
        candidates.append("+" + part)
    for c in candidates:
        try:
            n = pn.parse(c, "CN")
        except pn.NumberParseException:
            continue
        if pn.is_valid_number(n):
            return _format_phone(n)
    return None


def _too_short(part: str) -> bool:
    """Clearly too few digits: under 10 (a landline without area code, 1395678), or a
    mobile-looking number (starting with 1) under 11."""
    digits = "".join(_DIGITS.findall(part.split("ext.")[0]))
    return 0 < len(digits) < 10 or (digits.startswith("1") and len(digits) < 11)


# Shorthand for more numbers of the same office, after a full one: ``65759515/6/7`` (a suffix
# replaces the last digits of the previous number), ``021-65757819/55155305`` (a bare local
# number inherits the previous one's area code), ``66075620/1-8012`` (either, with an extension).
_SHORTHAND = re.compile(r"(\d{1,8})(?:\s*(?:-|ext\.)\s*(\d{1,6}))?")
_OFFICE = re.compile(r"0(\d{2,3})-(\d{7,8})(?: ext\. (\d+))?|(1\d{10})")
_MAX_SUFFIX = 4


def _office(formatted: str) -> tuple[str, str, str] | None:
    """(area code, local number, extension) of a number as :func:`_one_phone` formats it
    (a mobile has no area code); None for a number abroad."""
    m = _OFFICE.fullmatch(formatted)
    if m is None:
        return None
    if m[4]:
        return "", m[4], ""
    return m[1], m[2], m[3] or ""


def _expand(part: str, prev: tuple[str, str, str] | None) -> tuple[str, str] | None:
    """A shorthand `part` after the number `prev` -> (text to parse, text to show), else None."""
    m = _SHORTHAND.fullmatch(part) if prev is not None else None
    if m is None or prev is None or (m[1].startswith("0") and len(m[1]) >= 3):  # 021-1234: an area code
        return None
    digits, ext = m[1], m[2]
    area, local, prev_ext = prev
    if prev_ext and ext is None and len(digits) == len(prev_ext):
        number, ext = local, digits          # another extension of the same line
    elif area and len(digits) == len(local) and digits[0] not in "01":
        number = digits                      # a bare local number: the same area code
    elif len(digits) <= _MAX_SUFFIX and len(digits) < len(local):
        number = local[:-len(digits)] + digits
    else:
        return None
    base = f"0{area}-{number}" if area else number
    return (f"{base} ext. {ext}", f"{base}-{ext}") if ext else (base, base)


@lru_cache(maxsize=CACHE_SIZE)
def _phone_text(s: str) -> Parsed:
    if len(s) == 11 and _MOBILE.fullmatch(s):
        if _CnPatterns.get().mobile.fullmatch(s):  # what _one_phone gives a valid mobile, sooner
            return Parsed(s)
        one = _one_phone(s)
        return Parsed(one) if one else _BAD_PHONE["unrecognised"]
    out: list[str] = []
    parts = [p.strip() for p in _PHONE_SPLIT.split(s) if p.strip()]
    prev: tuple[str, str, str] | None = None
    for raw in parts:
        part = _EXT_WORD.sub(" ext. ", raw)
        part = _LANDLINE_EXT.sub(r"\1 ext. \2", part) if "ext." not in part else part
        expanded = _expand(part, prev)
        shown = raw
        if expanded is not None:
            part, shown = expanded
        one = _one_phone(part)
        if one is None:
            bad = _BAD_PHONE["too_short" if _too_short(part) else "unrecognised"]
            # a cell of several numbers: the finding names the bad one alone
            return bad if len(parts) == 1 and expanded is None else Parsed(None, bad.rule, bad.detail, shown)
        prev = _office(one)
        if one not in out:
            out.append(one)
    return Parsed(" / ".join(out)) if out else BLANK


def check_phone(v: Any, *, not_applicable: Collection[str] = ()) -> Parsed:
    """A phone cell -> ``Parsed("13812345678 / 010-12345678 ext. 8001")``.

    Validated with phonenumbers (``parse(s, "CN")`` + ``is_valid_number``); any invalid
    number makes the cell ``bad_phone`` (detail ``too_short`` below 10 digits), naming that
    number alone (``Parsed.shown``) when the cell holds several. The office shorthand
    ``021-65759515/6/7``, ``021-65757819/55155305`` and ``021-66075620/1-8012`` is expanded
    first, each number validated by itself.
    `not_applicable` words (e.g. 暂无) give ``Parsed(None)``.
    """
    if v is None:
        return BLANK
    if isinstance(v, bool):
        return _BAD_PHONE["unrecognised"]
    if isinstance(v, float) and not v.is_integer():
        return BLANK if math.isnan(v) else _BAD_PHONE["unrecognised"]
    s = clean_text(v)
    if s is None or is_not_applicable(s, not_applicable):
        return BLANK
    return _phone_text(s)


def check_phones(texts: list[str]) -> list[Parsed]:
    """:func:`check_phone` of many distinct texts (a column's): a plain valid mobile is answered
    in place, any other text takes :func:`check_phone`."""
    if not texts:
        return []
    mobile, shape = _CnPatterns.get().mobile.fullmatch, _MOBILE.fullmatch
    return [Parsed(s) if len(s) == 11 and s.isascii() and shape(s) and mobile(s) else check_phone(s) for s in texts]


# ----------------------------------------------------------------------------- e-mail

_EMAIL_SPLIT = re.compile(words("separators", "emails"))
_BAD_EMAIL = Parsed(None, "bad_email", "unrecognised")


_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


@lru_cache(maxsize=4096)
def _email_domain(domain: str) -> str | None:
    """email-validator's normalised form of a domain (via a neutral local part)."""
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(f"x@{domain}", check_deliverability=False).domain
    except EmailNotValidError:
        return None


def _full_email(addr: str) -> str | None:
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(addr, check_deliverability=False).normalized
    except EmailNotValidError:
        return None


@lru_cache(maxsize=1)
def _mailbox_names() -> frozenset[str]:
    """The local parts email-validator lower-cases (postmaster, abuse...)."""
    from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES

    return frozenset(CASE_INSENSITIVE_MAILBOX_NAMES)


@lru_cache(maxsize=CACHE_SIZE)
def _one_email(addr: str) -> str | None:
    if addr[:7].lower() == "mailto:":
        addr = addr[7:]
    if addr.startswith("<") and addr.endswith(">"):
        addr = addr[1:-1]
    # fast path: a plain ASCII local part (email-validator keeps it as typed) and a
    # domain validated once; anything unusual takes the library's full path.
    local, at, domain = addr.rpartition("@")
    if at and addr.isascii() and len(local) <= 64 and len(addr) <= 254 and _DOT_ATOM.fullmatch(local):
        if local.lower() not in _mailbox_names():
            norm = _email_domain(domain)
            if norm is None:
                return None
            if norm.isascii():
                return f"{local}@{norm}"
    return _full_email(addr)


def _plain_email(addr: str) -> str | None:
    """:func:`_one_email`'s fast path alone (a plain ASCII address with a valid domain), else None."""
    local, at, domain = addr.rpartition("@")
    if at and len(local) <= 64 and len(addr) <= 254 and _DOT_ATOM.fullmatch(local) and local.lower() not in _mailbox_names():
        norm = _email_domain(domain)
        if norm is not None and norm.isascii():
            return f"{local}@{norm}"
    return None


@lru_cache(maxsize=CACHE_SIZE)
def _email_text(s: str) -> Parsed:
    out: list[str] = []
    for part in _EMAIL_SPLIT.split(s):
        if not part:
            continue
        one = _one_email(part)
        if one is None:
            return _BAD_EMAIL
        if one not in out:
            out.append(one)
    return Parsed("; ".join(out)) if out else BLANK


def check_emails(texts: list[str]) -> list[Parsed]:
    """:func:`check_email` of many distinct texts (a column's), each checked once (no cache)."""
    out: list[Parsed] = []
    several = _EMAIL_SPLIT.search
    for s in texts:
        t = s.strip() if s.isascii() else None  # clean_text of an ASCII text
        one = _plain_email(t) if t and several(t) is None else None  # one plain address
        out.append(check_email(s) if one is None else Parsed(one))
    return out


def check_email(v: Any, *, not_applicable: Collection[str] = ()) -> Parsed:
    """An e-mail cell -> ``Parsed("a@b.cn; c@d.com")`` (normalised by email-validator,
    no deliverability check); any invalid address makes the cell ``bad_email``."""
    s = clean_text(v)
    if s is None or is_not_applicable(s, not_applicable):
        return BLANK
    if not isinstance(v, str):
        return _BAD_EMAIL
    return _email_text(s)


# --------------------------------------------------------------------------- companies
