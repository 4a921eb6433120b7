"""The classifier: tiers, classes, stages and tags of every customer, with their reasons.

:func:`classify` is a pure function of the checked book (typed frames), the spec's typed
rules (``spec.rules``, templates/rules.yaml: every threshold, window and label comes from
there or from the lists), the reason phrases (``spec.reasons``, templates/reasons.yaml)
and an as-of date. :func:`summarize` counts the result.

The pieces, each with the semantics at every edge in its docstring:
:mod:`~khbook.classify.facts` (per-customer aggregates), :mod:`~khbook.classify.amounts`
(年交易额, 客户价值等级, 客户等级(ABC)), :mod:`~khbook.classify.stages` (合作阶段, 状态标签,
decision chain), :mod:`~khbook.classify.place` (所在区域, 企业规模) and
:mod:`~khbook.classify.words` (the reason phrases in the output language).

* **Customers**: each distinct non-blank 客户ID of the customers sheet once, from its first
  row (later rows with the same ID are named in ``reasons["customer_id"]``). Rows of the
  other sheets link by 客户ID unless their 客户ID cell is untrusted.
* Reasons are rendered in the output language ``lang``; the classification itself (the
  values) is always the canonical Chinese labels.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from khbook.base.gcpause import paused_gc
from khbook.classify.amounts import abc_classes, annual_amounts, value_tiers
from khbook.classify.facts import MICRO, Untrusted, day_number, gather
from khbook.classify.place import regions, size_bands
from khbook.classify.regions import RegionTable
from khbook.classify.stages import decision_chains, incomplete_fields, stages, status_tags
from khbook.classify.words import Words, num, wan
from khbook.findings import value_text
from khbook.read.model import Book, CustomerClass
from khbook.spec import Spec

__all__ = ["classify", "num", "summarize", "wan"]


def classify(book: Book, spec: Spec, as_of: dt.date, *, untrusted: Untrusted | None = None, lang: str = "zh",
             suspect: Untrusted | None = None) -> list[CustomerClass]:
    """Classify every customer of the book at `as_of` (see the module docstring).

    `untrusted`: cells (sheet key, row, field) that failed a check; `suspect`: amount cells
    that look typed in yuan (khbook.checks.units), left out until corrected. The values are
    canonical (Chinese) labels; the reasons are in `lang` (zh or en).
    """
    with paused_gc():
        return _classify(book, spec, as_of, untrusted or set(), lang, suspect or set())


def _suspect_amounts(book: Book, suspect: Untrusted) -> dict[int, str]:
    """customers-sheet row -> the raw text of a 年交易额 that looks typed in yuan."""
    t = book.table("customers")
    rows = [r for (s, r, k) in suspect if s == "customers" and k == "annual_amount"]
    if t is None or not rows or "annual_amount" not in t.raw.columns:
        return {}
    return {r: value_text(t.raw.at[r, "annual_amount"]) for r in rows if r in t.raw.index}


def _classify(book: Book, spec: Spec, as_of: dt.date, untrusted: Untrusted, lang: str,
              suspect: Untrusted) -> list[CustomerClass]:
    rules = spec.rules
    W = Words(spec, lang)
    f = gather(book, as_of, untrusted, amount_won=rules.annual_amount.won_stage,
               window_days=rules.annual_amount.window_days, won=rules.stage.won_stage,
               lost=rules.stage.lost_stage, open_stages=list(rules.stage.open_stages),
               priority_stages=list(rules.tags.priority_deal_stages), lift_tags=list(rules.value_tier.lift_tags),
               suspect=suspect)
    today = day_number(as_of)
    bad_amount = {r for (s, r, k) in untrusted if s == "customers" and k == "annual_amount"}
    amounts, amount_why = annual_amounts(f, spec, as_of, bad_amount, W, _suspect_amounts(book, suspect))
    tiers, tier_why = value_tiers(f, spec, amounts, W)
    abc, abc_why = abc_classes(spec, amounts, W)
    stage, stage_why = stages(f, spec, today, W)
    chain, chain_why = decision_chains(f, spec, W)
    missing = incomplete_fields(book, f, spec, untrusted, stage, amounts, W)
    region, region_why = regions(f, spec, RegionTable(spec.regions), W)
    size, size_why = size_bands(f, spec, W)

    tag_lists = status_tags(f, spec, today, tiers, stage, missing, chain, chain_why, W)
    duplicate = W.bind("duplicate_id", "id", "rows", "row")
    dup_why = {i: duplicate(f.ids[i], W.list_sep.join(map(str, rows)), str(f.rows[i])) for i, rows in f.dup_rows.items()}
    none_text = W.text("no_tags")
    tag_sep = W.text("tag_sep")
    item = {t: W.bind("tag_reason", "reason", tag=W.label("status_tag", t)) for t in rules.tags.labels.values()}
    out: list[CustomerClass] = []
    append = out.append
    share = {}.setdefault  # equal reason texts held once (most customers share most of theirs: ~20 MB at 50k)
    for i, (cid, name, owner, row, a, tier, cls, st, tl, rg, sz, ch, w_a, w_t, w_c, w_s, w_r, w_z, w_d) in enumerate(zip(
            f.ids, f.name, f.owner, f.rows, amounts, tiers, abc, stage, tag_lists, region, size, chain,
            amount_why, tier_why, abc_why, stage_why, region_why, size_why, chain_why, strict=True)):
        reasons = {"annual_amount": share(w_a, w_a), "value_tier": share(w_t, w_t), "abc_class": share(w_c, w_c),
                   "stage": share(w_s, w_s), "tags": share(tg := tag_sep.join([item[t](w) for t, w in tl]), tg) if tl else none_text,
                   "region": share(w_r, w_r), "size_band": share(w_z, w_z), "decision_chain": share(w_d, w_d)}
        if i in dup_why:
            reasons["customer_id"] = dup_why[i]
        append(CustomerClass(cid, name, owner, row, None if a is None else round(a / MICRO, 6), tier, cls, st,
                             tuple([t for t, _ in tl]), rg, sz, ch, reasons))
    return out


def summarize(classes: list[CustomerClass], spec: Spec) -> dict[str, dict[str, int]]:
    """Counts by value_tier, abc_class, stage, tag, region, size_band and owner.

    Labels come in the order of their list (then any others in order of appearance);
    owners in order of first appearance; blanks (None) are not counted.
    """
    dims: dict[str, list[Any]] = {
        "value_tier": [c.value_tier for c in classes],
        "abc_class": [c.abc_class for c in classes],
        "stage": [c.stage for c in classes],
        "tag": [t for c in classes for t in c.tags],
        "region": [c.region for c in classes],
        "size_band": [c.size_band for c in classes],
        "owner": [c.owner for c in classes],
    }
    out: dict[str, dict[str, int]] = {}
    for dim, values in dims.items():
        counts = Counter(v for v in values if v is not None)
        list_name = spec.result_list(dim)
        labels = spec.lists[list_name].labels("zh") if list_name else []
        d = {k: counts[k] for k in labels if counts.get(k)}
        for k, v in counts.items():
            d.setdefault(k, v)
        out[dim] = d
    return out
