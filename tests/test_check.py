"""End-to-end: generate the template, fill it like a rep (openpyxl), check it, assert exact findings."""

from __future__ import annotations

import datetime as dt
import json

import openpyxl
import xlsxwriter

from khbook.cli import main
from khbook.pipeline import check_file
from tests.rep import AS_OF, Rep, days_ago, fill_messy, make_template


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
        (*cell("needs", "keywords", 3), "not_in_list_item", "warning"),
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
    assert report.counts == {"error": 15, "warning": 5, "info": 2}
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
    assert "[客户基础信息]" in out and "合计：错误 15，警告 5，提示 2" in out
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
