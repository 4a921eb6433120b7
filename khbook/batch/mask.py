"""Masking of personal data in the shared batch outputs (``khbook batch --mask``).

Phones keep their first 3 and last 4 digits (``138****5678``), e-mails the first
character of the local part and the domain (``a***@example.com``), 统一社会信用代码 the
first 4 and last 2 characters (``9144****XG``). Free text (finding messages) is scrubbed
with the same rules by pattern. The per-file annotated copies are the reps' own files and
are never masked.
"""

from __future__ import annotations

import re
from dataclasses import replace

from khbook.batch.records import FindingRow
from khbook.read.parsers import split_multi

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_USCC = re.compile(r"(?<![0-9A-Za-z])[0-9A-Z]{18}(?![0-9A-Za-z])")
_PHONE = re.compile(r"(?<![\d*])(?:\+?86[ -]?)?(?:1[3-9]\d(?:[ -]?\d){8}|0\d{2,3}[ -]?\d{7,8})(?![\d*])")
# a bare run of 7+ digits (e.g. a short mobile) in a value known to be a phone
_DIGITS = re.compile(r"\d")

PHONE_FIELDS = frozenset({"phone"})
EMAIL_FIELDS = frozenset({"email"})
ID_FIELDS = frozenset({"uscc"})


def mask_phone(text: str) -> str:
    digits = "".join(_DIGITS.findall(text))
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if len(digits) >= 11:
        return f"{digits[:3]}****{digits[-4:]}"
    if len(digits) >= 7:
        return f"{digits[:3]}****{digits[-2:]}"
    return "****" if digits else text


def mask_email(text: str) -> str:
    local, at, domain = text.strip().rpartition("@")
    if not at:
        return mask_text(text)
    return f"{local[:1]}***@{domain}"


def mask_id(text: str) -> str:
    t = text.strip()
    if len(t) >= 8:
        return f"{t[:4]}****{t[-2:]}"
    return "****" if any(ch.isdigit() for ch in t) else t


def mask_text(text: str) -> str:
    """Scrub e-mails, credit codes and phone numbers out of free text."""
    if not text:
        return text
    text = _EMAIL.sub(lambda m: mask_email(m.group(0)), text)
    text = _USCC.sub(lambda m: mask_id(m.group(0)) if any(c.isdigit() for c in m.group(0)) else m.group(0), text)
    return _PHONE.sub(lambda m: mask_phone(m.group(0)), text)


def mask_value(value: str | None, kind: str) -> str | None:
    """Mask a value whose column type is known (phone / email / uscc); other kinds: scrub."""
    if not value:
        return value
    if kind in PHONE_FIELDS:
        return ";".join(mask_phone(p) for p in split_multi(value))
    if kind in EMAIL_FIELDS:
        return ";".join(mask_email(p) for p in split_multi(value))
    if kind in ID_FIELDS:
        return mask_id(value)
    return mask_text(value)


def mask_finding(f: FindingRow) -> FindingRow:
    """A finding with its value and message masked (by the type of its column)."""
    masked = mask_value(f.value, f.kind) if f.value else f.value
    message = f.message or ""
    if f.value and masked != f.value:
        message = message.replace(f.value, masked or "")
    return replace(f, value=masked or "", message=mask_text(message))
