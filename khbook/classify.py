"""The classifier: tiers, classes, stages and tags of every customer, with their reasons.

:func:`classify` is a pure function of the checked book (typed frames), the spec's rules
(``spec.rules`` = templates/rules.yaml; every threshold, window and label comes from there
or from the lists) and an as-of date. :func:`summarize` counts the result.

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
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from fractions import Fraction
from functools import lru_cache
from typing import Any, Protocol

import numpy as np

from khbook.classify_facts import MICRO, Facts, blank_mask, day_date, day_number, gather
from khbook.errors import SpecError
from khbook.model import Book, CustomerClass
from khbook.regions import RegionTable
from khbook.spec import Spec

STAGE_KEYS = ("churned", "churn_risk", "long_term", "active", "prospect", "potential")
TAG_KEYS = ("priority", "followup_due", "dormant", "churn_risk", "stable", "incomplete",
            "complex_decision", "simple_decision")
SEP = "；"


def num(x: float | int | Fraction) -> str:
    """A number without trailing zeros: 50, 49.99, 62.5."""
    if isinstance(x, Fraction):
        x = float(x)
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    if isinstance(x, int):
        return str(x)
    return f"{x:.6f}".rstrip("0").rstrip(".")


def _wan(micro: float | int) -> str:
    """Millionths of a 万元 -> '62.5万' (exact, no float formatting)."""
    q, r = divmod(int(micro), MICRO)
    return f"{q}万" if not r else f"{q}.{r:06d}".rstrip("0") + "万"


class Rules:
    """The parts of spec.rules and spec.lists the classifier uses, parsed once."""

    def __init__(self, spec: Spec) -> None:
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
        self.complete_cols = [(c.key, c.header.zh, c.type == "multi") for c in sheet.columns
                              if (c.required or c.key_field) and not c.computed and c.key != "customer_id"]
        self.provinces: dict[str, Any] = dict(spec.regions.get("provinces") or {})


class RegionLookup(Protocol):
    """What the classifier needs of khbook.regions.RegionTable."""

    def province_of_address(self, addr: str) -> str | None: ...
    def province_of_credit_code(self, code: str) -> str | None: ...
    def region_of(self, short: str) -> str | None: ...


# --------------------------------------------------------------------------- pieces


def annual_amounts(f: Facts, R: Rules, as_of: dt.date, bad_amount: set[int]) -> tuple[list[int | None], list[str]]:
    """年交易额 per customer in micro 万元 (None = unknown), with the reasons."""
    start = (as_of - dt.timedelta(days=R.window - 1)).isoformat()
    period = f"近{R.window}天（{start} 至 {as_of.isoformat()}）"
    won = R.amount_won
    out: list[int | None] = []
    why: list[str] = []
    col = f.amount_col
    for i in range(f.n):
        c = col[i]
        if c == c:  # filled
            out.append(int(c))
            why.append(f"年交易额 按填写值 {_wan(c)}")
            continue
        head = "年交易额 填写值无效，" if f.rows[i] in bad_amount else "年交易额 未填写，"
        undated = int(f.won_undated_amount_stage[i])
        note = f"（另有 {undated} 笔{won}无日期，未计入）" if undated else ""
        k = int(f.won_in_window[i])
        missing = int(f.won_in_window_no_amount[i])
        if missing:
            out.append(None)
            why.append(f"{head}{period} {k} 笔{won}中 {missing} 笔缺少实际成交金额，无法计算{note}")
        elif k:
            s = int(f.won_sum[i])
            out.append(s)
            why.append(f"{head}按{period} {k} 笔{won}的实际成交金额合计 {_wan(s)}{note}")
        elif f.won_any_amount_stage[i]:
            out.append(0)
            why.append(f"{head}{period}无{won}，为 0{note}")
        else:
            out.append(None)
            why.append(f"{head}且无{won}记录，无法计算")
    return out, why


def value_tiers(f: Facts, R: Rules, amounts: list[int | None]) -> tuple[list[str], list[str]]:
    tiers, why = [], []
    top = len(R.tiers)
    label_of = [t[0] for t in R.tiers]
    tail = []
    for rank, (label, lo_micro, lo) in enumerate(R.tiers):
        if rank == 0:
            tail.append(f" >= {lo}万 -> {label}")
        elif lo_micro <= 0:
            tail.append(f" < {R.tiers[rank - 1][2]}万 -> {label}")
        else:
            tail.append(f" < {R.tiers[rank - 1][2]}万 且 >= {lo}万 -> {label}")
    for i, a in enumerate(amounts):
        if a is None:
            label, rank, text = R.tier_unknown, top, f"年交易额缺失 -> {R.tier_unknown}"
        else:
            rank = top
            for j, t in enumerate(R.tiers):
                if a >= t[1]:
                    rank = j
                    break
            w = _wan(a)
            if rank == top:
                label, text = R.tier_unknown, f"年交易额 {w} 低于最低档 {R.tiers[-1][2]}万 -> {R.tier_unknown}"
            else:
                label, text = label_of[rank], f"年交易额 {w}{tail[rank]}"
        tag = f.lift.get(i)
        if tag is not None:
            lifted = R.lift[tag]
            lr = R.tier_rank.get(lifted, top)
            if lr < rank:
                label, text = lifted, f"{text}；需求标签 {tag} -> 提升为 {lifted}"
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


def abc_classes(R: Rules, amounts: list[int | None]) -> tuple[list[str], list[str]]:
    n = len(amounts)
    out = [R.abc_unknown] * n
    why = [f"年交易额缺失 -> {R.abc_unknown}"] * n
    known = [(i, a) for i, a in enumerate(amounts) if a is not None]
    total = sum(a for _, a in known)
    th = R.abc_thresholds
    if not known:
        return out, why
    if total == 0:
        for i, _ in known:
            out[i] = R.abc_fallback
            why[i] = f"年交易额合计为 0，无法计算占比 -> {R.abc_fallback}"
        return out, why
    tw = _wan(total)
    if R.abc_method == "share":
        tests = [(cls, p.numerator * total, p.denominator * 100, f" >= {num(p)}% -> {cls}") for cls, p in th]
        below = f" < {num(th[-1][1])}% -> {R.abc_fallback}"
        near = tuple(float(p) for _, p in th)
        for i, a in known:
            base = f"占比 {_pct(a, total, th, near)}%（{_wan(a)} / 合计 {tw}）"
            for cls, rhs, mul, tail in tests:
                if a * mul >= rhs:
                    out[i], why[i] = cls, base + tail
                    break
            else:
                out[i], why[i] = R.abc_fallback, base + below
        return out, why
    # pareto
    order = sorted(known, key=lambda ia: -ia[1])
    j = 0
    cum = 0
    while j < len(order):
        k = j
        a = order[j][1]
        while k < len(order) and order[k][1] == a:
            cum += a
            k += 1
        pct = _pct(cum, total, th)
        base = f"按年交易额降序累计占比 {pct}%（累计 {_wan(cum)} / 合计 {tw}）"
        for cls, p in th:
            if cum * 100 * p.denominator <= p.numerator * total:
                cls_, text = cls, f"{base} <= {num(p)}% -> {cls}"
                break
        else:
            cls_, text = R.abc_fallback, f"{base} > {num(th[-1][1])}% -> {R.abc_fallback}"
        for i, _ in order[j:k]:
            out[i], why[i] = cls_, text
        j = k
    return out, why


@lru_cache(maxsize=4096)
def date_text(day: int) -> str:
    return day_date(day).isoformat()


def stages(f: Facts, R: Rules, today: int) -> tuple[list[str], list[str]]:
    """合作阶段: the first condition of stage.order that holds (vectorised), with reasons."""
    won, lost, n = R.won, R.lost, f.n
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
    for j, key in enumerate(R.stage_order):
        label = R.stage_label[key]
        for i in np.flatnonzero(choice == j).tolist():
            if key == "churned":
                text = f"最近一笔交易 {date_text(int(lost_last[i]))} 为{lost}，之后无其他交易"
            elif key == "churn_risk":
                d = fu_last[i]
                if d != d:
                    text = f"有{won}，{'跟进记录均无日期' if fu_rows[i] else '无跟进记录'}"
                else:
                    text = f"有{won}，最近跟进 {date_text(int(d))} 距今 {today - int(d)} 天 > {R.churn_days} 天"
            elif key == "long_term":
                d = int(first[i])
                text = f"首次{won} {date_text(d)} 距今 {today - d} 天 > {R.long_days} 天"
            elif key == "active":
                d = first[i]
                if d != d:
                    text = f"有{won}（均无日期）"
                else:
                    text = f"有{won}，首次{won} {date_text(int(d))} 距今 {today - int(d)} 天 <= {R.long_days} 天"
                d = fu_last[i]
                if d == d and today - d <= R.churn_days:
                    text += f"，最近跟进距今 {today - int(d)} 天 <= {R.churn_days} 天"
            elif key == "prospect":
                text = f"有进行中的交易（{R.open_stages[open_rank[i]]}）"
            else:
                text = "无有效交易记录" if deal_rows[i] else "无交易记录"
            out[i] = label
            why[i] = f"{text} -> {label}"
    return out, why


def status_tags(f: Facts, R: Rules, today: int, tiers: list[str], stage: list[str], missing: list[list[str]],
                chain: list[str | None], chain_why: list[str]) -> list[list[tuple[str, str]]]:
    """Per customer, (tag, reason) pairs in status_tag list order (vectorised conditions)."""
    n, T = f.n, R.tag
    top = R.tiers[0][0] if R.tiers else None
    fu_age = today - f.fu_last
    fc_age = today - f.first_contact
    stage_arr = np.array(stage, dtype=object)
    fu_last, due, fc = f.fu_last.tolist(), f.fu_due.tolist(), f.first_contact.tolist()
    prio = f.priority_rank.tolist()
    found: dict[str, dict[int, str]] = {}

    def put(key: str, mask: np.ndarray, text: Any) -> None:
        found[T[key]] = {i: text(i) for i in np.flatnonzero(mask).tolist()}

    def priority_text(i: int) -> str:
        parts = [str(top)] if tiers[i] == top else []
        if prio[i] >= 0:
            parts.append(f"有{R.priority_stages[prio[i]]}中的交易")
        return "、".join(parts)

    put("priority", (np.array(tiers, dtype=object) == top) | (f.priority_rank >= 0), priority_text)
    put("followup_due", ~np.isnan(f.fu_due) & ~(f.fu_last >= f.fu_due),
        lambda i: f"下次跟进时间 {date_text(int(due[i]))} 已过 {today - int(due[i])} 天，之后无跟进")
    put("dormant", (fu_age > R.dormant_days) | (np.isnan(fu_age) & (fc_age > R.dormant_days)),
        lambda i: f"最近跟进距今 {today - int(fu_last[i])} 天 > {R.dormant_days} 天" if fu_last[i] == fu_last[i]
        else f"无跟进记录，首次接触 {date_text(int(fc[i]))} 距今 {today - int(fc[i])} 天 > {R.dormant_days} 天")
    churn, long = R.stage_label["churn_risk"], R.stage_label["long_term"]
    put("churn_risk", stage_arr == churn, lambda i: f"合作阶段为{churn}")
    put("stable", (stage_arr == long) & (fu_age <= R.stable_days),
        lambda i: f"{long}且最近跟进距今 {today - int(fu_last[i])} 天 <= {R.stable_days} 天")
    put("incomplete", np.array([bool(m) for m in missing], dtype=bool), lambda i: "缺少 " + "、".join(missing[i]))
    chain_arr = np.array(chain, dtype=object)
    for key in ("complex_decision", "simple_decision"):
        put(key, chain_arr == T[key], lambda i: chain_why[i])
    ordered = sorted(found, key=lambda t: R.tag_order.get(t, len(R.tag_order)))
    out: list[list[tuple[str, str]]] = [[] for _ in range(n)]
    for label in ordered:
        for i, text in found[label].items():
            out[i].append((label, text))
    return out


def decision_chains(f: Facts, R: Rules) -> tuple[list[str | None], list[str]]:
    out: list[str | None] = []
    why = []
    cx, sx, need = R.tag["complex_decision"], R.tag["simple_decision"], R.complex_roles
    big = len(R.role_order)
    memo: dict[int, tuple[str | None, str]] = {}
    masks = f.role_mask.tolist()
    contacts = f.contacts.tolist()
    for i in range(f.n):
        if not contacts[i]:
            out.append(None)
            why.append("无联系人，无法判断决策链")
            continue
        m = masks[i]
        hit = memo.get(m)
        if hit is None:
            roles = f.roles(i)
            names = "、".join(sorted(roles, key=lambda r: (R.role_order.get(r, big), r)))
            k = len(roles)
            if not k:
                hit = (None, "联系人均未填决策角色，无法判断决策链")
            elif k >= need:
                hit = (cx, f"联系人决策角色 {k} 种（{names}）>= {need} -> {cx}")
            else:
                hit = (sx, f"联系人决策角色 {k} 种（{names}）< {need} -> {sx}")
            memo[m] = hit
        out.append(hit[0])
        why.append(hit[1])
    return out, why


def incomplete_fields(book: Book, f: Facts, R: Rules, untrusted: set[tuple[str, int, str]]) -> list[list[str]]:
    """Per customer, the headers of required / key columns that are blank."""
    out: list[list[str]] = [[] for _ in range(f.n)]
    t = book.table("customers")
    if t is None or f.n == 0:
        return out
    for key, header, multi in R.complete_cols:
        if key not in t.frame.columns:
            for lst in out:
                lst.append(header)
            continue
        blank = np.flatnonzero(blank_mask(t.frame[key].iloc[f.pos], multi=multi))
        if not len(blank):
            continue
        raw = t.raw[key].to_numpy()[f.pos[blank]].tolist() if key in t.raw.columns else [None] * len(blank)
        for i, v in zip(blank.tolist(), raw, strict=True):
            if isinstance(v, str) and v.strip().casefold() in R.not_applicable:
                continue
            r = f.rows[i]
            out[i].append(f"{header}(无效)" if ("customers", r, key) in untrusted else header)
    return out


def regions(f: Facts, R: Rules, table: RegionLookup) -> tuple[list[str | None], list[str]]:
    out: list[str | None] = []
    why = []
    by_addr: dict[str | None, tuple[str, str] | None] = {None: None}
    by_code: dict[str | None, tuple[str, str] | None] = {None: None}

    def name(short: str) -> str:
        p = R.provinces.get(short)
        return str(p.get("name", short)) if isinstance(p, dict) else short

    for addr, code, typed in zip(f.address, f.credit_code, f.region_typed, strict=True):
        if isinstance(addr, str):
            short = table.province_of_address(addr)
            if short not in by_addr:
                region = table.region_of(short)
                by_addr[short] = (region, f"注册地址 -> {name(short)} -> {region}") if region else None  # type: ignore[arg-type]
            hit = by_addr[short]
            if hit is not None:
                out.append(hit[0])
                why.append(hit[1])
                continue
        if isinstance(code, str):
            short = table.province_of_credit_code(code)
            if short not in by_code:
                region = table.region_of(short)
                by_code[short] = (region, f"统一社会信用代码第3-4位 {{}} -> {name(short)} -> {region}") if region else None  # type: ignore[arg-type]
            hit = by_code[short]
            if hit is not None:
                out.append(hit[0])
                why.append(hit[1].format(code[2:4]))
                continue
        if typed is not None:
            out.append(typed)
            why.append(f"注册地址、统一社会信用代码无法推算省份，沿用填写值 {typed}")
        else:
            out.append(None)
            why.append("注册地址、统一社会信用代码无法推算省份，且未填写所在区域")
    return out, why


def size_bands(f: Facts, R: Rules) -> tuple[list[str | None], list[str]]:
    out: list[str | None] = []
    why = []
    by_emp = R.size_method == "employees"
    memo: dict[float, tuple[str | None, str]] = {}
    employees = f.employees.tolist()
    for i in range(f.n):
        e = employees[i]
        if by_emp and e == e:
            hit = memo.get(e)
            if hit is None:
                hit = _band(R, e)
                memo[e] = hit
            out.append(hit[0])
            why.append(hit[1])
            continue
        typed = f.size_typed[i]
        head = "未填员工人数" if by_emp else f"规模算法 {R.size_method} 尚未实现"
        if typed is not None:
            out.append(typed)
            why.append(f"{head}，沿用填写值 {typed}")
        else:
            out.append(None)
            why.append(f"{head}，且未填写企业规模")
    return out, why


def _band(R: Rules, e: float) -> tuple[str | None, str]:
    prev = None
    for label, mx in R.bands:
        if mx is None:
            return label, f"员工人数 {num(float(e))} >= {prev} -> {label}"
        if e < mx:
            return label, f"员工人数 {num(float(e))} < {mx} -> {label}"
        prev = mx
    return None, f"员工人数 {num(float(e))} 超出所有规模档"


# --------------------------------------------------------------------------- API


def classify(book: Book, spec: Spec, as_of: dt.date, *,
             untrusted: set[tuple[str, int, str]] | None = None) -> list[CustomerClass]:
    """Classify every customer of the book at `as_of` (see the module docstring)."""
    with _gc_paused():
        return _classify(book, spec, as_of, untrusted or set())


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


def _classify(book: Book, spec: Spec, as_of: dt.date, untrusted: set[tuple[str, int, str]]) -> list[CustomerClass]:
    R = Rules(spec)
    f = gather(book, as_of, untrusted, amount_won=R.amount_won, window_days=R.window, won=R.won,
               lost=R.lost, open_stages=R.open_stages, priority_stages=R.priority_stages,
               lift_tags=list(R.lift))
    today = day_number(as_of)
    bad_amount = {r for (s, r, k) in untrusted if s == "customers" and k == "annual_amount"}
    amounts, amount_why = annual_amounts(f, R, as_of, bad_amount)
    tiers, tier_why = value_tiers(f, R, amounts)
    abc, abc_why = abc_classes(R, amounts)
    stage, stage_why = stages(f, R, today)
    chain, chain_why = decision_chains(f, R)
    missing = incomplete_fields(book, f, R, untrusted)
    region, region_why = regions(f, R, RegionTable(spec.regions))
    size, size_why = size_bands(f, R)

    tag_lists = status_tags(f, R, today, tiers, stage, missing, chain, chain_why)
    dup_why = {i: f"客户ID {f.ids[i]} 重复（第 {'、'.join(map(str, rows))} 行），按第 {f.rows[i]} 行分类"
               for i, rows in f.dup_rows.items()}
    none_text = "无适用的状态标签"
    out: list[CustomerClass] = []
    append = out.append
    for i, (cid, name, owner, row, a, tier, cls, st, tl, rg, sz, ch, w_a, w_t, w_c, w_s, w_r, w_z, w_d) in enumerate(zip(
            f.ids, f.name, f.owner, f.rows, amounts, tiers, abc, stage, tag_lists, region, size, chain,
            amount_why, tier_why, abc_why, stage_why, region_why, size_why, chain_why, strict=True)):
        reasons = {"annual_amount": w_a, "value_tier": w_t, "abc_class": w_c, "stage": w_s,
                   "tags": SEP.join([f"{t}：{w}" for t, w in tl]) if tl else none_text,
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
