"""`khbook template`: write the blank customer workbook a new hire gets.

Written with XlsxWriter (it produces the most Excel-faithful files of the Python writers):
an instructions sheet, the spec's data sheets with one data validation per column range,
marked headers, frozen header row and filters, a hidden lists sheet whose columns are the
dropdown sources (one workbook-level defined name per list) and optional example rows.

The output is deterministic (fixed document dates, XlsxWriter's fixed zip timestamps) so
the golden tests can compare it part by part. :func:`build_workbook` fills an open
XlsxWriter workbook and returns where everything went, so a macro-enabled variant (VBA
project plus a button) can reuse it unchanged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.exceptions import FileCreateError
from xlsxwriter.format import Format
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from khbook.base.errors import Hint, KhbookError, WorkbookError
from khbook.base.excel import MARK_COLOURS
from khbook.base.fsutil import atomic_output, workbook_suffix
from khbook.base.textwidth import LINE_HEIGHT, line_count
from khbook.read.docprops import SPEC_VERSION_PROPERTY
from khbook.spec import LANGS, Column, Sheet, Spec
from khbook.template.instructions import instruction_lines
from khbook.template.styles import DATA_STYLE, HEADER_STYLE, column_state
from khbook.template.validation import (
    DataRange,
    check_defined_name,
    check_lists,
    check_sheet_names,
    range_ref,
    reference_name,
    rule_kind,
    validation,
)

# fixed document dates: the same spec gives byte-identical files
DOC_CREATED = dt.datetime(2024, 1, 1, 0, 0, 0)
WORKBOOK_OPTIONS = {"strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False}

# what a rep may still do on a protected data sheet: filter, sort, resize, add and remove rows
PROTECT_OPTIONS = {"autofilter": True, "sort": True, "format_columns": True, "format_rows": True,
                   "insert_rows": True, "delete_rows": True}
_NUM_FORMAT = {"id": "@", "uscc": "@", "phone": "@", "date": "yyyy-mm-dd", "amount": "#,##0.00", "integer": "0"}


@dataclass
class SheetLayout:
    """Where a data sheet went: its worksheet and the 0-based column of each field."""

    worksheet: Worksheet
    columns: dict[str, int]
    formats: dict[str, Format | None] = field(default_factory=dict)  # field -> its column's cell format


@dataclass
class TemplateLayout:
    """What build_workbook wrote, for callers that add to it (e.g. a VBA button)."""

    instructions: Worksheet
    lists: Worksheet
    sheets: dict[str, SheetLayout] = field(default_factory=dict)
    defined_names: dict[str, str] = field(default_factory=dict)


class _Formats:
    """Cell formats, created once per workbook."""

    def __init__(self, wb: Workbook, spec: Spec) -> None:
        self.wb = wb
        self.protection = spec.protection
        self._cache: dict[tuple[str, str, bool], Format] = {}
        base = {"bold": True, "border": 1, "border_color": "#8EA9DB", "align": "center", "valign": "vcenter", "text_wrap": True}
        self.header = {state: wb.add_format(base | style) for state, style in HEADER_STYLE.items()}
        self.title = wb.add_format({"bold": True, "font_size": 14, "font_color": "#1F3864"})
        self.heading = wb.add_format({"bold": True, "font_size": 11, "bg_color": "#DDEBF7", "font_color": "#1F3864"})
        self.body = wb.add_format({"text_wrap": True, "valign": "top"})
        self.list_header = wb.add_format({"bold": True, "bg_color": "#EDEDED"})
        self.duplicate = wb.add_format({"bg_color": "#" + MARK_COLOURS["error"], "font_color": "#9C0006"})
        self.missing_id = wb.add_format({"bg_color": "#FFEB9C"})

    def column(self, col: Column) -> Format | None:
        state = column_state(col) if column_state(col) in DATA_STYLE else ""
        unlocked = self.protection.enabled and not (col.computed and self.protection.lock_computed)
        key = (col.type, state, unlocked)
        props: dict[str, Any] = dict(DATA_STYLE.get(state, {}))
        if col.type in _NUM_FORMAT:
            props["num_format"] = _NUM_FORMAT[col.type]
        if unlocked:
            props["locked"] = False  # data cells stay editable on the protected sheet
        if not props:
            return None
        if key not in self._cache:
            self._cache[key] = self.wb.add_format(props)
        return self._cache[key]




def header_text(col: Column, lang: str) -> str:
    """The header as written: required columns end in `*` (the reader strips it)."""
    return col.header(lang) + ("*" if col.required and not col.computed else "")


# --------------------------------------------------------------------------- sheets


INSTRUCTIONS_WIDTH = 90  # characters: fits a landscape page at 100 % in Excel and LibreOffice


def _write_instructions(ws: Worksheet, spec: Spec, lang: str, fmt: _Formats) -> None:
    ws.set_column(0, 0, INSTRUCTIONS_WIDTH, fmt.body)
    ws.hide_gridlines(2)
    ws.set_landscape()  # printed: the text column fits the page width
    ws.fit_to_pages(1, 0)
    for row, line in enumerate(instruction_lines(spec, lang)):
        lines = line_count(line, INSTRUCTIONS_WIDTH)
        if lines > 1:  # a wrapped line gets the height it needs (no application autofits it)
            ws.set_row(row, LINE_HEIGHT * lines)
        if line.startswith("## "):
            ws.write_string(row, 0, line[3:], fmt.heading)
        elif line.startswith("# "):
            ws.write_string(row, 0, line[2:], fmt.title)
        elif line:
            ws.write_string(row, 0, line, fmt.body)


def _write_lists(ws: Worksheet, spec: Spec, lang: str, fmt: _Formats) -> dict[str, str]:
    """One column per list; returns defined name -> reference."""
    names: dict[str, str] = {}
    for c, vl in enumerate(spec.lists.values()):
        labels = vl.labels(lang)
        ws.set_column(c, c, max(12, min(40, max(len(x) for x in labels) * 2)))
        ws.write_string(0, c, vl.name, fmt.list_header)
        for r, label in enumerate(labels, start=1):
            ws.write_string(r, c, label)
        letter = xl_col_to_name(c)
        names[vl.range_name] = range_ref(ws.get_name(), f"${letter}$2:${letter}${len(labels) + 1}")
    ws.hide()
    if spec.protection.enabled:
        ws.protect(spec.protection.password)
    return names


def _write_headers(ws: Worksheet, sheet: Sheet, lang: str, fmt: _Formats, rows: DataRange) -> None:
    hr = rows.first - 1
    for i, col in enumerate(sheet.columns):
        ws.set_column(i, i, col.width, fmt.column(col))
        ws.write_string(hr, i, header_text(col, lang), fmt.header[column_state(col)])
    ws.set_row(hr, 30)
    ws.freeze_panes(rows.first, 0)
    ws.autofilter(hr, 0, rows.last, len(sheet.columns) - 1)


def _unique_id_highlights(ws: Worksheet, index: int, ncols: int, rows: DataRange, fmt: _Formats) -> None:
    """Duplicates in red; a row with data but no ID in yellow (a blank cell passes validation)."""
    rng = rows.a1(index, absolute=False)
    ws.conditional_format(rng, {"type": "duplicate", "format": fmt.duplicate})
    r = rows.first + 1
    cell = f"${xl_col_to_name(index)}{r}"
    row_span = f"$A{r}:${xl_col_to_name(ncols - 1)}{r}"
    ws.conditional_format(rng, {"type": "formula", "criteria": f"=AND(LEN(TRIM({cell}))=0,COUNTA({row_span})>0)",
                                "format": fmt.missing_id})


def _write_data_sheet(wb: Workbook, spec: Spec, sheet: Sheet, lang: str, fmt: _Formats, rows: DataRange) -> SheetLayout:
    ws = wb.add_worksheet(sheet.name(lang))
    _write_headers(ws, sheet, lang, fmt, rows)
    for i, col in enumerate(sheet.columns):
        ws.data_validation(rows.first, i, rows.last, i, validation(spec, sheet, i, lang, rows))
        if rule_kind(col) == "unique":
            _unique_id_highlights(ws, i, len(sheet.columns), rows, fmt)
    if spec.protection.enabled:
        ws.protect(spec.protection.password, PROTECT_OPTIONS)
    return SheetLayout(ws, {c.key: i for i, c in enumerate(sheet.columns)}, {c.key: fmt.column(c) for c in sheet.columns})


def _reference_names(spec: Spec, layout: TemplateLayout, rows: DataRange) -> dict[str, str]:
    """One defined name per referenced column (e.g. customer_ids), for the foreign-key dropdowns."""
    names: dict[str, str] = {}
    for sheet in spec.sheets:
        for col in sheet.columns:
            if not col.references:
                continue
            tsheet, tcol = col.references.split(".")
            target = layout.sheets[tsheet]
            name = check_defined_name(spec, reference_name(col.references), f"{sheet.key}.{col.key}.references")
            names[name] = range_ref(target.worksheet.get_name(), rows.a1(target.columns[tcol]))
    return names


# --------------------------------------------------------------------------- examples


def _write_value(ws: Worksheet, row: int, col: int, value: Any, fmt: Format | None = None) -> None:
    if isinstance(value, dt.datetime | dt.date):
        ws.write_datetime(row, col, value if isinstance(value, dt.datetime) else dt.datetime(value.year, value.month, value.day), fmt)
    elif isinstance(value, bool):
        ws.write_string(row, col, str(value), fmt)
    elif isinstance(value, int | float | Decimal):
        ws.write_number(row, col, float(value), fmt)
    else:
        ws.write_string(row, col, str(value), fmt)


def _write_records(layout: TemplateLayout, records: dict[str, list[dict[str, Any]]], rows: DataRange) -> None:
    for key, recs in records.items():
        if len(recs) > rows.last - rows.first + 1:
            raise KhbookError(f"too many example rows for sheet {key}: {len(recs)}")
        target = layout.sheets[key]
        for r, rec in enumerate(recs, start=rows.first):
            for field_key, value in rec.items():
                if value is not None and value != "" and field_key in target.columns:
                    _write_value(target.worksheet, r, target.columns[field_key], value, target.formats.get(field_key))


# --------------------------------------------------------------------------- workbook


def check_spec(spec: Spec, lang: str) -> None:
    """Refuse (SpecError) a spec that would break one of Excel's limits, before writing anything."""
    check_sheet_names(spec, lang)
    check_lists(spec, lang)
    rows = DataRange.of(spec)
    for sheet in spec.sheets:
        for i in range(len(sheet.columns)):
            validation(spec, sheet, i, lang, rows)


def build_workbook(wb: Workbook, spec: Spec, *, lang: str = "zh",
                   records: dict[str, list[dict[str, Any]]] | None = None) -> TemplateLayout:
    """Fill an open XlsxWriter workbook with the template; returns where things went."""
    check_spec(spec, lang)
    rows = DataRange.of(spec)
    fmt = _Formats(wb, spec)
    wb.set_properties({"title": spec.text("words.workbook_title", lang), "author": "khbook", "comments": "khbook template",
                       "created": DOC_CREATED})
    wb.set_custom_property(SPEC_VERSION_PROPERTY, int(spec.version))
    instructions = wb.add_worksheet(spec.instructions_sheet(lang))
    _write_instructions(instructions, spec, lang, fmt)
    sheets = {s.key: _write_data_sheet(wb, spec, s, lang, fmt, rows) for s in spec.sheets}
    lists_ws = wb.add_worksheet(spec.lists_sheet(lang))
    layout = TemplateLayout(instructions, lists_ws, sheets)
    layout.defined_names = _write_lists(lists_ws, spec, lang, fmt) | _reference_names(spec, layout, rows)
    for name, ref in layout.defined_names.items():
        wb.define_name(name, ref)
    _write_records(layout, records or {}, rows)
    instructions.activate()
    return layout


def write_template(spec: Spec, path: str | Path, *, lang: str = "zh", examples: int = 0,
                   macro: bool = False, as_of: dt.date | None = None,
                   xlwings_conf: Mapping[str, str] | None = None) -> Path:
    """Write the template workbook to `path` (atomically); `examples` fake customers when > 0.

    With ``macro``: an .xlsm with xlwings' VBA project and a 刷新分类 button on the
    instructions sheet and the first data sheet, plus the companion ``<stem>.py`` beside it
    (see :mod:`khbook.template.macro`); ``xlwings_conf`` adds xlwings' settings sheet
    (e.g. ``{"Interpreter_Win": ...}``, :func:`khbook.template.macro.add_xlwings_conf`). The
    extension follows the content (.xlsm with ``macro``, else .xlsx, see
    :func:`khbook.base.fsutil.workbook_suffix`): returns the path written. The button writes the
    computed columns into the open book, so a macro workbook is written without sheet protection.
    """
    path = workbook_suffix(path, "xlsm" if macro else "xlsx")
    companion = _macro_preflight(path) if macro else None
    if macro and spec.protection.enabled:
        spec = replace(spec, protection=replace(spec.protection, enabled=False))
    if lang not in LANGS:
        raise KhbookError(f"unknown language {lang!r}; use one of {', '.join(LANGS)}")
    if examples < 0:
        raise KhbookError("--examples must be 0 or more")
    check_spec(spec, lang)
    records: dict[str, list[dict[str, Any]]] = {}
    if examples:
        from khbook.template.examples import example_records

        records = example_records(spec, examples, as_of=as_of or dt.date.today(), lang=lang)
    target = Path(path)
    with atomic_output(target) as tmp:
        wb = xlsxwriter.Workbook(str(tmp), WORKBOOK_OPTIONS)
        try:
            layout = build_workbook(wb, spec, lang=lang, records=records)
            if companion is not None:
                _add_macro_buttons(wb, layout, spec, lang, companion.name)
                if xlwings_conf:
                    from khbook.template.macro import add_xlwings_conf

                    add_xlwings_conf(wb, xlwings_conf)
        finally:
            _close(wb, target)
    if companion is not None:
        from khbook.template.macro import companion_py

        with atomic_output(companion) as tmp:
            tmp.write_text(companion_py(target.stem), encoding="utf-8")
    return target


# --------------------------------------------------------------------------- --macro
def template_output(output: str | Path | None, *, macro: bool, default_stem: str) -> tuple[Path, str]:
    """The template's output path and, when the given name had to change, its old suffix.

    The template is an .xlsx workbook (.xlsm with `macro`): ``-o 模板.xls`` (or any other
    extension) becomes ``模板.xlsx``, and the caller says so; no output gives ``default_stem``.
    """
    suffix = ".xlsm" if macro else ".xlsx"
    if not output:
        return Path(default_stem + suffix), ""
    path = Path(output)
    if path.suffix.lower() == suffix:
        return path, ""
    old = path.suffix
    return (path.with_suffix(suffix) if old else path.with_name(path.name + suffix)), old or path.name


def _macro_preflight(target: Path) -> Path:
    """Refuse a --macro output that cannot work, before writing anything; returns the
    companion module's path."""
    from khbook.template.macro import MacroUnavailable, companion_name, vba_project_bin

    try:
        name = companion_name(target)
        vba_project_bin()
    except (MacroUnavailable, ValueError) as exc:
        raise WorkbookError(str(target), f"cannot write a macro workbook: {exc}", code="macro_unavailable",
                            params={"detail": str(exc)}) from None
    return target.with_name(name)


def _add_macro_buttons(wb: Workbook, layout: TemplateLayout, spec: Spec, lang: str, py: str) -> None:
    """The 刷新分类 buttons (instructions sheet: right of the text; first data sheet: in the
    frozen header row, right of the last column) and the set-up lines on the instructions sheet."""
    from khbook.template.macro import add_refresh_button, xlwings_version

    label = spec.text("words.button", lang)
    add_refresh_button(wb, layout.instructions, cell="B2", label=label)
    first = layout.sheets[spec.sheets[0].key]
    ncols = len(spec.sheets[0].columns)
    header_row = DataRange.of(spec).first  # 1-based row of the header
    add_refresh_button(wb, first.worksheet, cell=f"{xl_col_to_name(ncols + 1)}{header_row}", y_offset=6, label=label)
    row = len(instruction_lines(spec, lang)) + 1
    heading = wb.add_format({"bold": True, "font_size": 11, "bg_color": "#DDEBF7", "font_color": "#1F3864"})
    names = {k: spec.output_sheets[k](lang) for k in ("findings", "summary", "changelog")}
    for i, key in enumerate(("heading", "click", "needs", "origin")):
        text = spec.text(f"macro_text.{key}", lang).format(py=py, version=xlwings_version(), button=label, **names)
        layout.instructions.write_string(row + i, 0, text, *([heading] if key == "heading" else []))


def _close(wb: Workbook, target: Path) -> None:
    try:
        wb.close()
    except FileCreateError as exc:
        raise WorkbookError(str(target), f"cannot write: {exc}", Hint("check_output", "check the output folder and run again"),
                            code="unwritable", params={"reason": str(exc)}) from None
