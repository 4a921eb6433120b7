"""Consolidation of a batch: pure functions over the per-file summaries (plain dicts).

Nothing here reads or writes files. The inputs are the picklable summaries the batch
workers return (see :mod:`khbook.batch.worker`); the outputs are plain records the
workbook, the HTML report and the JSON summary render.

Data-quality score (per rep, out of 100; a file belongs to the rep who owns most of its
customers, column 负责人)::

    score = round(100 - 40 * min(1, errors / rows)
                      - 15 * min(1, warnings / rows)
                      - 25 * (1 - completeness)
                      - 20 * (1 - followed_share))

* rows: data rows on the five data sheets of the rep's files;
* errors, warnings: findings of severity 错误 / 警告 in those files;
* completeness: share of non-blank cells in the key-field columns (``key_field: true``
  in workbook.yaml: 客户名称, 统一社会信用代码, 所属行业, 注册地址, 年交易额, 联系人手机)
  over every data row of their sheets (a missing column counts as blank);
* followed_share: share of the rep's customers with a 跟进记录 dated within
  ``checks.quality_followup_days`` (default 30) days up to the as-of date.

The score is clamped to 0..100; a rep without any data row has no score (shown as "-").

ABC classes in the consolidated view are recomputed over the whole department's total
年交易额 with the method and thresholds of rules.yaml (``abc``), not per workbook.
"""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from operator import attrgetter

from khbook.batch.records import (
    AmountChange,
    Breakdown,
    Brief,
    Change,
    CustomerErrors,
    CustomerRow,
    Duplicate,
    FileSummary,
    FindingRow,
    FixFirst,
    MonthOverMonth,
    Problem,
    RepMoney,
    RepQuality,
    ScoreChange,
    Share,
)
from khbook.classify.amounts import abc_classes
from khbook.classify.facts import MICRO
from khbook.spec import Spec

SCORE_FORMULA = ("100 - 40*min(1, errors/rows) - 15*min(1, warnings/rows) "
                 "- 25*(1 - completeness) - 20*(1 - followed_share), rounded, 0..100")


# --------------------------------------------------------------------------- ABC


def department_abc(amounts: Sequence[float | None], spec: Spec) -> list[str]:
    """ABC class of each amount (万元) over the total of all of them.

    The classifier's own ABC logic (:func:`khbook.classify.amounts.abc_classes`: method and
    thresholds of rules.yaml ``abc``, blank -> ``abc.unknown``, zero total ->
    ``abc.fallback``), applied to the whole department instead of one workbook.
    """
    micro = [None if a is None else int(round(a * MICRO)) for a in amounts]
    return abc_classes(spec, micro, scope="department")[0]


# --------------------------------------------------------------------------- reps and quality


def rep_of(customers: Sequence[CustomerRow], default: str) -> str:
    """The rep a file belongs to: the most frequent 负责人 (ties: first in the file)."""
    counts = Counter(c.owner for c in customers if c.owner)
    if not counts:
        return default
    best = max(counts.values())
    return next(str(c.owner) for c in customers if c.owner and counts[c.owner] == best)


def quality_score(rows: int, errors: int, warnings: int, completeness: float, followed_share: float) -> int | None:
    """The data-quality score (see the module docstring); None without data rows."""
    if rows <= 0:
        return None
    s = (100 - 40 * min(1.0, errors / rows) - 15 * min(1.0, warnings / rows)
         - 25 * (1 - completeness) - 20 * (1 - followed_share))
    return max(0, min(100, round(s)))


def rep_quality(files: Sequence[FileSummary]) -> list[RepQuality]:
    """Per-rep data quality over the files that were read (sorted by rep)."""
    acc: dict[str, Counter[str]] = defaultdict(Counter)
    for f in files:
        a = acc[f.rep]
        a["files"] += 1
        a["customers"] += len(f.customers)
        a["rows"] += f.rows
        a["errors"] += f.counts.get("error", 0)
        a["warnings"] += f.counts.get("warning", 0)
        a["key_filled"] += f.key_filled
        a["key_total"] += f.key_total
        a["followed"] += sum(1 for c in f.customers if c.followed)
    out = []
    for rep in sorted(acc):
        a = acc[rep]
        completeness = a["key_filled"] / a["key_total"] if a["key_total"] else 0.0
        followed_share = a["followed"] / a["customers"] if a["customers"] else 0.0
        out.append(RepQuality(rep, a["files"], a["customers"], a["rows"], a["errors"], a["warnings"],
                              round(completeness, 4), round(followed_share, 4),
                              quality_score(a["rows"], a["errors"], a["warnings"], completeness, followed_share)))
    return out


FixCounts = tuple[dict[str, Counter[tuple[str, str]]], dict[str, Counter[tuple[str, str, str]]]]


def fix_counts(findings: Iterable[FindingRow]) -> FixCounts:
    """Per rep, the errors and warnings by (rule, severity) and by (file, customer, severity)."""
    rules: dict[str, Counter[tuple[str, str]]] = defaultdict(Counter)
    per_customer: dict[str, Counter[tuple[str, str, str]]] = defaultdict(Counter)
    for f in findings:
        if f.severity not in ("error", "warning"):
            continue
        rules[f.rep][(f.rule, f.severity)] += 1
        if f.customer_id:
            per_customer[f.rep][(f.file, f.customer_id, f.severity)] += 1
    return dict(rules), dict(per_customer)


def merge_fix_counts(parts: Iterable[FixCounts]) -> FixCounts:
    """The counts of several books together (each book counted by its worker)."""
    rules: dict[str, Counter[tuple[str, str]]] = defaultdict(Counter)
    per_customer: dict[str, Counter[tuple[str, str, str]]] = defaultdict(Counter)
    for r, p in parts:
        for rep, cnt in r.items():
            rules[rep].update(cnt)
        for rep, cnt in p.items():
            per_customer[rep].update(cnt)
    return dict(rules), dict(per_customer)


def fix_first(findings: Sequence[FindingRow], customers: Sequence[CustomerRow], n: int = 5,
              counts: FixCounts | None = None) -> list[FixFirst]:
    """Per rep: the `n` most frequent rules (errors before warnings), and the `n` customers with most errors
    (`counts`: :func:`fix_counts` of `findings`, when already made)."""
    rules, per_customer = counts if counts is not None else fix_counts(findings)
    picks = []
    for rep in sorted(rules):
        top = sorted(rules[rep].items(), key=lambda kv: (kv[0][1] != "error", -kv[1], kv[0]))[:n]
        counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
        for (file, cid, sev), k in per_customer.get(rep, Counter()).items():
            counts[(file, cid)][0 if sev == "error" else 1] += k
        worst = heapq.nsmallest(n, (kv for kv in counts.items() if kv[1][0]),
                                key=lambda kv: (-kv[1][0], -kv[1][1], kv[0]))
        picks.append((rep, top, worst))
    need = {key for _, _, worst in picks for key, _ in worst}
    names: dict[tuple[str, str], str | None] = {}
    for c in customers:
        if (c.file, c.customer_id) in need:
            names[(c.file, c.customer_id)] = c.name
    return [FixFirst(rep, [Problem(r, s, c) for (r, s), c in top],
                     [CustomerErrors(cid, names.get((file, cid)), file, e, w) for (file, cid), (e, w) in worst])
            for rep, top, worst in picks]


# --------------------------------------------------------------------------- duplicates


def cross_file_duplicates(customers: Sequence[CustomerRow]) -> list[Duplicate]:
    """The same customer in two files: same credit code, else same normalised name.

    One record per pair of files per customer (the first row of each file); a pair matched
    by credit code is not listed again by name. Sorted by file, then customer ID.
    """
    pairs: dict[tuple[str, str, str, str], Duplicate] = {}
    for basis in ("credit_code", "name"):
        keys = [c.credit_code if basis == "credit_code" else c.name_key for c in customers]
        seen = Counter(keys)    # counted in C: most keys are seen once, and only the others are grouped
        groups: dict[str, list[CustomerRow]] = defaultdict(list)
        for c, key in zip(customers, keys, strict=True):
            if key and seen[key] > 1:
                groups[key].append(c)
        for key, members in groups.items():
            if len(members) < 2:
                continue
            first: dict[str, CustomerRow] = {}
            for c in members:
                first.setdefault(c.file, c)
            if len(first) < 2:
                continue
            ordered = sorted(first.values(), key=lambda c: (c.file, c.customer_id))
            for i, a in enumerate(ordered):
                for b in ordered[i + 1:]:
                    ident = (a.file, a.customer_id, b.file, b.customer_id)
                    if ident not in pairs:
                        pairs[ident] = Duplicate(basis, key if basis == "credit_code" else (a.name or key),
                                                 a.file, a.owner, a.customer_id, a.name,
                                                 b.file, b.owner, b.customer_id, b.name)
    return [pairs[k] for k in sorted(pairs)]


# --------------------------------------------------------------------------- distributions and money


def breakdown(dim: str, customers: Sequence[CustomerRow], order: Sequence[str], blank: str) -> Breakdown:
    """Customers and 年交易额 per value of `dim`: the list's order first, other values after, blanks last.

    `share` is the bucket's part of the total 年交易额 (0 when the total is 0); a blank
    amount counts as 0.
    """
    values = [v or blank for v in map(attrgetter(dim), customers)]
    counts: Counter[str] = Counter(values)
    amounts: defaultdict[str, float] = defaultdict(float)
    for v, a in zip(values, map(attrgetter("annual_amount"), customers), strict=True):
        amounts[v] += a or 0.0
    keys = [v for v in order if v in counts]
    keys += sorted(k for k in counts if k not in keys and k != blank)
    if blank in counts and blank not in keys:
        keys.append(blank)
    total = sum(amounts.values())
    return Breakdown(dim, [Share(k, counts[k], round(amounts[k], 6), round(amounts[k] / total, 4) if total else 0.0)
                           for k in keys])


def churn_stages(spec: Spec) -> tuple[str, str]:
    """The canonical labels of the stages 'churned' and 'churn risk' (the stage list is positional)."""
    labels = spec.rules.stage.labels
    return labels["churned"], labels["churn_risk"]


def rep_money(customers: Sequence[CustomerRow], reps: Iterable[str], churn: Sequence[str]) -> list[RepMoney]:
    """Per rep: customers, total 年交易额, and the customers and 年交易额 at churn risk (stages `churn`)."""
    by_rep: dict[str | None, list[CustomerRow]] = defaultdict(list)
    for c in customers:
        by_rep[c.rep].append(c)
    out = []
    for rep in reps:
        mine = by_rep.get(rep, [])
        risky = [c for c in mine if c.stage in churn]
        out.append(RepMoney(rep, len(mine), round(sum(c.annual_amount or 0.0 for c in mine), 6),
                            len(risky), round(sum(c.annual_amount or 0.0 for c in risky), 6)))
    return out


# --------------------------------------------------------------------------- month over month

COMPARED = ("value_tier", "abc_class", "stage")


def _identity(c: CustomerRow, name_key: Callable[[str], str]) -> str:
    key = name_key(c.name) if c.name else ""
    return f"name:{key}" if key else f"id:{c.file}#{c.customer_id}"


def _brief(c: CustomerRow) -> Brief:
    return Brief(c.customer_id, c.name, c.file, c.owner)


def month_over_month(previous_as_of: str | None, old: Sequence[CustomerRow], new: Sequence[CustomerRow],
                     old_scores: dict[str, int | None], new_reps: Sequence[RepQuality], *,
                     name_key: Callable[[str], str], canonical: Callable[[str, str | None], str | None]) -> MonthOverMonth:
    """Compare the customers and rep scores of an earlier run (`old`, `old_scores`) with this run's.

    A customer is the same across runs when its normalised company name is (else its file
    and 客户ID); it is matched in the same file first, then in any file. `canonical(field,
    label)` maps a label of either language to the canonical one, so runs made with
    different ``--lang`` compare. Each rep's total 年交易额 (by the rep the file belongs to)
    and the department's are compared too.
    """
    old_by_key: dict[str, list[CustomerRow]] = defaultdict(list)
    for c in old:
        old_by_key[_identity(c, name_key)].append(c)
    used: set[int] = set()
    mom = MonthOverMonth(previous_as_of)
    for c in new:
        key = _identity(c, name_key)
        candidates = [o for o in old_by_key.get(key, []) if id(o) not in used]
        if not candidates:
            if key not in old_by_key:
                mom.new.append(_brief(c))
            continue
        match = next((o for o in candidates if o.file == c.file), candidates[0])
        used.add(id(match))
        for fld in COMPARED:
            before, after = canonical(fld, getattr(match, fld)), canonical(fld, getattr(c, fld))
            if before != after:
                mom.changes.append(Change(c.customer_id, c.name, c.file, c.owner, fld, before, after, match.file))
    new_keys = {_identity(c, name_key) for c in new}
    mom.gone = [_brief(o) for o in old if _identity(o, name_key) not in new_keys]
    before_scores = old_scores
    for r in new_reps:
        before = before_scores.get(r.rep)
        delta = r.score - before if isinstance(before, int) and isinstance(r.score, int) else None
        mom.reps.append(ScoreChange(r.rep, before, r.score, delta))
    current = {r.rep for r in new_reps}
    mom.reps += [ScoreChange(rep, s, None, None) for rep, s in sorted(before_scores.items()) if rep not in current]
    mom.amounts, mom.department = amount_changes(old, new)
    return mom


def amount_changes(old: Sequence[CustomerRow], new: Sequence[CustomerRow]) -> tuple[list[AmountChange], AmountChange]:
    """Each rep's total 年交易额 before and now (reps of either run, sorted), and the department's."""
    def totals(rows: Sequence[CustomerRow]) -> dict[str, float]:
        out: defaultdict[str, float] = defaultdict(float)
        for c in rows:
            out[c.rep or c.owner or ""] += c.annual_amount or 0.0
        return out

    before, after = totals(old), totals(new)
    out = []
    for rep in sorted(set(before) | set(after)):
        b, a = before.get(rep), after.get(rep)
        out.append(AmountChange(rep, _r(b), _r(a), _r(a - b) if a is not None and b is not None else None))
    b_all, a_all = sum(before.values()), sum(after.values())
    return out, AmountChange("", _r(b_all), _r(a_all), _r(a_all - b_all))


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 6)


def with_rep(rows: Sequence[CustomerRow], rep: str) -> list[CustomerRow]:
    return [replace(c, rep=rep) for c in rows]
