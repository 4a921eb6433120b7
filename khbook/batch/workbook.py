"""汇总.xlsx: the consolidated workbook of a batch, written with XlsxWriter (atomically).

Sheets: 客户总表, 全部问题 (each cell linked to the rep's annotated copy), 数据质量, 先改这些,
分布 (customers and 年交易额 by rep, tier, ABC, stage, region and industry, native charts by
amount), 跨文件重复, 文件清单 (every file of the folder) and, with ``--previous``, 月度对比.
Every user-supplied text is written with ``write_string`` (never ``write()``), so a value
such as ``=HYPERLINK(...)`` stays text. Column widths follow the display width of their
text (a CJK character counts double), so nothing is clipped.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from pathlib import Path

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from khbook.base.fsutil import atomic_output
from khbook.base.textwidth import display_width
from khbook.batch import rows
from khbook.batch.records import Breakdown, FileParts, Status
from khbook.batch.result import BatchResult
from khbook.batch.stream import CustomerSheet, Entry, FindingSheet, segment, write_zip

Cell = str | int | float | bool | None
MAX_WIDTH = rows.MAX_WIDTH   # characters; longer text wraps


class _Writer:
    """Writes cells and remembers the widest text of each column, to size the columns at the end."""

    def __init__(self, wb: xlsxwriter.Workbook, yes: str, no: str) -> None:
        self.wb, self.yes, self.no = wb, yes, no
        # created in this order, each given its index now: the rows the workers rendered name them by it
        fmt = {name: wb.add_format(props) for name, props in rows.FORMATS}
        for name, f in fmt.items():
            if f._get_xf_index() != rows.XF[name]:   # XlsxWriter numbers formats in order of first use
                raise RuntimeError(f"XlsxWriter gave the format {name} another index")
        self.head, self.note, self.wrap, self.top = fmt["head"], fmt["note"], fmt["wrap"], fmt["top"]
        self.pct, self.num, self.title, self.link_fmt = fmt["pct"], fmt["num"], fmt["title"], fmt["link"]
        self.total = {None: fmt["total"], "num": fmt["total_num"], "pct": fmt["total_pct"]}
        self.widths: dict[str, dict[int, int]] = {}
        self.note_rows: list[tuple[Worksheet, int, int, str]] = []
        self.wrapped: list[tuple[Worksheet, int, int, str]] = []

    def sheet(self, name: str) -> Worksheet:
        ws = self.wb.add_worksheet(name)
        ws.set_landscape()
        ws.fit_to_pages(1, 0)          # printed (or exported to PDF) one page wide
        self.widths[ws.name] = {}
        return ws

    def grow(self, ws: Worksheet, c: int, text: str, extra: int = 0) -> None:
        w = self.widths[ws.name]
        now = w.get(c, 0)
        if now >= MAX_WIDTH or 2 * len(text) + extra <= now:
            return  # cannot widen the column (a character is at most two wide): skip the measuring
        w[c] = max(now, min(MAX_WIDTH, display_width(text) + extra))

    def put(self, ws: Worksheet, r: int, c: int, v: Cell, fmt: Format | None = None) -> None:
        if v is None or v == "":
            return
        if isinstance(v, bool):
            text = self.yes if v else self.no
            ws.write_string(r, c, text, fmt)
        elif isinstance(v, (int, float)):
            ws.write_number(r, c, v, fmt)
            text = f"{v:,.2f}" if fmt is self.num else f"{v:.1%}" if fmt is self.pct else f"{v:g}"
        else:
            text = str(v)
            long = fmt is None and 2 * len(text) > MAX_WIDTH and display_width(text) > MAX_WIDTH
            ws.write_string(r, c, text, self.wrap if long else fmt)
            if long:
                self.wrapped.append((ws, r, c, text))
        self.grow(ws, c, text)

    def link(self, ws: Worksheet, r: int, c: int, url: str, text: str) -> None:
        ws.write_url(r, c, url, self.link_fmt, string=text)
        self.grow(ws, c, text)

    def heading(self, ws: Worksheet, r: int, c: int, text: str) -> None:
        ws.write_string(r, c, text, self.head)
        self.grow(ws, c, text, extra=2)   # room for the autofilter arrow

    def text_note(self, ws: Worksheet, r: int, text: str, cols: int) -> None:
        """A sentence over the first `cols` columns (merged, wrapped; the row tall enough for it)."""
        if cols > 1:
            ws.merge_range(r, 0, r, cols - 1, text, self.note)
        else:
            ws.write_string(r, 0, text, self.note)
        self.note_rows.append((ws, r, cols, text))

    def table(self, ws: Worksheet, top: int, headers: Sequence[str], rows: Sequence[Sequence[Cell]],
              formats: dict[int, Format] | None = None, autofilter: bool = True, left: int = 0) -> int:
        """Header at row `top`, rows under it; returns the next free row."""
        for j, h in enumerate(headers):
            self.heading(ws, top, left + j, h)
        for i, row in enumerate(rows, start=top + 1):
            for j, v in enumerate(row):
                self.put(ws, i, left + j, v, (formats or {}).get(j))
        if autofilter and rows:
            ws.autofilter(top, left, top + len(rows), left + len(headers) - 1)
        return top + len(rows) + 1

    def finish(self) -> None:
        """Size every column to its widest text, and every note row to its wrapped lines."""
        for ws in self.wb.worksheets():
            for c, w in self.widths[ws.name].items():
                ws.set_column(c, c, max(6, w + 2))
        lines: dict[tuple[str, int], tuple[Worksheet, int]] = {}
        for ws, r, cols, text in self.note_rows:
            avail = sum(max(6, self.widths[ws.name].get(c, 8) + 2) for c in range(cols))
            n = -(-display_width(text) // max(10, avail - 2))
            lines[(ws.name, r)] = (ws, max(n, lines.get((ws.name, r), (ws, 1))[1]))
        for ws, r, c, text in self.wrapped:
            n = -(-display_width(text) // max(10, self.widths[ws.name].get(c, MAX_WIDTH)))
            lines[(ws.name, r)] = (ws, max(n, lines.get((ws.name, r), (ws, 1))[1]))
        for (_, r), (ws, n) in lines.items():
            ws.set_row(r, 15 * max(1, n) + 3, self.top)   # the row's other cells at the top too


def _customer_headers(result: BatchResult, t: dict[str, str]) -> list[str]:
    sheet = result.spec.sheet("customers")
    lang = result.lang

    def h(key: str, fallback: str) -> str:
        return sheet.column(key).header(lang) if sheet.has(key) else fallback

    return [t["file"], t["rep"], h("owner", t["owner"]), h("customer_id", t["customer_id"]), h("name", t["name"]),
            h("credit_code", "credit_code"), h("industry", t["dim_industry"]), h("region", t["dim_region"]),
            t["amount"], h("value_tier", t["value_tier"]), t["abc_dept"], t["abc_file"],
            h("stage", t["stage"]), t["tags"], t["last_followup"]]


def write_workbook(result: BatchResult, path: Path, findings: FindingSheet | None = None) -> Path:
    """汇总.xlsx (`findings`: 全部问题's rows as they were stitched while the books came in, if they were)."""
    lang = result.lang
    t = result.spec.texts("batch", lang)
    if findings is None or findings.broken or findings.files != [f.file for f in result.files]:
        findings = FindingSheet()
        for f in result.files:
            findings.add(f)
    with atomic_output(path) as tmp:
        raw = io.BytesIO()
        wb = xlsxwriter.Workbook(raw, {"strings_to_formulas": False, "strings_to_urls": False,
                                       "strings_to_numbers": False, "in_memory": True})
        yes, no = result.spec.lists["yes_no"].labels(lang)[:2]
        w = _Writer(wb, yes, no)
        customers = _customers(result, w, t)
        ws_findings = _findings(result, w, t, findings)
        _quality(result, w, t)
        _fix_first(result, w, t)
        _distribution_sheet(result, w, t)
        _duplicates(result, w, t)
        _files(result, w, t)
        if result.month_over_month is not None:
            _mom_sheet(result, w, t)
        w.finish()
        wb.close()
        _package(raw.getvalue(), tmp, customers, findings, ws_findings)
    return path


def _package(raw: bytes, tmp: Path, customers: tuple[Worksheet, CustomerSheet], findings: FindingSheet,
             ws_findings: Worksheet) -> None:
    """XlsxWriter's workbook with the big sheets' rows put into their ``<sheetData>``."""
    ws, rows_c = customers
    name_c = f"xl/worksheets/sheet{ws.index + 1}.xml"
    name_f = f"xl/worksheets/sheet{ws_findings.index + 1}.xml"
    rels_f = f"xl/worksheets/_rels/sheet{ws_findings.index + 1}.xml.rels"
    entries: list[Entry] = []
    with zipfile.ZipFile(io.BytesIO(raw)) as zin:
        if rels_f in zin.namelist():
            raise RuntimeError("XlsxWriter wrote relationships of its own for the findings sheet")
        for info in zin.infolist():
            data = zin.read(info).decode("utf-8") if info.filename in (name_c, name_f) else None
            if info.filename == name_c:
                entries.append(rows_c.entry(name_c, data or ""))
            elif info.filename == name_f:
                entries += findings.entries(name_f, rels_f, data or "")
            else:
                entries.append(Entry(info.filename, [segment(zin.read(info), last=True, level=6)]))
    write_zip(tmp, entries)


def _headings(w: _Writer, ws: Worksheet, top: int, headers: Sequence[str], count: int) -> None:
    for j, h in enumerate(headers):
        w.heading(ws, top, j, h)
    if count:
        ws.autofilter(top, 0, top + count, len(headers) - 1)


def _widths(w: _Writer, ws: Worksheet, widths: dict[int, int]) -> None:
    mine = w.widths[ws.name]
    for c, v in widths.items():
        if v > mine.get(c, 0):
            mine[c] = v


def _parts(result: BatchResult) -> list[FileParts]:
    out = []
    for f in result.files:
        assert f.parts is not None, "a book's rows are rendered by its worker (khbook.batch.worker.prepare)"
        out.append(f.parts)
    return out


def _customers(result: BatchResult, w: _Writer, t: dict[str, str]) -> tuple[Worksheet, CustomerSheet]:
    ws = w.sheet(t["sheet_customers"])
    headers = _customer_headers(result, t)
    _headings(w, ws, 1, headers, min(len(result.customers), rows.MAX_ROWS - 2))
    out = CustomerSheet()
    cells: dict[tuple[str, bool], str] = {}
    k = 0
    for p in _parts(result):
        _widths(w, ws, p.customer_widths)

        def fill(i: int, text: str, p: FileParts = p, k: int = k) -> str:
            cls = result.customers[k + i].abc_class
            key = (cls, i in p.tall)
            if key not in cells:
                label = result.label("abc_class", cls)
                cells[key] = rows.string_cell(rows.CUSTOMER_ABC, label, w.top.xf_index if key[1] else 0) if label else ""
                if label:
                    w.grow(ws, rows.CUSTOMER_ABC, label)
            return text.replace(rows.SLOT, cells[key], 1)

        out.add(p.customer_rows, fill)
        k += len(p.customer_rows)
    w.text_note(ws, 0, result.abc_note(), len(headers))
    ws.freeze_panes(2, 0)
    return ws, out


def _findings(result: BatchResult, w: _Writer, t: dict[str, str], rows_f: FindingSheet) -> Worksheet:
    """全部问题: the 单元格 column links to the cell in the rep's annotated copy (in the output folder)."""
    ws = w.sheet(t["sheet_findings"])
    headers = [t["file"], t["rep"], t["sheet"], t["cell"], t["customer_id"], t["severity"], t["rule"],
               t["column"], t["value"], t["message"]]
    _headings(w, ws, 1, headers, rows_f.count)
    _widths(w, ws, rows_f.widths)
    w.text_note(ws, 0, t["link_note"], len(headers))
    ws.freeze_panes(2, 0)
    return ws


def _quality(result: BatchResult, w: _Writer, t: dict[str, str]) -> None:
    ws = w.sheet(t["sheet_quality"])
    days = result.spec.rules.checks.quality_followup_days
    headers = [t["rep"], t["files"], t["customers"], t["rows"], t["errors"], t["warnings"], t["completeness"],
               t["followed_share"].format(days=days), t["score"]]
    rows: list[list[Cell]] = [[r.rep, r.files, r.customers, r.rows, r.errors, r.warnings, r.completeness,
                               r.followed_share, r.score if r.score is not None else "-"] for r in result.reps]
    w.table(ws, 1, headers, rows, {6: w.pct, 7: w.pct})
    w.text_note(ws, 0, t["score_formula"].format(days=days), len(headers))
    ws.freeze_panes(2, 0)


def _fix_first(result: BatchResult, w: _Writer, t: dict[str, str]) -> None:
    ws = w.sheet(t["sheet_fix"])
    spec, lang = result.spec, result.lang
    sev = spec.texts("severity", lang)
    top = 0
    for item in result.fix_first():
        ws.write_string(top, 0, item.rep, w.title)
        rows: list[list[Cell]] = [[spec.rule(p.rule).title(lang) if p.rule in spec.checks else p.rule,
                                   sev[p.severity], p.count] for p in item.problems]
        end_a = w.table(ws, top + 1, [t["fix_rules"], t["severity"], t["count_n"]], rows, autofilter=False)
        rows = [[c.customer_id, c.name, c.file, c.errors, c.warnings] for c in item.customers]
        end_b = w.table(ws, top + 1, [t["fix_customers"], t["name"], t["file"], t["errors"], t["warnings"]], rows,
                        autofilter=False, left=4) if rows else end_a
        top = max(end_a, end_b) + 1
    if top == 0:
        w.put(ws, 0, 0, t["none"])


def _distribution_sheet(result: BatchResult, w: _Writer, t: dict[str, str]) -> None:
    """Per dimension: label, customers, 年交易额, share; a native chart of the amounts beside it.

    The rep block adds the churn-risk customers and amount of each rep.
    """
    ws = w.sheet(t["sheet_dist"])
    name = ws.name
    money = {m.rep: m for m in result.rep_money()}
    top = 0
    for b in result.breakdowns():
        headers = [t[f"dim_{b.dim}"], t["count"], t["amount"], t["share"]]
        rows: list[list[Cell]] = [[result.label(b.dim, s.label), s.count, s.amount, s.share] for s in b.rows]
        if b.dim == "rep":
            headers += [t["churn_customers"], t["churn_amount"]]
            for row, s in zip(rows, b.rows, strict=True):
                m = money.get(s.label)
                row += [m.churn_customers if m else 0, m.churn_amount if m else 0.0]
        fmts = {2: w.num, 3: w.pct, 5: w.num}
        end = w.table(ws, top, headers, rows, fmts, autofilter=False)
        total: list[Cell] = [t["total_row"], sum(s.count for s in b.rows), round(sum(s.amount for s in b.rows), 6),
                             1.0 if any(s.amount for s in b.rows) else 0.0]
        if b.dim == "rep":
            total += [sum(m.churn_customers for m in money.values()), round(sum(m.churn_amount for m in money.values()), 6)]
        kinds = {2: "num", 3: "pct", 5: "num"}
        for j, v in enumerate(total):
            w.put(ws, end, j, v, w.total[kinds.get(j)])
        if b.rows:
            _chart(w, ws, name, b, top, t)
        top = max(end + 2, top + 16)


def _chart(w: _Writer, ws: Worksheet, name: str, b: Breakdown, top: int, t: dict[str, str]) -> None:
    pie = b.dim in ("region", "abc_class")
    chart = w.wb.add_chart({"type": "pie" if pie else "bar"})
    chart.add_series({
        "name": t["amount"],
        "categories": [name, top + 1, 0, top + len(b.rows), 0],
        "values": [name, top + 1, 2, top + len(b.rows), 2],
        "data_labels": {"value": True, "percentage": pie, "num_format": "#,##0.0"} if not pie
        else {"percentage": True, "category": True, "leader_lines": True},
    })
    chart.set_title({"name": t["amount_chart"].format(dim=t[f"dim_{b.dim}"]), "name_font": {"size": 11}})
    if not pie:
        chart.set_legend({"none": True})
        chart.set_y_axis({"reverse": True})
        chart.set_x_axis({"min": 0, "num_format": "#,##0"})
    else:
        chart.set_legend({"position": "right"})
    chart.set_size({"width": 520, "height": max(280, 40 + 22 * len(b.rows))})
    ws.insert_chart(top, 7, chart)


def _duplicates(result: BatchResult, w: _Writer, t: dict[str, str]) -> None:
    ws = w.sheet(t["sheet_dups"])
    rows: list[list[Cell]] = [[t[f"basis_{d.basis}"], d.key, d.name_a, d.file_a, d.owner_a, d.customer_id_a,
                               d.name_b, d.file_b, d.owner_b, d.customer_id_b] for d in result.duplicates]
    nxt = w.table(ws, 0, [t["basis"], t["key"], t["name_a"], t["file_a"], t["owner_a"], t["id_a"], t["name_b"],
                          t["file_b"], t["owner_b"], t["id_b"]], rows)
    if not rows:
        w.put(ws, nxt, 0, t["no_dups"], w.note)
    ws.freeze_panes(1, 0)


def _files(result: BatchResult, w: _Writer, t: dict[str, str]) -> None:
    """文件清单: every file under the folder, its status, why, its owner and its annotated copy."""
    ws = w.sheet(t["sheet_files"])
    headers = [t["file"], t["status"], t["reason"], t["rep"], t["customers"], t["errors"], t["copy"]]
    rows: list[list[Cell]] = []
    for e in result.entries:
        processed = e.status is Status.PROCESSED
        rows.append([e.file, result.status_label(e.status), e.reason, e.owner,
                     e.customers if processed else None, e.errors if processed else None, None])
    w.table(ws, 0, headers, rows)
    for i, e in enumerate(result.entries, start=1):
        if e.output:
            w.link(ws, i, 6, f"external:{e.output}", e.output)
    ws.freeze_panes(1, 0)


def _mom_sheet(result: BatchResult, w: _Writer, t: dict[str, str]) -> None:
    mom = result.month_over_month
    assert mom is not None
    ws = w.sheet(t["sheet_mom"])
    ws.write_string(0, 0, f"{t['previous_as_of']} {mom.previous_as_of or '-'} → {t['as_of']} {result.as_of.isoformat()}",
                    w.title)
    top = 2
    ws.write_string(top, 0, t["mom_amounts"], w.title)
    amounts = [*mom.amounts, *([mom.department] if mom.department else [])]
    rows: list[list[Cell]] = [[a.rep or t["department"], a.old, a.new, a.delta] for a in amounts]
    top = w.table(ws, top + 1, [t["rep"], t["old_amount"], t["new_amount"], t["delta"]], rows,
                  {1: w.num, 2: w.num, 3: w.num}, autofilter=False) + 1
    field_names = {"value_tier": t["value_tier_f"], "abc_class": t["abc_class_f"], "stage": t["stage_f"]}
    ws.write_string(top, 0, t["mom_changes"], w.title)
    rows = [[ch.customer_id, ch.name, ch.file, ch.owner, field_names.get(ch.field, ch.field),
             result.label(ch.field, ch.old), result.label(ch.field, ch.new)] for ch in mom.changes]
    top = w.table(ws, top + 1, [t["customer_id"], t["name"], t["file"], t["owner"], t["field"], t["old"], t["new"]],
                  rows, autofilter=False) + 1
    for key, items in (("mom_new", mom.new), ("mom_gone", mom.gone)):
        ws.write_string(top, 0, t[key], w.title)
        rows = [[c.customer_id, c.name, c.file, c.owner] for c in items]
        top = w.table(ws, top + 1, [t["customer_id"], t["name"], t["file"], t["owner"]], rows, autofilter=False) + 1
    ws.write_string(top, 0, t["mom_reps"], w.title)
    rows = [[r.rep, r.old, r.new, r.delta] for r in mom.reps]
    w.table(ws, top + 1, [t["rep"], t["old_score"], t["new_score"], t["delta"]], rows, autofilter=False)
