"""汇总.xlsx: the consolidated workbook of a batch, written with XlsxWriter (atomically).

Sheets: 客户总表, 全部问题, 数据质量, 分布 (with native charts), 跨文件重复, 处理失败 and, with
``--previous``, 月度对比. Every user-supplied text is written with ``write_string`` (never
``write()``), so a value such as ``=HYPERLINK(...)`` stays text.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from khbook.base.fsutil import atomic_output

if TYPE_CHECKING:
    from khbook.batch.run import BatchResult


class _Writer:
    def __init__(self, wb: xlsxwriter.Workbook, yes: str = "是", no: str = "否") -> None:
        self.wb, self.yes, self.no = wb, yes, no
        self.head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "top"})
        self.note = wb.add_format({"italic": True, "font_color": "#595959", "text_wrap": False})
        self.pct = wb.add_format({"num_format": "0.0%"})
        self.num = wb.add_format({"num_format": "#,##0.00"})
        self.title = wb.add_format({"bold": True, "font_size": 12})

    def put(self, ws: Worksheet, r: int, c: int, v: Any, fmt: Any = None) -> None:
        if v is None or v == "":
            return
        if isinstance(v, bool):
            ws.write_string(r, c, self.yes if v else self.no, fmt)
        elif isinstance(v, (int, float)):
            ws.write_number(r, c, v, fmt)
        else:
            ws.write_string(r, c, str(v), fmt)

    def table(self, ws: Worksheet, top: int, headers: list[str], rows: list[list[Any]], widths: list[float],
              formats: dict[int, Any] | None = None, autofilter: bool = True) -> int:
        """Header at row `top`, rows under it; returns the next free row."""
        for j, h in enumerate(headers):
            ws.write_string(top, j, h, self.head)
            ws.set_column(j, j, widths[j] if j < len(widths) else 14)
        for i, row in enumerate(rows, start=top + 1):
            for j, v in enumerate(row):
                self.put(ws, i, j, v, (formats or {}).get(j))
        if autofilter and rows:
            ws.autofilter(top, 0, top + len(rows), len(headers) - 1)
        return top + len(rows) + 1


def _customer_headers(result: BatchResult, t: dict[str, str]) -> list[str]:
    sheet = result.spec.sheet("customers")

    def h(key: str, fallback: str) -> str:
        return sheet.column(key).header(result.lang) if sheet.has(key) else fallback

    return [t["file"], h("owner", t["owner"]), h("customer_id", t["customer_id"]), h("name", "name"),
            h("credit_code", "credit_code"), h("industry", "industry"), h("region", "region"),
            h("annual_amount", t["annual_amount"]), h("value_tier", t["value_tier"]), t["abc_dept"], t["abc_file"],
            h("stage", t["stage"]), t["tags"], t["last_followup"]]


def write_workbook(result: BatchResult, path: Path) -> Path:
    lang = result.lang
    t = result.spec.texts("batch", lang)
    days = result.spec.rules.checks.quality_followup_days
    with atomic_output(path) as tmp:
        wb = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False, "strings_to_urls": False,
                                            "strings_to_numbers": False})
        yes_no = result.spec.lists.get("yes_no")
        yes, no = (yes_no.labels(lang)[:2] if yes_no and len(yes_no.items) >= 2 else ["是", "否"])
        w = _Writer(wb, yes, no)
        # 客户总表
        ws = wb.add_worksheet(t["sheet_customers"])
        ws.write_string(0, 0, result.abc_note(), w.note)
        rows = [[c["file"], c.get("owner"), c["customer_id"], c.get("name"), c.get("credit_code"),
                 result.label("industry", c.get("industry")), result.label("region", c.get("region")),
                 c.get("annual_amount"), result.label("value_tier", c.get("value_tier")),
                 result.label("abc_class", c.get("abc_class")), result.label("abc_class", c.get("abc_class_file")),
                 result.label("stage", c.get("stage")), t["tag_sep"].join(result.tag_labels(c.get("tags"))),
                 c.get("last_followup")]
                for c in result.customers]
        w.table(ws, 1, _customer_headers(result, t), rows, [22, 10, 14, 30, 22, 10, 10, 14, 12, 14, 14, 12, 24, 12],
                {7: w.num})
        ws.freeze_panes(2, 0)
        # 全部问题
        ws = wb.add_worksheet(t["sheet_findings"])
        sev = result.spec.texts("severity", lang)
        rows = [[f["file"], f["rep"], f["sheet"], f["cell"], f.get("customer_id"), sev[f["severity"]],
                 result.spec.rule(f["rule"]).title(lang) if f["rule"] in result.spec.checks else f["rule"],
                 f["column"], f["value"], f["message"]] for f in result.findings]
        w.table(ws, 0, [t["file"], t["rep"], t["sheet"], t["cell"], t["customer_id"], t["severity"], t["rule"],
                        t["column"], t["value"], t["message"]], rows, [22, 10, 12, 8, 14, 8, 18, 14, 20, 60])
        ws.freeze_panes(1, 0)
        # 数据质量
        ws = wb.add_worksheet(t["sheet_quality"])
        ws.write_string(0, 0, t["score_formula"].format(days=days), w.note)
        rows = [[r["rep"], r["files"], r["customers"], r["rows"], r["errors"], r["warnings"], r["completeness"],
                 r["followed_share"], r["score"] if r["score"] is not None else "-"] for r in result.reps]
        w.table(ws, 1, [t["rep"], t["files"], t["customers"], t["rows"], t["errors"], t["warnings"], t["completeness"],
                        t["followed_share"].format(days=days), t["score"]], rows, [14, 8, 8, 10, 8, 8, 14, 14, 10],
                {6: w.pct, 7: w.pct})
        ws.freeze_panes(2, 0)
        _distribution_sheet(result, w, wb.add_worksheet(t["sheet_dist"]), t)
        # 跨文件重复
        ws = wb.add_worksheet(t["sheet_dups"])
        rows = [[t[f"basis_{d['basis']}"], d["key"], d["file_a"], d["owner_a"], d["customer_id_a"], d["name_a"],
                 d["file_b"], d["owner_b"], d["customer_id_b"], d["name_b"]] for d in result.duplicates]
        nxt = w.table(ws, 0, [t["basis"], t["key"], t["file_a"], t["owner_a"], t["id_a"], t["name_a"], t["file_b"],
                              t["owner_b"], t["id_b"], t["name_b"]], rows, [22, 24, 20, 10, 14, 28, 20, 10, 14, 28])
        if not rows:
            ws.write_string(nxt, 0, t["no_dups"], w.note)
        # 处理失败
        ws = wb.add_worksheet(t["sheet_failed"])
        rows = [[f["file"], f["reason"]] for f in result.failed]
        nxt = w.table(ws, 0, [t["file"], t["reason"]], rows, [30, 100])
        if not rows:
            ws.write_string(nxt, 0, t["no_failures"], w.note)
        if result.month_over_month is not None:
            _mom_sheet(result, w, wb.add_worksheet(t["sheet_mom"]), t)
        wb.close()
    return path


def _distribution_sheet(result: BatchResult, w: _Writer, ws: Worksheet, t: dict[str, str]) -> None:
    name = t["sheet_dist"]
    ws.set_column(0, 0, 18)
    ws.set_column(1, 1, 10)
    top = 0
    for dim, items in result.distributions().items():
        ws.write_string(top, 0, t[f"dim_{dim}"], w.head)
        ws.write_string(top, 1, t["count"], w.head)
        for i, (label, n) in enumerate(items, start=top + 1):
            ws.write_string(i, 0, str(result.label(dim, label)))
            ws.write_number(i, 1, n)
        if items:
            chart = w.wb.add_chart({"type": "pie" if dim == "region" else "column"})
            chart.add_series({
                "name": t[f"dim_{dim}"],
                "categories": [name, top + 1, 0, top + len(items), 0],
                "values": [name, top + 1, 1, top + len(items), 1],
                "data_labels": {"value": True},
            })
            chart.set_title({"name": t[f"dim_{dim}"]})
            if dim != "region":
                chart.set_legend({"none": True})
            chart.set_size({"width": 480, "height": 260})
            ws.insert_chart(top, 3, chart)
        top += max(len(items) + 2, 14)


def _mom_sheet(result: BatchResult, w: _Writer, ws: Worksheet, t: dict[str, str]) -> None:
    mom = result.month_over_month or {}
    ws.write_string(0, 0, f"{t['previous_as_of']}: {mom.get('previous_as_of') or '-'}  ->  {t['as_of']}: {result.as_of.isoformat()}", w.title)
    top = 2
    field_names = {"value_tier": t["value_tier_f"], "abc_class": t["abc_class_f"], "stage": t["stage_f"]}
    ws.write_string(top, 0, t["mom_changes"], w.title)
    rows = [[ch["customer_id"], ch["name"], ch["file"], ch["owner"], field_names.get(ch["field"], ch["field"]),
             result.label(ch["field"], ch["old"]), result.label(ch["field"], ch["new"])] for ch in mom.get("changes", [])]
    top = w.table(ws, top + 1, [t["customer_id"], t["name"], t["file"], t["owner"],
                                t["field"], t["old"], t["new"]], rows, [14, 28, 22, 10, 16, 12, 12], autofilter=False) + 1
    for key, items in (("mom_new", mom.get("new", [])), ("mom_gone", mom.get("gone", []))):
        ws.write_string(top, 0, t[key], w.title)
        rows = [[c["customer_id"], c["name"], c["file"], c["owner"]] for c in items]
        top = w.table(ws, top + 1, [t["customer_id"], t["name"], t["file"], t["owner"]],
                      rows, [14, 28, 22, 10], autofilter=False) + 1
    ws.write_string(top, 0, t["mom_reps"], w.title)
    rows = [[r["rep"], r["old"], r["new"], r["delta"]] for r in mom.get("reps", [])]
    w.table(ws, top + 1, [t["rep"], t["old_score"], t["new_score"], t["delta"]], rows, [14, 12, 12, 10], autofilter=False)
