"""Classification from real filled workbooks: customers built to sit on each threshold edge."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from khbook.pipeline import check_file
from khbook.spec import default_spec_dir, load_spec
from tests.rep import AS_OF, Rep, days_ago, make_template


def _customer(rep: Rep, row: int, cid: str, **extra) -> None:
    rep.put("customers", row, customer_id=cid, name=f"示例{cid}有限公司", industry="制造业",
            first_contact=days_ago(30), owner="张伟", **extra)


@pytest.fixture(scope="module")
def edges(tmp_path_factory):
    d = tmp_path_factory.mktemp("edges")
    rep = Rep(make_template(d / "t.xlsx"))
    rows = iter(range(2, 100))
    deals = iter(range(2, 100))
    fus = iter(range(2, 100))
    _customer(rep, next(rows), "A4999", annual_amount=49.99)
    _customer(rep, next(rows), "A50", annual_amount="50万")
    for n in (364, 365, 366):  # 年交易额 from won deals "in the 365 days up to the as-of date"
        _customer(rep, next(rows), f"W{n}")
        rep.put("deals", next(deals), customer_id=f"W{n}", stage="成交", actual_amount=10, deal_date=days_ago(n))
    for n in (89, 90, 91):  # 流失风险: last interaction more than 90 days ago
        _customer(rep, next(rows), f"F{n}", annual_amount=20)
        rep.put("deals", next(deals), customer_id=f"F{n}", stage="成交", actual_amount=20, deal_date=days_ago(100))
        rep.put("followups", next(fus), customer_id=f"F{n}", date=days_ago(n), method="电话", by="张伟", summary="回访")
    for n in (364, 365, 366):  # 长期合作: first won deal more than 365 days ago
        _customer(rep, next(rows), f"L{n}", annual_amount=20)
        rep.put("deals", next(deals), customer_id=f"L{n}", stage="成交", actual_amount=20, deal_date=days_ago(n))
        rep.put("followups", next(fus), customer_id=f"L{n}", date=days_ago(10), method="拜访", by="张伟", summary="回访")
    _customer(rep, next(rows), "S", annual_amount=5)
    rep.put("needs", 2, customer_id="S", tags="战略合作")
    _customer(rep, next(rows), "N", annual_amount=30)
    rep.put("deals", next(deals), customer_id="N", stage="谈判", expected_amount=30, updated=days_ago(5))
    _customer(rep, next(rows), "X", annual_amount="待定")  # untrustworthy amount, no deals
    path = rep.save(d / "edges.xlsx")
    report = check_file(path, as_of=AS_OF)
    return {c.customer_id: c for c in report.customers}, report


def test_value_tier_edges(edges):
    c, _ = edges
    assert c["A4999"].value_tier == "中价值" and c["A50"].value_tier == "高价值"
    assert "49.99" in c["A4999"].reasons["value_tier"] and "50" in c["A50"].reasons["value_tier"]
    assert [c[f"W{n}"].annual_amount for n in (364, 365, 366)] == [10, 0, 0]
    assert [c[f"W{n}"].value_tier for n in (364, 365, 366)] == ["中价值", "低价值", "低价值"]
    assert c["S"].value_tier == "高价值" and "战略合作" in c["S"].reasons["value_tier"]


def test_stage_edges(edges):
    c, _ = edges
    assert [c[f"F{n}"].stage for n in (89, 90, 91)] == ["合作中", "合作中", "流失风险"]
    assert "91" in c["F91"].reasons["stage"]
    assert [c[f"L{n}"].stage for n in (364, 365, 366)] == ["合作中", "合作中", "长期合作"]
    assert "366" in c["L366"].reasons["stage"]
    assert c["A50"].stage == "潜在客户" and c["N"].stage == "意向客户"
    # won long ago and never followed up: a churn risk
    assert c["W364"].stage == "流失风险"


def test_tags(edges):
    c, _ = edges
    assert "流失风险" in c["F91"].tags and "流失风险" not in c["F90"].tags
    assert "稳定合作" in c["L366"].tags and "稳定合作" not in c["L365"].tags
    assert "重点跟进" in c["A50"].tags and "重点跟进" in c["N"].tags  # 高价值; a deal in 谈判
    assert "重点跟进" not in c["A4999"].tags


def test_untrusted_amount_is_to_be_completed(edges):
    c, report = edges
    assert c["X"].value_tier == "待补充" and c["X"].abc_class == "待补充"
    assert c["X"].reasons["value_tier"]
    assert any(f.rule == "bad_amount" and f.customer_id == "X" for f in report.findings)


def test_abc_share_edges(tmp_path):
    rep = Rep(make_template(tmp_path / "t.xlsx"))
    for i, (cid, amount) in enumerate([("C499", 4.99), ("B5", 5), ("A20", 20), ("BIG", 70.01)], start=2):
        _customer(rep, i, cid, annual_amount=amount)
    report = check_file(rep.save(tmp_path / "abc.xlsx"), as_of=AS_OF)
    c = {x.customer_id: x for x in report.customers}
    assert [c[k].abc_class for k in ("C499", "B5", "A20", "BIG")] == ["C", "B", "A", "A"]
    assert "4.99" in c["C499"].reasons["abc_class"] and "20" in c["A20"].reasons["abc_class"]


def test_threshold_change_in_a_spec_copy_moves_tiers(tmp_path):
    spec_dir = tmp_path / "spec"
    shutil.copytree(default_spec_dir(), spec_dir)
    rules = yaml.safe_load((spec_dir / "rules.yaml").read_text(encoding="utf-8"))
    rules["value_tier"]["tiers"][0]["min"] = 40
    (spec_dir / "rules.yaml").write_text(yaml.safe_dump(rules, allow_unicode=True), encoding="utf-8")
    rep = Rep(make_template(tmp_path / "t.xlsx"))
    _customer(rep, 2, "M45", annual_amount=45)
    path = rep.save(tmp_path / "m.xlsx")
    assert check_file(path, as_of=AS_OF).customers[0].value_tier == "中价值"
    moved = check_file(path, load_spec(spec_dir), as_of=AS_OF).customers[0]
    assert moved.value_tier == "高价值" and "40" in moved.reasons["value_tier"]


def test_customers_json_uses_spec_labels(edges, tmp_path):
    _, report = edges
    d = report.to_dict()
    assert {"customer_id", "name", "owner", "annual_amount", "value_tier", "abc_class", "stage", "tags", "region",
            "size_band", "decision_chain", "reasons"} == set(d["customers"][0])
    assert Path(report.file).name == "edges.xlsx"
