"""The classifier: tiers, classes, stages and tags of every customer, with their reasons.

:func:`classify` is a pure function of the checked book (typed frames), the spec's rules
(``spec.rules`` = templates/rules.yaml; every threshold, window and label comes from there
or from the lists), the spec's reason phrases (``spec.reasons`` = templates/reasons.yaml)
and an as-of date. :func:`summarize` counts the result.

Reasons (分类依据) are rendered in the output language ``lang``: each phrase is a
str.format template of reasons.yaml (see :class:`Words`), every label inside it (tiers,
classes, stages, tags, deal stages, regions, size bands, decision roles, headers) is the
spec's label in that language, and every number is formatted here (no trailing zeros).
The classification itself (the values) is always the canonical Chinese labels.

Semantics at every edge (``age`` = as-of date minus a date, in whole days):

* **Customers**: each distinct non-blank 客户ID of the customers sheet once, from its first
  row (later rows with the same ID are named in ``reasons["customer_id"]``). Rows of the
  other sheets link by 客户ID unless their 客户ID cell is untrusted.
* **年交易额**: the column when filled; else the sum of 实际成交金额 of deals at
  ``annual_amount.won_stage`` dated ``0 <= age < window_days`` (the 365 days up to and
  including the as-of date: 364 days ago counts, 365 does not). A deal's date is its
  成交日期, else its 更新时间. No such deal in the window but one outside it -> 0. None
  (-> 待补充) when the column is blank and there is no won deal at all, or when a won
  deal in the window lacks its amount (no partial sums). Amounts are compared exactly
  (integer millionths of a 万元).
* **客户价值等级**: the first tier with ``amount >= min``; a need tag of
  ``value_tier.lift_tags`` lifts (never lowers), also when the amount is unknown.
* **客户等级(ABC)**: over customers with a known amount. ``share``: ``amount/total >= A%``
  -> A, ``>= B%`` -> B, else fallback. ``pareto``: sorted by amount, descending; the
  cumulative share *including* the customer ``<= A%`` -> A, ``<= B%`` -> B, else
  fallback; equal amounts share the cumulative share at the end of their group (so the
  order of ties never matters). Total 0 -> fallback for all. Exact rational arithmetic.
* **合作阶段**: the first of ``stage.order`` that holds. The items of the ``stage`` list
  are, by position: churned, churn risk, long-term, active, prospect, potential.
  churned: the latest dated lost deal is strictly later than every dated deal of another
  known stage (a same-day tie is not churned); churn risk: a won deal and no dated
  follow-up, or ``age(last follow-up) > churn_risk_days`` (90 is not, 91 is); long-term:
  ``age(first won deal) > long_term_days`` (365 is not, 366 is); active: a won deal;
  prospect: a deal in ``open_stages``; potential: anything else.
* **状态标签** (in status_tag list order): priority = top value tier or a deal in
  ``priority_deal_stages``; follow-up due = the latest 下次跟进时间 before the as-of date
  has no follow-up dated on or after it (the same rule as the overdue check); dormant =
  ``age(last follow-up) > dormant_days``, or no dated follow-up and ``age(首次接触时间) >
  dormant_days``; churn risk = stage churn risk; stable = stage long-term and
  ``age(last follow-up) <= stable_days``; incomplete = a required or key_field column of
  the customers sheet blank (or absent; a not-applicable answer such as 暂无 counts as
  filled); complex / simple decision = see decision_chain.
* **decision_chain**: distinct decision roles among the customer's contacts
  ``>= complex_roles`` -> complex; at least one -> simple; none (or no contacts) -> None.
* **所在区域**: province of the address, else of the credit code (digits 3-4), mapped to
  a region; else the typed value; else None. **企业规模**: employees through
  ``size_band.bands`` (``employees < max``), else the typed value, else None.
"""

from __future__ import annotations

import datetime as dt
import gc
import math
import string
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from fractions import Fraction
from functools import lru_cache
from typing import Any, Protocol

import numpy as np

from khbook.base.errors import SpecError
from khbook.classify.facts import MICRO, Facts, blank_mask, day_date, day_number, gather
from khbook.classify.regions import RegionTable
from khbook.read.model import Book, CustomerClass
from khbook.spec import Spec, Text

STAGE_KEYS = ("churned", "churn_risk", "long_term", "active", "prospect", "potential")
TAG_KEYS = ("priority", "followup_due", "dormant", "churn_risk", "stable", "incomplete",
            "complex_decision", "simple_decision")

Phrase = Callable[..., str]


def num(x: float | int | Fraction) -> str:
    """A number without trailing zeros: 50, 49.99, 62.5."""
    if isinstance(x, Fraction):
        x = float(x)
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    if isinstance(x, int):
        return str(x)
    return f"{x:.6f}".rstrip("0").rstrip(".")


@lru_cache(maxsize=65536)
def wan(micro: int) -> str:
    """Millionths of a 万元 -> '62.5' (exact, no float formatting; the unit is in the phrase)."""
    q, r = divmod(micro, MICRO)
    return str(q) if not r else f"{q}.{r:06d}".rstrip("0")


class Rules:
    """The parts of spec.rules and spec.lists the classifier uses, parsed once."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        r = spec.rules
        aa = r["annual_amount"]
        self.window = int(aa["window_days"])
        self.amount_won = str(aa["won_stage"])
        vt = r["value_tier"]
        self.tiers = [(str(t["label"]), math.ceil(Fraction(str(t["min"])) * MICRO), num(Fraction(str(t["min"]))))
                      for t in vt["tiers"]]
        self.tier_rank = {t[0]: i for i, t in enumerate(self.tiers)}
        self.lift: dict[str, str] = {str(k): str(v) for k, v in (vt.get("lift_tags") or {}).items()}
        self.tier_unknown = str(vt["unknown"])
        abc = r["abc"]
        self.abc_method = str(abc["method"])
        th = [(str(k), Fraction(str(v))) for k, v in abc[self.abc_method].items()]
        self.abc_thresholds = sorted(th, key=lambda kv: kv[1], reverse=self.abc_method == "share")
        self.abc_fallback = str(abc["fallback"])
        self.abc_unknown = str(abc["unknown"])
        st = r["stage"]
        labels = spec.lists["stage"].labels("zh")
        if len(labels) < len(STAGE_KEYS):
            raise SpecError(str(spec.directory / "lists.yaml"), "stage",
                            f"the stage list needs {len(STAGE_KEYS)} items ({', '.join(STAGE_KEYS)}, in this order)")
        self.stage_label = dict(zip(STAGE_KEYS, labels, strict=False))
        by_label = {v: k for k, v in self.stage_label.items()}
        self.stage_order = [by_label[s] for s in st["order"] if s in by_label]
        if "potential" not in self.stage_order:
            self.stage_order.append("potential")
        self.won = str(st["won_stage"])
        self.lost = str(st["lost_stage"])
        self.open_stages = [str(s) for s in st["open_stages"]]
        self.churn_days = int(st["churn_risk_days"])
        self.long_days = int(st["long_term_days"])
        tg = r["tags"]
        self.tag = {k: str(tg[k]) for k in TAG_KEYS}
        self.priority_stages = [str(s) for s in tg["priority_deal_stages"]]
        self.dormant_days = int(tg["dormant_days"])
        self.stable_days = int(tg["stable_days"])
        self.complex_roles = int(tg["complex_roles"])
        self.tag_order = {t: i for i, t in enumerate(spec.lists["status_tag"].labels("zh"))}
        sb = r["size_band"]
        self.size_method = str(sb.get("method", "employees"))
        self.bands = [(str(b["label"]), b.get("max")) for b in sb["bands"]]
        self.role_order = {t: i for i, t in enumerate(spec.lists["decision_role"].labels("zh"))} \
            if "decision_role" in spec.lists else {}
        self.not_applicable = {str(s).casefold() for s in r.get("checks", {}).get("not_applicable") or ()}
        sheet = spec.sheet("customers")
        self.complete_cols: list[tuple[str, Text, bool]] = [
            (c.key, c.header, c.type == "multi") for c in sheet.columns
            if (c.required or c.key_field) and not c.computed and c.key != "customer_id"]
        self.provinces: dict[str, Any] = dict(spec.regions.get("provinces") or {})


def _escape(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


class Words:
    """The reason phrases of reasons.yaml in one language, and the spec's labels in it.

    :meth:`bind` turns a phrase into a function of its varying values (positional, in
    the order named) with the constant ones (labels, thresholds) filled in once, so a
    reason per customer costs one ``str.format`` call. A phrase that is missing, or that
    uses a placeholder its reason does not have, raises SpecError naming reasons.yaml and
    the key.
    """

    def __init__(self, R: Rules, lang: str = "zh") -> None:
        self.spec, self.lang = R.spec, lang
        self.path = str(R.spec.directory / "reasons.yaml")
        self.list_sep = self.text("list_sep")
        self.won = self.label("deal_stage", R.won)
        self.lost = self.label("deal_stage", R.lost)
        self.amount_won = self.label("deal_stage", R.amount_won)

    def text(self, key: str) -> str:
        t = self.spec.reasons.get(key)
        if t is None:
            raise SpecError(self.path, key, "missing: the classifier needs this reason phrase (zh and en)")
        return t(self.lang)

    def label(self, list_name: str, value: str) -> str:
        """A canonical list value in the output language (unknown values unchanged)."""
        if self.lang == "zh" or list_name not in self.spec.lists:
            return value
        return self.spec.label(list_name, value, self.lang)

    def bind(self, key: str, *fields: str, **consts: object) -> Phrase:
        """The phrase `key` as a function of `fields` (texts, positional), `consts` filled in."""
        src = self.text(key)
        where = f"{key}.{self.lang}"
        parts = []
        try:
            for literal, name, spec, conv in string.Formatter().parse(src):
                parts.append(_escape(literal))
                if name is None:
                    continue
                if name in fields:
                    conv_spec = (f"!{conv}" if conv else "") + (f":{spec}" if spec else "")
                    parts.append(f"{{{fields.index(name)}{conv_spec}}}")
                elif name in consts:
                    value: object = consts[name]
                    if conv:
                        value = {"r": repr, "s": str, "a": ascii}[conv](value)
                    parts.append(_escape(format(value, spec or "")))
                else:
                    known = ", ".join(f"{{{n}}}" for n in (*fields, *consts)) or "none"
                    raise SpecError(self.path, where, f"unknown placeholder {{{name}}} (this reason has: {known})")
            fmt = "".join(parts)
            fmt.format(*[""] * len(fields))  # a bad format spec fails here, not per customer
        except (ValueError, KeyError, IndexError) as exc:
            raise SpecError(self.path, where, f"cannot fill in this phrase: {exc}") from None
        return fmt.format


class RegionLookup(Protocol):
    """What the classifier needs of khbook.classify.regions.RegionTable."""

    def province_of_address(self, addr: str) -> str | None: ...
    def province_of_credit_code(self, code: str) -> str | None: ...
    def region_of(self, short: str) -> str | None: ...


# --------------------------------------------------------------------------- pieces


def annual_amounts(f: Facts, R: Rules, as_of: dt.date, bad_amount: set[int],
                   W: Words | None = None) -> tuple[list[int | None], list[str]]:
    """年交易额 per customer in micro 万元 (None = unknown), with the reasons."""
    W = W or Words(R)
    start = (as_of - dt.timedelta(days=R.window - 1)).isoformat()
    won = W.amount_won
    period = W.bind("amount_period", days=R.window, start=start, end=as_of.isoformat())()
    filled = W.bind("amount_filled", "amount")
    note = W.bind("amount_undated_note", "count", won=won)
    # by whether the typed amount was invalid (True) or blank (False)
    heads = {bad: W.text("amount_invalid" if bad else "amount_blank") for bad in (False, True)}
    summed = {b: W.bind("amount_sum", "count", "amount", "note", head=h, period=period, won=won) for b, h in heads.items()}
    partial = {b: W.bind("amount_sum_incomplete", "count", "missing", "note", head=h, period=period, won=won)
               for b, h in heads.items()}
    zero = {b: W.bind("amount_zero", "note", head=h, period=period, won=won) for b, h in heads.items()}
    unknown = {b: W.bind("amount_unknown", head=h, won=won)() for b, h in heads.items()}
    out: list[int | None] = []
    why: list[str] = []
    col = f.amount_col
    for i in range(f.n):
        c = col[i]
        if c == c:  # filled
            v = int(c)
            out.append(v)
            why.append(filled(wan(v)))
            continue
        bad = f.rows[i] in bad_amount
        undated = int(f.won_undated_amount_stage[i])
        nt = note(str(undated)) if undated else ""
        k = int(f.won_in_window[i])
        missing = int(f.won_in_window_no_amount[i])
        if missing:
            out.append(None)
            why.append(partial[bad](str(k), str(missing), nt))
        elif k:
            s = int(f.won_sum[i])
            out.append(s)
            why.append(summed[bad](str(k), wan(s), nt))
        elif f.won_any_amount_stage[i]:
            out.append(0)
            why.append(zero[bad](nt))
        else:
            out.append(None)
            why.append(unknown[bad])
    return out, why


def value_tiers(f: Facts, R: Rules, amounts: list[int | None], W: Words | None = None) -> tuple[list[str], list[str]]:
    W = W or Words(R)
    tiers, why = [], []
    top = len(R.tiers)
    label_of = [t[0] for t in R.tiers]
    phrase = []
    for rank, (label, lo_micro, lo) in enumerate(R.tiers):
        tier = W.label("value_tier", label)
        if rank == 0:
            phrase.append(W.bind("tier_top", "amount", min=lo, tier=tier))
        elif lo_micro <= 0:
            phrase.append(W.bind("tier_bottom", "amount", upper=R.tiers[rank - 1][2], tier=tier))
        else:
            phrase.append(W.bind("tier_between", "amount", upper=R.tiers[rank - 1][2], min=lo, tier=tier))
    unknown = W.label("value_tier", R.tier_unknown)
    unknown_text = W.bind("tier_unknown", tier=unknown)()
    below = W.bind("tier_below_all", "amount", min=R.tiers[-1][2] if R.tiers else "", tier=unknown)
    lifted_text = W.bind("tier_lifted", "reason", "tag", "tier")
    for i, a in enumerate(amounts):
        if a is None:
            label, rank, text = R.tier_unknown, top, unknown_text
        else:
            rank = top
            for j, t in enumerate(R.tiers):
                if a >= t[1]:
                    rank = j
                    break
            w = wan(a)
            if rank == top:
                label, text = R.tier_unknown, below(w)
            else:
                label, text = label_of[rank], phrase[rank](w)
        tag = f.lift.get(i)
        if tag is not None:
            lifted = R.lift[tag]
            lr = R.tier_rank.get(lifted, top)
            if lr < rank:
                label, text = lifted, lifted_text(text, W.label("customer_tag", tag), W.label("value_tier", lifted))
        tiers.append(label)
        why.append(text)
    return tiers, why


def _pct(part: int, total: int, thresholds: list[tuple[str, Fraction]], near: tuple[float, ...] = ()) -> str:
    """part/total as a percentage text precise enough to show how it compares.

    `near`: the thresholds as floats (an optimisation; computed when not given).
    """
    share = part * 100 / total
    if 0 < share < 0.1:  # two significant digits rather than 0.0
        return f"{share:.{min(9, 1 - math.floor(math.log10(share)))}f}"
    txt = f"{share:.1f}"
    for p in near or [float(p) for _, p in thresholds]:
        if -0.06 < share - p < 0.06:
            break
    else:
        return txt
    exact = Fraction(part * 100, total)
    for digits in (1, 2, 3, 4, 6, 9):
        txt = f"{share:.{digits}f}"
        shown = Fraction(txt)
        if all((shown < p) == (exact < p) and (shown == p) == (exact == p) for _, p in thresholds):
            return txt
    return txt


def abc_classes(R: Rules, amounts: list[int | None], W: Words | None = None) -> tuple[list[str], list[str]]:
    W = W or Words(R)
    n = len(amounts)
    out = [R.abc_unknown] * n
    why = [W.bind("abc_unknown", cls=W.label("abc_class", R.abc_unknown))()] * n
    known = [(i, a) for i, a in enumerate(amounts) if a is not None]
    total = sum(a for _, a in known)
    th = R.abc_thresholds
    fallback = W.label("abc_class", R.abc_fallback)
    if not known:
        return out, why
    if total == 0:
        zero = W.bind("abc_total_zero", cls=fallback)()
        for i, _ in known:
            out[i] = R.abc_fallback
            why[i] = zero
        return out, why
    tw = wan(total)
    if R.abc_method == "share":
        tests = [(cls, p.numerator * total, p.denominator * 100,
                  W.bind("abc_share_at_least", "share", "amount", total=tw, min=num(p), cls=W.label("abc_class", cls)))
                 for cls, p in th]
        below = W.bind("abc_share_below", "share", "amount", total=tw, min=num(th[-1][1]), cls=fallback)
        near = tuple(float(p) for _, p in th)
        for i, a in known:
            pct, aw = _pct(a, total, th, near), wan(a)
            for cls, rhs, mul, phrase in tests:
                if a * mul >= rhs:
                    out[i], why[i] = cls, phrase(pct, aw)
                    break
            else:
                out[i], why[i] = R.abc_fallback, below(pct, aw)
        return out, why
    # pareto
    within = [(cls, p, W.bind("abc_pareto_within", "share", "amount", total=tw, max=num(p), cls=W.label("abc_class", cls)))
              for cls, p in th]
    beyond = W.bind("abc_pareto_beyond", "share", "amount", total=tw, max=num(th[-1][1]), cls=fallback)
    order = sorted(known, key=lambda ia: -ia[1])
    j = 0
    cum = 0
    while j < len(order):
        k = j
        a = order[j][1]
        while k < len(order) and order[k][1] == a:
            cum += a
            k += 1
        pct, cw = _pct(cum, total, th), wan(cum)
        for cls, p, phrase in within:
            if cum * 100 * p.denominator <= p.numerator * total:
                cls_, text = cls, phrase(pct, cw)
                break
        else:
            cls_, text = R.abc_fallback, beyond(pct, cw)
        for i, _ in order[j:k]:
            out[i], why[i] = cls_, text
        j = k
    return out, why


@lru_cache(maxsize=4096)
def date_text(day: int) -> str:
    return day_date(day).isoformat()


def stages(f: Facts, R: Rules, today: int, W: Words | None = None) -> tuple[list[str], list[str]]:
    """合作阶段: the first condition of stage.order that holds (vectorised), with reasons."""
    W = W or Words(R)
    n = f.n
    has_won = f.won_count > 0
    fu_age = today - f.fu_last            # NaN when no dated follow-up
    first_age = today - f.won_first
    cond = {
        "churned": ~np.isnan(f.lost_last) & ~(f.other_last >= f.lost_last),
        "churn_risk": has_won & (np.isnan(fu_age) | (fu_age > R.churn_days)),
        "long_term": first_age > R.long_days,
        "active": has_won,
        "prospect": f.open_rank >= 0,
        "potential": np.ones(n, dtype=bool),
    }
    choice = np.full(n, len(R.stage_order) - 1)
    for j in range(len(R.stage_order) - 1, -1, -1):
        choice[cond[R.stage_order[j]]] = j
    out: list[str] = [""] * n
    why: list[str] = [""] * n
    fu_last, first, lost_last = f.fu_last.tolist(), f.won_first.tolist(), f.lost_last.tolist()
    fu_rows, deal_rows, open_rank = f.fu_rows.tolist(), f.deal_rows.tolist(), f.open_rank.tolist()
    won, churn_days, long_days = W.won, R.churn_days, R.long_days
    stage = {k: W.label("stage", v) for k, v in R.stage_label.items()}
    churned = W.bind("stage_churned", "date", lost=W.lost, stage=stage["churned"])
    risk = W.bind("stage_churn_risk", "date", "days", won=won, limit=churn_days, stage=stage["churn_risk"])
    risk_none = {bool(rows): W.bind("stage_churn_risk_undated_followups" if rows else "stage_churn_risk_no_followup",
                                    won=won, stage=stage["churn_risk"])() for rows in (0, 1)}
    long_term = W.bind("stage_long_term", "date", "days", won=won, limit=long_days, stage=stage["long_term"])
    active = W.bind("stage_active", "date", "days", "recent", won=won, limit=long_days, stage=stage["active"])
    active_undated = W.bind("stage_active_undated", "recent", won=won, stage=stage["active"])
    recent = W.bind("stage_recent_followup", "days", limit=churn_days)
    prospect = [W.bind("stage_prospect", deal_stage=W.label("deal_stage", s), stage=stage["prospect"])()
                for s in R.open_stages]
    potential = {bool(rows): W.bind("stage_potential_no_valid_deal" if rows else "stage_potential",
                                    stage=stage["potential"])() for rows in (0, 1)}
    for j, key in enumerate(R.stage_order):
        label = R.stage_label[key]
        for i in np.flatnonzero(choice == j).tolist():
            if key == "churned":
                text = churned(date_text(int(lost_last[i])))
            elif key == "churn_risk":
                d = fu_last[i]
                if d != d:
                    text = risk_none[bool(fu_rows[i])]
                else:
                    text = risk(date_text(int(d)), str(today - int(d)))
            elif key == "long_term":
                d = int(first[i])
                text = long_term(date_text(d), str(today - d))
            elif key == "active":
                d = fu_last[i]
                rc = recent(str(today - int(d))) if d == d and today - d <= churn_days else ""
                d = first[i]
                if d != d:
                    text = active_undated(rc)
                else:
                    text = active(date_text(int(d)), str(today - int(d)), rc)
            elif key == "prospect":
                text = prospect[open_rank[i]]
            else:
                text = potential[bool(deal_rows[i])]
            out[i] = label
            why[i] = text
    return out, why


def status_tags(f: Facts, R: Rules, today: int, tiers: list[str], stage: list[str], missing: list[list[str]],
                chain: list[str | None], chain_why: list[str], W: Words | None = None) -> list[list[tuple[str, str]]]:
    """Per customer, (tag, reason) pairs in status_tag list order (vectorised conditions)."""
    W = W or Words(R)
    n, T = f.n, R.tag
    top = R.tiers[0][0] if R.tiers else None
    fu_age = today - f.fu_last
    fc_age = today - f.first_contact
    stage_arr = np.array(stage, dtype=object)
    fu_last, due, fc = f.fu_last.tolist(), f.fu_due.tolist(), f.first_contact.tolist()
    prio = f.priority_rank.tolist()
    found: dict[str, dict[int, str]] = {}
    sep = W.list_sep

    def put(key: str, mask: np.ndarray, text: Any) -> None:
        found[T[key]] = {i: text(i) for i in np.flatnonzero(mask).tolist()}

    top_text = W.bind("tag_priority_tier", tier=W.label("value_tier", str(top)))()
    deal_text = [W.bind("tag_priority_deal", deal_stage=W.label("deal_stage", s))() for s in R.priority_stages]

    def priority_text(i: int) -> str:
        parts = [top_text] if tiers[i] == top else []
        if prio[i] >= 0:
            parts.append(deal_text[prio[i]])
        return sep.join(parts)

    put("priority", (np.array(tiers, dtype=object) == top) | (f.priority_rank >= 0), priority_text)
    overdue = W.bind("tag_followup_due", "date", "days")
    put("followup_due", ~np.isnan(f.fu_due) & ~(f.fu_last >= f.fu_due),
        lambda i: overdue(date_text(int(due[i])), str(today - int(due[i]))))
    dormant = W.bind("tag_dormant", "days", limit=R.dormant_days)
    dormant_fc = W.bind("tag_dormant_no_followup", "date", "days", limit=R.dormant_days)
    put("dormant", (fu_age > R.dormant_days) | (np.isnan(fu_age) & (fc_age > R.dormant_days)),
        lambda i: dormant(str(today - int(fu_last[i]))) if fu_last[i] == fu_last[i]
        else dormant_fc(date_text(int(fc[i])), str(today - int(fc[i]))))
    churn, long = R.stage_label["churn_risk"], R.stage_label["long_term"]
    churn_text = W.bind("tag_churn_risk", stage=W.label("stage", churn))()
    put("churn_risk", stage_arr == churn, lambda i: churn_text)
    stable = W.bind("tag_stable", "days", stage=W.label("stage", long), limit=R.stable_days)
    put("stable", (stage_arr == long) & (fu_age <= R.stable_days), lambda i: stable(str(today - int(fu_last[i]))))
    incomplete = W.bind("tag_incomplete", "fields")
    put("incomplete", np.array([bool(m) for m in missing], dtype=bool), lambda i: incomplete(sep.join(missing[i])))
    chain_arr = np.array(chain, dtype=object)
    for key in ("complex_decision", "simple_decision"):
        put(key, chain_arr == T[key], lambda i: chain_why[i])
    ordered = sorted(found, key=lambda t: R.tag_order.get(t, len(R.tag_order)))
    out: list[list[tuple[str, str]]] = [[] for _ in range(n)]
    for label in ordered:
        for i, text in found[label].items():
            out[i].append((label, text))
    return out


def decision_chains(f: Facts, R: Rules, W: Words | None = None) -> tuple[list[str | None], list[str]]:
    W = W or Words(R)
    out: list[str | None] = []
    why = []
    cx, sx, need = R.tag["complex_decision"], R.tag["simple_decision"], R.complex_roles
    no_contacts, no_roles = W.text("chain_no_contacts"), W.text("chain_no_roles")
    complex_ = W.bind("chain_complex", "count", "roles", min=need, chain=W.label("status_tag", cx))
    simple = W.bind("chain_simple", "count", "roles", min=need, chain=W.label("status_tag", sx))
    big = len(R.role_order)
    memo: dict[int, tuple[str | None, str]] = {}
    masks = f.role_mask.tolist()
    contacts = f.contacts.tolist()
    for i in range(f.n):
        if not contacts[i]:
            out.append(None)
            why.append(no_contacts)
            continue
        m = masks[i]
        hit = memo.get(m)
        if hit is None:
            roles = f.roles(i)
            names = W.list_sep.join(W.label("decision_role", r)
                                    for r in sorted(roles, key=lambda r: (R.role_order.get(r, big), r)))
            k = len(roles)
            if not k:
                hit = (None, no_roles)
            elif k >= need:
                hit = (cx, complex_(str(k), names))
            else:
                hit = (sx, simple(str(k), names))
            memo[m] = hit
        out.append(hit[0])
        why.append(hit[1])
    return out, why


def incomplete_fields(book: Book, f: Facts, R: Rules, untrusted: set[tuple[str, int, str]],
                      W: Words | None = None) -> list[list[str]]:
    """Per customer, the headers (in the output language) of required / key columns that are blank."""
    W = W or Words(R)
    out: list[list[str]] = [[] for _ in range(f.n)]
    t = book.table("customers")
    if t is None or f.n == 0:
        return out
    invalid = W.bind("field_invalid", "field")
    for key, header_text, multi in R.complete_cols:
        header = header_text(W.lang)
        if key not in t.frame.columns:
            for lst in out:
                lst.append(header)
            continue
        blank = np.flatnonzero(blank_mask(t.frame[key].iloc[f.pos], multi=multi))
        if not len(blank):
            continue
        raw = t.raw[key].to_numpy()[f.pos[blank]].tolist() if key in t.raw.columns else [None] * len(blank)
        bad_header = invalid(header)
        for i, v in zip(blank.tolist(), raw, strict=True):
            if isinstance(v, str) and v.strip().casefold() in R.not_applicable:
                continue
            r = f.rows[i]
            out[i].append(bad_header if ("customers", r, key) in untrusted else header)
    return out


def regions(f: Facts, R: Rules, table: RegionLookup, W: Words | None = None) -> tuple[list[str | None], list[str]]:
    W = W or Words(R)
    out: list[str | None] = []
    why = []
    by_addr: dict[str | None, tuple[str, str] | None] = {None: None}
    by_code: dict[str | None, tuple[str, Phrase] | None] = {None: None}
    typed_text = W.bind("region_typed", "region")
    unknown = W.text("region_unknown")

    def name(short: str) -> str:
        p = R.provinces.get(short)
        return str(p.get("name", short)) if isinstance(p, dict) else short

    for addr, code, typed in zip(f.address, f.credit_code, f.region_typed, strict=True):
        if isinstance(addr, str):
            short = table.province_of_address(addr)
            if short not in by_addr:
                region = table.region_of(short)  # type: ignore[arg-type]
                by_addr[short] = (region, W.bind("region_address", province=name(short),  # type: ignore[arg-type]
                                                 region=W.label("region", region))()) if region else None
            hit = by_addr[short]
            if hit is not None:
                out.append(hit[0])
                why.append(hit[1])
                continue
        if isinstance(code, str):
            short = table.province_of_credit_code(code)
            if short not in by_code:
                region = table.region_of(short)  # type: ignore[arg-type]
                by_code[short] = (region, W.bind("region_credit_code", "digits", province=name(short),  # type: ignore[arg-type]
                                                 region=W.label("region", region))) if region else None
            code_hit = by_code[short]
            if code_hit is not None:
                out.append(code_hit[0])
                why.append(code_hit[1](code[2:4]))
                continue
        if typed is not None:
            out.append(typed)
            why.append(typed_text(W.label("region", typed)))
        else:
            out.append(None)
            why.append(unknown)
    return out, why


def size_bands(f: Facts, R: Rules, W: Words | None = None) -> tuple[list[str | None], list[str]]:
    W = W or Words(R)
    out: list[str | None] = []
    why = []
    by_emp = R.size_method == "employees"
    memo: dict[float, tuple[str | None, str]] = {}
    employees = f.employees.tolist()
    band = _band_phrases(R, W)
    if by_emp:
        typed_text, unknown = W.bind("size_typed", "band"), W.text("size_unknown")
    else:
        typed_text = W.bind("size_method_typed", "band", method=R.size_method)
        unknown = W.bind("size_method_unknown", method=R.size_method)()
    for i in range(f.n):
        e = employees[i]
        if by_emp and e == e:
            hit = memo.get(e)
            if hit is None:
                hit = band(e)
                memo[e] = hit
            out.append(hit[0])
            why.append(hit[1])
            continue
        typed = f.size_typed[i]
        if typed is not None:
            out.append(typed)
            why.append(typed_text(W.label("size_band", typed)))
        else:
            out.append(None)
            why.append(unknown)
    return out, why


def _band_phrases(R: Rules, W: Words) -> Callable[[float], tuple[str | None, str]]:
    """employees -> (size band, reason) through size_band.bands."""
    rows: list[tuple[str, Any, Phrase]] = []
    prev = None
    for label, mx in R.bands:
        lb = W.label("size_band", label)
        if mx is None:
            rows.append((label, None, W.bind("size_at_least", "employees", min=str(prev), band=lb)))
            break
        rows.append((label, mx, W.bind("size_below", "employees", max=mx, band=lb)))
        prev = mx
    beyond = W.bind("size_beyond", "employees")

    def band(e: float) -> tuple[str | None, str]:
        text = num(float(e))
        for label, mx, phrase in rows:
            if mx is None or e < mx:
                return label, phrase(text)
        return None, beyond(text)
    return band


# --------------------------------------------------------------------------- API


def classify(book: Book, spec: Spec, as_of: dt.date, *,
             untrusted: set[tuple[str, int, str]] | None = None, lang: str = "zh") -> list[CustomerClass]:
    """Classify every customer of the book at `as_of` (see the module docstring).

    The values are canonical (Chinese) labels; the reasons are in `lang` (zh or en).
    """
    with _gc_paused():
        return _classify(book, spec, as_of, untrusted or set(), lang)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building ~10 objects per customer.

    The classifier creates no reference cycles; without this, repeated full collections
    over the growing result cost about a third of the time at 50k customers.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _classify(book: Book, spec: Spec, as_of: dt.date, untrusted: set[tuple[str, int, str]],
              lang: str = "zh") -> list[CustomerClass]:
    R = Rules(spec)
    W = Words(R, lang)
    f = gather(book, as_of, untrusted, amount_won=R.amount_won, window_days=R.window, won=R.won,
               lost=R.lost, open_stages=R.open_stages, priority_stages=R.priority_stages,
               lift_tags=list(R.lift))
    today = day_number(as_of)
    bad_amount = {r for (s, r, k) in untrusted if s == "customers" and k == "annual_amount"}
    amounts, amount_why = annual_amounts(f, R, as_of, bad_amount, W)
    tiers, tier_why = value_tiers(f, R, amounts, W)
    abc, abc_why = abc_classes(R, amounts, W)
    stage, stage_why = stages(f, R, today, W)
    chain, chain_why = decision_chains(f, R, W)
    missing = incomplete_fields(book, f, R, untrusted, W)
    region, region_why = regions(f, R, RegionTable(spec.regions), W)
    size, size_why = size_bands(f, R, W)

    tag_lists = status_tags(f, R, today, tiers, stage, missing, chain, chain_why, W)
    duplicate = W.bind("duplicate_id", "id", "rows", "row")
    dup_why = {i: duplicate(f.ids[i], W.list_sep.join(map(str, rows)), str(f.rows[i])) for i, rows in f.dup_rows.items()}
    none_text = W.text("no_tags")
    tag_sep = W.text("tag_sep")
    item = {t: W.bind("tag_reason", "reason", tag=W.label("status_tag", t)) for t in R.tag.values()}
    out: list[CustomerClass] = []
    append = out.append
    for i, (cid, name, owner, row, a, tier, cls, st, tl, rg, sz, ch, w_a, w_t, w_c, w_s, w_r, w_z, w_d) in enumerate(zip(
            f.ids, f.name, f.owner, f.rows, amounts, tiers, abc, stage, tag_lists, region, size, chain,
            amount_why, tier_why, abc_why, stage_why, region_why, size_why, chain_why, strict=True)):
        reasons = {"annual_amount": w_a, "value_tier": w_t, "abc_class": w_c, "stage": w_s,
                   "tags": tag_sep.join([item[t](w) for t, w in tl]) if tl else none_text,
                   "region": w_r, "size_band": w_z, "decision_chain": w_d}
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
    dims: dict[str, tuple[str | None, list[Any]]] = {
        "value_tier": ("value_tier", [c.value_tier for c in classes]),
        "abc_class": ("abc_class", [c.abc_class for c in classes]),
        "stage": ("stage", [c.stage for c in classes]),
        "tag": ("status_tag", [t for c in classes for t in c.tags]),
        "region": ("region", [c.region for c in classes]),
        "size_band": ("size_band", [c.size_band for c in classes]),
        "owner": (None, [c.owner for c in classes]),
    }
    out: dict[str, dict[str, int]] = {}
    for dim, (list_name, values) in dims.items():
        counts = Counter(v for v in values if v is not None)
        labels = spec.lists[list_name].labels("zh") if list_name and list_name in spec.lists else []
        d = {k: counts[k] for k in labels if counts.get(k)}
        for k, v in counts.items():
            d.setdefault(k, v)
        out[dim] = d
    return out
