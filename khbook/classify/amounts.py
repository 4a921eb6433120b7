"""年交易额, 客户价值等级 and 客户等级(ABC) of every customer, with their reasons.

* **年交易额**: the column when filled; else the sum of 实际成交金额 of deals at
  ``annual_amount.won_stage`` dated ``0 <= age < window_days`` (364 days ago counts, 365
  does not). A deal's date is its 成交日期, else its 更新时间. No such deal in the window
  but one outside it: 0. Unknown (待补充) when the column is blank and there is no won
  deal at all, when a won deal in the window lacks its amount (no partial sums), or when
  the amount looks typed in yuan (疑似按元填写, see khbook.checks.units) until corrected.
  Amounts are compared exactly (integer millionths of a 万元).
* **客户价值等级**: the first tier with ``amount >= min``; a need tag of
  ``value_tier.lift_tags`` lifts (never lowers), also when the amount is unknown.
* **客户等级(ABC)**: over customers with a known amount, of a base: the total of those
  amounts (``abc.base: book``; the department's in a batch) or ``abc.company_total``.
  ``share``: ``amount/base >= A%`` A, ``>= B%`` B, else fallback. ``pareto``: sorted by
  amount, descending; the cumulative share *including* the customer ``<= A%`` A,
  ``<= B%`` B, else fallback; equal amounts share the cumulative share at the end of
  their group (so the order of ties never matters). Base 0: fallback for all.
"""

from __future__ import annotations

import datetime as dt
import math
from fractions import Fraction

from khbook.classify.facts import MICRO, Facts
from khbook.classify.words import Words, abc_base, num, wan
from khbook.spec import Spec


def annual_amounts(f: Facts, spec: Spec, as_of: dt.date, bad_amount: set[int], W: Words,
                   suspect: dict[int, str] | None = None) -> tuple[list[int | None], list[str]]:
    """年交易额 per customer in micro 万元 (None = unknown), with the reasons.

    `bad_amount`: customers-sheet rows whose typed amount was invalid; `suspect`: row ->
    the raw text of an amount that looks typed in yuan.
    """
    window = spec.rules.annual_amount.window_days
    start = (as_of - dt.timedelta(days=window - 1)).isoformat()
    won = W.amount_won
    period = W.say("amount_period", days=window, start=start, end=as_of.isoformat())
    filled = W.text("amount_filled")
    note = W.bind("amount_undated_note", "count", won=won)
    suspect_text = W.bind("amount_suspect", "value", "amount")
    # by whether the typed amount was invalid (True) or blank (False)
    heads = {bad: W.text("amount_invalid" if bad else "amount_blank") for bad in (False, True)}
    summed = {b: W.bind("amount_sum", "count", "note", head=h, period=period, won=won) for b, h in heads.items()}
    partial = {b: W.bind("amount_sum_incomplete", "count", "missing", "note", head=h, period=period, won=won)
               for b, h in heads.items()}
    zero = {b: W.bind("amount_zero", "note", head=h, period=period, won=won) for b, h in heads.items()}
    unknown = {b: W.say("amount_unknown", head=h, won=won) for b, h in heads.items()}
    suspect = suspect or {}
    out: list[int | None] = []
    why: list[str] = []
    col = f.amount_col
    for i in range(f.n):
        row = f.rows[i]
        if row in suspect:
            out.append(None)
            why.append(suspect_text(suspect[row], wan(int(col[i]) // 10000)))
            continue
        c = col[i]
        if c == c:  # filled
            out.append(int(c))
            why.append(filled)
            continue
        bad = row in bad_amount
        undated = int(f.won_undated_amount_stage[i])
        nt = note(str(undated)) if undated else ""
        k = int(f.won_in_window[i])
        missing = int(f.won_in_window_no_amount[i])
        if missing:
            out.append(None)
            why.append(partial[bad](str(k), str(missing), nt))
        elif k:
            out.append(int(f.won_sum[i]))
            why.append(summed[bad](str(k), nt))
        elif f.won_any_amount_stage[i]:
            out.append(0)
            why.append(zero[bad](nt))
        else:
            out.append(None)
            why.append(unknown[bad])
    return out, why


def value_tiers(f: Facts, spec: Spec, amounts: list[int | None], W: Words) -> tuple[list[str], list[str]]:
    vt = spec.rules.value_tier
    tiers_ = [(t.label, math.ceil(Fraction(t.min) * MICRO), num(Fraction(t.min))) for t in vt.tiers]
    rank_of = {t[0]: i for i, t in enumerate(tiers_)}
    lows = [t[1] for t in tiers_]
    top = len(tiers_)
    phrase = []
    for rank, (label, lo_micro, lo) in enumerate(tiers_):
        tier = W.label("value_tier", label)
        if rank == 0:
            phrase.append(W.bind("tier_top", "amount", min=lo, tier=tier))
        elif lo_micro <= 0:
            phrase.append(W.bind("tier_bottom", "amount", upper=tiers_[rank - 1][2], tier=tier))
        else:
            phrase.append(W.bind("tier_between", "amount", upper=tiers_[rank - 1][2], min=lo, tier=tier))
    unknown = W.label("value_tier", vt.unknown)
    unknown_text = W.say("tier_unknown", tier=unknown)
    below = W.bind("tier_below_all", "amount", min=tiers_[-1][2] if tiers_ else "", tier=unknown)
    lifted_text = W.bind("tier_lifted", "reason", "tag", "tier")
    tiers, why = [], []
    for i, a in enumerate(amounts):
        if a is None:
            label, rank, text = vt.unknown, top, unknown_text
        else:
            rank = top
            for j, lo_micro in enumerate(lows):
                if a >= lo_micro:
                    rank = j
                    break
            label, text = (vt.unknown, below(wan(a))) if rank == top else (tiers_[rank][0], phrase[rank](wan(a)))
        tag = f.lift.get(i)
        if tag is not None:
            lifted = vt.lift_tags[tag]
            lr = rank_of.get(lifted, top)
            if lr < rank:
                label, text = lifted, lifted_text(text, W.label("customer_tag", tag), W.label("value_tier", lifted))
        tiers.append(label)
        why.append(text)
    return tiers, why


def _pct(part: int, total: int, thresholds: list[Fraction], near: tuple[float, ...] | None = None) -> str:
    """part/total as a percentage text precise enough to show how it compares to the thresholds
    (`near`: the thresholds as floats, when the caller has them)."""
    share = part * 100 / total
    if 0 < share < 0.1:  # two significant digits rather than 0.0
        return f"{share:.{min(9, 1 - math.floor(math.log10(share)))}f}"
    txt = f"{share:.1f}"
    for p in near if near is not None else map(float, thresholds):
        if -0.06 < share - p < 0.06:
            break
    else:
        return txt
    exact = Fraction(part * 100, total)
    for digits in (1, 2, 3, 4, 6, 9):
        txt = f"{share:.{digits}f}"
        shown = Fraction(txt)
        if all((shown < p) == (exact < p) and (shown == p) == (exact == p) for p in thresholds):
            return txt
    return txt


def abc_classes(spec: Spec, amounts: list[int | None], W: Words | None = None, *,
                scope: str = "book") -> tuple[list[str], list[str]]:
    """客户等级(ABC) per amount (micro 万元, None = unknown), with reasons (see the module docstring).

    `scope`: ``book`` (one workbook) or ``department`` (a batch over every workbook).
    """
    W = W or Words(spec)
    abc = spec.rules.abc
    n = len(amounts)
    out = [abc.unknown] * n
    why = [W.say("abc_unknown", cls=W.label("abc_class", abc.unknown))] * n
    known = [(i, a) for i, a in enumerate(amounts) if a is not None]
    if not known:
        return out, why
    total = sum(a for _, a in known)
    if abc.base == "company" and abc.company_total is not None:
        total = int(abc.company_total * MICRO)
    base = abc_base(spec, W.lang, scope=scope, total_micro=total)
    fallback = W.label("abc_class", abc.fallback)
    if total == 0:
        zero = W.say("abc_total_zero", cls=fallback)
        for i, _ in known:
            out[i], why[i] = abc.fallback, zero
        return out, why
    th = abc.thresholds
    cuts = [("A", th.A), ("B", th.B)]
    ps = [p for _, p in cuts]
    near = tuple(map(float, ps))
    cls = {k: W.label("abc_class", k) for k, _ in cuts}
    if abc.method == "share":
        tests = [("A", th.A, W.bind("abc_share_top", "share", base=base, min=num(th.A), cls=cls["A"])),
                 ("B", th.B, W.bind("abc_share_between", "share", base=base, min=num(th.B), upper=num(th.A), cls=cls["B"]))]
        below = W.bind("abc_share_below", "share", base=base, upper=num(th.B), cls=fallback)
        for i, a in known:
            pct = _pct(a, total, ps, near)
            for c, p, phrase in tests:
                if a * 100 * p.denominator >= p.numerator * total:
                    out[i], why[i] = c, phrase(pct)
                    break
            else:
                out[i], why[i] = abc.fallback, below(pct)
        return out, why
    within = [("A", th.A, W.bind("abc_pareto_top", "share", base=base, max=num(th.A), cls=cls["A"])),
              ("B", th.B, W.bind("abc_pareto_between", "share", base=base, min=num(th.A), max=num(th.B), cls=cls["B"]))]
    beyond = W.bind("abc_pareto_beyond", "share", base=base, min=num(th.B), cls=fallback)
    order = sorted(known, key=lambda ia: -ia[1])
    j = cum = 0
    while j < len(order):
        k = j
        a = order[j][1]
        while k < len(order) and order[k][1] == a:
            cum += a
            k += 1
        pct = _pct(cum, total, ps, near)
        for c, p, phrase in within:
            if cum * 100 * p.denominator <= p.numerator * total:
                cls_, text = c, phrase(pct)
                break
        else:
            cls_, text = abc.fallback, beyond(pct)
        for i, _ in order[j:k]:
            out[i], why[i] = cls_, text
        j = k
    return out, why
