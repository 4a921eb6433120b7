"""A rep's second round: refreshing khbook's own annotated copy works in place, the original is
never touched, and values written into a workbook stay in that workbook's list language."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from pathlib import Path

import openpyxl
import pytest

from khbook.cli import main
from khbook.pipeline import refresh_file
from khbook.spec import load_spec
from tests.rep import AS_OF, Rep, make_template
from tests.test_check import fill_messy


@pytest.fixture(scope="module")
def spec():
    return load_spec()


@pytest.fixture(scope="module")
def messy(tmp_path_factory, spec) -> Path:
    d = tmp_path_factory.mktemp("second")
    template = make_template(d / "template.xlsx", spec)
    path, _ = fill_messy(template, d / "王磊.xlsx")
    return path


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _rep(path: Path, spec) -> Rep:
    rep = Rep(path, spec)
    rep.header_row["customers"] = 2  # fill_messy put a title row above the header
    return rep


def _rows(path: Path, sheet: str) -> list[list[object]]:
    wb = openpyxl.load_workbook(path)
    return [list(r) for r in wb[sheet].iter_rows(values_only=True)]


def test_refreshing_the_annotated_copy_twice(messy, tmp_path, spec, capsys):
    src = tmp_path / "王磊.xlsx"
    shutil.copy(messy, src)
    original = _digest(src)
    assert main(["refresh", str(src), "--as-of", AS_OF.isoformat()]) == 1
    copy = tmp_path / "王磊.checked.xlsx"
    assert capsys.readouterr().out.startswith(f"已写入 {copy}：")
    # the rep fixes cells in the copy: a computed tier typed by hand (recomputed again) and a bad amount
    rep = _rep(copy, spec)
    rep.put("customers", 3, value_tier="低价值")
    rep.put("customers", 8, annual_amount=30)
    rep.save(copy)
    assert main(["refresh", str(copy), "--as-of", (AS_OF + dt.timedelta(days=1)).isoformat()]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"已就地刷新 {copy}：6 个客户，")
    assert _digest(src) == original  # the user's file is never modified
    assert sorted(p.name for p in tmp_path.iterdir()) == ["王磊.checked.xlsx", "王磊.xlsx"]  # no temporary left
    # the rep's edit is kept; the tier they typed is recomputed and logged in the same 变更日志
    log = _rows(copy, "变更日志")
    assert log[0][:3] == ["刷新时间", "核对日期", "工作表"]
    as_ofs = {r[1] for r in log[1:]}
    assert as_ofs == {AS_OF.isoformat(), (AS_OF + dt.timedelta(days=1)).isoformat()}
    round2 = [r for r in log[1:] if r[1] == (AS_OF + dt.timedelta(days=1)).isoformat()]
    assert any(r[6] == "低价值" and r[7] == "高价值" for r in round2)
    amount = _rep(copy, spec).col("customers", "annual_amount")
    assert openpyxl.load_workbook(copy)["客户基础信息"].cell(8, amount).value == 30
    # exactly one of each of khbook's sheets
    names = openpyxl.load_workbook(copy).sheetnames
    assert names.count("异常清单") == names.count("变更日志") == names.count("分类汇总") == 1


def test_a_users_file_named_checked_is_never_overwritten(messy, tmp_path, capsys):
    mine = tmp_path / "张伟.checked.xlsx"  # the rep's own file that happens to carry the name
    shutil.copy(messy, mine)
    before = _digest(mine)
    assert main(["refresh", str(mine)]) == 2
    assert capsys.readouterr().err == f"khbook：错误：{mine}：输出文件会覆盖原文件（请用 -o 指定其他输出路径）\n"
    assert _digest(mine) == before


def test_lang_en_on_a_chinese_book_writes_chinese_list_values(messy, tmp_path, spec):
    res = refresh_file(messy, tmp_path / "en.xlsx", spec=spec, as_of=AS_OF, lang="en")
    wb = openpyxl.load_workbook(res.output)
    assert wb.sheetnames[-3:] == ["Findings", "Summary", "Change log"]  # khbook's sheets: the message language
    rep = _rep(res.output, spec)
    tiers = {wb["客户基础信息"].cell(r, rep.col("customers", "value_tier")).value for r in range(3, 11)}
    stages = {wb["客户基础信息"].cell(r, rep.col("customers", "stage")).value for r in range(3, 11)}
    allowed_tiers = set(spec.lists["value_tier"].labels("zh"))
    assert tiers - {None} and tiers - {None} <= allowed_tiers
    assert stages - {None} and stages - {None} <= set(spec.lists["stage"].labels("zh"))
    reasons = {wb["客户基础信息"].cell(r, rep.col("customers", "reasons")).value for r in range(3, 11)} - {None}
    assert reasons and all("年交易额" in r and "annual" not in r for r in reasons)  # the workbook's language, not --lang's
    changes = [r for r in _rows(res.output, "Change log")[1:] if r[5] == "客户价值等级"]
    assert changes and changes[0][7] in allowed_tiers


def test_findings_sheet_shows_rule_titles_not_ids(messy, tmp_path, spec):
    res = refresh_file(messy, tmp_path / "zh.xlsx", spec=spec, as_of=AS_OF)
    rows = _rows(res.output, "异常清单")
    assert rows[0][-1] == "规则"
    titles = {r[-1] for r in rows[1:]}
    assert titles <= {rule.title("zh") for rule in spec.checks.values()}
    assert not titles & set(spec.checks)
