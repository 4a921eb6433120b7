"""Classifications a sales team believes (issue 13), on filled workbooks and on typed books.

Amounts typed in yuan, tags that would contradict the stage, 资料不全 by stage, the ABC base
and its wording, reasons in plain sentences, multi-value cells with one unknown item, and
examples made for the as-of date they are checked at.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from khbook.classify.computed import reason_text
from khbook.classify.engine import classify
from khbook.classify.stages import excluded
from khbook.classify.words import abc_basis_text
from khbook.pipeline import check_file
from khbook.spec import Spec, default_spec_dir, load_spec
from tests.rep import AS_OF, Rep, days_ago, make_template
from tests.test_classify import _builtin_spec, ago, cust, make_book


@pytest.fixture(scope="module")
def spec() -> Spec:
    return _builtin_spec()


def _customer(rep: Rep, row: int, cid: str, **extra: Any) -> None:
    values = {"customer_id": cid, "name": f"示例{cid}有限公司", "industry": "制造业", "credit_code": "暂无",
              "address": "北京市海淀区中关村大街1号", "first_contact": days_ago(30), "owner": "张伟"}
    values.update(extra)
    rep.put("customers", row, **values)


def _check(tmp_path: Path, name: str, amounts: dict[str, Any], spec: Spec | None = None, **kw: Any):  # noqa: ANN202
    rep = Rep(make_template(tmp_path / f"{name}-t.xlsx"))
    for row, (cid, amount) in enumerate(amounts.items(), start=2):
        _customer(rep, row, cid, annual_amount=amount)
    report = check_file(rep.save(tmp_path / f"{name}.xlsx"), spec, as_of=AS_OF, **kw)
    return report, {c.customer_id: c for c in report.customers}


# --------------------------------------------------------------------------- 1. amounts in the wrong unit


def test_yuan_amount_is_a_warning_and_left_out_of_abc(tmp_path: Path) -> None:
    others = {"K10": 10, "K30": 30, "K60": 60}
    report, c = _check(tmp_path, "yuan", {**others, "Y": 500000})
    found = [f for f in report.findings if f.rule == "amount_in_yuan"]
    assert len(found) == 1
    f = found[0]
    assert (f.severity, f.customer_id, f.value) == ("warning", "Y", "500000")
    assert f.message.startswith("“500000”疑似按元填写（500000 元即 50 万元）")
    assert "请改为 50" in f.message
    assert c["Y"].abc_class == "待补充" and c["Y"].annual_amount is None
    assert c["Y"].reasons["annual_amount"] == "年交易额 500000 疑似按元填写（即 50 万元），更正前不参与分级"
    # the other customers are classified as if Y were absent
    _, alone = _check(tmp_path, "alone", others)
    assert {k: c[k].abc_class for k in others} == {k: alone[k].abc_class for k in others} == {
        "K10": "B", "K30": "A", "K60": "A"}
    assert c["K10"].reasons["abc_class"] == alone["K10"].reasons["abc_class"]
    assert "合计 100 万元" in c["K10"].reasons["abc_class"]


def test_amount_written_with_its_unit_is_trusted(tmp_path: Path) -> None:
    report, c = _check(tmp_path, "unit", {"K10": 10, "K30": 30, "K60": 60, "Y": "50亿", "W": "50000万"})
    assert not [f for f in report.findings if f.rule == "amount_in_yuan"]
    assert c["Y"].annual_amount == 500000 and c["W"].annual_amount == 50000
    assert c["Y"].abc_class == "A" and c["K60"].abc_class == "C"


def test_yuan_in_deal_amounts(tmp_path: Path) -> None:
    rep = Rep(make_template(tmp_path / "t.xlsx"))
    _customer(rep, 2, "D")
    _customer(rep, 3, "E")
    rep.put("deals", 2, customer_id="D", stage="成交", actual_amount=12, expected_amount=15, deal_date=days_ago(10))
    rep.put("deals", 3, customer_id="E", stage="成交", actual_amount=20, expected_amount=20, deal_date=days_ago(10))
    rep.put("deals", 4, customer_id="E", stage="谈判", expected_amount=300000, updated=days_ago(3))
    rep.put("deals", 5, customer_id="D", stage="成交", actual_amount="800,000", deal_date=days_ago(5))
    report = check_file(rep.save(tmp_path / "deals.xlsx"), as_of=AS_OF)
    found = {(f.cell, f.value) for f in report.findings if f.rule == "amount_in_yuan"}
    sheet = report.book.table("deals") if report.book else None
    assert sheet is not None
    assert found == {(sheet.cell(4, "expected_amount"), "300000"), (sheet.cell(5, "actual_amount"), "800,000")}
    d = {c.customer_id: c for c in report.customers}["D"]
    assert d.annual_amount is None  # the suspect won deal is not summed until corrected
    assert "1 笔缺少实际成交金额" in d.reasons["annual_amount"]


# --------------------------------------------------------------------------- 2. tags consistent with the stage


def test_churned_high_value_customer_is_not_priority(tmp_path: Path) -> None:
    rep = Rep(make_template(tmp_path / "t.xlsx"))
    _customer(rep, 2, "LOST", annual_amount=80)
    rep.put("deals", 2, customer_id="LOST", stage="成交", actual_amount=80, deal_date=days_ago(200))
    rep.put("deals", 3, customer_id="LOST", stage="流失", deal_date=days_ago(20), loss_reason="价格高于竞品")
    rep.put("followups", 2, customer_id="LOST", date=days_ago(25), method="电话", by="张伟", summary="回访",
            next_date=days_ago(5))
    rep.put("needs", 2, customer_id="LOST", tags="战略合作")
    c = check_file(rep.save(tmp_path / "lost.xlsx"), as_of=AS_OF).customers[0]
    assert (c.stage, c.value_tier) == ("已流失", "高价值")
    assert "重点跟进" not in c.tags and "需跟进" not in c.tags


def test_prospect_without_revenue_is_not_incomplete(tmp_path: Path) -> None:
    rep = Rep(make_template(tmp_path / "t.xlsx"))
    _customer(rep, 2, "P")                              # 潜在客户: no deal
    _customer(rep, 3, "O")                              # 意向客户: an open deal
    _customer(rep, 4, "W", address=None)                # 合作中, amount from the deals: only the address is missing
    _customer(rep, 5, "U")                              # 合作中, the won deal lacks its amount: 年交易额 is missing
    rep.put("deals", 2, customer_id="O", stage="方案", expected_amount=30, updated=days_ago(3))
    rep.put("deals", 3, customer_id="W", stage="成交", actual_amount=12, deal_date=days_ago(10))
    rep.put("deals", 4, customer_id="U", stage="成交", deal_date=days_ago(10))
    c = {x.customer_id: x for x in check_file(rep.save(tmp_path / "p.xlsx"), as_of=AS_OF).customers}
    assert (c["P"].stage, c["O"].stage) == ("潜在客户", "意向客户")
    assert "资料不全" not in c["P"].tags and "资料不全" not in c["O"].tags
    assert "资料不全：缺少注册地址" in c["W"].reasons["tags"] and "年交易额" not in c["W"].reasons["tags"]
    assert "资料不全：缺少年交易额(万元)" in c["U"].reasons["tags"]


@pytest.mark.parametrize("stage,tag", [(s, t) for s, tags in load_spec().rules.tags.exclusions.items() for t in tags])
def test_every_exclusion_pair(spec: Spec, stage: str, tag: str) -> None:
    kept = [("简单决策", "x")]
    assert excluded(spec, stage, [(tag, "why"), *kept]) == kept
    other = next(s for s in spec.lists["stage"].labels() if s not in spec.rules.tags.exclusions)
    assert excluded(spec, other, [(tag, "why")]) == [(tag, "why")]


def test_exclusions_hold_end_to_end(spec: Spec) -> None:
    deals = [{"customer_id": "L", "stage": "成交", "actual_amount": 80.0, "deal_date": ago(500)},
             {"customer_id": "L", "stage": "谈判", "updated": ago(300)},
             {"customer_id": "L", "stage": "流失", "deal_date": ago(20), "loss_reason": "价格"}]
    fus = [{"customer_id": "L", "date": ago(30), "next_date": ago(10)}]
    needs = [{"customer_id": "L", "tags": ("战略合作",)}]
    book = make_book(spec, customers=[cust("L")], deals=deals, followups=fus, needs=needs)
    c = classify(book, spec, AS_OF)[0]
    assert c.stage == "已流失"
    assert not set(c.tags) & set(spec.rules.tags.exclusions["已流失"])
    assert "重点跟进" not in c.reasons["tags"] and "需跟进" not in c.reasons["tags"]
    no_table = dataclasses.replace(spec, rules=dataclasses.replace(
        spec.rules, tags=dataclasses.replace(spec.rules.tags, exclusions={})))
    assert {"重点跟进", "需跟进"} <= set(classify(book, no_table, AS_OF)[0].tags)  # the table is what removes them


# --------------------------------------------------------------------------- 3. the ABC base, in words


def _spec_copy(tmp_path: Path, **abc: str) -> Spec:
    d = tmp_path / "spec"
    shutil.copytree(default_spec_dir(), d)
    path = d / "rules.yaml"
    text = path.read_text(encoding="utf-8")
    for key, value in abc.items():
        text = re.sub(rf"^  {key}: .*$", f"  {key}: {value}", text, count=1, flags=re.M)
    path.write_text(text, encoding="utf-8")
    return load_spec(d)


def test_abc_base_book_wording(tmp_path: Path, spec: Spec) -> None:
    report, _ = _check(tmp_path, "book", {"K1": 300.2, "K2": 253.6})
    want = "按本工作簿年交易额合计 553.8 万元计算：占比 20% 及以上为 A 类，5%–20% 为 B 类，其余为 C 类"
    assert report.abc_basis() == want
    assert abc_basis_text(spec, "zh", total=553.8) == want
    assert abc_basis_text(spec, "en", total=553.8) == (
        "Based on this workbook's total annual revenue of 553.8 (10k CNY): a share of 20% or more is class A,"
        " 5% to 20% class B, the rest class C")
    assert abc_basis_text(spec, "zh") == "按本工作簿年交易额合计计算：占比 20% 及以上为 A 类，5%–20% 为 B 类，其余为 C 类"


def test_abc_base_department_wording(spec: Spec) -> None:
    assert abc_basis_text(spec, "zh", scope="department", total=1200) == (
        "按全部门年交易额合计 1200 万元计算：占比 20% 及以上为 A 类，5%–20% 为 B 类，其余为 C 类")


def test_abc_base_company_total(tmp_path: Path) -> None:
    company = _spec_copy(tmp_path, base="company", company_total="1000")
    assert company.rules.abc.company_total == Decimal(1000)
    report, c = _check(tmp_path, "company", {"K200": 200, "K60": 60, "K10": 10}, company)
    assert {k: v.abc_class for k, v in c.items()} == {"K200": "A", "K60": "B", "K10": "C"}
    assert c["K60"].reasons["abc_class"] == "占公司年营收 1000 万元的 6.0%，在 5%–20% 之间，属 B 类"
    want = "按公司年营收 1000 万元计算：占比 20% 及以上为 A 类，5%–20% 为 B 类，其余为 C 类"
    assert report.abc_basis() == want
    assert abc_basis_text(company, "zh", scope="department", total=5) == want  # a batch uses it too


def test_abc_base_pareto_wording(tmp_path: Path) -> None:
    pareto = _spec_copy(tmp_path, method="pareto")
    assert abc_basis_text(pareto, "zh", total=100) == (
        "按本工作簿年交易额合计 100 万元计算：客户按年交易额从高到低排列，累计占比在前 80% 以内为 A 类，"
        "80%–95% 为 B 类，其余为 C 类")


# --------------------------------------------------------------------------- 4. reasons in plain sentences

ZH = {
    ("HIGH", "annual_amount"): "年交易额取填写值",
    ("HIGH", "value_tier"): "年交易额 62 万元，达到高价值标准（50 万元及以上）",
    ("MID", "value_tier"): "年交易额 27.7 万元，在 10–50 万元之间，属中价值",
    ("LOW", "value_tier"): "年交易额 5 万元，不到 10 万元，属低价值",
    ("NONE", "value_tier"): "客户价值等级待补充",
    ("LIFT", "value_tier"): "年交易额 5 万元，不到 10 万元，属低价值，因带有“战略合作”标签提升为高价值",
    ("HIGH", "abc_class"): "占本工作簿年交易额合计 132.2 万元的 46.9%，达到 20%，属 A 类",
    ("SUM", "abc_class"): "占本工作簿年交易额合计 132.2 万元的 9.5%，在 5%–20% 之间，属 B 类",
    ("LOW", "abc_class"): "占本工作簿年交易额合计 132.2 万元的 3.8%，不到 5%，属 C 类",
    ("NONE", "abc_class"): "客户等级(ABC)待补充",
    ("SUM", "annual_amount"): "年交易额未填写，按近 365 天（2025-11-25 至 2026-11-24）的 1 笔成交的实际成交金额合计",
    ("ZERO", "annual_amount"): "年交易额未填写，近 365 天（2025-11-25 至 2026-11-24）没有成交",
    ("NONE", "annual_amount"): "年交易额未填写，也没有成交记录，暂无法计算",
    ("HIGH", "stage"): "还没有交易记录，属潜在客户",
    ("OPEN", "stage"): "有进行中的交易（谈判），属意向客户",
    ("SUM", "stage"): "首次成交在 2026-11-14，至今 10 天，未超过 365 天，最近一次跟进在 30 天前，属合作中",
    ("LONG", "stage"): "首次成交在 2025-08-07，已 474 天，超过 365 天，属长期合作",
    ("RISK", "stage"): "已有成交，但最近一次跟进在 2026-08-21，已 95 天，超过 90 天，属流失风险",
    ("LOST", "stage"): "最近一笔交易（2026-11-04）为流失，之后没有新的交易，属已流失",
    ("HIGH", "tags"): "重点跟进：高价值客户；复杂决策：联系人中有 2 种决策角色（决策者、影响者），达到 2 种",
    ("OPEN", "tags"): "重点跟进：有谈判中的交易；资料不全：缺少所属行业",
    ("SUM", "tags"): "需跟进：计划 2026-11-14 跟进，已过 10 天，之后没有跟进",
    ("ZERO", "tags"): "沉睡客户：已 200 天没有跟进，超过 180 天；流失风险：与合作阶段一致",
    ("LONG", "tags"): "稳定合作：长期合作，且 5 天前刚跟进过（90 天以内）",
    ("LOST", "tags"): "无适用的状态标签",
    ("MID", "decision_chain"): "联系人中只有 1 种决策角色（使用者），不到 2 种",
    ("LOW", "decision_chain"): "联系人都没有填决策角色，无法判断决策链",
    ("SUM", "decision_chain"): "没有联系人，无法判断决策链",
    ("HIGH", "region"): "注册地址在广东省，属华南",
    ("MID", "region"): "统一社会信用代码第 3–4 位为 44（广东省），属华南",
    ("LOW", "region"): "无法从注册地址或统一社会信用代码判断省份，沿用填写的华东",
    ("NONE", "region"): "无法从注册地址或统一社会信用代码判断省份，也未填写所在区域",
    ("MID", "size_band"): "员工 80 人，属中型(50-500人)",
    ("SUM", "size_band"): "未填员工人数，沿用填写的大型(500人以上)",
    ("NONE", "size_band"): "未填员工人数，也未填写企业规模",
}
EN = {
    ("HIGH", "annual_amount"): "annual revenue as entered",
    ("HIGH", "value_tier"): "annual revenue of 62 (10k CNY) reaches High value (50 and above)",
    ("MID", "value_tier"): "annual revenue of 27.7 (10k CNY) is between 10 and 50: Medium value",
    ("LOW", "value_tier"): "annual revenue of 5 (10k CNY) is under 10: Low value",
    ("LIFT", "value_tier"): "annual revenue of 5 (10k CNY) is under 10: Low value; raised to High value by the tag Strategic partner",
    ("HIGH", "abc_class"): "46.9% of this workbook's total annual revenue of 132.2 (10k CNY), 20% or more: class A",
    ("SUM", "abc_class"): "9.5% of this workbook's total annual revenue of 132.2 (10k CNY), between 5% and 20%: class B",
    ("NONE", "abc_class"): "ABC class To be completed",
    ("SUM", "annual_amount"): "annual revenue is blank, so the actual amounts of 1 Won deal(s) in the last 365 days"
                              " (2025-11-25 to 2026-11-24) are added up",
    ("NONE", "annual_amount"): "annual revenue is blank, so with no Won deal at all it cannot be computed yet",
    ("OPEN", "stage"): "an open deal (Negotiation), so Prospect",
    ("SUM", "stage"): "first Won deal on 2026-11-14, 10 days ago, within 365; last follow-up 30 days ago, so Active",
    ("LONG", "stage"): "first Won deal on 2025-08-07, 474 days ago, more than 365, so Long-term",
    ("RISK", "stage"): "a Won deal, but the last follow-up was on 2026-08-21, 95 days ago, more than 90, so Churn risk",
    ("LOST", "stage"): "the latest deal (2026-11-04) was Lost and none followed, so Churned",
    ("HIGH", "stage"): "no deal yet, so Potential",
    ("ZERO", "tags"): "Dormant: no follow-up for 200 days, more than 180; Churn risk: as the stage says",
    ("LONG", "tags"): "Stable: Long-term, and followed up 5 days ago (within 90)",
    ("SUM", "tags"): "Follow-up due: a follow-up planned for 2026-11-14 is 10 days overdue, none since",
    ("OPEN", "tags"): "Priority: a deal in Negotiation; Incomplete: missing Industry",
    ("HIGH", "decision_chain"): "contacts hold 2 decision roles (Decision maker, Influencer), 2 or more",
    ("MID", "decision_chain"): "contacts hold only 1 decision role(s) (User), fewer than 2",
    ("MID", "region"): "credit code digits 3–4 are 44 (广东省): South China",
    ("LOW", "region"): "no province from the address or the credit code; kept the entered East China",
    ("MID", "size_band"): "80 employees: Medium (50-500)",
    ("NONE", "size_band"): "no employee count and no size entered",
}


def every_kind(spec: Spec):  # noqa: ANN201 - a Book
    """Customers that reach one reason of every kind."""
    customers = [
        cust("HIGH", annual_amount=62.0, address="广东省深圳市南山区科技园路1号", employees=120),
        cust("MID", annual_amount=27.7, credit_code="9144030071526726XG", address="朝阳区某路1号", employees=80),
        cust("LOW", annual_amount=5.0, address="朝阳区某路1号", credit_code=None, region="华东", employees=600),
        cust("SUM", annual_amount=None, size_band="大型(500人以上)"),
        cust("ZERO", annual_amount=None),
        cust("NONE", annual_amount=None, address=None, credit_code=None),
        cust("LIFT", annual_amount=5.0),
        cust("LOST", annual_amount=None),
        cust("RISK", annual_amount=None),
        cust("LONG", annual_amount=None),
        cust("OPEN", annual_amount=None, industry=None),
    ]
    deals = [
        {"customer_id": "SUM", "stage": "成交", "actual_amount": 12.5, "deal_date": ago(10)},
        {"customer_id": "ZERO", "stage": "成交", "actual_amount": 9.0, "deal_date": ago(400)},
        {"customer_id": "LOST", "stage": "成交", "actual_amount": 5.0, "deal_date": ago(500)},
        {"customer_id": "LOST", "stage": "流失", "deal_date": ago(20), "loss_reason": "价格"},
        {"customer_id": "RISK", "stage": "成交", "actual_amount": 20.0, "deal_date": ago(100)},
        {"customer_id": "LONG", "stage": "成交", "actual_amount": 20.0, "deal_date": ago(474)},
        {"customer_id": "OPEN", "stage": "谈判", "updated": ago(10)},
    ]
    fus = [{"customer_id": "SUM", "date": ago(30), "next_date": ago(10)}, {"customer_id": "RISK", "date": ago(95)},
           {"customer_id": "LONG", "date": ago(5)}, {"customer_id": "ZERO", "date": ago(200)},
           {"customer_id": "LOST", "date": ago(3), "next_date": ago(1)}]
    contacts = [{"customer_id": "HIGH", "name": "a", "decision_role": "决策者"},
                {"customer_id": "HIGH", "name": "b", "decision_role": "影响者"},
                {"customer_id": "MID", "name": "a", "decision_role": "使用者"}, {"customer_id": "LOW", "name": "a"}]
    needs = [{"customer_id": "LIFT", "tags": ("战略合作",)}, {"customer_id": "LOST", "tags": ("战略合作",)}]
    return make_book(spec, customers=customers, deals=deals, followups=fus, contacts=contacts, needs=needs)


@pytest.mark.parametrize("lang,expected", [("zh", ZH), ("en", EN)])
def test_one_reason_of_every_kind(spec: Spec, lang: str, expected: dict[tuple[str, str], str]) -> None:
    c = {x.customer_id: x for x in classify(every_kind(spec), spec, AS_OF, lang=lang)}
    got = {key: c[key[0]].reasons[key[1]] for key in expected}
    assert got == expected


def test_cell_says_the_decision_chain_once(spec: Spec) -> None:
    c = {x.customer_id: x for x in classify(every_kind(spec), spec, AS_OF)}
    cell = reason_text(spec, c["HIGH"].reasons, "zh") or ""
    assert cell.count("决策角色") == 1


_SIGNS = ("->", "<", ">", "=")


def _clauses(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"[，；。：,;:]", text) if p.strip()]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.none(), st.integers(0, 200_00).map(lambda c: c / 100)),  # 年交易额
                          st.one_of(st.none(), st.integers(0, 3000)),                              # employees
                          st.lists(st.tuples(st.sampled_from(["成交", "流失", "谈判", "线索"]),
                                             st.integers(0, 900)), max_size=3),                   # deals (stage, age)
                          st.lists(st.integers(0, 400), max_size=2),                               # follow-up ages
                          st.lists(st.sampled_from(["决策者", "影响者", "使用者", None]), max_size=3),
                          st.booleans()),                                                          # 战略合作
                min_size=1, max_size=6),
       st.sampled_from(["zh", "en"]))
def test_no_reason_has_signs_or_a_repeated_clause(people: list[tuple[Any, ...]], lang: str) -> None:
    spec = _builtin_spec()
    customers, deals, fus, contacts, needs = [], [], [], [], []
    for i, (amount, employees, ds, fs, roles, strategic) in enumerate(people):
        cid = f"K{i}"
        customers.append(cust(cid, annual_amount=amount, employees=employees, address=None if i % 2 else "广东省深圳市1号"))
        deals += [{"customer_id": cid, "stage": s, "actual_amount": 10.0 if s == "成交" else None, "deal_date": ago(a)}
                  for s, a in ds]
        fus += [{"customer_id": cid, "date": ago(a), "next_date": ago(max(0, a - 10))} for a in fs]
        contacts += [{"customer_id": cid, "name": f"n{j}", "decision_role": r} for j, r in enumerate(roles)]
        if strategic:
            needs.append({"customer_id": cid, "tags": ("战略合作",)})
    book = make_book(spec, customers=customers, deals=deals, followups=fus, contacts=contacts, needs=needs)
    for c in classify(book, spec, AS_OF, lang=lang):
        for text in c.reasons.values():
            assert not any(sign in text for sign in _SIGNS), text
        cell = reason_text(spec, c.reasons, lang) or ""
        clauses = _clauses(cell)
        assert len(clauses) == len(set(clauses)), cell


# --------------------------------------------------------------------------- 5. multi-value cells


def test_mixed_multi_value_cell_keeps_the_valid_items(tmp_path: Path) -> None:
    rep = Rep(make_template(tmp_path / "t.xlsx"))
    _customer(rep, 2, "M", annual_amount=27.7)
    rep.put("needs", 2, customer_id="M", tags="战略合作/预算明确/老板朋友")
    report = check_file(rep.save(tmp_path / "m.xlsx"), as_of=AS_OF)
    found = [f for f in report.findings if f.field == "tags"]
    assert [(f.rule, f.severity, f.value) for f in found] == [("not_in_list_item", "warning", "老板朋友")]
    assert found[0].message.startswith("“老板朋友”不是“标签”的可选值，已忽略")
    c = report.customers[0]
    assert c.value_tier == "高价值" and "战略合作" in c.reasons["value_tier"]


# --------------------------------------------------------------------------- 6. examples at the as-of date


@pytest.mark.parametrize("method", ["share", "pareto"])
def test_forty_examples_check_clean_at_their_as_of_date(tmp_path: Path, method: str) -> None:
    from khbook.template.writer import write_template

    spec = _spec_copy(tmp_path, method=method)
    path = write_template(spec, tmp_path / "ex.xlsx", examples=40, as_of=AS_OF)
    report = check_file(path, spec, as_of=AS_OF)
    assert report.findings == []
    s = report.summary
    assert set(s["stage"]) >= {"已流失", "长期合作", "合作中", "意向客户", "潜在客户"}
    assert s["value_tier"].get("高价值", 0) >= 1 and s["value_tier"].get("中价值", 0) >= 1
    assert "资料不全" not in s["tag"]
    if method == "pareto":
        assert s["abc_class"].get("A", 0) >= 1


def test_instructions_and_summary_name_no_method_or_file(tmp_path: Path) -> None:
    from khbook.pipeline import refresh_file
    from khbook.template.writer import write_template

    path = write_template(load_spec(), tmp_path / "ex.xlsx", examples=8, as_of=AS_OF)
    out = refresh_file(path, tmp_path / "ex.checked.xlsx", as_of=AS_OF).output
    wb = openpyxl.load_workbook(out, read_only=True)
    texts = []
    for name in ("填写说明", "分类汇总"):
        texts += [str(v) for row in wb[name].iter_rows(values_only=True) for v in row if v is not None]
    wb.close()
    joined = "\n".join(texts)
    assert "按本工作簿年交易额合计计算：占比 20% 及以上为 A 类" in joined
    assert re.search(r"按本工作簿年交易额合计 [\d.]+ 万元计算", joined)
    for word in ("rules.yaml", "share", "pareto", "amount_in_yuan", "not_in_list"):
        assert word not in joined


def test_batch_outputs_say_the_department_base_in_words(tmp_path: Path) -> None:
    from khbook.batch.run import run_batch
    from khbook.template.writer import write_template

    spec = load_spec()
    src = tmp_path / "in"
    src.mkdir()
    write_template(spec, src / "team-a.xlsx", examples=6, as_of=AS_OF)
    rep = Rep(make_template(tmp_path / "t.xlsx"))
    _customer(rep, 2, "Y1", annual_amount=500000)
    _customer(rep, 3, "Y2", annual_amount=20)
    _customer(rep, 4, "Y3", annual_amount=30)
    rep.save(src / "team-b.xlsx")
    result = run_batch(src, tmp_path / "out", spec=spec, as_of=AS_OF, jobs=1)
    assert any(f.rule == "amount_in_yuan" for f in result.findings)
    html = result.outputs["html"].read_text(encoding="utf-8")
    wb = openpyxl.load_workbook(result.outputs["workbook"], read_only=True)
    cells = "\n".join(str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row if v is not None)
    wb.close()
    for text in (html, cells):
        assert "按全部门年交易额合计" in text and "占比 20% 及以上为 A 类" in text
        for word in ("rules.yaml", "share", "pareto", "amount_in_yuan", "not_in_list"):
            assert word not in text, word


# --------------------------------------------------------------------------- the typed rules


@pytest.mark.parametrize("edit,where", [
    (lambda r: r["abc"].update(base="region"), r"abc\.base: expected book or company"),
    (lambda r: r["abc"].update(base="company"), r"abc\.company_total: base company needs"),
    (lambda r: r["tags"]["exclusions"].update({"已流失": ["老板朋友"]}), r"tags\.exclusions\.已流失: '老板朋友' is not an item"),
    (lambda r: r["tags"]["not_expected"].update({"潜在客户": ["revenue"]}), r"tags\.not_expected\.潜在客户: 'revenue' is not a column"),
    (lambda r: r["amount_unit"].update(min_value="一万"), r"amount_unit\.min_value: expected a number"),
    (lambda r: r["tags"].pop("dormant_days"), r"tags\.dormant_days: missing"),
    (lambda r: r["stage"].update(churn_risk_days=-1), r"stage\.churn_risk_days: expected a whole number"),
])
def test_a_broken_rules_file_is_one_line_naming_the_key(tmp_path: Path, edit: Any, where: str) -> None:
    import yaml

    from khbook.base.errors import SpecError

    d = tmp_path / "spec"
    shutil.copytree(default_spec_dir(), d)
    path = d / "rules.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(raw)
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(SpecError, match=r"rules\.yaml: " + where) as err:
        load_spec(d)
    assert "\n" not in str(err.value)


def test_rules_are_typed_and_read_by_attribute(spec: Spec) -> None:
    r = spec.rules
    assert r.checks.stale_followup_days == 180 and r.abc.thresholds.A == 20 and r.abc.base == "book"
    assert r.value_tier.tiers[0].min == Decimal(50) and r.stage.labels["churned"] == "已流失"
    assert spec.result_list("tags") == "status_tag" and spec.result_list("value_tier") == "value_tier"
    assert spec.result_list("industry") == "industry" and spec.result_list("name") is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.checks.stale_followup_days = 1  # type: ignore[misc]
