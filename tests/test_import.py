"""`khbook import`: lists of every kind in, the exact workbook out; the one-line diagnosis of
`khbook check` on a list; English sheet names only in the English template (issues 19, 20.6)."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from stdnum.cn import uscc

from khbook import check_file, import_lists, load_spec, write_template
from khbook.base.errors import WorkbookError
from khbook.cli import main
from khbook.read.parsers import clean_text
from khbook.spec import Spec

AS_OF = dt.date(2026, 11, 24)
D = dt.datetime


@pytest.fixture(scope="module")
def spec() -> Spec:
    return load_spec()


def code(body: str) -> str:
    """A valid 18-character credit code from its first 17 characters."""
    return body + uscc.calc_check_digit(body)


CODE = code("91440300MA5F00001")


def book(path: Path, sheets: dict[str, list[list[Any]]]) -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


def rows(path: Path, sheet: str, *, first: int = 2) -> list[list[Any]]:
    """The non-empty rows of a sheet from `first`, trailing blanks cut."""
    wb = openpyxl.load_workbook(path)
    out = []
    for r in wb[sheet].iter_rows(min_row=first, values_only=True):
        vals = list(r)
        while vals and vals[-1] is None:
            vals.pop()
        if vals:
            out.append(vals)
    return out


def fields(path: Path, sheet: str, *keys_by_header: str) -> list[tuple[Any, ...]]:
    """Selected columns (by header text, required marks stripped) of every data row."""
    wb = openpyxl.load_workbook(path)
    ws = wb[sheet]
    header = [str(c.value or "").rstrip("*") for c in ws[1]]
    idx = [header.index(h) for h in keys_by_header]
    out = []
    for r in ws.iter_rows(min_row=2, values_only=True):
        if any(v is not None for v in r):
            out.append(tuple(r[i] for i in idx))
    return out


def new_errors(out: Path, spec: Spec) -> set[tuple[str, str]]:
    report = check_file(out, spec, as_of=AS_OF)
    return {(f.rule, f.field or "") for f in report.findings if f.severity == "error"}


# --------------------------------------------------------------------------- the lists

GONGHAI = {"客户公海": [["路星唐山轨道客车装备制造有限公司", "拱振起", 19990583000],
                    ["浙江示例机械集团", "周立波", 13812345678],
                    ["路星唐山轨道客车装备制造有限公司", "林晓", "139 0000 1111"]]}

QINGDAN = {"客户清单": [["2024 年理财客户清单"], [],
                    ["客户名称", "理财金额", "起始日期", "截止日期", "合同日期"],
                    ["北京示例科技有限公司", "10万", D(2024, 1, 2), D(2025, 1, 2), "2024-01-01"],
                    [],
                    ["上海示例贸易有限公司", "5.5万", D(2024, 2, 3), D(2025, 2, 3), "2024-02-01"],
                    [None, None, None, None, None]]}

CRM = {"Export": [["Company", "Contact", "Mobile", "Email", "Owner", "Created", "Lead score"],
                  ["Hangzhou Demo Trading Co., Ltd.", "Li Lei", 13900001111, "li@demo.cn", "Wang Lei", D(2024, 5, 1), 87],
                  ["杭州示例网络有限公司", "陈静", 13800002222.0, "chen@example.com", "Wang Lei", D(2024, 6, 1), 42]]}

MULTI = {"联系人名单": [["公司", "统一社会信用代码", "联系人", "手机", "座机", "职务", "首次联系时间"],
                   ["深圳示例电子有限公司", CODE, "张伟", 13711112222, "0755-26001234", "采购经理", D(2025, 3, 1)],
                   [None, None, "李娜", 13722223333, None, "技术总监", None],
                   ["深圳示例电子 有限公司", None, "王芳", 13733334444, None, "财务", None],
                   ["广州示例物流有限公司", None, "赵磊", "020-87654321", None, None, D(2025, 4, 1)]]}

DEALS = {"成交": [["客户名称", "联系人", "电话", "跟进时间", "跟进内容", "成交金额", "成交日期", "所在地"],
                ["成都示例食品厂", "孙丽", "13655556666", D(2026, 10, 8), "报价已发，下周回访", "25000元", D(2026, 9, 30), "四川省成都市武侯区科华北路1号"]]}


def test_no_header_phone_as_number(tmp_path, spec):
    src = book(tmp_path / "公海.xlsx", GONGHAI)
    out = tmp_path / "out.xlsx"
    result = import_lists([src], out, spec=spec, owner="王磊", as_of=AS_OF)
    assert [(c.letter, c.target, c.how, c.kind) for c in result.sources[0].columns] == [
        ("A", "customers.name", "content", "company"), ("B", "contacts.name", "content", "person"),
        ("C", "contacts.mobile", "content", "mobile")]
    assert result.sources[0].header_row == 0
    assert openpyxl.load_workbook(out).sheetnames == ["填写说明", "客户基础信息", "联系人", "跟进记录", "需求与标签",
                                                      "成交与状态", "下拉列表", "导入原始数据"]
    assert fields(out, "客户基础信息", "客户ID", "客户名称", "负责人") == [
        ("KH0001", "路星唐山轨道客车装备制造有限公司", "王磊"), ("KH0002", "浙江示例机械集团", "王磊")]
    assert fields(out, "联系人", "客户ID", "联系人姓名", "手机") == [
        ("KH0001", "拱振起", "19990583000"), ("KH0001", "林晓", "13900001111"), ("KH0002", "周立波", "13812345678")]
    assert rows(out, "导入原始数据", first=1) == [
        ["来源文件", "工作表", "行号", "客户ID", "A", "B", "C"],
        ["公海.xlsx", "客户公海", 1, "KH0001", "路星唐山轨道客车装备制造有限公司", "拱振起", 19990583000],
        ["公海.xlsx", "客户公海", 2, "KH0002", "浙江示例机械集团", "周立波", 13812345678],
        ["公海.xlsx", "客户公海", 3, "KH0001", "路星唐山轨道客车装备制造有限公司", "林晓", "139 0000 1111"]]
    assert (result.rows_read, len(result.created), result.merged_rows, result.guesses) == (3, 2, 1, 3)
    # what the result lacks is what the list lacked: an industry and a first-contact date
    assert new_errors(out, spec) == {("required_missing", "industry"), ("required_missing", "first_contact")}


def test_chinese_headers_title_and_blank_rows_amounts_in_wan(tmp_path, spec):
    src = book(tmp_path / "清单.xlsx", QINGDAN)
    out = tmp_path / "out.xlsx"
    result = import_lists([src], out, spec=spec, owner="王磊", as_of=AS_OF)
    s = result.sources[0]
    assert s.header_row == 3 and [r for r, _ in s.data] == [4, 6]
    assert [(c.header, c.target, c.how) for c in s.columns] == [
        ("客户名称", "customers.name", "header"), ("理财金额", "customers.annual_amount", "content"),
        ("起始日期", "customers.first_contact", "content"), ("截止日期", None, "none"), ("合同日期", None, "none")]
    assert fields(out, "客户基础信息", "客户ID", "客户名称", "年交易额(万元)", "首次接触时间", "备注") == [
        ("KH0001", "北京示例科技有限公司", 10, D(2024, 1, 2), "截止日期：2025-01-02；合同日期：2024-01-01"),
        ("KH0002", "上海示例贸易有限公司", 5.5, D(2024, 2, 3), "截止日期：2025-02-03；合同日期：2024-02-01")]
    raw = rows(out, "导入原始数据")
    assert [r[:4] for r in raw] == [["清单.xlsx", "客户清单", 1, None], ["清单.xlsx", "客户清单", 3, None],
                                    ["清单.xlsx", "客户清单", 4, "KH0001"], ["清单.xlsx", "客户清单", 6, "KH0002"]]
    assert result.unmapped_values == 4
    assert new_errors(out, spec) == {("required_missing", "industry")}


def test_english_crm_export_numbers_stored_as_numbers(tmp_path, spec):
    src = book(tmp_path / "crm.xlsx", CRM)
    out = tmp_path / "out.xlsx"
    result = import_lists([src], out, spec=spec, id_prefix="C-", as_of=AS_OF)
    assert [c.how for c in result.sources[0].columns] == ["header"] * 6 + ["none"]
    assert fields(out, "客户基础信息", "客户ID", "客户名称", "负责人", "首次接触时间", "备注") == [
        ("C-0001", "Hangzhou Demo Trading Co., Ltd.", "Wang Lei", D(2024, 5, 1), "Lead score：87"),
        ("C-0002", "杭州示例网络有限公司", "Wang Lei", D(2024, 6, 1), "Lead score：42")]
    assert fields(out, "联系人", "客户ID", "联系人姓名", "手机", "邮箱") == [
        ("C-0001", "Li Lei", "13900001111", "li@demo.cn"), ("C-0002", "陈静", "13800002222", "chen@example.com")]
    assert new_errors(out, spec) == {("required_missing", "industry")}


def test_several_contacts_of_one_company(tmp_path, spec):
    src = book(tmp_path / "多联系人.xlsx", MULTI)
    out = tmp_path / "out.xlsx"
    result = import_lists([src], out, spec=spec, owner="王磊", as_of=AS_OF)
    # row 3 has no company (a continuation line), row 4 the same company spelled with a space
    assert (len(result.created), result.merged_rows, result.continuation_rows) == (2, 1, 1)
    assert fields(out, "客户基础信息", "客户ID", "客户名称", "统一社会信用代码", "首次接触时间") == [
        ("KH0001", "深圳示例电子有限公司", CODE, D(2025, 3, 1)), ("KH0002", "广州示例物流有限公司", None, D(2025, 4, 1))]
    assert fields(out, "联系人", "客户ID", "联系人姓名", "手机", "座机", "职务") == [
        ("KH0001", "张伟", "13711112222", "0755-26001234", "采购经理"),
        ("KH0001", "李娜", "13722223333", None, "技术总监"),
        ("KH0001", "王芳", "13733334444", None, "财务"),
        ("KH0002", "赵磊", "020-87654321", None, None)]  # a landline in the 手机 column stays there
    assert new_errors(out, spec) == {("required_missing", "industry")}


def test_dated_note_and_amount_split_onto_followups_and_deals(tmp_path, spec):
    src = book(tmp_path / "成交.xlsx", DEALS)
    out = tmp_path / "out.xlsx"
    result = import_lists([src], out, spec=spec, owner="王磊", as_of=AS_OF)
    assert fields(out, "客户基础信息", "客户ID", "客户名称", "注册地址") == [
        ("KH0001", "成都示例食品厂", "四川省成都市武侯区科华北路1号")]
    assert fields(out, "跟进记录", "客户ID", "跟进时间", "跟进方式", "跟进人", "沟通内容摘要") == [
        ("KH0001", D(2026, 10, 8), "电话", "王磊", "报价已发，下周回访")]
    assert fields(out, "成交与状态", "客户ID", "成交阶段", "实际成交金额(万元)", "成交日期") == [
        ("KH0001", "成交", 2.5, D(2026, 9, 30))]
    assert result.defaults == {"followup_method": 1, "deal_stage": 1}
    assert (result.followups, result.deals, result.contacts) == (1, 1, 1)
    assert new_errors(out, spec) == {("required_missing", "industry"), ("required_missing", "first_contact")}


def test_amount_units_from_the_header_and_json_report(tmp_path, spec, capsys):
    src = book(tmp_path / "金额.xlsx", {"Sheet1": [["单位名称", "合同金额(元)", "签约人"],
                                                  ["南京示例建材厂", 250000, "钱多多"],
                                                  ["合肥示例医药有限公司", 1200.0, "孔明"]]})
    out = tmp_path / "out.xlsx"
    assert main(["import", str(src), "-o", str(out), "--format", "json", "--as-of", AS_OF.isoformat()]) == 0
    import json

    d = json.loads(capsys.readouterr().out)
    assert (d["rows_read"], d["customers_created"], d["values_not_mapped"], d["guesses"]) == (2, 2, 0, 2)
    assert [(c["column"], c["target"], c["how"], c["kind"]) for c in d["sources"][0]["columns"]] == [
        ("A", "customers.name", "header", "company"), ("B", "customers.annual_amount", "content", "amount"),
        ("C", "contacts.name", "content", "person")]
    assert d["check"]["file"] == str(out)  # the path as given, like `khbook check --format json`
    # 元 in the header: 250000 元 is 25 万元
    assert fields(out, "客户基础信息", "客户名称", "年交易额(万元)") == [("南京示例建材厂", 25), ("合肥示例医药有限公司", 0.12)]


def test_report_in_english(tmp_path, spec, capsys):
    src = book(tmp_path / "crm.xlsx", CRM)
    assert main(["import", str(src), "-o", str(tmp_path / "o.xlsx"), "--lang", "en", "--as-of", AS_OF.isoformat()]) == 0
    out = capsys.readouterr().out
    assert "column G → the customer's notes (no column of the template: the values go to the customer's notes)" in out
    assert "2 rows read: 2 customers created (2 contacts, 0 follow-ups, 0 deals)" in out
    assert openpyxl.load_workbook(tmp_path / "o.xlsx").sheetnames[-1] == "Imported raw data"


@pytest.mark.parametrize("lists", [GONGHAI, QINGDAN, CRM, MULTI, DEALS])
def test_every_source_cell_is_kept(tmp_path, spec, lists):
    src = book(tmp_path / "list.xlsx", lists)
    out = tmp_path / "out.xlsx"
    import_lists([src], out, spec=spec, as_of=AS_OF)
    raw = {(r[0], r[1], r[2]): r[4:] for r in rows(out, "导入原始数据")}
    wb = openpyxl.load_workbook(src)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if clean_text(c.value) is None:
                    continue
                kept = raw[("list.xlsx", ws.title, c.row)]
                assert kept[c.column - 1] == c.value, (ws.title, c.coordinate)


def test_mapping_file_round_trip(tmp_path, spec, capsys):
    src = book(tmp_path / "清单.xlsx", QINGDAN)
    map_file = tmp_path / "map.yaml"
    assert main(["import", str(src), "--write-map", str(map_file)]) == 0
    assert not (tmp_path / "out.xlsx").exists()
    text = map_file.read_text(encoding="utf-8")
    line = next(ln for ln in text.splitlines() if ln.strip().startswith("E:"))
    assert line.startswith("      E: null  # 合同日期:")
    map_file.write_text(text.replace(line, '      E: "客户基础信息.合作起始时间"'), encoding="utf-8")
    out = tmp_path / "out.xlsx"
    assert main(["import", str(src), "-o", str(out), "--map", str(map_file), "--as-of", AS_OF.isoformat()]) == 0
    printed = capsys.readouterr().out
    assert "E 列 → 客户基础信息.合作起始时间（映射文件指定）" in printed
    assert fields(out, "客户基础信息", "客户名称", "合作起始时间", "备注") == [
        ("北京示例科技有限公司", D(2024, 1, 1), "截止日期：2025-01-02"),
        ("上海示例贸易有限公司", D(2024, 2, 1), "截止日期：2025-02-03")]


def test_bad_mapping_file_is_one_line(tmp_path, spec, capsys):
    src = book(tmp_path / "清单.xlsx", QINGDAN)
    map_file = tmp_path / "map.yaml"
    map_file.write_text('"清单.xlsx":\n  "客户清单":\n    columns:\n      B: 客户基础信息.理财\n', encoding="utf-8")
    assert main(["import", str(src), "-o", str(tmp_path / "o.xlsx"), "--map", str(map_file)]) == 2
    err = capsys.readouterr().err
    assert err == f"khbook：错误：{map_file}：映射文件中“清单.xlsx / 客户清单 / B”的“客户基础信息.理财”不是模板中的列" \
                  "（请改正映射文件（或用 --write-map 重新生成一份）后重新运行）\n"


@pytest.mark.parametrize("text, reason", [
    ("a: [b\n", "映射文件不是有效的 YAML（第 2 行）"),
    ("- 1\n", "映射文件的格式不对：最外层应是来源文件名"),
    ('"清单.xlsx":\n  "客户清单":\n    header_row: -1\n', "映射文件中“清单.xlsx / 客户清单 / header_row”一项有误：-1"),
])
def test_mapping_file_errors_in_words(tmp_path, spec, capsys, text, reason):
    src = book(tmp_path / "清单.xlsx", QINGDAN)
    map_file = tmp_path / "map.yaml"
    map_file.write_text(text, encoding="utf-8")
    assert main(["import", str(src), "-o", str(tmp_path / "o.xlsx"), "--map", str(map_file)]) == 2
    assert capsys.readouterr().err.startswith(f"khbook：错误：{map_file}：{reason}（")
    assert not (tmp_path / "o.xlsx").exists()


def test_refusals(tmp_path, spec, capsys):
    khbook_book = write_template(spec, tmp_path / "已有.xlsx")
    assert main(["import", str(khbook_book), "-o", str(tmp_path / "o.xlsx")]) == 2
    assert capsys.readouterr().err == (f"khbook：错误：{khbook_book}：已经是 khbook 客户工作簿，不需要导入"
                                       "（要把清单追加到这本工作簿，请用 --into 指定它）\n")
    src = book(tmp_path / "公海.xlsx", GONGHAI)
    assert main(["import", str(src), "-o", str(tmp_path / "o.xlsm")]) == 2
    assert "输出文件名应以 .xlsx 结尾" in capsys.readouterr().err
    assert main(["import", str(src)]) == 2
    assert "-o" in capsys.readouterr().err
    assert list(tmp_path.glob("o.*")) == []


def test_a_sheet_without_customers_is_kept_raw(tmp_path, spec, capsys):
    src = book(tmp_path / "两张表.xlsx", {**GONGHAI, "说明": [["这份名单来自 2023 年展会"], ["电话回访优先"]]})
    out = tmp_path / "out.xlsx"
    assert main(["import", str(src), "-o", str(out), "--as-of", AS_OF.isoformat()]) == 0
    assert "这张表没有客户名称列，不导入客户：它的每一行只保留在“导入原始数据”中" in capsys.readouterr().out
    assert len(fields(out, "客户基础信息", "客户ID")) == 2
    assert [r[:5] for r in rows(out, "导入原始数据")][-2:] == [["两张表.xlsx", "说明", 1, None, "这份名单来自 2023 年展会"],
                                                            ["两张表.xlsx", "说明", 2, None, "电话回访优先"]]


def test_into_appends_without_duplicating(tmp_path, spec, capsys):
    first = tmp_path / "first.xlsx"
    import_lists([book(tmp_path / "公海.xlsx", GONGHAI)], first, spec=spec, owner="王磊", as_of=AS_OF)
    more = book(tmp_path / "more.xlsx", {"Sheet": [["客户名称", "联系人", "手机"],
                                                   ["浙江示例机械集团", "周立波", 13812345678],
                                                   ["浙江示例机械集团", "吴芳", 13812340000],
                                                   ["苏州示例模具厂", "郑洁", 13912345678]]})
    out = tmp_path / "second.xlsx"
    before = first.read_bytes()
    assert main(["import", str(more), "--into", str(first), "-o", str(out), "--owner", "王磊",
                 "--as-of", AS_OF.isoformat()]) == 0
    printed = capsys.readouterr().out
    assert "工作簿中已有该客户，未重复添加：KH0002 浙江示例机械集团" in printed
    assert first.read_bytes() == before
    assert fields(out, "客户基础信息", "客户ID", "客户名称") == [
        ("KH0001", "路星唐山轨道客车装备制造有限公司"), ("KH0002", "浙江示例机械集团"), ("KH0003", "苏州示例模具厂")]
    assert fields(out, "联系人", "客户ID", "联系人姓名") == [
        ("KH0001", "拱振起"), ("KH0001", "林晓"), ("KH0002", "周立波"), ("KH0002", "吴芳"), ("KH0003", "郑洁")]
    assert [r[:4] for r in rows(out, "导入原始数据")] == [
        ["公海.xlsx", "客户公海", 1, "KH0001"], ["公海.xlsx", "客户公海", 2, "KH0002"],
        ["公海.xlsx", "客户公海", 3, "KH0001"], ["more.xlsx", "Sheet", 1, None],
        ["more.xlsx", "Sheet", 2, "KH0002"], ["more.xlsx", "Sheet", 3, "KH0002"], ["more.xlsx", "Sheet", 4, "KH0003"]]


def test_output_keeps_the_templates_validations(tmp_path, spec):
    template = write_template(spec, tmp_path / "t.xlsx")
    out = tmp_path / "out.xlsx"
    import_lists([book(tmp_path / "m.xlsx", MULTI)], out, spec=spec, as_of=AS_OF)
    a, b = openpyxl.load_workbook(template), openpyxl.load_workbook(out)
    for name in a.sheetnames:
        va = [(v.type, v.formula1, str(v.sqref)) for v in a[name].data_validations.dataValidation]
        vb = [(v.type, v.formula1, str(v.sqref)) for v in b[name].data_validations.dataValidation]
        assert va == vb, name
    assert set(a.defined_names) == set(b.defined_names)


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_libreoffice_opens_the_result(tmp_path, spec):
    out = tmp_path / "out.xlsx"
    import_lists([book(tmp_path / "m.xlsx", MULTI)], out, spec=spec, as_of=AS_OF)
    subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(out)],
                   check=True, capture_output=True, timeout=180)
    text = subprocess.run(["pdftotext", str(tmp_path / "out.pdf"), "-"], capture_output=True, text=True).stdout \
        if shutil.which("pdftotext") else ""
    assert (tmp_path / "out.pdf").stat().st_size > 0
    if text:
        assert "深圳示例电子有限公司" in text and "采购经理" in text


# --------------------------------------------------------------------------- not a khbook workbook


def test_check_a_list_is_one_line(tmp_path, spec, capsys):
    src = book(tmp_path / "公海.xlsx", GONGHAI)
    assert main(["check", str(src)]) == 2
    assert capsys.readouterr().err == (f"khbook：错误：{src}：不是 khbook 客户工作簿，看起来是一份客户清单：工作表“客户公海”，"
                                       "3 行（请用 khbook import 把它导入为客户管理工作簿）\n")
    assert main(["check", str(src), "--lang", "en"]) == 2
    assert capsys.readouterr().err == (f"khbook: error: {src}: is not a khbook workbook; it looks like a customer list: "
                                       "sheet “客户公海”, 3 rows (run khbook import to turn it into a customer workbook)\n")
    out = tmp_path / "copy.xlsx"
    assert main(["refresh", str(src), "-o", str(out)]) == 2
    assert not out.exists()
    assert "不是 khbook 客户工作簿" in capsys.readouterr().err


def test_batch_lists_a_list_as_failed(tmp_path, spec):
    folder = tmp_path / "in"
    folder.mkdir()
    book(folder / "公海.xlsx", GONGHAI)
    write_template(spec, folder / "空白.xlsx")
    from khbook import run_batch

    result = run_batch(folder, tmp_path / "out", spec=spec, as_of=AS_OF, jobs=1)
    assert [(Path(e.file).name, e.reason) for e in result.entries if e.status.value == "refused"] == [
        ("公海.xlsx", "不是 khbook 客户工作簿，看起来是一份客户清单：工作表“客户公海”，3 行（请用 khbook import 把它导入为客户管理工作簿）")]


def test_other_table_and_empty_book(tmp_path, spec):
    other = book(tmp_path / "工资.xlsx", {"Sheet1": [["月份", "金额"], ["1月", 100]], "Sheet2": [["x"]]})
    with pytest.raises(WorkbookError) as exc:
        check_file(other, spec)
    assert exc.value.code == "not_khbook"
    assert exc.value.render_reason(spec, "zh") == ("不是 khbook 客户工作簿（没有模板中的任何工作表），其中最大的是工作表“Sheet1”，"
                                                   "2 行（请用 khbook import 把它导入为客户管理工作簿）")
    empty = book(tmp_path / "空.xlsx", {"Sheet1": []})
    with pytest.raises(WorkbookError) as exc:
        check_file(empty, spec)
    assert exc.value.code == "not_khbook_empty"


def test_a_list_named_like_an_alias_is_still_a_list(tmp_path, spec):
    """客户列表 is an alias of 客户基础信息, but with a list's headers the book is a list."""
    src = book(tmp_path / "列表.xlsx", {"客户列表": [["客户名称", "联系人", "电话"], ["苏州示例模具厂", "郑洁", 13912345678]]})
    with pytest.raises(WorkbookError) as exc:
        check_file(src, spec)
    assert exc.value.code == "not_khbook_list" and exc.value.params["rows"] == 2
    out = tmp_path / "out.xlsx"
    import_lists([src], out, spec=spec, as_of=AS_OF)
    assert fields(out, "联系人", "客户ID", "联系人姓名", "手机") == [("KH0001", "郑洁", "13912345678")]


def test_english_sheet_name_in_a_chinese_book(tmp_path, spec):
    """A `Contacts` sheet of a forwarder's book is not 联系人: no phone findings on it (issue 20.6)."""
    forwarder = book(tmp_path / "货代.xlsx", {"Contacts": [["Name", "Tel", "Port"], ["Mr Chen", "021-6575", "SHA"]],
                                              "运价": [["航线", "价格"], ["上海-洛杉矶", 1200]]})
    with pytest.raises(WorkbookError) as exc:
        check_file(forwarder, spec)
    assert exc.value.code == "not_khbook"
    # a khbook workbook with such a sheet: 联系人 is missing, Contacts is an extra sheet, not read
    template = write_template(spec, tmp_path / "t.xlsx")
    wb = openpyxl.load_workbook(template)
    del wb["联系人"]
    ws = wb.create_sheet("Contacts")
    ws.append(["Name", "Tel", "Port"])
    ws.append(["Mr Chen", "021-6575", "SHA"])
    wb.save(tmp_path / "mixed.xlsx")
    report = check_file(tmp_path / "mixed.xlsx", spec, as_of=AS_OF)
    assert {(f.rule, f.sheet) for f in report.findings} == {("missing_sheet", "联系人"), ("extra_sheet", "Contacts")}


def test_english_template_still_matches(tmp_path, spec):
    path = write_template(spec, tmp_path / "en.xlsx", lang="en", examples=2, as_of=AS_OF)
    report = check_file(path, spec, as_of=AS_OF)
    assert not [f for f in report.findings if f.rule in ("missing_sheet", "extra_sheet")]
    assert len(report.customers) == 2
