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
NOW = dt.datetime(2026, 11, 24, 9, 30)  # the annotated copy's change-log time in tests


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


def fill_messy(template: Path, out: Path) -> tuple[Path, Rep]:
    rep = Rep(template)
    # the rep's habits: a title row, renamed and swapped columns, an extra column
    rep.title_row("customers", "2026年客户台账（张伟）")
    rep.rename("customers", "name", "公司名称")
    rep.rename("customers", "customer_id", "客户编号")
    rep.swap("customers", "industry", "employees")
    rep.insert_column("customers", "remark", "微信群")
    C = "customers"
    rep.put(C, 3, customer_id="KH001", name="上海示例精密制造有限公司", credit_code="91110000600037341L", industry="制造业",
            first_contact="2026/8/16", owner="张伟", annual_amount="62万", value_tier="低价值")
    rep.put(C, 4, customer_id="KH002", name="深圳示例科技有限公司", credit_code="9144030071526726XG", industry="科技业",
            first_contact="2026年9月1日", owner="李娜", annual_amount="¥500,000")
    rep.put(C, 5, customer_id="KH001", name="另一家示例公司", industry="零售业", first_contact=days_ago(30), owner="张伟")
    # row 6 left blank
    rep.put(C, 7, customer_id="KH004", name="上海示例精密制造 有限责任公司", industry="制造业", first_contact=days_ago(40),
            owner="张伟")
    rep.put(C, 8, customer_id="KH005", name="杭州示例零售有限公司", industry="新能源", credit_code="91110000600037341M",
            annual_amount=-5, first_contact="2024-02-30", owner="张伟")
    rep.put(C, 9, customer_id="ＫＨ006", name="广州示例餐饮有限公司", industry="服务业", credit_code=914403001922038216.0,
            employees="12.5", first_contact=days_ago(20), owner="张伟")
    rep.put(C, 10, customer_id="KH007", industry="教育", first_contact=days_ago(20), owner="李娜")
    K = "contacts"
    rep.put(K, 2, customer_id="KH001", name="王建国", mobile="+86 138 1234 5678", landline="021-58881234转802",
            email="wang@example.com", decision_role="决策者")
    rep.put(K, 3, customer_id="KH002", name="陈明", mobile="1395678", email="chen@example")
    rep.put(K, 4, customer_id="KH999", name="周杰", mobile="13600001111")
    rep.put(K, 5, customer_id="KH002", title="采购")
    F = "followups"
    rep.put(F, 2, customer_id="KH001", date=days_ago(10), method="拜访", by="张伟", summary="谈续约", next_date=days_ago(20))
    rep.put(F, 3, customer_id="KH002", date="2026.11.01", method="电话", by="李娜", summary="报价", next_date=days_ago(-10))
    rep.put(F, 4, customer_id="KH001", date=days_ago(-5), method="电话", by="张伟", summary="预约")
    rep.put(F, 5, customer_id="KH004", date=days_ago(50), method="微信", by="张伟", summary="初次沟通", next_date=days_ago(30))
    N = "needs"
    rep.put(N, 2, customer_id="KH001", keywords="降本增效；数字化转型", tags="预算明确、战略合作")
    rep.put(N, 3, customer_id="KH002", keywords="降本增效,元宇宙")
    D = "deals"
    rep.put(D, 2, customer_id="KH001", stage="成交", actual_amount="62万", deal_date=days_ago(120))
    rep.put(D, 3, customer_id="KH002", stage="成交", deal_date=days_ago(30))
    rep.put(D, 4, customer_id="KH004", stage="流失", deal_date=days_ago(10))
    rep.save(out)
    return out, rep
