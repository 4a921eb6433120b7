"""A rep's silent mistakes are reported: options typed into the hidden lists sheet, and a
renamed header (with the column it most likely is)."""

from __future__ import annotations

import openpyxl
import pytest

from khbook.pipeline import check_file
from khbook.spec import load_spec
from tests.rep import AS_OF, Rep, make_template


@pytest.fixture(scope="module")
def spec():
    return load_spec()


@pytest.fixture(scope="module")
def template(tmp_path_factory, spec):
    return make_template(tmp_path_factory.mktemp("mistakes") / "t.xlsx", spec)


def _column_of(ws, name: str) -> int:
    return next(c.column for c in ws[1] if c.value == name)


def test_an_option_typed_into_the_lists_sheet_is_reported(template, spec, tmp_path):
    wb = openpyxl.load_workbook(template)
    ws = wb["下拉列表"]
    col = _column_of(ws, "industry")
    last = max(r for r in range(1, ws.max_row + 1) if ws.cell(r, col).value is not None)
    ws.cell(last + 1, col, "新能源")
    ws.cell(2, _column_of(ws, "region")).value = None  # and one option deleted from another list
    path = tmp_path / "edited.xlsx"
    wb.save(path)
    found = [f for f in check_file(path, spec, as_of=AS_OF).findings if f.rule == "lists_sheet_edited"]
    by_column = {f.column: f for f in found}
    assert set(by_column) == {"所属行业", "所在区域"}
    industry = by_column["所属行业"]
    assert (industry.severity, industry.sheet, industry.value) == ("warning", "下拉列表", "新能源")
    assert industry.message == ("隐藏的“下拉列表”表中“所属行业”的选项与模板不同（新增了 新能源）。在这里改动的选项不会生效："
                                "需要新选项时，请让负责模板的同事把它加入模板。")
    first_region = spec.lists["region"].labels("zh")[0]
    assert by_column["所在区域"].message.startswith(f"隐藏的“下拉列表”表中“所在区域”的选项与模板不同（删除了 {first_region}）")
    en = [f for f in check_file(path, spec, as_of=AS_OF, lang="en").findings if f.rule == "lists_sheet_edited"]
    assert en[0].message.startswith("The options of ")
    assert "(added 新能源)" in {f.column: f for f in en}[spec.sheet("customers").column("industry").header("en")].message


def test_an_untouched_lists_sheet_is_not_reported(template, spec):
    assert not [f for f in check_file(template, spec, as_of=AS_OF).findings if f.rule == "lists_sheet_edited"]


def test_a_renamed_header_gets_a_suggestion(template, spec, tmp_path):
    rep = Rep(template, spec)
    rep.put("customers", 2, customer_id="KH001", name="示例公司")
    rep.rename("customers", "name", "公司全称")
    path = rep.save(tmp_path / "renamed.xlsx")
    findings = check_file(path, spec, as_of=AS_OF).findings
    renamed = [f for f in findings if f.rule == "renamed_column"]
    assert len(renamed) == 1
    f = renamed[0]
    assert (f.severity, f.value, f.field) == ("warning", "公司全称", "name")
    assert f.message == ("列“公司全称”不属于模板，看起来就是“客户名称”列，已忽略：请把表头改回“客户名称”；"
                         "如果这个叫法很常见，请让负责模板的同事把它加为“客户名称”的别名。")
    assert not [f for f in findings if f.rule == "extra_column" and f.value == "公司全称"]
    assert [f for f in findings if f.rule == "missing_column" and f.field == "name"]


def test_an_unrelated_extra_column_gets_no_suggestion(template, spec, tmp_path):
    rep = Rep(template, spec)
    rep.insert_column("customers", "remark", "微信群")
    path = rep.save(tmp_path / "extra.xlsx")
    findings = check_file(path, spec, as_of=AS_OF).findings
    assert [f.value for f in findings if f.rule == "extra_column"] == ["微信群"]
    assert not [f for f in findings if f.rule == "renamed_column"]
