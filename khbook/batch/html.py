"""report.html: the batch for people who read rather than filter.

Rendered from ``report.html.j2`` of the spec directory (falling back to the built-in one)
with jinja2, autoescape on. Charts are inline SVG made by :mod:`khbook.batch.svg`; the page
needs no JavaScript and nothing from the network.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from khbook.base.fsutil import atomic_output
from khbook.batch.result import BatchResult
from khbook.batch.svg import bar_chart
from khbook.spec import default_spec_dir

TEMPLATE = "report.html.j2"


def _template_dir(result: BatchResult) -> Path:
    own = Path(result.spec.directory)
    return own if (own / TEMPLATE).is_file() else default_spec_dir()


def money(value: float | None) -> str:
    """An amount in 万元 as the page shows it: thousands separated, two decimals at most, no trailing zeros."""
    if value is None:
        return "-"
    text = f"{value:,.2f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def context(result: BatchResult) -> dict[str, Any]:
    """Everything the template shows, labels already in the report's language."""
    lang, spec = result.lang, result.spec
    t = spec.texts("batch", lang)
    days = spec.rules.checks.quality_followup_days
    breakdowns = [{"dim": b.dim, "title": t[f"dim_{b.dim}"],
                   "rows": [{"label": result.label(b.dim, s.label), "count": s.count, "amount": s.amount,
                             "share": s.share} for s in b.rows]} for b in result.breakdowns()]
    charts = [bar_chart([(str(r["label"]), r["amount"]) for r in b["rows"]],
                        title=t["amount_chart"].format(dim=b["title"]), fmt=money) for b in breakdowns]
    charts.append(bar_chart([(r.rep, r.score) for r in result.reps if r.score is not None],
                            title=t["scores_chart"], max_value=100))
    sev = spec.texts("severity", lang)

    def title(rule: str) -> str:
        return spec.rule(rule).title(lang) if rule in spec.checks else rule

    fix = [{"rep": x.rep, "problems": [{"title": title(p.rule), "severity": sev[p.severity], "count": p.count}
                                       for p in x.problems], "customers": x.customers} for x in result.fix_first()]
    mom = result.month_over_month
    field_names = {"value_tier": t["value_tier_f"], "abc_class": t["abc_class_f"], "stage": t["stage_f"]}
    changes = [] if mom is None else [
        {"customer_id": ch.customer_id, "name": ch.name, "file": ch.file, "owner": ch.owner,
         "field": field_names.get(ch.field, ch.field), "old": result.label(ch.field, ch.old) or "-",
         "new": result.label(ch.field, ch.new) or "-"} for ch in mom.changes]
    return {
        "t": t, "lang": lang, "as_of": result.as_of.isoformat(), "masked": result.masked,
        "totals": result.totals(), "charts": charts, "breakdowns": breakdowns, "reps": result.reps,
        "rep_money": result.rep_money(), "money": money,
        "followed_label": t["followed_share"].format(days=days), "score_formula": t["score_formula"].format(days=days),
        "fix_first": fix, "duplicates": [{"basis": t[f"basis_{d.basis}"], "d": d} for d in result.duplicates],
        "churn": [{"c": c, "stage": result.label("stage", c.stage), "value_tier": result.label("value_tier", c.value_tier)}
                  for c in result.churn_risks()],
        "overdue": result.overdue_followups(), "mom": mom, "changes": changes, "abc_note": result.abc_note(),
        "entries": [{"e": e, "status": result.status_label(e.status), "kind": e.status.value} for e in result.entries],
    }


def render_html(result: BatchResult) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(_template_dir(result))), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    return env.get_template(TEMPLATE).render(**context(result))


def write_html(result: BatchResult, path: Path) -> Path:
    html = render_html(result)
    with atomic_output(path) as tmp:
        tmp.write_text(html, encoding="utf-8")
    return path
