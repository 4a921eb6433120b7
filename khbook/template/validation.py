"""Data-validation rules of the template, and the Excel limits the spec must respect.

One function turns a spec column into the XlsxWriter ``data_validation`` options for its
whole data range (one rule per column, never per cell). Every text that ends up in the
file is measured the way Excel measures it (UTF-16 units); a spec that would break one of
Excel's limits is refused with a :class:`SpecError` naming the spec file and key, because
Excel would otherwise drop the rule or refuse to open the file.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from xlsxwriter.utility import quote_sheetname, xl_col_to_name

from khbook.base.errors import SpecError
from khbook.base.excel import valid_sheet_name
from khbook.spec import Column, Sheet, Spec, utf16_len

TITLE_MAX = 32        # input and error titles
PROMPT_MAX = 255      # input message
ERROR_MAX = 224       # error message (Excel silently truncates longer ones)
LIST_ITEM_MAX = 255   # one dropdown entry
DATE_MAX = dt.date(2099, 12, 31)
_NAME_OK = re.compile(r"^[A-Za-z_\\\u0080-\uffff][A-Za-z0-9_.?\\\u0080-\uffff]*$")
_A1 = re.compile(r"^\$?[A-Za-z]{1,3}\$?\d+$")
_R1C1 = re.compile(r"^[Rr](\d*)([Cc](\d*))?$|^[Cc]\d*$")

# the error title and message of each rule kind, the input-message additions: labels.yaml `template_text`


@dataclass(frozen=True)
class DataRange:
    """Rows (0-based, inclusive) a sheet's validations and formats cover."""

    first: int
    last: int

    @classmethod
    def of(cls, spec: Spec) -> DataRange:
        return cls(spec.header_row, spec.header_row + spec.data_rows - 1)

    def a1(self, col: int, *, absolute: bool = True) -> str:
        letter = xl_col_to_name(col)
        d = "$" if absolute else ""
        return f"{d}{letter}{d}{self.first + 1}:{d}{letter}{d}{self.last + 1}"


def _where(spec: Spec, sheet: Sheet, col: Column) -> tuple[str, str]:
    return str(spec.directory / "workbook.yaml"), f"sheets({sheet.key}).columns({col.key})"


def _limit(text: str, limit: int, file: str, key: str, what: str) -> str:
    n = utf16_len(text)
    if n > limit:
        raise SpecError(file, key, f"{what} would be {n} characters; Excel allows at most {limit}: shorten it")
    return text


def title(text: str) -> str:
    """A header as a validation title: Excel allows 32 characters, so long ones are cut."""
    return text if utf16_len(text) <= TITLE_MAX else text[: TITLE_MAX - 1] + "…"


def reference_name(references: str) -> str:
    """Workbook-level defined name for a referenced column, e.g. customers.customer_id -> customer_ids."""
    return references.split(".")[1] + "s"


def check_defined_name(spec: Spec, name: str, key: str) -> str:
    if not _NAME_OK.match(name) or _A1.match(name) or _R1C1.match(name) or len(name) > 255:
        raise SpecError(str(spec.directory / "lists.yaml"), key, f"{name!r} is not a valid Excel defined name")
    return name


def check_sheet_names(spec: Spec, lang: str) -> list[str]:
    """All sheet names of the template in `lang`, after Excel's naming rules."""
    file = str(spec.directory / "workbook.yaml")
    names = [(spec.instructions_sheet(lang), "instructions_sheet")]
    names += [(s.name(lang), f"sheets({s.key}).name.{lang}") for s in spec.sheets]
    names.append((spec.lists_sheet(lang), "lists_sheet"))
    seen: set[str] = set()
    for name, key in names:
        if not valid_sheet_name(name):
            raise SpecError(file, key, f"sheet name {name!r} breaks Excel's rules (1-31 characters, none of []:*?/\\)")
        if name.casefold() in seen:
            raise SpecError(file, key, f"sheet name {name!r} is used twice in the {lang} template")
        seen.add(name.casefold())
    return [n for n, _ in names]


def check_lists(spec: Spec, lang: str) -> None:
    file = str(spec.directory / "lists.yaml")
    for vl in spec.lists.values():
        check_defined_name(spec, vl.range_name, vl.name)
        for i, label in enumerate(vl.labels(lang)):
            _limit(label, LIST_ITEM_MAX, file, f"{vl.name}[{i}].{lang}", "this list item")


def prompt(spec: Spec, sheet: Sheet, col: Column, lang: str) -> str:
    """The input message: the column's help, the allowed values of a multi-select column,
    and for computed columns a note that khbook recomputes them."""
    file, key = _where(spec, sheet, col)
    help_text = _limit(col.help(lang), PROMPT_MAX, file, f"{key}.help.{lang}", "the help text")
    text = help_text
    if col.computed and "khbook" not in text:
        text += spec.text("template_text.recomputed", lang)
    if col.type == "multi" and not col.computed:
        vl = spec.list_for(col)
        assert vl is not None
        text += spec.text("template_text.allowed", lang) + spec.text("template_text.allowed_join", lang).join(vl.labels(lang))
        return _limit(text, PROMPT_MAX, str(spec.directory / "lists.yaml"), str(col.list),
                      f"the input message of multi-select column {sheet.key}.{col.key} ({lang}: help text plus every value of list {col.list!r})")
    return _limit(text, PROMPT_MAX, file, f"{key}.help.{lang}", "the input message")


def rule_kind(col: Column) -> str:
    """Which validation a column gets: list, unique, reference, date, decimal, integer or prompt."""
    if col.computed:
        return "prompt"
    if col.references:
        return "reference"
    if col.type == "id" and col.unique:
        return "unique"
    return {"choice": "list", "date": "date", "amount": "decimal", "integer": "integer"}.get(col.type, "prompt")


def _criteria(spec: Spec, sheet: Sheet, col: Column, index: int, kind: str, rows: DataRange) -> dict[str, Any]:
    if kind == "list":
        vl = spec.list_for(col)
        assert vl is not None
        return {"validate": "list", "source": "=" + vl.range_name}
    if kind == "reference":
        return {"validate": "list", "source": "=" + reference_name(str(col.references))}
    if kind == "unique":
        cell = xl_col_to_name(index) + str(rows.first + 1)
        above = f"{rows.a1(index).split(':')[0]}:{cell}"
        # the first occurrence of an ID is valid, every later repeat is not
        return {"validate": "custom", "value": f"=AND(LEN(TRIM({cell}))>0,COUNTIF({above},{cell})=1)"}
    if kind == "date":
        return {"validate": "date", "criteria": "between", "minimum": date_min(spec), "maximum": DATE_MAX}
    if kind in ("decimal", "integer"):
        return {"validate": kind, "criteria": ">=", "value": 0}
    return {"validate": "any"}


def date_min(spec: Spec) -> dt.date:
    d = spec.rules.checks.date_min
    return d if isinstance(d, dt.date) else dt.date(1900, 1, 1)


def validation(spec: Spec, sheet: Sheet, index: int, lang: str, rows: DataRange) -> dict[str, Any]:
    """XlsxWriter data_validation options for column `index` of `sheet` over `rows`."""
    col = sheet.columns[index]
    kind = rule_kind(col)
    opts = _criteria(spec, sheet, col, index, kind, rows)
    opts |= {"ignore_blank": True, "input_title": title(col.header(lang)), "input_message": prompt(spec, sheet, col, lang)}
    if kind == "prompt":
        opts["show_error"] = False
        return opts
    err_title = spec.text(f"template_text.{kind}_title", lang)
    err_msg = spec.text(f"template_text.{kind}_message", lang)
    target = spec.sheet(str(col.references).split(".")[0]).name(lang) if col.references else ""
    msg = err_msg.format(header=col.header(lang), target=target, min=date_min(spec).isoformat(), max=DATE_MAX.isoformat())
    file, key = _where(spec, sheet, col)
    opts |= {
        "error_type": "stop",
        "error_title": title(err_title),
        "error_message": _limit(msg, ERROR_MAX, file, f"{key}.header.{lang}", "the error message"),
    }
    return opts


def range_ref(sheet_name: str, a1: str) -> str:
    """A formula reference to a range on a named sheet, quoted when needed."""
    return f"={quote_sheetname(sheet_name)}!{a1}"
