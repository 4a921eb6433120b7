"""report.html: the batch for people who read rather than filter.

Rendered from ``report.html.j2`` of the spec directory (falling back to the built-in one)
with jinja2, autoescape on. Charts are inline SVG made by :mod:`khbook.batch.svg`; the page
needs no JavaScript and nothing from the network.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2

from khbook.base.fsutil import atomic_output
from khbook.batch.svg import bar_chart
from khbook.spec import default_spec_dir

if TYPE_CHECKING:
    from khbook.batch.run import BatchResult

TEMPLATE = "report.html.j2"


def _template_dir(result: BatchResult) -> Path:
    own = Path(result.spec.directory)
    return own if (own / TEMPLATE).is_file() else default_spec_dir()


def context(result: BatchResult) -> dict[str, Any]:
    """Everything the template shows, labels already in the report's language."""
    lang = result.lang
    spec = result.spec
    t = spec.texts("batch", lang)
    days = spec.rules.checks.quality_followup_days
    charts = [bar_chart([(str(result.label(dim, k)), v) for k, v in items], title=t[f"dim_{dim}"])
              for dim, items in result.distributions().items()]
    scored = [(r["rep"], r["score"]) for r in result.reps if r["score"] is not None]
    charts.append(bar_chart(scored, title=t["scores_chart"], max_value=100))
    sev = spec.texts("severity", lang)
    top = [{"rep": p["rep"], "problems": [{"title": spec.rule(x["rule"]).title(lang) if x["rule"] in spec.checks else x["rule"],
                                           "severity": sev[x["severity"]], "count": x["count"]} for x in p["problems"]]}
           for p in result.top_problems()]
    mom = result.month_over_month
    field_names = {"value_tier": t["value_tier_f"], "abc_class": t["abc_class_f"], "stage": t["stage_f"]}
    if mom is not None:
        mom = {**mom, "changes": [{**ch, "field": field_names.get(ch["field"], ch["field"]),
                                   "old": result.label(ch["field"], ch["old"]) or "-",
                                   "new": result.label(ch["field"], ch["new"]) or "-"} for ch in mom["changes"]]}
    return {
        "t": t, "lang": lang, "as_of": result.as_of.isoformat(), "masked": result.masked,
        "totals": result.totals(), "charts": charts, "reps": result.reps,
        "followed_label": t["followed_share"].format(days=days), "score_formula": t["score_formula"].format(days=days),
        "top_problems": top, "duplicates": [{**d, "basis": t[f"basis_{d['basis']}"]} for d in result.duplicates],
        "churn": [{**c, "stage": result.label("stage", c.get("stage")), "value_tier": result.label("value_tier", c.get("value_tier"))}
                  for c in result.churn_risks()],
        "overdue": result.overdue_followups(), "failed": result.failed, "mom": mom, "abc_note": result.abc_note(),
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
