"""What a batch worker renders of its own book for the consolidated outputs.

The two big sheets of 汇总.xlsx (客户总表, 全部问题) and the customer list of batch.json hold
one line per customer or finding of every book. Rendering them was most of a batch's serial
tail, and all of it but one cell per customer is a function of one book. So each worker
renders its own book's lines (:func:`render`), in parallel with the other books, and the main
process only numbers and stitches them (:mod:`khbook.batch.workbook`,
:meth:`khbook.batch.result.BatchResult.json_text`).

Sheet rows are SpreadsheetML ``<row>`` elements with inline strings, escaped as XlsxWriter
escapes them (its ``constant_memory`` mode writes the same), with :data:`ROW` where the row
number goes and :data:`SLOT` where the main process puts the one cell that needs the whole
department (the department's ABC class). Cell formats are XlsxWriter formats created in the
order of :data:`FORMATS` (:data:`XF` is their index). Column widths are measured here: the
widest text of each column, capped at :data:`MAX_WIDTH` (a CJK character counts two); a text
wider than that wraps and its row is made tall enough for its lines.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from khbook.base.excel import quote_sheet
from khbook.base.textwidth import display_width
from khbook.batch.records import CustomerRow, FileParts, FindingRow
from khbook.spec import Spec

Cell = str | int | float | bool | None

ROW = "\x00"            # the row number (a control character: never left in escaped text)
SLOT = "\x01"           # a cell the main process fills in
MAX_WIDTH = 60          # characters; longer text wraps
MAX_ROWS = 1_048_576    # Excel's rows per sheet

_TOTAL = {"bold": True, "bg_color": "#F2F2F2", "top": 1}
FORMATS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("head", {"bold": True, "bg_color": "#DDEBF7", "border": 1, "valign": "top"}),
    ("note", {"italic": True, "font_color": "#595959", "text_wrap": True, "valign": "top"}),
    ("wrap", {"text_wrap": True, "valign": "top"}),
    ("top", {"valign": "top"}),
    ("pct", {"num_format": "0.0%", "valign": "top"}),
    ("num", {"num_format": "#,##0.00", "valign": "top"}),
    ("title", {"bold": True, "font_size": 12}),
    ("total", _TOTAL),
    ("total_num", {**_TOTAL, "num_format": "#,##0.00"}),
    ("total_pct", {**_TOTAL, "num_format": "0.0%"}),
    ("link", {"font_color": "#0563C1", "underline": 1, "valign": "top"}),
)
XF = {name: i + 1 for i, (name, _) in enumerate(FORMATS)}   # XlsxWriter's xf index (0 = the default)

CUSTOMER_ABC = 10       # the column of the department's ABC class in 客户总表
FINDING_CELL = 3        # the column of a finding's cell in 全部问题 (a link to the annotated copy)
COLUMNS = [chr(65 + i) for i in range(26)]

_CONTROL_1 = re.compile("(_x[0-9a-fA-F]{4}_)")
_CONTROL_2 = re.compile(r"([\x00-\x08\x0b-\x1f])")
_ESCAPES = re.compile('["&<>\n]')
_SPACE = re.compile(r"^\s|\s$")
JSON_ABC = '\n   "abc_class": "\\u0001"'   # where a customer's department class goes in its batch.json text


def escape_text(text: str) -> str:
    """A cell text as XlsxWriter writes it: control characters as _xHHHH_, then &, < and > escaped."""
    if "_x" in text:
        text = _CONTROL_1.sub(r"_x005F\1", text)
    if not text.isprintable():
        text = _CONTROL_2.sub(lambda m: f"_x{ord(m.group(1)):04X}_", text)
        text = text.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")
    if _ESCAPES.search(text):
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text


def escape_attr(text: str) -> str:
    """An attribute value as XlsxWriter writes it."""
    if not _ESCAPES.search(text):
        return text
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;").replace("\n", "&#xA;")


def _truncate(text: str) -> str:
    """Excel's limit of 32,767 UTF-16 units per cell (XlsxWriter truncates the same way)."""
    if len(text) <= 16383:
        return text
    data = text.encode("utf-16-le")
    if len(data) <= 65534:
        return text
    return data[:65534].decode("utf-16-le", errors="ignore")


def string_cell(col: int, text: str, xf: int) -> str:
    """``<c>`` with an inline string (ROW for the row number)."""
    text = escape_text(_truncate(text))
    space = ' xml:space="preserve"' if _SPACE.search(text) else ""
    style = f' s="{xf}"' if xf else ""
    return f'<c r="{COLUMNS[col]}{ROW}"{style} t="inlineStr"><is><t{space}>{text}</t></is></c>'


def number_cell(col: int, value: float, xf: int) -> str:
    style = f' s="{xf}"' if xf else ""
    return f'<c r="{COLUMNS[col]}{ROW}"{style}><v>{value:.16G}</v></c>'


def row_open(lines: int) -> str:
    """``<row>``: a row holding wrapped text is tall enough for its lines, its other cells at the top."""
    if lines <= 1:
        return f'<row r="{ROW}">'
    height = int((15 * lines + 3) * 4.0 / 3.0 + 0.5) * 0.75
    return f'<row r="{ROW}" s="{XF["top"]}" customFormat="1" ht="{height:.16g}" customHeight="1">'


@dataclass
class SheetRows:
    """Rows of one sheet of one book: ``<row>`` texts and the widest text of each column."""

    rows: list[str] = field(default_factory=list)
    widths: dict[int, int] = field(default_factory=dict)

    def grow(self, col: int, text: str, extra: int = 0) -> None:
        now = self.widths.get(col, 0)
        if now >= MAX_WIDTH or 2 * len(text) + extra <= now:
            return  # cannot widen the column (a character is at most two wide): skip the measuring
        self.widths[col] = max(now, min(MAX_WIDTH, display_width(text) + extra))

    def cells(self, values: Sequence[Cell], formats: dict[int, str], yes: str, no: str,
              slot: int | None = None) -> tuple[list[tuple[int, str | None, str | float]], int]:
        """The non-blank cells of a row as (column, format, value) and the lines its tallest text needs."""
        out: list[tuple[int, str | None, str | float]] = []
        lines = 1
        for c, v in enumerate(values):
            if v is None or v == "" or c == slot:
                continue
            fmt = formats.get(c)
            if isinstance(v, bool):
                text = yes if v else no
                out.append((c, fmt, text))
            elif isinstance(v, (int, float)):
                out.append((c, fmt, v))
                text = f"{v:,.2f}" if fmt == "num" else f"{v:.1%}" if fmt == "pct" else f"{v:g}"
            else:
                text = str(v)
                if fmt is None and 2 * len(text) > MAX_WIDTH and (w := display_width(text)) > MAX_WIDTH:
                    fmt = "wrap"
                    lines = max(lines, -(-w // MAX_WIDTH))
                out.append((c, fmt, text))
            self.grow(c, text)
        return out, lines

    @staticmethod
    def render(cells: list[tuple[int, str | None, str | float]], lines: int) -> list[str]:
        """The cells' XML (a cell without a format of a tall row takes the row's format, as in Excel)."""
        plain = XF["top"] if lines > 1 else 0
        return [string_cell(c, v, XF[fmt] if fmt else plain) if isinstance(v, str)
                else number_cell(c, v, XF[fmt] if fmt else plain) for c, fmt, v in cells]


class Labels:
    """Canonical list labels in one language, remembered (a book repeats a few labels many times)."""

    def __init__(self, spec: Spec, lang: str) -> None:
        self.spec, self.lang = spec, lang
        self._seen: dict[tuple[str, str | None], str | None] = {}
        self._tags: dict[str, str] = {}

    def __call__(self, dim: str, value: str | None) -> str | None:
        key = (dim, value)
        if key not in self._seen:
            self._seen[key] = label(self.spec, self.lang, dim, value)
        return self._seen[key]

    def tags(self, tags: Sequence[str] | None) -> list[str]:
        out = []
        for t in tags or ():
            if t not in self._tags:
                self._tags[t] = self.spec.label("status_tag", t, self.lang)
            out.append(self._tags[t])
        return out


def label(spec: Spec, lang: str, dim: str, value: str | None) -> str | None:
    """A canonical list label in `lang` (other values as they are)."""
    ln = spec.result_list(dim)
    if not value or ln is None or ln not in spec.lists:
        return value
    if value == spec.rules.value_tier.unknown and spec.lists[ln].canonical(value) is None:
        ln = "value_tier"   # the blank bucket of a breakdown
    return spec.label(ln, value, lang)


def json_item(d: dict[str, Any]) -> str:
    """An object of a list of batch.json, as ``json.dumps(..., indent=1)`` writes it there (two levels deep)."""
    return json.dumps(d, ensure_ascii=False, indent=1).replace("\n", "\n  ")


def customer_json(c: CustomerRow, labels: Labels) -> str:
    """One customer's object of batch.json's ``customers``, as ``json.dumps(..., indent=1)`` writes it
    there (two levels deep), with :data:`JSON_ABC` for the department's ABC class."""
    d = {"customer_id": c.customer_id, "name": c.name, "file": c.file, "owner": c.owner, "rep": c.rep,
         "annual_amount": c.annual_amount, "value_tier": labels("value_tier", c.value_tier),
         "abc_class": "\x01", "abc_class_file": labels("abc_class", c.abc_class_file),
         "stage": labels("stage", c.stage), "tags": labels.tags(c.tags),
         "region": labels("region", c.region), "industry": labels("industry", c.industry)}
    return json_item(d)


def render(customers: Sequence[CustomerRow], findings: Sequence[FindingRow], output: str | None,
           spec: Spec, lang: str, *, churn: Sequence[str], credit: Callable[[str], str] | None = None) -> FileParts:
    """One book's rows of 客户总表 and 全部问题 and its customers' batch.json text (reps set, findings
    masked if they are to be) and its items of batch.json's lists; `churn`: the churn stages;
    `credit` masks the credit codes shown."""
    labels = Labels(spec, lang)
    t = spec.texts("batch", lang)
    yes, no = spec.lists["yes_no"].labels(lang)[:2]
    sep = t["tag_sep"]
    cust = SheetRows()
    tall: set[int] = set()
    for i, c in enumerate(customers):
        values: list[Cell] = [
            c.file, c.rep, c.owner, c.customer_id, c.name,
            credit(c.credit_code) if credit and c.credit_code else c.credit_code, labels("industry", c.industry),
            labels("region", c.region), c.annual_amount, labels("value_tier", c.value_tier), None,
            labels("abc_class", c.abc_class_file), labels("stage", c.stage), sep.join(labels.tags(c.tags)),
            c.last_followup]
        cells, lines = cust.cells(values, {8: "num"}, yes, no)
        if lines > 1:
            tall.add(i)
        xml = SheetRows.render(cells, lines)
        xml.insert(sum(1 for cc in cells if cc[0] < CUSTOMER_ABC), SLOT)
        cust.rows.append(row_open(lines) + "".join(xml) + "</row>")
    sev = spec.texts("severity", lang)
    titles: dict[str, str] = {}
    fnd = SheetRows()
    links: list[tuple[int, str, str, str, str]] = []
    for i, f in enumerate(findings):
        if f.rule not in titles:
            titles[f.rule] = spec.rule(f.rule).title(lang) if f.rule in spec.checks else f.rule
        linked = bool(output and f.cell and f.cell != "-" and f.sheet)
        values = [f.file, f.rep, f.sheet, None if linked else f.cell, f.customer_id, sev[f.severity], titles[f.rule],
                  f.column, f.value, f.message]
        cells, lines = fnd.cells(values, {}, yes, no)
        xml = SheetRows.render(cells, lines)
        if linked:
            assert f.cell is not None and f.sheet is not None
            fnd.grow(FINDING_CELL, f.cell)
            link = string_cell(FINDING_CELL, f.cell, XF["link"])
            plain = string_cell(FINDING_CELL, f.cell, XF["top"] if lines > 1 else 0)
            xml.insert(sum(1 for cc in cells if cc[0] < FINDING_CELL), link)
            links.append((i, *external_link(f"external:{output}#{quote_sheet(f.sheet)}!{f.cell}"), link, plain))
        fnd.rows.append(row_open(lines) + "".join(xml) + "</row>")
    churned = [json_item({"customer_id": c.customer_id, "name": c.name, "file": c.file, "owner": c.owner, "rep": c.rep,
                          "annual_amount": c.annual_amount, "stage": labels("stage", c.stage)})
               for c in customers if c.stage in churn]
    overdue = [json_item({"file": f.file, "rep": f.rep, "sheet": f.sheet, "cell": f.cell, "customer_id": f.customer_id,
                          "value": f.value, "message": f.message}) for f in findings if f.rule == "overdue_followup"]
    return FileParts(cust.rows, cust.widths, tall, fnd.rows, fnd.widths, links,
                     ",\n  ".join(customer_json(c, labels) for c in customers).split(JSON_ABC), churned, overdue)


def external_link(url: str) -> tuple[str, str]:
    """(relationship target, location) of a link ``external:FILE#LOCATION``, both escaped for an
    XML attribute, as XlsxWriter's ``write_url`` makes them."""
    path = url.replace("external:", "", 1).replace("file://", "", 1).replace("/", "\\")
    if path.startswith("\\\\") or (path[:1].isalpha() and path[1:2] == ":"):
        path = "file:///" + path      # an absolute path
    target, _, location = path.partition("#")
    if not re.search("%[0-9a-fA-F]{2}", target):
        for a, b in (("%", "%25"), ('"', "%22"), (" ", "%20"), ("<", "%3c"), (">", "%3e"), ("[", "%5b"),
                     ("]", "%5d"), ("^", "%5e"), ("`", "%60"), ("{", "%7b"), ("}", "%7d")):
            target = target.replace(a, b)
    if target.startswith(".\\"):
        target = target[2:]
    return escape_attr(target), escape_attr(location)
