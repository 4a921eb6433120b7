"""The result of a batch run: typed records and the figures derived from them.

:class:`BatchResult` is what :func:`khbook.batch.run.run_batch` returns and what the
renderers (:mod:`khbook.batch.workbook`, :mod:`khbook.batch.html`,
:mod:`khbook.batch.console`) read; ``to_dict()`` is batch.json. It imports no renderer,
so the renderers and the runner import it without a cycle.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

from khbook.batch import consolidate as cons
from khbook.batch.records import (
    Breakdown,
    CustomerRow,
    Duplicate,
    FileEntry,
    FileSummary,
    FindingRow,
    FixFirst,
    MonthOverMonth,
    RepMoney,
    RepQuality,
    Status,
)
from khbook.batch.rows import JSON_ABC
from khbook.batch.rows import label as list_label
from khbook.classify.words import abc_basis_text
from khbook.spec import Spec

DIMENSIONS = ("rep", "value_tier", "abc_class", "stage", "region", "industry")


@dataclass
class BatchResult:
    directory: Path
    outdir: Path
    as_of: dt.date
    lang: str
    masked: bool
    entries: list[FileEntry]                    # every file under the folder (文件清单)
    files: list[FileSummary]                    # the workbooks read
    customers: list[CustomerRow]                # canonical labels; abc_class = department ABC
    findings: list[FindingRow]
    reps: list[RepQuality]
    duplicates: list[Duplicate]
    month_over_month: MonthOverMonth | None
    spec: Spec = field(repr=False)
    outputs: dict[str, Path] = field(default_factory=dict)
    _memo: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def _once(self, key: str, make: Any) -> Any:
        """A derived figure computed once (the renderers ask for the same ones)."""
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key]

    # ---- the file accounting
    def with_status(self, status: Status) -> list[FileEntry]:
        return [e for e in self.entries if e.status is status]

    @property
    def refused(self) -> list[FileEntry]:
        return self.with_status(Status.REFUSED)

    @property
    def has_errors(self) -> bool:
        return any(f.counts.get("error", 0) for f in self.files)

    @property
    def exit_status(self) -> int:
        """0: every workbook read, no errors; 1: findings of severity error; 2: some file could not be read."""
        return 2 if self.refused else 1 if self.has_errors else 0

    # ---- derived figures
    @property
    def counts(self) -> dict[str, int]:
        out = {"error": 0, "warning": 0, "info": 0}
        for f in self.files:
            for k in out:
                out[k] += f.counts.get(k, 0)
        return out

    def churn_stages(self) -> tuple[str, str]:
        return cons.churn_stages(self.spec)

    def churn_risks(self) -> list[CustomerRow]:
        """Customers at stage churned or churn risk."""
        stages = self.churn_stages()
        return list(self._once("churn", lambda: [c for c in self.customers if c.stage in stages]))

    def abc_note(self) -> str:
        """The note on the department's ABC classes: which base and thresholds, in words."""
        total = sum(c.annual_amount for c in self.customers if c.annual_amount is not None)
        basis = abc_basis_text(self.spec, self.lang, scope="department", total=total)
        return self.spec.text("batch.abc_note", self.lang).format(basis=basis)

    def overdue_followups(self) -> list[FindingRow]:
        return list(self._once("overdue", lambda: [f for f in self.findings if f.rule == "overdue_followup"]))

    def breakdowns(self) -> list[Breakdown]:
        """Customers and 年交易额 by rep, value tier, ABC class, stage, region and industry."""
        return list(self._once("breakdowns", self._breakdowns))

    def _breakdowns(self) -> list[Breakdown]:
        blank = self.spec.rules.value_tier.unknown
        out = [cons.breakdown("rep", self.customers, [r.rep for r in self.reps], blank)]
        for dim in DIMENSIONS[1:]:
            out.append(cons.breakdown(dim, self.customers, self.spec.lists[self.spec.result_list(dim) or dim].labels("zh"), blank))
        return out

    def rep_money(self) -> list[RepMoney]:
        return list(self._once("rep_money", lambda: cons.rep_money(self.customers, [r.rep for r in self.reps],
                                                                   self.churn_stages())))

    def fix_first(self, n: int = 5) -> list[FixFirst]:
        return list(self._once(f"fix_first{n}", lambda: cons.fix_first(self.findings, self.customers, n,
                                                                        self._fix_counts())))

    def _fix_counts(self) -> cons.FixCounts | None:
        """The workers' counts of their findings together (None: count :attr:`findings` instead)."""
        parts = [f.parts for f in self.files]
        if any(p is None for p in parts) or sum(len(f.findings) for f in self.files) not in (0, len(self.findings)):
            return None
        return cons.merge_fix_counts(p.fix_counts for p in parts if p is not None)

    def total_amount(self) -> float:
        return round(sum(c.annual_amount or 0.0 for c in self.customers), 6)

    def totals(self) -> dict[str, int | float]:
        return dict(self._once("totals", self._totals))

    def _totals(self) -> dict[str, int | float]:
        c = self.counts
        churn = self.churn_risks()
        return {
            "files": len(self.entries), "processed": len(self.with_status(Status.PROCESSED)),
            "refused": len(self.refused), "skipped": len(self.with_status(Status.SKIPPED)),
            "customers": len(self.customers), "reps": len(self.reps), "errors": c["error"], "warnings": c["warning"],
            "info": c["info"], "duplicates": len(self.duplicates), "churn_risks": len(churn),
            "overdue_followups": len(self.overdue_followups()), "amount": self.total_amount(),
            "churn_amount": round(sum(x.annual_amount or 0.0 for x in churn), 6),
        }

    # ---- labels
    def label(self, dim: str, value: str | None) -> str | None:
        """A canonical list label in the run's language (other values as they are)."""
        seen = self._memo.setdefault("labels", {})
        if (dim, value) not in seen:
            seen[(dim, value)] = list_label(self.spec, self.lang, dim, value)
        return seen[(dim, value)]

    def tag_labels(self, tags: tuple[str, ...] | list[str] | None) -> list[str]:
        return [self.spec.label("status_tag", t, self.lang) for t in tags or ()]

    def status_label(self, status: Status) -> str:
        return self.spec.text(f"batch_files.status_{status.value}", self.lang)

    def json_text(self) -> str:
        """batch.json: ``json.dumps(self.to_dict(), ensure_ascii=False, indent=1)``, its long lists
        (customers, churn risks, overdue follow-ups) from the texts the workers rendered
        (:func:`khbook.batch.rows.render`)."""
        parts = [f.parts for f in self.files]
        ready = [p for p in parts if p is not None]
        churn = [t for p in ready for t in p.churn_json]
        overdue = [t for p in ready for t in p.overdue_json]
        if len(ready) < len(parts) or (sum(len(p.customer_json) - 1 for p in ready), len(churn), len(overdue)) != (
                len(self.customers), len(self.churn_risks()), len(self.overdue_followups())):
            return json.dumps(self.to_dict(), ensure_ascii=False, indent=1)
        key = JSON_ABC[:JSON_ABC.index(":") + 2]
        abc = {cls: key + json.dumps(self.label("abc_class", cls), ensure_ascii=False)
               for cls in {c.abc_class for c in self.customers}}
        classes = [abc[c.abc_class] for c in self.customers]
        items, k = [], 0
        for p in ready:
            n = len(p.customer_json) - 1
            if n:
                pieces = chain.from_iterable(zip(p.customer_json, classes[k:k + n], strict=False))
                items.append("".join(pieces) + p.customer_json[-1])
            k += n
        lists = {"\x02customers": items, "\x02churn": churn, "\x02overdue": overdue}
        text = json.dumps(self.to_dict(lists=tuple(lists)), ensure_ascii=False, indent=1)
        out = []
        for marker, texts in lists.items():
            before, _, text = text.partition(json.dumps(marker))
            out += [before, "[\n  " + ",\n  ".join(texts) + "\n ]" if texts else "[]"]
        return "".join([*out, text])

    def to_dict(self, lists: tuple[str, str, str] | None = None) -> dict[str, Any]:
        """The machine-readable summary: batch.json and ``khbook batch --format json``
        (`lists`: stand-ins for the customers, churn risks and overdue follow-ups, for :meth:`json_text`)."""
        mom = None
        if self.month_over_month is not None:
            mom = asdict(self.month_over_month)
            mom["changes"] = [{**ch, "old": self.label(ch["field"], ch["old"]), "new": self.label(ch["field"], ch["new"])}
                              for ch in mom["changes"]]
        return {
            "as_of": self.as_of.isoformat(),
            "lang": self.lang,
            "masked": self.masked,
            "abc_basis": "department",
            "score_formula": cons.SCORE_FORMULA,
            "totals": self.totals(),
            "files": [{**asdict(e), "status": e.status.value} for e in self.entries],
            "reps": [asdict(r) for r in self.reps],
            "rep_money": [asdict(r) for r in self.rep_money()],
            "customers": lists[0] if lists is not None else [{
                "customer_id": c.customer_id, "name": c.name, "file": c.file, "owner": c.owner, "rep": c.rep,
                "annual_amount": c.annual_amount, "value_tier": self.label("value_tier", c.value_tier),
                "abc_class": self.label("abc_class", c.abc_class),
                "abc_class_file": self.label("abc_class", c.abc_class_file),
                "stage": self.label("stage", c.stage), "tags": self.tag_labels(c.tags),
                "region": self.label("region", c.region), "industry": self.label("industry", c.industry),
            } for c in self.customers],
            "breakdowns": {b.dim: [{"label": self.label(b.dim, s.label), "count": s.count, "amount": s.amount,
                                    "share": s.share} for s in b.rows] for b in self.breakdowns()},
            "duplicates": [asdict(d) for d in self.duplicates],
            "fix_first": [asdict(x) for x in self.fix_first()],
            "churn_risks": lists[1] if lists is not None else [{"customer_id": c.customer_id, "name": c.name, "file": c.file, "owner": c.owner,
                             "rep": c.rep, "annual_amount": c.annual_amount, "stage": self.label("stage", c.stage)}
                            for c in self.churn_risks()],
            "overdue_followups": lists[2] if lists is not None else [{"file": f.file, "rep": f.rep, "sheet": f.sheet, "cell": f.cell,
                                   "customer_id": f.customer_id, "value": f.value, "message": f.message}
                                  for f in self.overdue_followups()],
            "month_over_month": mom,
        }
