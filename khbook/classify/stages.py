"""合作阶段, 状态标签 and the decision chain of every customer, with their reasons.

``age`` = the as-of date minus a date, in whole days.

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
  filled), except the fields ``tags.not_expected`` lists for the customer's stage, and
  年交易额 when the won deals give it;
  complex / simple decision = see decision_chain. Then ``tags.exclusions`` removes the
  tags a customer at its stage never gets (an 已流失 customer is not 重点跟进).
* **decision_chain**: distinct decision roles among the customer's contacts
  ``>= complex_roles`` -> complex; at least one -> simple; none (or no contacts) -> None.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from khbook.classify.facts import Facts, Untrusted, blank_mask
from khbook.classify.words import Words, date_text
from khbook.read.model import Book
from khbook.spec import Spec, Text


def stages(f: Facts, spec: Spec, today: int, W: Words) -> tuple[list[str], list[str]]:
    """合作阶段: the first condition of stage.order that holds (vectorised), with reasons."""
    sr = spec.rules.stage
    n = f.n
    has_won = f.won_count > 0
    fu_age = today - f.fu_last            # NaN when no dated follow-up
    first_age = today - f.won_first
    cond = {
        "churned": ~np.isnan(f.lost_last) & ~(f.other_last >= f.lost_last),
        "churn_risk": has_won & (np.isnan(fu_age) | (fu_age > sr.churn_risk_days)),
        "long_term": first_age > sr.long_term_days,
        "active": has_won,
        "prospect": f.open_rank >= 0,
        "potential": np.ones(n, dtype=bool),
    }
    order = sr.keys_in_order
    choice = np.full(n, len(order) - 1)
    for j in range(len(order) - 1, -1, -1):
        choice[cond[order[j]]] = j
    out: list[str] = [""] * n
    why: list[str] = [""] * n
    fu_last, first, lost_last = f.fu_last.tolist(), f.won_first.tolist(), f.lost_last.tolist()
    fu_rows, deal_rows, open_rank = f.fu_rows.tolist(), f.deal_rows.tolist(), f.open_rank.tolist()
    won, churn_days, long_days = W.won, sr.churn_risk_days, sr.long_term_days
    stage = {k: W.label("stage", v) for k, v in sr.labels.items()}
    churned = W.bind("stage_churned", "date", lost=W.lost, stage=stage["churned"])
    risk = W.bind("stage_churn_risk", "date", "days", won=won, limit=churn_days, stage=stage["churn_risk"])
    risk_none = {bool(rows): W.say("stage_churn_risk_undated_followups" if rows else "stage_churn_risk_no_followup",
                                   won=won, stage=stage["churn_risk"]) for rows in (0, 1)}
    long_term = W.bind("stage_long_term", "date", "days", won=won, limit=long_days, stage=stage["long_term"])
    active = W.bind("stage_active", "date", "days", "recent", won=won, limit=long_days, stage=stage["active"])
    active_undated = W.bind("stage_active_undated", "recent", won=won, stage=stage["active"])
    recent = W.bind("stage_recent_followup", "days")
    prospect = [W.say("stage_prospect", deal_stage=W.label("deal_stage", s), stage=stage["prospect"])
                for s in sr.open_stages]
    potential = {bool(rows): W.say("stage_potential_no_valid_deal" if rows else "stage_potential",
                                   stage=stage["potential"]) for rows in (0, 1)}
    for j, key in enumerate(order):
        label = sr.labels[key]
        for i in np.flatnonzero(choice == j).tolist():
            if key == "churned":
                text = churned(date_text(int(lost_last[i])))
            elif key == "churn_risk":
                d = fu_last[i]
                text = risk_none[bool(fu_rows[i])] if d != d else risk(date_text(int(d)), str(today - int(d)))
            elif key == "long_term":
                d = int(first[i])
                text = long_term(date_text(d), str(today - d))
            elif key == "active":
                d = fu_last[i]
                rc = recent(str(today - int(d))) if d == d and today - d <= churn_days else ""
                d = first[i]
                text = active_undated(rc) if d != d else active(date_text(int(d)), str(today - int(d)), rc)
            elif key == "prospect":
                text = prospect[open_rank[i]]
            else:
                text = potential[bool(deal_rows[i])]
            out[i] = label
            why[i] = text
    return out, why


def status_tags(f: Facts, spec: Spec, today: int, tiers: list[str], stage: list[str], missing: list[list[str]],
                chain: list[str | None], chain_why: list[str], W: Words) -> list[list[tuple[str, str]]]:
    """Per customer, (tag, reason) pairs in status_tag list order (vectorised conditions), exclusions applied."""
    rules = spec.rules
    tr = rules.tags
    n, T = f.n, tr.labels
    top = rules.value_tier.tiers[0].label if rules.value_tier.tiers else None
    fu_age = today - f.fu_last
    fc_age = today - f.first_contact
    stage_arr = np.array(stage, dtype=object)
    fu_last, due, fc = f.fu_last.tolist(), f.fu_due.tolist(), f.first_contact.tolist()
    prio = f.priority_rank.tolist()
    found: dict[str, dict[int, str]] = {}
    sep = W.list_sep

    def put(key: str, mask: np.ndarray, text: Callable[[int], str]) -> None:
        found[T[key]] = {i: text(i) for i in np.flatnonzero(mask).tolist()}

    top_text = W.say("tag_priority_tier", tier=W.label("value_tier", str(top)))
    deal_text = [W.say("tag_priority_deal", deal_stage=W.label("deal_stage", s)) for s in tr.priority_deal_stages]

    def priority_text(i: int) -> str:
        parts = [top_text] if tiers[i] == top else []
        if prio[i] >= 0:
            parts.append(deal_text[prio[i]])
        return sep.join(parts)

    put("priority", (np.array(tiers, dtype=object) == top) | (f.priority_rank >= 0), priority_text)
    overdue = W.bind("tag_followup_due", "date", "days")
    put("followup_due", ~np.isnan(f.fu_due) & ~(f.fu_last >= f.fu_due),
        lambda i: overdue(date_text(int(due[i])), str(today - int(due[i]))))
    dormant = W.bind("tag_dormant", "days", limit=tr.dormant_days)
    dormant_fc = W.bind("tag_dormant_no_followup", "date", "days", limit=tr.dormant_days)
    put("dormant", (fu_age > tr.dormant_days) | (np.isnan(fu_age) & (fc_age > tr.dormant_days)),
        lambda i: dormant(str(today - int(fu_last[i]))) if fu_last[i] == fu_last[i]
        else dormant_fc(date_text(int(fc[i])), str(today - int(fc[i]))))
    churn, long = rules.stage.labels["churn_risk"], rules.stage.labels["long_term"]
    churn_text = W.say("tag_churn_risk", stage=W.label("stage", churn))
    put("churn_risk", stage_arr == churn, lambda i: churn_text)
    stable = W.bind("tag_stable", "days", stage=W.label("stage", long), limit=tr.stable_days)
    put("stable", (stage_arr == long) & (fu_age <= tr.stable_days), lambda i: stable(str(today - int(fu_last[i]))))
    incomplete = W.bind("tag_incomplete", "fields")
    put("incomplete", np.array([bool(m) for m in missing], dtype=bool), lambda i: incomplete(sep.join(missing[i])))
    chain_arr = np.array(chain, dtype=object)
    for key in ("complex_decision", "simple_decision"):
        put(key, chain_arr == T[key], lambda i: chain_why[i])
    tag_order = {t: i for i, t in enumerate(spec.lists["status_tag"].labels("zh"))}
    ordered = sorted(found, key=lambda t: tag_order.get(t, len(tag_order)))
    out: list[list[tuple[str, str]]] = [[] for _ in range(n)]
    for label in ordered:
        for i, text in found[label].items():
            out[i].append((label, text))
    return [excluded(spec, stage[i], tags) for i, tags in enumerate(out)] if tr.exclusions else out


def excluded(spec: Spec, stage: str, tags: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The tags without those ``tags.exclusions`` rules out for the stage."""
    never = spec.rules.tags.exclusions.get(stage)
    return [t for t in tags if t[0] not in never] if never else tags


def decision_chains(f: Facts, spec: Spec, W: Words) -> tuple[list[str | None], list[str]]:
    tr = spec.rules.tags
    out: list[str | None] = []
    why = []
    cx, sx, need = tr.labels["complex_decision"], tr.labels["simple_decision"], tr.complex_roles
    no_contacts, no_roles = W.text("chain_no_contacts"), W.text("chain_no_roles")
    complex_ = W.bind("chain_complex", "count", "roles", min=need)
    simple = W.bind("chain_simple", "count", "roles", min=need)
    role_order = {t: i for i, t in enumerate(spec.lists["decision_role"].labels("zh"))} \
        if "decision_role" in spec.lists else {}
    big = len(role_order)
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
                                    for r in sorted(roles, key=lambda r: (role_order.get(r, big), r)))
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


def _complete_cols(spec: Spec) -> list[tuple[str, Text, bool]]:
    sheet = spec.sheet("customers")
    return [(c.key, c.header, c.type == "multi") for c in sheet.columns
            if (c.required or c.key_field) and not c.computed and c.key != "customer_id"]


def incomplete_fields(book: Book, f: Facts, spec: Spec, untrusted: Untrusted, stage: list[str],
                      amounts: list[int | None], W: Words) -> list[list[str]]:
    """Per customer, the headers (in the output language) of the required / key columns that are
    blank, leaving out those ``tags.not_expected`` lists for the customer's stage, and 年交易额
    where the won deals give it."""
    out: list[list[str]] = [[] for _ in range(f.n)]
    t = book.table("customers")
    if t is None or f.n == 0:
        return out
    not_expected = spec.rules.tags.not_expected
    distinct: dict[str, int] = {}  # each distinct stage looked up once
    codes = np.array([distinct.setdefault(s, len(distinct)) for s in stage], dtype=np.int64)
    skip = {key: np.array([key in not_expected.get(s, ()) for s in distinct], dtype=bool)[codes]
            for key, _, _ in _complete_cols(spec)}
    if "annual_amount" in skip:
        skip["annual_amount"] |= np.array([a is not None for a in amounts], dtype=bool)
    not_applicable = {s.casefold() for s in spec.rules.checks.not_applicable}
    invalid = W.bind("field_invalid", "field")
    for key, header_text, multi in _complete_cols(spec):
        header = header_text(W.lang)
        if key not in t.frame.columns:
            for i, lst in enumerate(out):
                if not skip[key][i]:
                    lst.append(header)
            continue
        blank = blank_mask(t.frame[key].iloc[f.pos], multi=multi) & ~skip[key]
        idx = np.flatnonzero(blank)
        if not len(idx):
            continue
        raw = t.raw[key].to_numpy()[f.pos[idx]].tolist() if key in t.raw.columns else [None] * len(idx)
        bad_header = invalid(header)
        for i, v in zip(idx.tolist(), raw, strict=True):
            if isinstance(v, str) and v.strip().casefold() in not_applicable:
                continue
            out[i].append(bad_header if ("customers", f.rows[i], key) in untrusted else header)
    return out
