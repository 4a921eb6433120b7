"""Team workflows: split a department workbook per owner, merge the reps' books back,
reassign customers, upgrade a book from an older template.

The department book is generated with the library (the template's example customers,
owners set per customer) and written in the template; the reps' edits are made with
openpyxl, as a rep would.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import shutil
from pathlib import Path

import openpyxl
import pytest

from khbook.cli import main
from khbook.pipeline import check_file
from khbook.spec import Spec, load_spec
from khbook.team.book import (
    Row,
    TeamBook,
    classify_rows,
    read_team_book,
    spec_version_of,
    write_team_book,
)
from khbook.team.merge import merge_dir
from khbook.team.split import split_book
from khbook.team.upgrade import upgrade_book
from khbook.template.examples import example_records
from khbook.template.writer import write_template
from tests.rep import AS_OF, Rep

OWNERS = ["王磊", "李娜", "张伟", "刘洋", "陈静"]


@pytest.fixture(scope="module")
def spec() -> Spec:
    return load_spec()


def make_master(spec: Spec, path: Path, n: int, *, no_owner_every: int = 0, orphans: int = 0) -> dict[str, list[Row]]:
    """A department book of `n` example customers, owners in turn; some without an owner;
    `orphans` follow-up rows of a customer that is on no customers row."""
    recs = example_records(spec, n, as_of=AS_OF)
    for i, r in enumerate(recs["customers"]):
        r["owner"] = None if no_owner_every and i % no_owner_every == 0 else OWNERS[i % len(OWNERS)]
    orphan_rows = [dict(recs["followups"][0], customer_id="KH-GONE") for _ in range(orphans)]
    recs["followups"].extend(orphan_rows)
    rows = {k: [Row(v, 0, v.get("customer_id")) for v in vs] for k, vs in recs.items()}
    write_team_book(spec, path, rows, classes=classify_rows(spec, rows, as_of=AS_OF))
    return rows


def contents(book: TeamBook, sheet: str) -> list[tuple]:
    """A sheet's rows as comparable values (customer first, then every field), order-free."""
    return sorted((r.customer_id or "", tuple((k, type(v).__name__, repr(v)) for k, v in sorted(r.values.items())))
                  for r in book.rows[sheet])


def by_customer(book: TeamBook, sheet: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in book.rows[sheet]:
        out[r.customer_id or ""] = out.get(r.customer_id or "", 0) + 1
    return out


@pytest.fixture(scope="module")
def small(tmp_path_factory, spec):
    """A 40-customer department book, every 13th customer without an owner, 2 orphan rows."""
    d = tmp_path_factory.mktemp("small")
    make_master(spec, d / "部门.xlsx", 40, no_owner_every=13, orphans=2)
    return d / "部门.xlsx"


# --------------------------------------------------------------------------- split


def test_split_one_file_per_owner_with_exactly_their_rows(tmp_path, spec, small):
    res = split_book(small, tmp_path / "out", spec=spec, as_of=AS_OF)
    master = read_team_book(small, spec, as_of=AS_OF)
    owner_of = {r.customer_id: r.values["owner"] for r in master.rows["customers"]}
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        [f"{o}.xlsx" for o in OWNERS] + ["未分配负责人.xlsx"])
    assert res.customers[""] == 4 and res.orphans == 2          # customers 0, 13, 26, 39; the two KH-GONE rows
    for owner in [*OWNERS, ""]:
        book = read_team_book(res.files[owner], spec, as_of=AS_OF)
        ids = {r.customer_id for r in book.rows["customers"]}
        assert ids == {c for c, o in owner_of.items() if (o or "") == owner}
        for sheet in ("contacts", "followups", "needs", "deals"):
            want = [r for r in master.rows[sheet] if r.customer_id in ids or (owner == "" and r.customer_id == "KH-GONE")]
            assert sorted(contents_of(want)) == sorted(contents_of(book.rows[sheet])), (owner, sheet)


def contents_of(rows: list[Row]) -> list[tuple]:
    return [(r.customer_id or "", tuple(sorted((k, repr(v)) for k, v in r.values.items()))) for r in rows]


def test_split_file_is_the_template_with_computed_columns(tmp_path, spec, small):
    res = split_book(small, tmp_path / "out", spec=spec, as_of=AS_OF)
    path = res.files["李娜"]
    wb = openpyxl.load_workbook(path)
    ws = wb["客户基础信息"]
    headers = [c.value for c in ws[1]]
    assert headers[:3] == ["客户ID*", "客户名称*", "统一社会信用代码"]
    assert len(ws.data_validations.dataValidation) >= len(spec.sheet("customers").columns) - 2
    assert wb["下拉列表"].sheet_state == "hidden"
    tier = headers.index("客户价值等级") + 1
    assert all(ws.cell(r, tier).value for r in range(2, ws.max_row + 1))
    assert spec_version_of(path) == spec.version
    # the computed values are the department's classification of those customers
    master = read_team_book(small, spec, as_of=AS_OF)
    want = {c.customer_id: c.value_tier for c in master.report.customers}
    book = read_team_book(path, spec, as_of=AS_OF)
    assert {r.customer_id: r.values["value_tier"] for r in book.rows["customers"]} == \
        {r.customer_id: want[r.customer_id] for r in book.rows["customers"]}


def test_split_by_another_column(tmp_path, spec, small):
    res = split_book(small, tmp_path / "out", spec=spec, by="所在区域", as_of=AS_OF)
    master = read_team_book(small, spec, as_of=AS_OF)
    regions = {r.values["region"] or "" for r in master.rows["customers"]}
    assert set(res.files) == regions | ({""} if res.orphans else set())


# --------------------------------------------------------------------------- reassign


def write_map(path: Path, pairs: list[tuple[str, str]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["原负责人或客户ID", "新负责人"])
        w.writerows(pairs)
    return path


def test_reassign_moves_customers_with_all_rows(tmp_path, spec, small):
    master = read_team_book(small, spec, as_of=AS_OF)
    cust = next(r for r in master.rows["customers"] if r.values["owner"] == "王磊")
    cid = cust.customer_id
    mapping = write_map(tmp_path / "map.csv", [(cid, "周婷"), ("张伟", "李娜"), ("不存在的人", "李娜")])
    res = split_book(small, tmp_path / "out", spec=spec, mapping=mapping, as_of=AS_OF)
    assert "张伟" not in res.files and "周婷" in res.files
    assert res.unmatched == ["不存在的人"]
    zhou = read_team_book(res.files["周婷"], spec, as_of=AS_OF)
    assert [r.customer_id for r in zhou.rows["customers"]] == [cid]
    assert zhou.rows["customers"][0].values["owner"] == "周婷"
    for sheet in ("contacts", "followups", "needs", "deals"):
        assert by_customer(zhou, sheet).get(cid, 0) == by_customer(master, sheet).get(cid, 0)
    wang = read_team_book(res.files["王磊"], spec, as_of=AS_OF)
    assert cid not in {r.customer_id for r in wang.rows["customers"]}
    assert cid not in by_customer(wang, "followups")
    zhang_ids = [r.customer_id for r in master.rows["customers"] if r.values["owner"] == "张伟"]
    li = read_team_book(res.files["李娜"], spec, as_of=AS_OF)
    assert set(zhang_ids) <= {r.customer_id for r in li.rows["customers"]}
    # the handover report: one line per moved customer, with the rows that went along
    ws = openpyxl.load_workbook(res.handover)["交接清单"]
    lines = [[c.value for c in row] for row in ws.iter_rows(min_row=2)]
    assert len(lines) == 1 + len(zhang_ids)
    line = next(x for x in lines if x[0] == cid)
    assert line[2:4] == ["王磊", "周婷"]
    assert line[4:8] == [by_customer(master, s).get(cid, 0) for s in ("contacts", "followups", "needs", "deals")]
    assert line[8] == "按客户指定的新负责人"
    assert {tuple(x[2:4]) for x in lines if x[0] != cid} == {("张伟", "李娜")}


def test_owner_changed_in_the_merged_book_moves_on_next_split(tmp_path, spec, small):
    first = split_book(small, tmp_path / "reps", spec=spec, as_of=AS_OF)
    merged = merge_dir(tmp_path / "reps", tmp_path / "部门合并.xlsx", spec=spec, as_of=AS_OF).output
    wb = openpyxl.load_workbook(merged)
    ws = wb["客户基础信息"]
    head = [c.value for c in ws[1]]
    owner_col = head.index("负责人*") + 1
    row = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, owner_col).value == "刘洋")
    cid = ws.cell(row, 1).value
    ws.cell(row, owner_col).value = "陈静"
    wb.save(merged)
    res = split_book(merged, tmp_path / "next", spec=spec, as_of=AS_OF)
    assert [(m.customer_id, m.old, m.new, m.basis) for m in res.moves] == [(cid, "刘洋", "陈静", "in_master")]
    assert res.customers["刘洋"] == first.customers["刘洋"] - 1
    assert res.customers["陈静"] == first.customers["陈静"] + 1


# --------------------------------------------------------------------------- merge


def test_merge_lists_conflicts_and_keeps_every_row(tmp_path, spec, small):
    res = split_book(small, tmp_path / "reps", spec=spec, as_of=AS_OF)
    # 李娜 also types one of 王磊's customers into her book, with another phone-free name
    wang = openpyxl.load_workbook(res.files["王磊"])
    li_path = res.files["李娜"]
    li = openpyxl.load_workbook(li_path)
    src, dst = wang["客户基础信息"], li["客户基础信息"]
    n = dst.max_row + 1
    for j, cell in enumerate(src[2], start=1):
        dst.cell(n, j, cell.value)
    cid = src.cell(2, 1).value
    dst.cell(n, 2, "改过名字的公司")
    fu = li["跟进记录"]
    m = fu.max_row + 1
    fu.cell(m, 1, cid)
    fu.cell(m, 2, dt.datetime(2026, 11, 20))
    fu.cell(m, 3, "电话")
    fu.cell(m, 4, "李娜")
    fu.cell(m, 6, "李娜补记的一次电话沟通。")
    li.save(li_path)
    out = merge_dir(tmp_path / "reps", tmp_path / "部门.xlsx", spec=spec, as_of=AS_OF)
    before = read_team_book(small, spec, as_of=AS_OF)
    assert out.customers == len(before.rows["customers"]) + 1
    kinds = [(c.kind, c.customer_id, c.field, c.file1, c.value1, c.file2, c.value2) for c in out.conflicts
             if c.kind == "edited"]
    wang_name = src.cell(2, 2).value
    assert kinds == [("edited", cid, "客户名称", "李娜.xlsx", "改过名字的公司", "王磊.xlsx", wang_name)]
    rows_only = [c for c in out.conflicts if c.kind == "rows"]
    assert any(c.sheet == "跟进记录" and c.file1 == "李娜.xlsx" and c.row1 == m for c in rows_only)
    wb = openpyxl.load_workbook(out.output)
    sheet = wb["合并冲突"]
    assert sheet.cell(1, 1).value == "冲突类型"
    assert sheet.max_row == 1 + len(out.conflicts)
    assert wb.active.title == "合并冲突"
    cust = wb["客户基础信息"]
    src_col = [c.value for c in cust[1]].index("来源文件") + 1
    sources = [cust.cell(r, src_col).value for r in range(2, cust.max_row + 1) if cust.cell(r, 1).value == cid]
    assert sorted(sources) == ["李娜.xlsx", "王磊.xlsx"]
    assert main(["merge", str(tmp_path / "reps"), "-o", str(tmp_path / "again.xlsx"), "--as-of", AS_OF.isoformat()]) == 1


def test_merge_of_an_empty_folder_is_a_one_line_error(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["merge", str(tmp_path / "empty"), "-o", str(tmp_path / "x.xlsx")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "empty" in err


@pytest.mark.slow
def test_split_then_merge_gives_back_the_department_book(tmp_path, spec):
    """5,000 customers, 5 owners: split, then merge with no edits, gives back every row's
    values exactly (computed columns included)."""
    master_path = tmp_path / "部门.xlsx"
    make_master(spec, master_path, 5000, no_owner_every=250)
    res = split_book(master_path, tmp_path / "reps", spec=spec, as_of=AS_OF)
    assert len(res.files) == 6 and sum(res.customers.values()) == 5000 and res.customers[""] == 20
    merged = merge_dir(tmp_path / "reps", tmp_path / "合并.xlsx", spec=spec, as_of=AS_OF)
    assert merged.conflicts == []
    a = read_team_book(master_path, spec, as_of=AS_OF)
    b = read_team_book(merged.output, spec, as_of=AS_OF)
    for sheet in spec.sheets:
        assert len(a.rows[sheet.key]) == len(b.rows[sheet.key])
        assert contents(a, sheet.key) == contents(b, sheet.key), sheet.key
    assert len({r.values["owner"] for r in a.rows["customers"]} - {None}) == 5


# --------------------------------------------------------------------------- upgrade


def old_spec(tmp_path: Path) -> Spec:
    """A spec copy as it was a version ago: no 微信 column, 零售业 still called 零售, an
    extra customers column the template has since dropped."""
    old = tmp_path / "old_spec"
    shutil.copytree(load_spec().directory, old)
    wb = (old / "workbook.yaml").read_text(encoding="utf-8").replace("version: 1\n", "version: 0\n")
    wb = re.sub(r"      - key: wechat\n(?:        .*\n)+", "", wb)
    # the customers sheet's first column `remark`: the old template had a column before it
    wb = wb.replace('      - key: remark\n',
                    '      - key: legacy_grade\n        header: {zh: 旧客户级别, en: Old grade}\n        type: text\n'
                    '      - key: remark\n', 1)
    (old / "workbook.yaml").write_text(wb, encoding="utf-8")
    lists = (old / "lists.yaml").read_text(encoding="utf-8")
    (old / "lists.yaml").write_text(lists.replace("{zh: 零售业, en: Retail, aliases: [零售]}", "{zh: 零售, en: Retail}"),
                                    encoding="utf-8")
    return load_spec(old)


def test_upgrade_maps_renamed_values_keeps_retired_columns_and_reports_every_change(tmp_path, spec):
    ospec = old_spec(tmp_path)
    assert not ospec.sheet("contacts").has("wechat") and ospec.sheet("customers").has("legacy_grade")
    path = tmp_path / "王磊.xlsx"
    write_template(ospec, path)
    rep = Rep(path, ospec)
    first = AS_OF - dt.timedelta(days=30)
    rep.put("customers", 2, customer_id="KH001", name="测试零售有限公司", industry="零售", first_contact=first,
            owner="王磊", legacy_grade="甲")
    rep.put("customers", 3, customer_id="KH002", name="测试制造有限公司", industry="制造业", first_contact=first,
            owner="王磊")
    rep.put("contacts", 2, customer_id="KH001", name="赵敏", mobile="13800138000")
    rep.put("needs", 2, customer_id="KH002", keywords="降本增效")
    rep.wb.save(path)
    assert spec_version_of(path) == 0
    old = [f for f in check_file(path, spec, as_of=AS_OF).findings if f.rule == "outdated_template"]
    assert [(f.severity, f.message) for f in old] == [
        ("info", "这个工作簿用的是旧版模板（版本 0，当前版本 1）：可用 khbook upgrade 转到当前模板。")]
    res = upgrade_book(path, spec=spec, as_of=AS_OF)
    assert res.output == tmp_path / "王磊.upgraded.xlsx"
    assert [(c.kind, c.sheet, c.cell, c.column, c.old, c.new) for c in res.changes] == [
        ("version", "", "", "", "0", "1"),
        ("retired", "客户基础信息", "", "旧客户级别", "", "旧版列"),
        ("value", "客户基础信息", "D2", "所属行业", "零售", "零售业"),
        ("added", "联系人", "", "微信", "", ""),
    ]
    assert spec_version_of(res.output) == spec.version
    assert not [f for f in check_file(res.output, spec, as_of=AS_OF).findings if f.rule == "outdated_template"]
    book = read_team_book(res.output, spec, as_of=AS_OF)
    assert [(r.customer_id, r.values["industry"], r.values["name"]) for r in book.rows["customers"]] == [
        ("KH001", "零售业", "测试零售有限公司"), ("KH002", "制造业", "测试制造有限公司")]
    assert book.rows["contacts"][0].values["mobile"] == "13800138000"
    assert book.rows["needs"][0].values["keywords"] == "降本增效"
    wb = openpyxl.load_workbook(res.output)
    retired = [[c.value for c in row] for row in wb["旧版列"].iter_rows()]
    assert retired == [["原工作表", "原行号", "客户ID", "旧客户级别"], ["客户基础信息", 2, "KH001", "甲"]]
    report = [[c.value for c in row] for row in wb["升级报告"].iter_rows()]
    assert report[0] == ["变更", "工作表", "单元格", "列", "原值", "新值"]
    assert report[3] == ["列表值改名", "客户基础信息", "D2", "所属行业", "零售", "零售业"]
    assert wb["客户基础信息"]["D2"].value == "零售业"
    # the input is never modified
    assert openpyxl.load_workbook(path)["客户基础信息"]["D2"].value == "零售"


def test_upgrade_of_a_current_book_changes_nothing(tmp_path, spec, small):
    res = upgrade_book(small, tmp_path / "up.xlsx", spec=spec, as_of=AS_OF)
    assert res.changes == []
    a, b = read_team_book(small, spec, as_of=AS_OF), read_team_book(res.output, spec, as_of=AS_OF)
    for sheet in spec.sheets:
        assert contents(a, sheet.key) == contents(b, sheet.key)


# --------------------------------------------------------------------------- CLI


def test_cli_split_and_upgrade(tmp_path, small, capsys):
    mapping = write_map(tmp_path / "map.csv", [("张伟", "李娜")])
    assert main(["split", str(small), "-o", str(tmp_path / "out"), "--reassign", str(mapping),
                 "--as-of", AS_OF.isoformat()]) == 0
    out = capsys.readouterr().out
    assert "已写出 5 个工作簿" in out and "交接：李娜 从 张伟 接手 8 个客户" in out
    assert (tmp_path / "out" / "交接清单.xlsx").exists()
    assert main(["upgrade", str(small), "-o", str(tmp_path / "u.xlsx"), "--as-of", AS_OF.isoformat()]) == 0
    assert "0 处变更" in capsys.readouterr().out


def test_split_names_stale_workbooks_and_merge_skips_annotated_copies(tmp_path, spec, small, capsys):
    out = tmp_path / "out"
    out.mkdir()
    shutil.copy(small, out / "去年离职的人.xlsx")
    res = split_book(small, out, spec=spec, as_of=AS_OF)
    assert [p.name for p in res.stale] == ["去年离职的人.xlsx"]
    (out / "去年离职的人.xlsx").unlink()
    assert main(["refresh", str(res.files["王磊"]), "--as-of", AS_OF.isoformat()]) in (0, 1)
    assert (out / "王磊.checked.xlsx").exists()
    merged = merge_dir(out, tmp_path / "m.xlsx", spec=spec, as_of=AS_OF)
    assert "王磊.checked.xlsx" not in {p.name for p in merged.files} and merged.conflicts == []
    capsys.readouterr()
    shutil.copy(small, out / "去年离职的人.xlsx")
    assert main(["split", str(small), "-o", str(out), "--as-of", AS_OF.isoformat()]) == 0
    assert "去年离职的人.xlsx" in capsys.readouterr().out
