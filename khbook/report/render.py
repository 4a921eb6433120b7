"""Render a Report as text or JSON (one place for every output format of `check`)."""

from __future__ import annotations

import json
import unicodedata
from json.encoder import encode_basestring as _encode_str
from typing import Any

from khbook.report.report import Report


def width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, n: int) -> str:
    return text + " " * max(0, n - width(text))


def _table(rows: list[list[str]], indent: str = "  ") -> list[str]:
    if not rows:
        return []
    widths = [max(width(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [indent + "  ".join(pad(c, w) for c, w in zip(r[:-1], widths[:-1], strict=True)) + "  " + r[-1] for r in rows]


def render_text(report: Report, *, customers: bool = False) -> str:
    """The text output of `khbook check`; its words are labels.yaml's `check_text` area."""
    t = report.spec.texts("check_text", report.lang)
    as_of = report.spec.text("console.as_of", report.lang).format(date=report.as_of.isoformat())
    lines = [f"{report.file}  {as_of}"]
    current = None
    rows: list[list[str]] = []

    def flush() -> None:
        lines.extend(_table(rows))
        rows.clear()

    for f in report.findings:
        if f.sheet != current:
            flush()
            current = f.sheet
            lines.append(f"[{f.sheet or t['workbook']}]")
        rows.append([report.severity_label(f.severity), f.cell or "-", f.customer_id or "-",
                     report.spec.rule(f.rule).title(report.lang), f.message])
    flush()
    if not report.findings:
        lines.append("  " + t["none"])
    c = report.counts
    sep = report.spec.text("console.count_sep", report.lang)

    def heading(label: str, rest: str = "") -> str:
        return (report.spec.text("console.heading", report.lang).format(label=label) + rest).rstrip()

    lines.append(heading(t["total"], sep.join(f"{report.severity_label(k)} {v}" for k, v in c.items())))
    summary = report.translated_summary()
    if any(summary.get(dim) for dim in ("value_tier", "abc_class", "stage", "tag")):
        lines.append(heading(t["summary"]))
        for dim in ("value_tier", "abc_class", "stage", "tag"):
            counts = summary.get(dim) or {}
            if counts:
                lines.append("  " + heading(t["dim_" + dim], sep.join(f"{k} {v}" for k, v in counts.items())))
                if dim == "abc_class":
                    lines.append(f"    {report.abc_basis()}")
    if customers:
        lines.append(heading(t["customers"]))
        table = [report.spec.text_list("check_text.customer_columns", report.lang)]
        for cust in report.customers:
            d = report.customer_dict(cust)
            amount = "" if d["annual_amount"] is None else f"{d['annual_amount']:g}"
            sep = t["tag_sep"]
            table.append([d["customer_id"], d["name"] or "", d["owner"] or "", amount, d["value_tier"], d["abc_class"],
                          d["stage"], sep.join(d["tags"])])
        lines.extend(_table(table))
    return "\n".join(lines)


def render_json(payload: Any) -> str:
    """``json.dumps(payload, ensure_ascii=False, indent=2, default=str)``, byte for byte, in a
    fraction of the time: the standard library writes indented JSON in pure Python, through
    nested generators; this writer appends to one list (strings still escaped by the
    standard library's C function). Dict keys other than text go the standard way."""
    out: list[str] = []
    try:
        _write(payload, "\n", out)
    except _Unusual:
        return json.dumps(payload, ensure_ascii=False, indent=2, default=str)
    return "".join(out)


class _Unusual(Exception):
    """A value the fast writer leaves to the standard library (a non-text dict key)."""


def _float(o: float) -> str:
    if o != o:
        return "NaN"
    if o in (float("inf"), -float("inf")):
        return "Infinity" if o > 0 else "-Infinity"
    return float.__repr__(o)


def _write(o: Any, nl: str, out: list[str]) -> None:
    """Append the JSON of ``o`` at the indentation ``nl`` (a newline and the current indent)."""
    if isinstance(o, str):
        out.append(_encode_str(o))
    elif o is None:
        out.append("null")
    elif o is True:
        out.append("true")
    elif o is False:
        out.append("false")
    elif isinstance(o, int):
        out.append(int.__repr__(o))
    elif isinstance(o, float):
        out.append(_float(o))
    elif isinstance(o, list | tuple):
        if not o:
            out.append("[]")
            return
        inner = nl + "  "
        sep = "," + inner
        out.append("[" + inner)
        first = True
        for item in o:
            if not first:
                out.append(sep)
            first = False
            _write(item, inner, out)
        out.append(nl + "]")
    elif isinstance(o, dict):
        if not o:
            out.append("{}")
            return
        inner = nl + "  "
        first = True
        out.append("{")
        sep = "," + inner
        for key, value in o.items():
            if key.__class__ is not str:
                raise _Unusual
            cls = value.__class__
            if cls is str:  # the common leaves inline: most of a report is flat records
                out.append((sep if not first else inner) + _encode_str(key) + ": " + _encode_str(value))
            elif value is None:
                out.append((sep if not first else inner) + _encode_str(key) + ": null")
            elif cls is int:
                out.append((sep if not first else inner) + _encode_str(key) + ": " + int.__repr__(value))
            else:
                out.append((sep if not first else inner) + _encode_str(key) + ": ")
                _write(value, inner, out)
            first = False
        out.append(nl + "}")
    else:
        _write(str(o), nl, out)
