"""Test helper: fill a generated template the way a sales rep would, with openpyxl.

Values are addressed by spec field key, columns found by their header text in the file,
so a test can rename, reorder or insert columns and keep writing by key.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.worksheet.worksheet import Worksheet

from khbook.read.tables import norm_header
from khbook.spec import Spec, load_spec
from khbook.template.writer import write_template

AS_OF = dt.date(2026, 11, 24)


def days_ago(n: int) -> dt.date:
    return AS_OF - dt.timedelta(days=n)


def make_template(path: Path, spec: Spec | None = None, **kw: Any) -> Path:
    write_template(spec or load_spec(), path, **kw)
    return path


class Rep:
    """An open template being filled in."""

    def __init__(self, template: Path, spec: Spec | None = None, lang: str = "zh") -> None:
        self.spec = spec or load_spec()
        self.lang = lang
        self.wb = openpyxl.load_workbook(template)
        self.header_row: dict[str, int] = {}

    def ws(self, key: str) -> Worksheet:
        return self.wb[self.spec.sheet(key).name(self.lang)]

    def hrow(self, key: str) -> int:
        return self.header_row.get(key, 1)

    def col(self, key: str, field: str) -> int:
        ws = self.ws(key)
        names = {norm_header(n) for n in self.spec.sheet(key).column(field).match_names()}
        for cell in ws[self.hrow(key)]:
            if norm_header(cell.value) in names:
                return cell.column
        raise KeyError(f"{key}.{field} not in header row")

    def put(self, key: str, row: int, **values: Any) -> None:
        ws = self.ws(key)
        for field, value in values.items():
            ws.cell(row, self.col(key, field), value)

    def rename(self, key: str, field: str, header: str) -> None:
        self.ws(key).cell(self.hrow(key), self.col(key, field), header)

    def swap(self, key: str, field_a: str, field_b: str) -> None:
        ws = self.ws(key)
        a, b = self.col(key, field_a), self.col(key, field_b)
        for r in range(1, ws.max_row + 1):
            ws.cell(r, a).value, ws.cell(r, b).value = ws.cell(r, b).value, ws.cell(r, a).value

    def insert_column(self, key: str, before_field: str, header: str, values: dict[int, Any] | None = None) -> None:
        ws = self.ws(key)
        idx = self.col(key, before_field)
        ws.insert_cols(idx)
        ws.cell(self.hrow(key), idx, header)
        for r, v in (values or {}).items():
            ws.cell(r, idx, v)

    def title_row(self, key: str, text: str) -> None:
        ws = self.ws(key)
        ws.insert_rows(1)
        ws.cell(1, 1, text)
        self.header_row[key] = self.hrow(key) + 1

    def save(self, path: Path) -> Path:
        self.wb.save(path)
        return path
