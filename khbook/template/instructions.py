"""The instructions sheet (填写说明): render templates/instructions.j2 with the spec.

The jinja2 template holds the wording in Chinese and English; everything that can change
with the spec (sheets, columns, required marks, lists, thresholds) comes from the context
built here, so the instructions follow the spec. The result is a list of lines; a line
starting with ``# `` is the title and ``## `` a section heading.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from khbook.base.errors import SpecError
from khbook.classify.words import abc_basis_text, num
from khbook.spec import Column, Spec, default_spec_dir

TEMPLATE_NAME = "instructions.j2"


def _template_path(spec: Spec) -> Path:
    own = spec.directory / TEMPLATE_NAME
    return own if own.is_file() else default_spec_dir() / TEMPLATE_NAME


def _column(spec: Spec, col: Column, lang: str) -> dict[str, Any]:
    vl = spec.list_for(col)
    return {
        "key": col.key, "header": col.header(lang), "type": spec.text(f"template_text.type_{col.type}", lang),
        "required": col.required, "computed": col.computed, "derived": col.derived,
        "unique": col.unique, "references": col.references, "help": col.help(lang),
        "list": vl.labels(lang) if vl else [], "multi": col.type == "multi",
    }


def _label(spec: Spec, list_name: str, value: str, lang: str) -> str:
    return spec.label(list_name, value, lang) if list_name in spec.lists else value


def context(spec: Spec, lang: str) -> dict[str, Any]:
    """Everything the instructions template may use."""
    r = spec.rules
    sheets = [{"key": s.key, "name": s.name(lang), "columns": [_column(spec, c, lang) for c in s.columns]} for s in spec.sheets]
    tiers = [{"label": _label(spec, "value_tier", t.label, lang), "min": num(t.min)} for t in r.value_tier.tiers]
    stages = [_label(spec, "stage", s, lang) for s in r.stage.order]
    return {
        "lang": lang,
        "sheets": sheets,
        "lists_sheet": spec.lists_sheet(lang),
        "header_row": spec.header_row,
        "first_row": spec.header_row + 1,
        "last_row": spec.header_row + spec.data_rows,
        "tiers": tiers,
        "lift_tags": {_label(spec, "customer_tag", k, lang): _label(spec, "value_tier", v, lang)
                      for k, v in r.value_tier.lift_tags.items()},
        "abc_basis": abc_basis_text(spec, lang),
        "abc": r.abc,  # for instructions.j2 copies made before abc_basis
        "stages": stages,
        "stage_rules": r.stage,
        "tags": r.tags,
        "checks": r.checks,
        "window_days": r.annual_amount.window_days,
        "not_applicable": r.checks.not_applicable,
        "yuan_min": num(r.amount_unit.min_value),
    }


def instruction_lines(spec: Spec, lang: str) -> list[str]:
    """The instructions sheet, one string per row."""
    path = _template_path(spec)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(path.parent)), trim_blocks=True, lstrip_blocks=True,
        undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False,
    )
    try:
        text = env.get_template(path.name).render(**context(spec, lang))
    except jinja2.TemplateError as exc:
        line = getattr(exc, "lineno", None)
        raise SpecError(str(path), f"line {line}" if line else "", f"instructions template error: {exc}") from None
    lines = [ln.rstrip() for ln in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines
