"""End-to-end: generate the template, fill it like a rep (openpyxl), check it, assert exact findings."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

from khbook.cli import main
from khbook.pipeline import check_file
from khbook.spec import load_spec
from tests.rep import AS_OF, Rep, days_ago, make_template


@pytest.fixture(scope="module")
def spec():
    return load_spec()


@pytest.fixture(scope="module")
def template(tmp_path_factory, spec):
    return make_template(tmp_path_factory.mktemp("tpl") / "template.xlsx", spec)


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


def test_messy_workbook_exact_findings(template, tmp_path, spec):
    path, rep = fill_messy(template, tmp_path / "messy.xlsx")
    report = check_file(path, spec, as_of=AS_OF)

    def cell(sheet: str, field: str, row: int) -> tuple[str, str]:
        return spec.sheet(sheet).name("zh"), f"{openpyxl.utils.get_column_letter(rep.col(sheet, field))}{row}"

    wechat_col = rep.col("customers", "remark") - 1
    expected = {
        (*cell("customers", "customer_id", 5), "duplicate_id", "error"),
        (*cell("customers", "name", 7), "duplicate_company", "warning"),
        (*cell("customers", "industry", 8), "not_in_list", "error"),
        (*cell("customers", "credit_code", 8), "bad_credit_code", "error"),
        (*cell("customers", "annual_amount", 8), "negative_amount", "error"),
        (*cell("customers", "first_contact", 8), "bad_date", "error"),
        (*cell("customers", "credit_code", 9), "stored_as_number", "error"),
        (*cell("customers", "employees", 9), "bad_integer", "error"),
        (*cell("customers", "name", 10), "required_missing", "error"),
        (*cell("customers", "first_contact", 7), "first_contact_after_followup", "warning"),
        (*cell("customers", "value_tier", 3), "computed_changed", "info"),
        ("客户基础信息", f"{openpyxl.utils.get_column_letter(wechat_col)}2", "extra_column", "info"),
        (*cell("contacts", "mobile", 3), "bad_phone", "error"),
        (*cell("contacts", "email", 3), "bad_email", "error"),
        (*cell("contacts", "customer_id", 4), "orphan_id", "error"),
        (*cell("contacts", "name", 5), "required_missing", "error"),
        (*cell("followups", "next_date", 2), "next_before_followup", "error"),
        (*cell("followups", "date", 4), "future_date", "error"),
        (*cell("followups", "next_date", 5), "overdue_followup", "warning"),
        (*cell("needs", "keywords", 3), "not_in_list", "error"),
        (*cell("deals", "actual_amount", 3), "won_missing_amount", "error"),
        (*cell("deals", "loss_reason", 4), "lost_missing_reason", "warning"),
    }
    got = {(f.sheet, f.cell, f.rule, f.severity) for f in report.findings}
    assert got == expected
    # every finding names its customer where the row has one, and reads as a message
    by_rule = {f.rule: f for f in report.findings}
    assert by_rule["duplicate_id"].customer_id == "KH001"
    assert "A3" in by_rule["duplicate_id"].message or cell("customers", "customer_id", 3)[1] in by_rule["duplicate_id"].message
    assert by_rule["bad_date"].value == "2024-02-30" and "不存在" in by_rule["bad_date"].message
    assert by_rule["stored_as_number"].customer_id == "KH006"  # full-width ID normalised
    assert by_rule["orphan_id"].value == "KH999"
    assert report.counts == {"error": 16, "warning": 4, "info": 2}
    # amounts typed as text are understood: KH002's ¥500,000 is 50 万元
    kh2 = next(c for c in report.customers if c.customer_id == "KH002")
    assert kh2.annual_amount == 50


def test_example_workbook_is_clean(tmp_path, spec):
    path = make_template(tmp_path / "examples.xlsx", spec, examples=8, as_of=AS_OF)
    report = check_file(path, spec, as_of=AS_OF)
    assert [(f.sheet, f.cell, f.rule, f.message) for f in report.findings] == []
    assert len(report.customers) == 8


def test_pandera_masking_every_bad_cell_reported(template, tmp_path, spec):
    """A text in a date column must not hide the future date two rows below (pandera masking trap)."""
    rep = Rep(template)
    for i, fc in enumerate(["not a date", days_ago(10), days_ago(-3), "2026-13-01"], start=2):
        rep.put("customers", i, customer_id=f"KH{i}", name=f"示例{i}公司", industry="金融", first_contact=fc, owner="张伟")
    report = check_file(rep.save(tmp_path / "m.xlsx"), spec, as_of=AS_OF)
    col = openpyxl.utils.get_column_letter(rep.col("customers", "first_contact"))
    got = {(f.cell, f.rule) for f in report.findings}
    assert got == {(f"{col}2", "bad_date"), (f"{col}4", "future_date"), (f"{col}5", "bad_date")}


def test_cjk_date_formats_and_serials(tmp_path, spec):
    """Dates stored with the CJK built-in formats (ids 27-36, 50-58) read as dates, not serials."""
    path = tmp_path / "cjk.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("客户基础信息")
    for j, h in enumerate(["客户ID", "客户名称", "所属行业", "首次接触时间", "负责人"]):
        ws.write_string(0, j, h)
    for i, fmt in enumerate([27, 31, 57], start=1):
        ws.write_string(i, 0, f"KH{i}")
        ws.write_string(i, 1, f"示例{i}公司")
        ws.write_string(i, 2, "金融")
        ws.write_datetime(i, 3, dt.datetime(2026, 10, i), wb.add_format({"num_format": fmt}))
        ws.write_string(i, 4, "张伟")
    wb.close()
    report = check_file(path, spec, as_of=AS_OF)
    t = report.book.table("customers")
    assert [d.date() for d in t.frame["first_contact"]] == [dt.date(2026, 10, 1), dt.date(2026, 10, 2), dt.date(2026, 10, 3)]
    assert {f.rule for f in report.findings} <= {"missing_sheet"}


def test_cli_json_equals_library(template, tmp_path, spec, capsys):
    path, _ = fill_messy(template, tmp_path / "messy.xlsx")
    status = main(["check", str(path), "--as-of", AS_OF.isoformat(), "--format", "json"])
    payload = json.loads(capsys.readouterr().out)
    assert status == 1
    assert payload == json.loads(json.dumps(check_file(path, spec, as_of=AS_OF).to_dict(), ensure_ascii=False, default=str))
    assert set(payload["counts"]) == {"error", "warning", "info"}
    assert {f["severity"] for f in payload["findings"]} == {"error", "warning", "info"}
    assert set(payload["findings"][0]) == {"sheet", "cell", "row", "column", "field", "customer_id", "rule", "severity",
                                           "value", "message"}


def test_cli_text_and_exit_codes(template, tmp_path, capsys):
    path, _ = fill_messy(template, tmp_path / "messy.xlsx")
    assert main(["check", str(path), "--as-of", AS_OF.isoformat()]) == 1
    out = capsys.readouterr().out
    assert "[客户基础信息]" in out and "合计：错误 16，警告 4，提示 2" in out
    bad = tmp_path / "not.xlsx"
    bad.write_text("客户ID,客户名称\nKH1,x\n", encoding="utf-8")
    assert main(["check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "not.xlsx" in err and "Traceback" not in err
    clean = make_template(tmp_path / "clean.xlsx", examples=3, as_of=AS_OF)
    assert main(["check", str(clean), "--as-of", AS_OF.isoformat()]) == 0


def test_english_messages(template, tmp_path, spec):
    path, _ = fill_messy(template, tmp_path / "messy.xlsx")
    report = check_file(path, spec, as_of=AS_OF, lang="en")
    f = next(f for f in report.findings if f.rule == "orphan_id")
    assert f.message.startswith('Customer ID "KH999" is not on the Customers sheet')
    assert report.to_dict()["findings"][0]["severity"] in {"error", "warning", "info"}
