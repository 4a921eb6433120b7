"""Classifier tests: customers built to sit on every threshold edge, at a fixed as-of date.

Books are built directly from small typed frames (:func:`make_book`), so these tests
exercise only khbook.classify.engine and its rules, not the reader.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
import shutil
from fractions import Fraction
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from khbook.classify.engine import classify, num, summarize
from khbook.read.model import Book, ColumnInfo, CustomerClass, Table, col_letter
from khbook.spec import Spec, default_spec_dir, load_spec

AS_OF = dt.date(2026, 11, 24)
_DTYPES = {"date": "datetime64[ns]", "amount": "float64", "integer": "Int64"}


@functools.cache
def _builtin_spec() -> Spec:
    return load_spec()


@pytest.fixture(scope="module")
def spec() -> Spec:
    return _builtin_spec()


def ago(days: int) -> dt.date:
    return AS_OF - dt.timedelta(days=days)


def make_table(spec: Spec, key: str, rows: list[dict[str, Any]], raw: dict[int, dict[str, Any]] | None = None) -> Table:
    """A typed Table of one spec sheet from row dicts (Excel rows 2, 3, ...)."""
    sheet = spec.sheet(key)
    keys = [c.key for c in sheet.columns if any(c.key in r for r in rows)] or ["customer_id"]
    index = pd.Index(range(2, 2 + len(rows)), dtype="int64", name="row")
    data = {}
    for k in keys:
        col = sheet.column(k)
        values = [r.get(k, () if col.type == "multi" else None) for r in rows]
        dtype = _DTYPES.get(col.type)
        if dtype == "datetime64[ns]":
            data[k] = pd.Series(pd.to_datetime(pd.Series(values, dtype=object)).to_numpy(dtype="datetime64[ns]"), index=index)
        elif dtype is not None:
            data[k] = pd.Series(values, index=index, dtype=dtype)
        else:
            data[k] = pd.Series([tuple(v) if col.type == "multi" else v for v in values], index=index, dtype=object)
    frame = pd.DataFrame(data, index=index)
    rawf = frame.astype(object)
    for r, cells in (raw or {}).items():
        for k, v in cells.items():
            rawf.at[r, k] = v
    columns = {k: ColumnInfo(k, sheet.column(k).header.zh, j, col_letter(j)) for j, k in enumerate(keys)}
    return Table(key, sheet.name.zh, 1, columns, frame, rawf)


def make_book(spec: Spec, *, raw: dict[int, dict[str, Any]] | None = None, **sheets: list[dict[str, Any]]) -> Book:
    """make_book(spec, customers=[...], deals=[...], ...): only the sheets given exist."""
    return Book("test.xlsx", {k: make_table(spec, k, rows, raw if k == "customers" else None) for k, rows in sheets.items()})


def cust(cid: str, **kw: Any) -> dict[str, Any]:
    """A complete customer row (no 资料不全), overridable."""
    base = {"customer_id": cid, "name": f"{cid}有限公司", "credit_code": "91110000600037341L", "industry": "制造业",
            "address": "北京市朝阳区1号", "first_contact": ago(30), "annual_amount": 1.0, "owner": "张三"}
    base.update(kw)
    return base


def by_id(classes: list[CustomerClass]) -> dict[str, CustomerClass]:
    return {c.customer_id: c for c in classes}


def run(spec: Spec, untrusted: set[tuple[str, int, str]] | None = None, **sheets: Any) -> dict[str, CustomerClass]:
    return by_id(classify(make_book(spec, **sheets), spec, AS_OF, untrusted=untrusted))


def with_rules(spec: Spec, section: str, **changes: Any) -> Spec:
    """The spec with some rules of one rules.yaml section changed (the typed rules are frozen)."""
    changed = dataclasses.replace(getattr(spec.rules, section), **changes)
    return dataclasses.replace(spec, rules=dataclasses.replace(spec.rules, **{section: changed}))


# --------------------------------------------------------------------------- 年交易额 and tiers


def test_value_tier_edges_49_99_and_50(spec: Spec) -> None:
    c = run(spec, customers=[cust("K1", annual_amount=49.99), cust("K2", annual_amount=50.0),
                             cust("K3", annual_amount=10.0), cust("K4", annual_amount=9.99),
                             cust("K5", annual_amount=0.0), cust("K6", annual_amount=62.5)])
    assert [c[k].value_tier for k in ("K1", "K2", "K3", "K4", "K5", "K6")] == ["中价值", "高价值", "中价值", "低价值", "低价值", "高价值"]
    assert c["K1"].reasons["value_tier"] == "年交易额 49.99 万元，在 10–50 万元之间，属中价值"
    assert c["K2"].reasons["value_tier"] == "年交易额 50 万元，达到高价值标准（50 万元及以上）"
    assert c["K6"].reasons["value_tier"] == "年交易额 62.5 万元，达到高价值标准（50 万元及以上）"
    assert c["K4"].reasons["value_tier"] == "年交易额 9.99 万元，不到 10 万元，属低价值"
    assert c["K1"].reasons["annual_amount"] == "年交易额取填写值"
    assert c["K2"].annual_amount == 50.0 and c["K1"].annual_amount == 49.99


def test_annual_amount_window_364_365_366(spec: Spec) -> None:
    customers = [cust(k, annual_amount=None) for k in ("D0", "D364", "D365", "D366")]
    deals = [{"customer_id": f"D{d}", "stage": "成交", "actual_amount": 60.0, "deal_date": ago(d)} for d in (0, 364, 365, 366)]
    c = run(spec, customers=customers, deals=deals)
    assert c["D0"].annual_amount == 60 and c["D364"].annual_amount == 60
    assert c["D365"].annual_amount == 0 and c["D366"].annual_amount == 0
    assert c["D364"].value_tier == "高价值" and c["D365"].value_tier == "低价值"
    start = ago(364).isoformat()
    assert c["D364"].reasons["annual_amount"] == f"年交易额未填写，按近 365 天（{start} 至 {AS_OF}）的 1 笔成交的实际成交金额合计"
    assert c["D364"].reasons["value_tier"] == "年交易额 60 万元，达到高价值标准（50 万元及以上）"
    assert c["D365"].reasons["annual_amount"] == f"年交易额未填写，近 365 天（{start} 至 {AS_OF}）没有成交"
    assert c["D366"].reasons["value_tier"] == "年交易额 0 万元，不到 10 万元，属低价值"


def test_annual_amount_sums_exactly_and_ignores_other_stages(spec: Spec) -> None:
    deals = [{"customer_id": "S", "stage": "成交", "actual_amount": a, "deal_date": ago(10)} for a in (0.1, 0.2, 9.7)]
    deals += [{"customer_id": "S", "stage": "谈判", "expected_amount": 100.0, "actual_amount": 100.0, "deal_date": ago(5)},
              {"customer_id": "S", "stage": "成交", "actual_amount": 5.0, "updated": ago(3)},  # date from 更新时间
              {"customer_id": "S", "stage": "成交", "actual_amount": 7.0}]  # undated: not counted
    c = run(spec, customers=[cust("S", annual_amount=None)], deals=deals)["S"]
    assert c.annual_amount == 15.0
    assert c.value_tier == "中价值"
    assert "4 笔成交的实际成交金额合计" in c.reasons["annual_amount"]
    assert c.reasons["value_tier"].startswith("年交易额 15 万元，")
    assert "另有 1 笔成交没有日期，未计入" in c.reasons["annual_amount"]


def test_missing_amount_is_to_be_completed(spec: Spec) -> None:
    deals = [{"customer_id": "M2", "stage": "成交", "actual_amount": None, "deal_date": ago(10)},
             {"customer_id": "M2", "stage": "成交", "actual_amount": 30.0, "deal_date": ago(20)},
             {"customer_id": "M3", "stage": "谈判", "expected_amount": 80.0, "deal_date": ago(20)}]
    c = run(spec, customers=[cust("M1", annual_amount=None), cust("M2", annual_amount=None),
                             cust("M3", annual_amount=None), cust("X", annual_amount=10.0)], deals=deals)
    for k in ("M1", "M2", "M3"):
        assert c[k].annual_amount is None
        assert c[k].value_tier == "待补充" and c[k].abc_class == "待补充"
        assert c[k].reasons["value_tier"] == "客户价值等级待补充"
        assert c[k].reasons["abc_class"] == "客户等级(ABC)待补充"
    assert c["M1"].reasons["annual_amount"] == "年交易额未填写，也没有成交记录，暂无法计算"
    assert "有 2 笔成交，其中 1 笔缺少实际成交金额，暂无法计算" in c["M2"].reasons["annual_amount"]
    assert c["X"].abc_class == "A"  # the total is over known amounts only


def test_untrusted_amount_cell_falls_back_to_deals(spec: Spec) -> None:
    deals = [{"customer_id": "U", "stage": "成交", "actual_amount": 12.0, "deal_date": ago(1)}]
    c = run(spec, {("customers", 2, "annual_amount")}, customers=[cust("U", annual_amount=None)], deals=deals)["U"]
    assert c.annual_amount == 12.0
    assert c.reasons["annual_amount"].startswith("年交易额填写有误，按近 365 天")


def test_strategic_tag_lifts_to_high_value(spec: Spec) -> None:
    needs = [{"customer_id": "L1", "tags": ("预算明确", "战略合作")}, {"customer_id": "L2", "tags": ("战略合作",)},
             {"customer_id": "L3", "tags": ("战略合作",)}, {"customer_id": "L4", "tags": ("预算明确",)}]
    c = run(spec, customers=[cust("L1", annual_amount=5.0), cust("L2", annual_amount=None),
                             cust("L3", annual_amount=80.0), cust("L4", annual_amount=5.0)], needs=needs)
    assert c["L1"].value_tier == "高价值"
    assert c["L1"].reasons["value_tier"] == "年交易额 5 万元，不到 10 万元，属低价值，因带有“战略合作”标签提升为高价值"
    assert "重点跟进" in c["L1"].tags
    assert c["L2"].value_tier == "高价值" and c["L2"].abc_class == "待补充"
    assert c["L3"].reasons["value_tier"] == "年交易额 80 万元，达到高价值标准（50 万元及以上）"
    assert c["L4"].value_tier == "低价值"


# --------------------------------------------------------------------------- ABC


def test_abc_share_edges_4_99_5_20(spec: Spec) -> None:
    amounts = {"A20": 20.0, "B5": 5.0, "C499": 4.99, "BIG": 70.01}
    c = run(spec, customers=[cust(k, annual_amount=a) for k, a in amounts.items()])
    assert {k: c[k].abc_class for k in amounts} == {"A20": "A", "B5": "B", "C499": "C", "BIG": "A"}
    assert c["A20"].reasons["abc_class"] == "占本工作簿年交易额合计 100 万元的 20.0%，达到 20%，属 A 类"
    assert c["B5"].reasons["abc_class"] == "占本工作簿年交易额合计 100 万元的 5.0%，在 5%–20% 之间，属 B 类"
    assert c["C499"].reasons["abc_class"] == "占本工作簿年交易额合计 100 万元的 4.99%，不到 5%，属 C 类"


def test_abc_share_is_exact_where_float_is_not(spec: Spec) -> None:
    # 0.1 + 0.2 + 0.3 + 5.4 = 6 exactly; 0.3 / 6 = 5 % exactly (float says 0.3/6*100 = 4.999...)
    c = run(spec, customers=[cust("P1", annual_amount=0.1), cust("P2", annual_amount=0.2),
                             cust("P3", annual_amount=0.3), cust("P4", annual_amount=5.4)])
    assert c["P3"].abc_class == "B"
    assert c["P1"].abc_class == "C"  # 1.67 %
    assert c["P2"].abc_class == "C"  # 3.33 %


def test_abc_small_share_text(spec: Spec) -> None:
    c = run(spec, customers=[cust("S1", annual_amount=0.57), cust("S2", annual_amount=9999.43)])
    assert c["S1"].reasons["abc_class"] == "占本工作簿年交易额合计 10000 万元的 0.0057%，不到 5%，属 C 类"


def test_time_of_day_is_ignored(spec: Spec) -> None:
    late = pd.Timestamp(ago(90)) + pd.Timedelta(hours=23, minutes=59)
    deals = [{"customer_id": "H", "stage": "成交", "actual_amount": 1.0, "deal_date": ago(100)}]
    c = run(spec, customers=[cust("H")], deals=deals, followups=[{"customer_id": "H", "date": late}])["H"]
    assert c.stage == "合作中" and "最近一次跟进在 90 天前" in c.reasons["stage"]


def test_abc_total_zero_gives_fallback(spec: Spec) -> None:
    c = run(spec, customers=[cust("Z1", annual_amount=0.0), cust("Z2", annual_amount=None)])
    assert c["Z1"].abc_class == "C" and c["Z1"].reasons["abc_class"] == "年交易额合计为 0，无法计算占比，归为 C 类"
    assert c["Z2"].abc_class == "待补充"


def test_abc_pareto_edges_and_ties(spec: Spec) -> None:
    pareto = with_rules(spec, "abc", method="pareto")
    book = make_book(pareto, customers=[cust(k, annual_amount=a) for k, a in
                                        {"P50": 50.0, "P30": 30.0, "P10": 10.0, "P5a": 5.0, "P5b": 5.0}.items()])
    c = by_id(classify(book, pareto, AS_OF))
    # cumulative: 50 % A, 80 % A (<= 80), 90 % B, the two 5s share 100 % -> C
    assert {k: v.abc_class for k, v in c.items()} == {"P50": "A", "P30": "A", "P10": "B", "P5a": "C", "P5b": "C"}
    assert c["P30"].reasons["abc_class"] == "按年交易额从高到低累计，占本工作簿年交易额合计 100 万元的 80.0%，在前 80% 以内，属 A 类"
    assert c["P5a"].reasons["abc_class"] == c["P5b"].reasons["abc_class"]
    assert c["P5a"].reasons["abc_class"].endswith("的 100.0%，超过 95%，属 C 类")
    book = make_book(pareto, customers=[cust(k, annual_amount=a) for k, a in
                                        {"T1": 40.0, "T2": 40.0, "T3": 15.0, "T4": 5.0}.items()])
    c = by_id(classify(book, pareto, AS_OF))
    # ties 40/40 end at 80 % -> both A; 95 % is B (<= 95); 100 % C
    assert {k: v.abc_class for k, v in c.items()} == {"T1": "A", "T2": "A", "T3": "B", "T4": "C"}


# --------------------------------------------------------------------------- stages


def test_churn_risk_edges_89_90_91(spec: Spec) -> None:
    customers = [cust(f"F{d}") for d in (89, 90, 91)] + [cust("NOFU")]
    deals = [{"customer_id": k, "stage": "成交", "actual_amount": 20.0, "deal_date": ago(100)} for k in ("F89", "F90", "F91", "NOFU")]
    fus = [{"customer_id": f"F{d}", "date": ago(d), "method": "电话", "by": "张三", "summary": "x"} for d in (89, 90, 91)]
    c = run(spec, customers=customers, deals=deals, followups=fus)
    assert c["F89"].stage == "合作中" and c["F90"].stage == "合作中"
    assert c["F91"].stage == "流失风险" and c["NOFU"].stage == "流失风险"
    assert "流失风险" in c["F91"].tags and "流失风险" not in c["F90"].tags
    assert c["F91"].reasons["stage"] == f"已有成交，但最近一次跟进在 {ago(91)}，已 91 天，超过 90 天，属流失风险"
    assert c["F90"].reasons["stage"] == f"首次成交在 {ago(100)}，至今 100 天，未超过 365 天，最近一次跟进在 90 天前，属合作中"
    assert c["NOFU"].reasons["stage"] == "已有成交，但没有跟进记录，属流失风险"


def test_long_term_edges_364_365_366_and_stable(spec: Spec) -> None:
    customers = [cust(f"W{d}") for d in (364, 365, 366)]
    deals = [{"customer_id": f"W{d}", "stage": "成交", "actual_amount": 20.0, "deal_date": ago(d)} for d in (364, 365, 366)]
    deals.append({"customer_id": "W366", "stage": "成交", "actual_amount": 5.0, "deal_date": ago(3)})
    fus = [{"customer_id": f"W{d}", "date": ago(5), "method": "电话", "by": "张三", "summary": "x"} for d in (364, 365, 366)]
    c = run(spec, customers=customers, deals=deals, followups=fus)
    assert c["W364"].stage == "合作中" and c["W365"].stage == "合作中" and c["W366"].stage == "长期合作"
    assert c["W366"].reasons["stage"] == f"首次成交在 {ago(366)}，已 366 天，超过 365 天，属长期合作"
    assert "至今 365 天，未超过 365 天" in c["W365"].reasons["stage"]
    assert "稳定合作" in c["W366"].tags and "稳定合作" not in c["W365"].tags
    assert "稳定合作：长期合作，且 5 天前刚跟进过（90 天以内）" in c["W366"].reasons["tags"]


def test_stable_needs_contact_within_stable_days(spec: Spec) -> None:
    deals = [{"customer_id": k, "stage": "成交", "actual_amount": 1.0, "deal_date": ago(400)} for k in ("S90", "S91")]
    fus = [{"customer_id": "S90", "date": ago(90)}, {"customer_id": "S91", "date": ago(91)}]
    c = run(spec, customers=[cust("S90"), cust("S91")], deals=deals, followups=fus)
    assert c["S90"].stage == "长期合作" and "稳定合作" in c["S90"].tags
    assert c["S91"].stage == "流失风险" and "稳定合作" not in c["S91"].tags


def test_churned_prospect_potential(spec: Spec) -> None:
    deals = [
        {"customer_id": "LOST", "stage": "成交", "actual_amount": 5.0, "deal_date": ago(50)},
        {"customer_id": "LOST", "stage": "流失", "deal_date": ago(20), "loss_reason": "价格"},
        {"customer_id": "BACK", "stage": "流失", "deal_date": ago(50), "loss_reason": "价格"},
        {"customer_id": "BACK", "stage": "成交", "actual_amount": 5.0, "deal_date": ago(20)},
        {"customer_id": "TIE", "stage": "流失", "deal_date": ago(20), "loss_reason": "价格"},
        {"customer_id": "TIE", "stage": "成交", "actual_amount": 5.0, "deal_date": ago(20)},
        {"customer_id": "OPEN", "stage": "线索", "deal_date": ago(20)},
        {"customer_id": "OPEN", "stage": "谈判", "updated": ago(10)},
    ]
    fus = [{"customer_id": k, "date": ago(3)} for k in ("LOST", "BACK", "TIE", "OPEN")]
    c = run(spec, customers=[cust(k) for k in ("LOST", "BACK", "TIE", "OPEN", "NONE")], deals=deals, followups=fus)
    assert c["LOST"].stage == "已流失"
    assert c["LOST"].reasons["stage"] == f"最近一笔交易（{ago(20)}）为流失，之后没有新的交易，属已流失"
    assert c["BACK"].stage == "合作中" and c["TIE"].stage == "合作中"
    assert c["OPEN"].stage == "意向客户" and c["OPEN"].reasons["stage"] == "有进行中的交易（谈判），属意向客户"
    assert c["OPEN"].tags[0] == "重点跟进" and "有谈判中的交易" in c["OPEN"].reasons["tags"]
    assert c["NONE"].stage == "潜在客户" and c["NONE"].reasons["stage"] == "还没有交易记录，属潜在客户"


# --------------------------------------------------------------------------- tags


def test_followup_due(spec: Spec) -> None:
    fus = [
        {"customer_id": "DUE", "date": ago(20), "next_date": ago(10)},
        {"customer_id": "TODAY", "date": ago(20), "next_date": AS_OF},
        {"customer_id": "DONE", "date": ago(20), "next_date": ago(10)},
        {"customer_id": "DONE", "date": ago(10)},  # followed up on the planned day
        {"customer_id": "LATE", "date": ago(30), "next_date": ago(25)},
        {"customer_id": "LATE", "date": ago(20), "next_date": ago(2)},
    ]
    c = run(spec, customers=[cust(k) for k in ("DUE", "TODAY", "DONE", "LATE")], followups=fus)
    assert "需跟进" in c["DUE"].tags and "需跟进" in c["LATE"].tags
    assert "需跟进" not in c["TODAY"].tags and "需跟进" not in c["DONE"].tags
    assert f"需跟进：计划 {ago(10)} 跟进，已过 10 天，之后没有跟进" in c["DUE"].reasons["tags"]
    assert f"计划 {ago(2)} 跟进，已过 2 天" in c["LATE"].reasons["tags"]


def test_dormant_edges(spec: Spec) -> None:
    fus = [{"customer_id": "F180", "date": ago(180)}, {"customer_id": "F181", "date": ago(181)}]
    customers = [cust("F180"), cust("F181"), cust("N180", first_contact=ago(180)), cust("N181", first_contact=ago(181)),
                 cust("NFC", first_contact=None)]
    c = run(spec, customers=customers, followups=fus)
    assert "沉睡客户" not in c["F180"].tags and "沉睡客户" in c["F181"].tags
    assert "沉睡客户" not in c["N180"].tags and "沉睡客户" in c["N181"].tags
    assert "沉睡客户" not in c["NFC"].tags
    assert "沉睡客户：已 181 天没有跟进，超过 180 天" in c["F181"].reasons["tags"]
    assert f"沉睡客户：没有跟进记录，首次接触在 {ago(181)}，已 181 天，超过 180 天" in c["N181"].reasons["tags"]


def test_incomplete_uses_spec_flags_and_not_applicable(spec: Spec) -> None:
    customers = [cust("OK"), cust("NOADDR", address=None, annual_amount=None),
                 cust("NA", credit_code=None), cust("BAD", industry=None)]
    c = run(spec, {("customers", 5, "industry")}, customers=customers, raw={4: {"credit_code": "暂无"}})
    assert "资料不全" not in c["OK"].tags
    # a prospect without a deal is not asked for 年交易额 (tags.not_expected)
    assert "资料不全：缺少注册地址；" in c["NOADDR"].reasons["tags"] + "；"
    assert "资料不全" not in c["NA"].tags  # 暂无 is an answer
    assert "资料不全：缺少所属行业（填写有误）" in c["BAD"].reasons["tags"]
    # a key column absent from the sheet counts as blank for everyone
    rows = [{k: v for k, v in cust("NOCOL").items() if k != "address"}]
    assert "资料不全：缺少注册地址" in run(spec, customers=rows)["NOCOL"].reasons["tags"]


def test_decision_chain(spec: Spec) -> None:
    contacts = [{"customer_id": "CX", "name": "a", "decision_role": "决策者"},
                {"customer_id": "CX", "name": "b", "decision_role": "影响者"},
                {"customer_id": "CX", "name": "c", "decision_role": "影响者"},
                {"customer_id": "SX", "name": "a", "decision_role": "决策者"},
                {"customer_id": "SX", "name": "b", "decision_role": "决策者"},
                {"customer_id": "NR", "name": "a"}]
    c = run(spec, customers=[cust(k) for k in ("CX", "SX", "NR", "NC")], contacts=contacts)
    assert c["CX"].decision_chain == "复杂决策" and "复杂决策" in c["CX"].tags
    assert c["CX"].reasons["decision_chain"] == "联系人中有 2 种决策角色（决策者、影响者），达到 2 种"
    assert "复杂决策：联系人中有 2 种决策角色（决策者、影响者），达到 2 种" in c["CX"].reasons["tags"]
    assert c["SX"].decision_chain == "简单决策" and "简单决策" in c["SX"].tags
    assert c["SX"].reasons["decision_chain"] == "联系人中只有 1 种决策角色（决策者），不到 2 种"
    assert c["NR"].decision_chain is None and c["NC"].decision_chain is None
    assert not {"复杂决策", "简单决策"} & set(c["NR"].tags + c["NC"].tags)


def test_tags_follow_list_order(spec: Spec) -> None:
    deals = [{"customer_id": "T", "stage": "成交", "actual_amount": 80.0, "deal_date": ago(10)}]
    fus = [{"customer_id": "T", "date": ago(200), "next_date": ago(150)}]
    contacts = [{"customer_id": "T", "name": "a", "decision_role": "使用者"}]
    c = run(spec, customers=[cust("T", address=None, annual_amount=None)], deals=deals, followups=fus, contacts=contacts)["T"]
    assert c.tags == ("重点跟进", "需跟进", "沉睡客户", "流失风险", "资料不全", "简单决策")
    assert c.stage == "流失风险"


# --------------------------------------------------------------------------- region, size


def test_region_sources(spec: Spec) -> None:
    customers = [cust("ADDR", address="广东省深圳市南山区科技园路1号", credit_code="91110000600037341L"),
                 cust("CODE", address="朝阳区某路1号", credit_code="9144030071526726XG"),
                 cust("TYPED", address="朝阳区某路1号", credit_code=None, region="华东"),
                 cust("NONE", address=None, credit_code=None), cust("BJ")]
    c = run(spec, customers=customers)
    assert c["BJ"].region == "华北" and c["BJ"].reasons["region"] == "注册地址在北京市，属华北"
    assert c["ADDR"].region == "华南" and c["ADDR"].reasons["region"] == "注册地址在广东省，属华南"
    assert c["CODE"].region == "华南"
    assert c["CODE"].reasons["region"] == "统一社会信用代码第 3–4 位为 44（广东省），属华南"
    assert c["TYPED"].region == "华东" and "沿用填写的华东" in c["TYPED"].reasons["region"]
    assert c["NONE"].region is None


def test_size_band_edges(spec: Spec) -> None:
    customers = [cust(f"E{e}", employees=e) for e in (0, 49, 50, 500, 501)] + [cust("TY", size_band="大型(500人以上)"), cust("NO")]
    c = run(spec, customers=customers)
    assert [c[f"E{e}"].size_band for e in (0, 49, 50, 500, 501)] == [
        "小型(50人以下)", "小型(50人以下)", "中型(50-500人)", "中型(50-500人)", "大型(500人以上)"]
    assert c["E49"].reasons["size_band"] == "员工 49 人，属小型(50人以下)"
    assert c["E501"].reasons["size_band"] == "员工 501 人，属大型(500人以上)"
    assert c["TY"].size_band == "大型(500人以上)" and "沿用填写的" in c["TY"].reasons["size_band"]
    assert c["NO"].size_band is None


# --------------------------------------------------------------------------- linking, robustness


def test_duplicates_untrusted_and_missing_sheets(spec: Spec) -> None:
    customers = [cust("K1", annual_amount=None), cust("K2"), cust("K1", annual_amount=99.0), cust(None)]
    deals = [{"customer_id": "K1", "stage": "成交", "actual_amount": 10.0, "deal_date": ago(1)},
             {"customer_id": "K1", "stage": "成交", "actual_amount": 70.0, "deal_date": ago(1)},  # untrusted id
             {"customer_id": "ORPHAN", "stage": "成交", "actual_amount": 70.0, "deal_date": ago(1)}]
    out = classify(make_book(spec, customers=customers, deals=deals), spec, AS_OF,
                   untrusted={("customers", 4, "customer_id"), ("deals", 3, "customer_id")})
    assert [c.customer_id for c in out] == ["K1", "K2"]
    k1 = out[0]
    assert k1.row == 2 and k1.annual_amount == 10.0
    assert k1.reasons["customer_id"] == "客户ID K1 重复（第 4 行），按第 2 行分类"
    assert classify(make_book(spec, deals=deals), spec, AS_OF) == []
    assert classify(Book("x.xlsx", {}), spec, AS_OF) == []


def test_every_reason_is_present_and_names_numbers(spec: Spec) -> None:
    deals = [{"customer_id": "R", "stage": "成交", "actual_amount": 62.0, "deal_date": ago(400)}]
    fus = [{"customer_id": "R", "date": ago(95)}]
    c = run(spec, customers=[cust("R", annual_amount=None, employees=120), cust("Q", annual_amount=10.0)],
            deals=deals, followups=fus)["R"]
    keys = {"annual_amount", "value_tier", "abc_class", "stage", "tags", "region", "size_band", "decision_chain"}
    assert keys <= set(c.reasons)
    for k in ("annual_amount", "value_tier", "abc_class", "stage", "size_band"):
        assert re.search(r"\d", c.reasons[k]), (k, c.reasons[k])
    assert c.annual_amount == 0 and c.stage == "流失风险"
    assert "已 95 天，超过 90 天" in c.reasons["stage"]


def test_num_format() -> None:
    assert [num(x) for x in (49.99, 50.0, 62.5, 0.0, 3, 0.1 + 0.2)] == ["49.99", "50", "62.5", "0", "3", "0.3"]


# --------------------------------------------------------------------------- rules from the spec files


def test_threshold_comes_from_rules_file(tmp_path: Path) -> None:
    copy = tmp_path / "templates"
    shutil.copytree(default_spec_dir(), copy)
    rules = copy / "rules.yaml"
    text = rules.read_text(encoding="utf-8")
    assert "{label: 高价值, min: 50}" in text
    rules.write_text(text.replace("{label: 高价值, min: 50}", "{label: 高价值, min: 40}"), encoding="utf-8")
    base, changed = load_spec(default_spec_dir()), load_spec(copy)
    assert run(base, customers=[cust("K45", annual_amount=45.0)])["K45"].value_tier == "中价值"
    c = run(changed, customers=[cust("K45", annual_amount=45.0)])["K45"]
    assert c.value_tier == "高价值" and c.reasons["value_tier"] == "年交易额 45 万元，达到高价值标准（40 万元及以上）"


def test_windows_come_from_rules(spec: Spec) -> None:
    s = with_rules(spec, "stage", churn_risk_days=30)
    deals = [{"customer_id": "W", "stage": "成交", "actual_amount": 1.0, "deal_date": ago(10)}]
    fus = [{"customer_id": "W", "date": ago(31)}]
    book = make_book(s, customers=[cust("W")], deals=deals, followups=fus)
    assert classify(book, s, AS_OF)[0].stage == "流失风险"
    assert classify(book, spec, AS_OF)[0].stage == "合作中"


# --------------------------------------------------------------------------- summary


def test_summarize(spec: Spec) -> None:
    customers = [cust("A1", annual_amount=60.0, owner="李四"), cust("A2", annual_amount=5.0, employees=10),
                 cust("A3", annual_amount=None, employees=600, owner="李四")]
    out = classify(make_book(spec, customers=customers), spec, AS_OF)
    s = summarize(out, spec)
    assert list(s) == ["value_tier", "abc_class", "stage", "tag", "region", "size_band", "owner"]
    assert s["value_tier"] == {"高价值": 1, "低价值": 1, "待补充": 1}
    assert list(s["value_tier"]) == ["高价值", "低价值", "待补充"]
    assert s["abc_class"] == {"A": 1, "B": 1, "待补充": 1}
    assert s["stage"] == {"潜在客户": 3}
    assert s["tag"] == {"重点跟进": 1}  # A3 has no deal yet: 年交易额 is not expected of it
    assert s["size_band"] == {"小型(50人以下)": 1, "大型(500人以上)": 1}
    assert s["owner"] == {"李四": 2, "张三": 1}


# --------------------------------------------------------------------------- properties


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(0, 10_000_00).map(lambda c: c / 100)), min_size=1, max_size=12))
def test_share_classes_match_exact_reference(amounts: list[float | None]) -> None:
    spec = _builtin_spec()
    out = classify(make_book(spec, customers=[cust(f"K{i}", annual_amount=a) for i, a in enumerate(amounts)]), spec, AS_OF)
    assert [c.customer_id for c in out] == [f"K{i}" for i in range(len(amounts))]  # nobody dropped
    exact = [None if a is None else Fraction(str(a)) for a in amounts]
    total = sum(e for e in exact if e is not None)
    for c, e in zip(out, exact, strict=True):
        if e is None:
            expected = "待补充"
        elif total == 0:
            expected = "C"
        else:
            share = e * 100 / total
            expected = "A" if share >= 20 else "B" if share >= 5 else "C"
        assert c.abc_class == expected, (c.reasons["abc_class"], amounts)
        assert (c.value_tier == "待补充") == (e is None)
