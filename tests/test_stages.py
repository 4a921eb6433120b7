"""Unit tests of the check stages on in-memory grids (no files): header matching and cell
parsing (khbook.read.tables), the per-column schema (khbook.checks.schema) and the
cross-sheet rules (khbook.checks.crosssheet). Each stage returns its findings and untrusted
cells as a value; these tests assert both, exactly.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from khbook.checks.crosssheet import run_rules
from khbook.checks.schema import validate_book
from khbook.read.rawbook import RawBook, RawSheet
from khbook.read.tables import norm_header, read_book
from khbook.spec import Spec

AS_OF = dt.date(2026, 11, 24)
CUSTOMER_HEADERS = ["客户ID", "客户名称", "所属行业", "首次接触时间", "负责人", "年交易额(万元)"]


def book_of(**sheets: list[list[Any]]) -> RawBook:
    return RawBook("unit.xlsx", [RawSheet(name, rows) for name, rows in sheets.items()])


def customer(cid: str, name: str, *, industry: Any = "制造业", first: Any = "2026-05-01", owner: Any = "张伟",
             amount: Any = 12) -> list[Any]:
    return [cid, name, industry, first, owner, amount]


def rules_of(findings) -> list[tuple[str, str, str]]:
    return [(f.sheet, f.cell, f.rule) for f in findings]


# --------------------------------------------------------------------------- header matching

def test_norm_header_ignores_stars_spaces_and_case() -> None:
    assert norm_header(" *客户 ID ") == norm_header("客户id") == "客户id"
    assert norm_header(None) == ""


def test_header_found_below_a_title_row_with_aliases_in_any_order(spec: Spec) -> None:
    rows = [["2026年客户台账"], [],
            ["负责人", "公司名称", "客户编号", "行业", "首次联系时间", "微信群"],
            ["张伟", "上海示例有限公司", "KH001", "制造业", "2026-05-01", "群1"]]
    read = read_book(book_of(客户信息=rows), spec, as_of=AS_OF)
    t = read.book.table("customers")
    assert t is not None and t.name == "客户信息" and t.header_row == 3
    assert {k: (i.letter, i.header) for k, i in t.columns.items()} == {
        "owner": ("A", "负责人"), "name": ("B", "公司名称"), "customer_id": ("C", "客户编号"),
        "industry": ("D", "行业"), "first_contact": ("E", "首次联系时间")}
    assert t.frame.loc[4, "customer_id"] == "KH001" and t.frame.loc[4, "first_contact"].date() == dt.date(2026, 5, 1)
    info = {(f.sheet, f.rule) for f in read.stage.findings if f.severity == "info"}
    assert ("客户信息", "extra_column") in info


def test_repeated_header_rows_and_blank_rows_are_skipped(spec: Spec) -> None:
    rows = [CUSTOMER_HEADERS, customer("KH001", "甲公司"), [None] * 6, CUSTOMER_HEADERS, customer("KH002", "乙公司")]
    t = read_book(book_of(客户基础信息=rows), spec, as_of=AS_OF).book.table("customers")
    assert t is not None and list(t.frame.index) == [2, 5] and list(t.frame["name"]) == ["甲公司", "乙公司"]


def test_missing_sheet_and_column_findings(spec: Spec) -> None:
    rows = [["客户ID", "客户名称"], ["KH001", "甲公司"]]
    read = read_book(book_of(客户基础信息=rows), spec, as_of=AS_OF)
    assert {f.sheet for f in read.stage.findings if f.rule == "missing_sheet"} == {"联系人", "跟进记录", "需求与标签", "成交与状态"}
    assert {f.column for f in read.stage.findings if f.rule == "missing_column"} == {"所属行业", "首次接触时间", "负责人"}


def test_parse_failures_are_findings_and_untrusted_cells(spec: Spec) -> None:
    rows = [CUSTOMER_HEADERS, customer("KH001", "甲公司", first="10/05/2024", amount="很多")]
    read = read_book(book_of(客户基础信息=rows), spec, as_of=AS_OF)
    assert sorted(rules_of(f for f in read.stage.findings if f.severity == "error" and f.cell)) == [
        ("客户基础信息", "D2", "bad_date"), ("客户基础信息", "F2", "bad_amount")]
    assert read.stage.untrusted == {("customers", 2, "first_contact"), ("customers", 2, "annual_amount")}
    t = read.book.table("customers")
    assert t is not None and t.frame["first_contact"].isna().all() and t.frame["annual_amount"].isna().all()


# --------------------------------------------------------------------------- per-column schema

def _schema(spec: Spec, rows: list[list[Any]]):
    read = read_book(book_of(客户基础信息=[CUSTOMER_HEADERS, *rows]), spec, as_of=AS_OF)
    return read, validate_book(read.book, spec, as_of=AS_OF, untrusted=read.stage.untrusted)


def test_schema_required_list_unique_and_future(spec: Spec) -> None:
    """A negative amount is already the reader's finding; the schema reports what is left."""
    read, res = _schema(spec, [
        customer("KH001", "甲公司"),
        customer("KH001", "乙公司", industry="造船业"),
        customer("KH003", None, amount=-5),
        customer("KH004", "丁公司", first="2027-01-01"),
    ])
    assert sorted(rules_of(res.stage.findings)) == [
        ("客户基础信息", "A3", "duplicate_id"), ("客户基础信息", "B4", "required_missing"),
        ("客户基础信息", "C3", "not_in_list"), ("客户基础信息", "D5", "future_date")]
    assert read.stage.untrusted == {("customers", 4, "annual_amount")}
    assert res.stage.untrusted == {("customers", 3, "customer_id"), ("customers", 3, "industry"),
                                   ("customers", 4, "name"), ("customers", 5, "first_contact")}
    # a duplicate 客户ID still names its customer: every other failed cell is blanked downstream
    assert res.blank == res.stage.untrusted - {("customers", 3, "customer_id")}
    masked = read.book.masked(res.blank)
    t0, t1 = read.book.table("customers"), masked.table("customers")
    assert t0 is not None and t1 is not None
    assert t0.frame.loc[5, "first_contact"].year == 2027 and t1.frame["first_contact"].isna()[5]
    assert t1.frame.loc[3, "customer_id"] == "KH001" and t1.frame.loc[3, "industry"] is None
    assert t0.frame.loc[3, "industry"] == "造船业"  # the reader keeps it; the schema finds it; the mask blanks it


def test_schema_does_not_report_a_cell_twice(spec: Spec) -> None:
    read, res = _schema(spec, [customer("KH001", "甲公司", first="昨天")])
    assert ("customers", 2, "first_contact") in read.stage.untrusted
    assert [f.rule for f in res.stage.findings] == []


# --------------------------------------------------------------------------- cross-sheet rules

def _cross(spec: Spec, **sheets: list[list[Any]]):
    read = read_book(book_of(**sheets), spec, as_of=AS_OF)
    cols = validate_book(read.book, spec, as_of=AS_OF, untrusted=read.stage.untrusted)
    book = read.book.masked(cols.blank)
    return run_rules(book, spec, as_of=AS_OF, untrusted=read.stage.untrusted | cols.stage.untrusted)


def test_cross_sheet_orphans_duplicates_dates_and_deals(spec: Spec) -> None:
    customers = [CUSTOMER_HEADERS, customer("KH001", "上海甲有限公司"), customer("KH002", "上海甲公司")]
    followups = [["客户ID", "跟进时间", "跟进方式", "跟进人", "沟通内容摘要", "下次跟进时间"],
                 ["KH001", "2026-11-01", "电话", "张伟", "报价", "2026-10-01"],
                 ["KH009", "2026-11-02", "电话", "张伟", "寒暄", None]]
    deals = [["客户ID", "成交阶段", "实际成交金额(万元)", "成交日期", "流失原因"],
             ["KH001", "成交", None, "2026-10-01", None],
             ["KH002", "流失", None, None, None]]
    res = _cross(spec, 客户基础信息=customers, 跟进记录=followups, 成交与状态=deals)
    assert sorted(rules_of(res.findings)) == sorted([
        ("客户基础信息", "B3", "duplicate_company"),
        ("跟进记录", "F2", "next_before_followup"),
        ("跟进记录", "A3", "orphan_id"),
        ("成交与状态", "C2", "won_missing_amount"),
        ("成交与状态", "E3", "lost_missing_reason"),
        ("客户基础信息", "A3", "stale_customer"),
    ])
    assert res.untrusted == {("followups", 3, "customer_id"), ("followups", 2, "next_date"),
                             ("deals", 2, "actual_amount")}


@pytest.mark.parametrize("days, stale", [(180, False), (181, True)])
def test_stale_customer_edge(spec: Spec, days: int, stale: bool) -> None:
    last = (AS_OF - dt.timedelta(days=days)).isoformat()
    customers = [CUSTOMER_HEADERS, customer("KH001", "甲公司", first="2025-01-01")]
    followups = [["客户ID", "跟进时间", "跟进方式", "跟进人", "沟通内容摘要"], ["KH001", last, "电话", "张伟", "回访"]]
    res = _cross(spec, 客户基础信息=customers, 跟进记录=followups)
    assert [f.rule for f in res.findings if f.rule == "stale_customer"] == (["stale_customer"] if stale else [])


def test_blank_rows_and_pasted_header_rows_are_left_out(spec: Spec) -> None:
    """A row blank in every template column is no record (a value in another column does not
    make it one), nor is a pasted copy of the header row; a row whose only cell is an Excel
    error (read as blank) is kept and reported; short rows are read as blank to the right."""
    headers = [*CUSTOMER_HEADERS, "微信群"]
    rows = [headers,
            [*customer("KH001", "上海示例有限公司"), ""],
            ["", "", "", "", "", "", ""],
            [*CUSTOMER_HEADERS, ""],
            ["", "", "", "", "", "", "群1"],
            ["", "", "", "", "", "", ""],
            [*customer("KH002", "北京示例有限公司"), ""],
            ["KH003", "广州示例有限公司"]]
    raw = RawBook("unit.xlsx", [RawSheet("客户基础信息", rows, errors={(5, 5): "#N/A"})])
    read = read_book(raw, spec, as_of=AS_OF)
    t = read.book.table("customers")
    assert t is not None
    assert t.frame.index.tolist() == [2, 6, 7, 8]
    assert t.frame["customer_id"].tolist() == ["KH001", None, "KH002", "KH003"]
    assert t.raw["industry"].tolist() == ["制造业", None, "制造业", None]
    assert [(f.cell, f.rule, f.value) for f in read.stage.findings if f.rule == "excel_error"] == [("F6", "excel_error", "#N/A")]
    assert ("customers", 6, "annual_amount") in read.stage.untrusted
