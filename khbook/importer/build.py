"""Split the flat rows of the source sheets into the template's records.

Each data row gives (at most) one customer, one contact, one follow-up and one deal, as its
columns' targets say. Rows of the same company (the same valid credit code, else the same
normalised name) become one customer with several contacts; a row without a company name
that follows one with it (a merged cell, a continuation line) belongs to the same company.
Values that map nowhere are kept in the customer's 备注 as ``header：value``; every row also
lands on the 导入原始数据 sheet (see :mod:`khbook.importer.run`), so nothing is lost.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from khbook.importer.detect import SourceSheet
from khbook.read import contacts, identity, parsers
from khbook.spec import Column, Spec
from khbook.spec.vocab import ImportVocab

JOIN = {"phone": " / ", "email": "; "}


@dataclass
class Customer:
    key: str
    fields: dict[str, Any] = field(default_factory=dict)
    remarks: list[str] = field(default_factory=list)
    contacts: list[dict[str, Any]] = field(default_factory=list)
    followups: list[dict[str, Any]] = field(default_factory=list)
    deals: list[dict[str, Any]] = field(default_factory=list)
    needs: list[dict[str, Any]] = field(default_factory=list)
    rows: list[tuple[str, str, int]] = field(default_factory=list)   # (file, sheet, row)
    customer_id: str | None = None
    existing: bool = False       # --into: the book already has this customer


@dataclass
class Built:
    customers: list[Customer]
    row_customer: dict[tuple[str, str, int], Customer]
    rows_read: int = 0
    merged_rows: int = 0
    continuation_rows: int = 0
    unmapped_values: int = 0
    defaults: dict[str, int] = field(default_factory=dict)   # "deal_stage" / "followup_method" -> times used


def typed(col: Column, v: Any, spec: Spec, factor: float | None) -> Any:
    """A source value in the template column's type; a value that does not parse is kept as text
    (so the check of the result reports it, as it would have reported it in the source)."""
    text = parsers.clean_text(v)
    if text is None:
        return None
    t = col.type
    if t == "date":
        p = parsers.parse_date(v)
        return p.value if p.ok else text
    if t == "amount":
        p = parsers.parse_amount(v)
        if not p.ok or p.value is None:
            return text
        plain = isinstance(v, int | float) or re.fullmatch(r"-?[\d,]+(?:\.\d+)?", text) is not None
        scale = Decimal(str(factor)) if factor is not None and plain else Decimal(1)
        return float(p.value * scale)
    if t == "integer":
        p = parsers.parse_integer(v)
        return p.value if p.ok else text
    if t == "phone":
        if isinstance(v, float) and v.is_integer():
            text = str(int(v))
        p = contacts.check_phone(text)
        return p.value if p.ok and p.value else text
    if t == "email":
        p = contacts.check_email(text)
        return p.value if p.ok and p.value else text
    if t == "uscc":
        p = identity.check_credit_code(text)
        return p.value if p.ok and p.value else text
    if t in ("choice", "multi"):
        vl = spec.list_for(col)
        return (vl.canonical(text) if vl else None) or text
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return v.strip() if isinstance(v, str) else text


def _put(rec: dict[str, Any], col: Column, value: Any, overflow: list[str], label: str) -> None:
    """Set a field; a second value joins phones/e-mails, anything else goes to the overflow."""
    old = rec.get(col.key)
    if old in (None, ""):
        rec[col.key] = value
    elif col.type in JOIN and isinstance(old, str) and isinstance(value, str):
        if value not in old:
            rec[col.key] = old + JOIN[col.type] + value
    elif old != value:
        overflow.append(f"{label}{_display(value)}")


def _display(v: Any) -> str:
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if v.time() == dt.time() else v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def company_keys(fields: dict[str, Any]) -> list[str]:
    """The keys a company is known by: its valid credit code, then its normalised name."""
    keys = []
    code = fields.get("credit_code")
    if isinstance(code, str) and len(code) == 18 and identity.check_credit_code(code).ok:
        keys.append("code:" + code)
    name = fields.get("name")
    key = identity.normalize_company(name) if isinstance(name, str) else ""
    if key:
        keys.append("name:" + key)
    return keys


def company_key(fields: dict[str, Any]) -> str | None:
    keys = company_keys(fields)
    return keys[0] if keys else None


def _find(by_key: dict[str, Customer], keys: list[str]) -> Customer | None:
    """The customer of the same credit code, else of the same name (unless the credit codes differ)."""
    for k in keys:
        cust = by_key.get(k)
        if cust is None:
            continue
        if k.startswith("name:") and keys[0].startswith("code:") and cust.key.startswith("code:") and cust.key != keys[0]:
            continue
        return cust
    return None


def build(sources: list[SourceSheet], spec: Spec, vocab: ImportVocab, *, owner: str | None,
          colon: str) -> Built:
    """The customers (with their contacts, follow-ups and deals) of all source rows."""
    by_key: dict[str, Customer] = {}
    out = Built([], {})
    for src in sources:
        previous: Customer | None = None
        if not src.has_customers:
            continue  # not a customer table: its rows stay on the raw-data sheet only
        for r, row in src.data:
            out.rows_read += 1
            recs: dict[str, dict[str, Any]] = {"customers": {}, "contacts": {}, "followups": {}, "deals": {}, "needs": {}}
            overflow: list[str] = []
            for c in src.columns:
                v = row[c.index] if c.index < len(row) else None
                if parsers.clean_text(v) is None:
                    continue
                label = f"{c.header or c.letter}{colon}"
                if c.target is None:
                    overflow.append(label + _display(v.strip() if isinstance(v, str) else v))
                    out.unmapped_values += 1
                    continue
                sheet_key, _, col_key = c.target.partition(".")
                col = spec.sheet(sheet_key).column(col_key)
                _put(recs[sheet_key], col, typed(col, v, spec, c.factor), overflow, label)
            cust_fields = recs["customers"]
            keys = company_keys(cust_fields)
            found = _find(by_key, keys)
            if not keys and previous is not None and not cust_fields.get("credit_code"):
                cust = previous
                out.continuation_rows += 1
            elif not keys:
                cust = Customer(f"row:{src.file}:{src.sheet}:{r}")
                out.customers.append(cust)
            elif found is not None:
                cust = found
                out.merged_rows += 1
            else:
                cust = Customer(keys[0])
                out.customers.append(cust)
            for k in keys:
                by_key.setdefault(k, cust)
            for k, v in cust_fields.items():
                _put(cust.fields, spec.sheet("customers").column(k), v, cust.remarks, "")
            cust.remarks += [x for x in overflow if x not in cust.remarks]
            cust.rows.append((src.file, src.sheet, r))
            out.row_customer[(src.file, src.sheet, r)] = cust
            _children(cust, recs, vocab, owner, out)
            previous = cust
    for cust in out.customers:
        if owner and not cust.fields.get("owner"):
            cust.fields["owner"] = owner
    return out


def _children(cust: Customer, recs: dict[str, dict[str, Any]], vocab: ImportVocab, owner: str | None,
              out: Built) -> None:
    contact = recs["contacts"]
    if contact and contact not in cust.contacts:
        cust.contacts.append(contact)
    fu = recs["followups"]
    if fu:
        if not fu.get("method"):
            fu["method"] = vocab.followup_method
            out.defaults["followup_method"] = out.defaults.get("followup_method", 0) + 1
        if not fu.get("by") and (cust.fields.get("owner") or owner):
            fu["by"] = cust.fields.get("owner") or owner
        cust.followups.append(fu)
    deal = recs["deals"]
    if deal:
        if not deal.get("stage") and deal.get("actual_amount") not in (None, ""):
            deal["stage"] = vocab.deal_stage_with_amount
            out.defaults["deal_stage"] = out.defaults.get("deal_stage", 0) + 1
        cust.deals.append(deal)
    if recs["needs"]:
        cust.needs.append(recs["needs"])
