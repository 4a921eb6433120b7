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

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from khbook.spec import Spec

Record = dict[str, Any]

SCORE_FORMULA = ("100 - 40*min(1, errors/rows) - 15*min(1, warnings/rows) "
                 "- 25*(1 - completeness) - 20*(1 - followed_share), rounded, 0..100")


# --------------------------------------------------------------------------- ABC


def department_abc(amounts: Sequence[float | None], spec: Spec) -> list[str]:
    """ABC class of each amount (万元) over the total of all of them.

    The classifier's own ABC logic (:func:`khbook.classify.amounts.abc_classes`: method and
    thresholds of rules.yaml ``abc``, blank -> ``abc.unknown``, zero total ->
    ``abc.fallback``), applied to the whole department instead of one workbook.
    """
    from khbook.classify.amounts import abc_classes
    from khbook.classify.facts import MICRO

    micro = [None if a is None else int(round(a * MICRO)) for a in amounts]
    return abc_classes(spec, micro, scope="department")[0]


# --------------------------------------------------------------------------- reps and quality


def rep_of(customers: Iterable[Record], default: str) -> str:
    """The rep a file belongs to: the most frequent 负责人 (ties: first in the file)."""
    counts = Counter(c.get("owner") for c in customers if c.get("owner"))
    if not counts:
        return default
    best = max(counts.values())
    for c in customers:
        if counts.get(c.get("owner")) == best:
            return str(c["owner"])
    return default  # pragma: no cover


def quality_score(rows: int, errors: int, warnings: int, completeness: float, followed_share: float) -> int | None:
    """The data-quality score (see the module docstring); None without data rows."""
    if rows <= 0:
        return None
    s = (100 - 40 * min(1.0, errors / rows) - 15 * min(1.0, warnings / rows)
         - 25 * (1 - completeness) - 20 * (1 - followed_share))
    return max(0, min(100, round(s)))


def rep_quality(files: Sequence[Record]) -> list[Record]:
    """Per-rep data quality over the files that were read (sorted by rep)."""
    acc: dict[str, Counter[str]] = defaultdict(Counter)
    for f in files:
        a = acc[f["rep"]]
        a["files"] += 1
        a["customers"] += len(f["customers"])
        a["rows"] += f["rows"]
        a["errors"] += f["counts"].get("error", 0)
        a["warnings"] += f["counts"].get("warning", 0)
        a["key_filled"] += f["key_filled"]
        a["key_total"] += f["key_total"]
        a["followed"] += sum(1 for c in f["customers"] if c.get("followed"))
    out = []
    for rep in sorted(acc):
        a = acc[rep]
        completeness = a["key_filled"] / a["key_total"] if a["key_total"] else 0.0
        followed_share = a["followed"] / a["customers"] if a["customers"] else 0.0
        out.append({
            "rep": rep, "files": a["files"], "customers": a["customers"], "rows": a["rows"],
            "errors": a["errors"], "warnings": a["warnings"],
            "completeness": round(completeness, 4), "followed_share": round(followed_share, 4),
            "score": quality_score(a["rows"], a["errors"], a["warnings"], completeness, followed_share),
        })
    return out


def top_problems(findings: Sequence[Record], n: int = 5) -> list[Record]:
    """Per rep, the `n` most frequent rules among errors and warnings."""
    by_rep: dict[str, Counter[tuple[str, str]]] = defaultdict(Counter)
    for f in findings:
        if f["severity"] in ("error", "warning"):
            by_rep[f["rep"]][(f["rule"], f["severity"])] += 1
    out = []
    for rep in sorted(by_rep):
        top = sorted(by_rep[rep].items(), key=lambda kv: (-kv[1], kv[0]))[:n]
        out.append({"rep": rep, "problems": [{"rule": r, "severity": s, "count": c} for (r, s), c in top]})
    return out


# --------------------------------------------------------------------------- duplicates


def cross_file_duplicates(customers: Sequence[Record]) -> list[Record]:
    """The same customer in two files: same credit code, else same normalised name.

    One record per pair of files per customer (the first row of each file); a pair matched
    by credit code is not listed again by name. Sorted by file, then customer ID.
    """
    pairs: dict[tuple[str, str, str, str], Record] = {}
    for basis, field in (("credit_code", "credit_code"), ("name", "name_key")):
        groups: dict[str, list[Record]] = defaultdict(list)
        for c in customers:
            key = c.get(field)
            if key:
                groups[key].append(c)
        for key, members in groups.items():
            first: dict[str, Record] = {}
            for c in members:
                first.setdefault(c["file"], c)
            if len(first) < 2:
                continue
            ordered = sorted(first.values(), key=lambda c: (c["file"], c["customer_id"]))
            for i, a in enumerate(ordered):
                for b in ordered[i + 1:]:
                    ident = (a["file"], a["customer_id"], b["file"], b["customer_id"])
                    if ident in pairs:
                        continue
                    pairs[ident] = {
                        "basis": basis, "key": key if basis == "credit_code" else (a.get("name") or key),
                        "file_a": a["file"], "owner_a": a.get("owner"), "customer_id_a": a["customer_id"], "name_a": a.get("name"),
                        "file_b": b["file"], "owner_b": b.get("owner"), "customer_id_b": b["customer_id"], "name_b": b.get("name"),
                    }
    return sorted(pairs.values(), key=lambda p: (p["file_a"], p["customer_id_a"], p["file_b"], p["customer_id_b"]))


# --------------------------------------------------------------------------- distributions


def distribution(values: Iterable[str | None], order: Sequence[str], blank: str) -> list[tuple[str, int]]:
    """Counts in the list's order; values outside the list after it; blanks last as `blank`."""
    counts = Counter(v if v else blank for v in values)
    out = [(v, counts.pop(v)) for v in order if v in counts]
    rest = sorted(k for k in counts if k != blank)
    out += [(k, counts[k]) for k in rest]
    if blank in counts:
        out.append((blank, counts[blank]))
    return out


# --------------------------------------------------------------------------- month over month

COMPARED = ("value_tier", "abc_class", "stage")


def _identity(c: Record, name_key: Callable[[str], str]) -> str:
    key = name_key(c["name"]) if c.get("name") else ""
    return f"name:{key}" if key else f"id:{c.get('file')}#{c.get('customer_id')}"


def month_over_month(previous: Record, current: Record, *, name_key: Callable[[str], str],
                     canonical: Callable[[str, str | None], str | None]) -> Record:
    """Compare two batch summaries (``BatchResult.to_dict()`` shapes).

    A customer is the same across runs when its normalised company name is (else its file
    and 客户ID); it is matched in the same file first, then in any file. `canonical(field,
    label)` maps a label of either language to the canonical one, so runs made with
    different ``--lang`` compare.
    """
    old = previous.get("customers") or []
    new = current.get("customers") or []
    old_by_key: dict[str, list[Record]] = defaultdict(list)
    for c in old:
        old_by_key[_identity(c, name_key)].append(c)
    used: set[int] = set()
    changes: list[Record] = []
    added: list[Record] = []
    for c in new:
        key = _identity(c, name_key)
        candidates = [o for o in old_by_key.get(key, []) if id(o) not in used]
        if not candidates:
            if key not in old_by_key:
                added.append(_brief(c))
            continue
        match = next((o for o in candidates if o.get("file") == c.get("file")), candidates[0])
        used.add(id(match))
        for fld in COMPARED:
            before, after = canonical(fld, match.get(fld)), canonical(fld, c.get(fld))
            if before != after:
                changes.append({**_brief(c), "field": fld, "old": before, "new": after, "old_file": match.get("file")})
    new_keys = {_identity(c, name_key) for c in new}
    gone = [_brief(o) for o in old if _identity(o, name_key) not in new_keys]
    old_reps = {r["rep"]: r for r in previous.get("reps") or []}
    reps = []
    for r in current.get("reps") or []:
        o = old_reps.get(r["rep"])
        before = o.get("score") if o else None
        after = r.get("score")
        delta = after - before if isinstance(before, int) and isinstance(after, int) else None
        reps.append({"rep": r["rep"], "old": before, "new": after, "delta": delta})
    for rep, o in sorted(old_reps.items()):
        if rep not in {r["rep"] for r in current.get("reps") or []}:
            reps.append({"rep": rep, "old": o.get("score"), "new": None, "delta": None})
    return {"previous_as_of": previous.get("as_of"), "changes": changes, "new": added, "gone": gone, "reps": reps}


def _brief(c: Record) -> Record:
    return {"customer_id": c.get("customer_id"), "name": c.get("name"), "file": c.get("file"), "owner": c.get("owner")}
