"""Reasons (分类依据) come from templates/reasons.yaml, in the output language.

One book that reaches (nearly) every reason phrase is classified in Chinese and in
English: the English reasons carry the English labels of the lists and the same numbers;
a spec copy with a changed phrase changes the output; a broken reasons.yaml is a
SpecError naming the file and the key.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import pytest
import yaml

from khbook.base.errors import SpecError
from khbook.classify.engine import classify
from khbook.pipeline import check_file
from khbook.read.model import CustomerClass
from khbook.spec import Spec, Text, default_spec_dir, load_spec
from tests.rep import Rep, days_ago, make_template
from tests.test_classify import AS_OF, ago, by_id, cust, make_book, with_rules

CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
NUMBER = re.compile(r"\d+(?:\.\d+)?")


def rich_book(spec: Spec):  # noqa: ANN201 - a khbook.read.model.Book
    """Customers that reach the reasons of every tier, stage, tag, region and size band."""
    customers = [
        cust("HIGH", annual_amount=62.0, address="广东省深圳市南山区科技园路1号", employees=120),
        cust("MID", annual_amount=None, credit_code="9144030071526726XG", address="朝阳区某路1号", employees=49),
        cust("LOW", annual_amount=None, address=None, credit_code=None, region="华东", employees=501),
        cust("LIFT", annual_amount=5.0, size_band="大型(500人以上)"),
        cust("NONE", annual_amount=None, address=None, credit_code=None, first_contact=ago(200)),
        cust("LOST", annual_amount=None),
        cust("OPEN", annual_amount=3.0, industry=None),
        cust("LONG", annual_amount=20.0),
        cust("UNDATED", annual_amount=None),
        cust("HIGH", annual_amount=1.0),  # a duplicate ID
    ]
    deals = [
        {"customer_id": "MID", "stage": "成交", "actual_amount": 12.5, "deal_date": ago(10)},
        {"customer_id": "MID", "stage": "成交", "actual_amount": 7.0},  # undated: not counted
        {"customer_id": "LOW", "stage": "成交", "actual_amount": 9.0, "deal_date": ago(400)},
        {"customer_id": "LOST", "stage": "成交", "actual_amount": 5.0, "deal_date": ago(50)},
        {"customer_id": "LOST", "stage": "流失", "deal_date": ago(20), "loss_reason": "价格"},
        {"customer_id": "LOST", "stage": "成交", "actual_amount": None, "deal_date": ago(60)},
        {"customer_id": "OPEN", "stage": "谈判", "updated": ago(10)},
        {"customer_id": "LONG", "stage": "成交", "actual_amount": 20.0, "deal_date": ago(474)},
        {"customer_id": "UNDATED", "stage": "成交", "actual_amount": 1.0},
    ]
    followups = [
        {"customer_id": "MID", "date": ago(30), "next_date": ago(10)},
        {"customer_id": "LOW", "date": ago(200)},
        {"customer_id": "LONG", "date": ago(5)},
        {"customer_id": "UNDATED", "date": ago(3)},
        {"customer_id": "LOST", "date": ago(3)},
    ]
    contacts = [{"customer_id": "HIGH", "name": "a", "decision_role": "决策者"},
                {"customer_id": "HIGH", "name": "b", "decision_role": "影响者"},
                {"customer_id": "MID", "name": "a", "decision_role": "使用者"},
                {"customer_id": "LOW", "name": "a"}]
    needs = [{"customer_id": "LIFT", "tags": ("战略合作",)}]
    return make_book(spec, customers=customers, deals=deals, followups=followups, contacts=contacts, needs=needs)


def both(spec: Spec, **kw) -> tuple[dict[str, CustomerClass], dict[str, CustomerClass]]:  # noqa: ANN003
    book = rich_book(spec)
    return (by_id(classify(book, spec, AS_OF, lang="zh", **kw)),
            by_id(classify(book, spec, AS_OF, lang="en", **kw)))


def numbers(text: str) -> list[str]:
    return sorted(NUMBER.findall(text.replace("10k CNY", "")))


def test_english_reasons_have_english_labels_and_the_same_numbers(spec: Spec) -> None:
    zh, en = both(spec, untrusted={("customers", 8, "industry")})
    assert zh.keys() == en.keys()
    for cid, c in en.items():
        z = zh[cid]
        # the classification itself does not depend on the language
        assert dataclasses.replace(c, reasons={}) == dataclasses.replace(z, reasons={})
        assert c.reasons.keys() == z.reasons.keys()
        for key, text in c.reasons.items():
            assert numbers(text) == numbers(z.reasons[key]), (cid, key, text, z.reasons[key])
            if key != "region":  # province names are data (regions.yaml), not labels
                assert not CJK.search(text), (cid, key, text)
    h = en["HIGH"].reasons
    assert zh["HIGH"].reasons["value_tier"] == "年交易额 62 万元，达到高价值标准（50 万元及以上）"
    assert h["value_tier"] == "annual revenue of 62 (10k CNY) reaches High value (50 and above)"
    assert h["annual_amount"] == "annual revenue as entered"
    assert h["region"] == "registered address in 广东省: South China"
    assert h["size_band"] == "120 employees: Medium (50-500)"
    assert h["decision_chain"] == "contacts hold 2 decision roles (Decision maker, Influencer), 2 or more"
    assert h["customer_id"] == "customer ID HIGH is repeated (rows 11); classified from row 2"
    assert h["tags"].startswith("Priority: a High value customer; ")
    assert en["LONG"].reasons["stage"] == f"first Won deal on {ago(474)}, 474 days ago, more than 365, so Long-term"
    assert "Stable: Long-term, and followed up 5 days ago (within 90)" in en["LONG"].reasons["tags"]
    assert en["LIFT"].reasons["value_tier"].endswith("; raised to High value by the tag Strategic partner")
    assert en["LOST"].reasons["stage"] == f"the latest deal ({ago(20)}) was Lost and none followed, so Churned"
    assert en["OPEN"].reasons["stage"] == "an open deal (Negotiation), so Prospect"
    assert "Incomplete: missing Industry (invalid)" in en["OPEN"].reasons["tags"]
    assert en["MID"].reasons["region"] == "credit code digits 3–4 are 44 (广东省): South China"
    assert en["MID"].reasons["annual_amount"].endswith(" (1 undated Won deal(s) not counted)")
    assert en["LOW"].reasons["region"] == "no province from the address or the credit code; kept the entered East China"
    assert en["LIFT"].reasons["size_band"] == "no employee count; kept the entered Large (over 500)"
    assert en["NONE"].reasons["tags"].startswith("Dormant: no follow-up since the first contact on ")
    assert en["NONE"].reasons["decision_chain"] == "no contacts, so the decision chain is unknown"
    assert "Follow-up due: a follow-up planned for" in en["MID"].reasons["tags"]


def test_pareto_and_zero_total_in_english(spec: Spec) -> None:
    pareto = with_rules(spec, "abc", method="pareto")
    book = make_book(pareto, customers=[cust(k, annual_amount=a) for k, a in {"P50": 50.0, "P30": 30.0, "P20": 20.0}.items()])
    c = by_id(classify(book, pareto, AS_OF, lang="en"))
    assert c["P30"].reasons["abc_class"] == ("counted from the largest revenue down, the running total reaches 80.0% of"
                                             " this workbook's total annual revenue of 100 (10k CNY), within the first 80%:"
                                             " class A")
    assert c["P20"].reasons["abc_class"].endswith("beyond 95%: class C")
    book = make_book(spec, customers=[cust("Z", annual_amount=0.0)])
    assert classify(book, spec, AS_OF, lang="en")[0].reasons["abc_class"] == "the total annual revenue is 0, so there is no share: class C"


def test_every_phrase_has_both_languages(spec: Spec) -> None:
    raw = yaml.safe_load((default_spec_dir() / "reasons.yaml").read_text(encoding="utf-8"))
    assert set(raw) == set(spec.reasons)
    for key, t in spec.reasons.items():
        assert isinstance(t, Text) and t.zh.strip() and t.en.strip(), key
        assert not CJK.search(t.en), key


# --------------------------------------------------------------------------- the spec drives the texts


def _copy(tmp_path: Path) -> Path:
    d = tmp_path / "templates"
    shutil.copytree(default_spec_dir(), d)
    return d


def _edit(d: Path, key: str, **texts: str) -> None:
    path = d / "reasons.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw[key].update(texts)
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")


def test_changed_phrase_in_a_spec_copy_changes_the_reason(tmp_path: Path, spec: Spec) -> None:
    d = _copy(tmp_path)
    _edit(d, "tier_top", zh="{tier}：年度金额 {amount} 万元，达到 {min} 万元", en="{tier} because {amount} reaches {min}")
    changed = load_spec(d)
    book = make_book(changed, customers=[cust("K", annual_amount=62.5)])
    assert classify(book, spec, AS_OF)[0].reasons["value_tier"] == "年交易额 62.5 万元，达到高价值标准（50 万元及以上）"
    assert classify(book, changed, AS_OF)[0].reasons["value_tier"] == "高价值：年度金额 62.5 万元，达到 50 万元"
    assert classify(book, changed, AS_OF, lang="en")[0].reasons["value_tier"] == "High value because 62.5 reaches 50"


def test_missing_reasons_file_or_language_is_a_spec_error(tmp_path: Path) -> None:
    d = _copy(tmp_path)
    (d / "reasons.yaml").unlink()
    with pytest.raises(SpecError, match="reasons.yaml"):
        load_spec(d)
    d = _copy(tmp_path / "b")
    raw = yaml.safe_load((d / "reasons.yaml").read_text(encoding="utf-8"))
    del raw["stage_long_term"]["en"]
    (d / "reasons.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(SpecError, match=r"reasons\.yaml.*stage_long_term\.en"):
        load_spec(d)
    d = _copy(tmp_path / "c")
    _edit(d, "stage_long_term", zh="首次{won} {date")
    with pytest.raises(SpecError, match=r"reasons\.yaml.*stage_long_term\.zh"):
        load_spec(d)


def test_missing_phrase_or_unknown_placeholder_is_a_spec_error(tmp_path: Path, spec: Spec) -> None:
    book = make_book(spec, customers=[cust("K", annual_amount=62.0)])
    reasons = dict(spec.reasons)
    del reasons["tier_top"]
    with pytest.raises(SpecError, match=r"reasons\.yaml.*tier_top.*missing"):
        classify(book, dataclasses.replace(spec, reasons=reasons), AS_OF)
    d = _copy(tmp_path)
    _edit(d, "tier_top", en="revenue {revenue} -> {tier}")
    broken = load_spec(d)
    classify(book, broken, AS_OF)  # Chinese is fine
    with pytest.raises(SpecError, match=r"reasons\.yaml.*tier_top\.en.*unknown placeholder \{revenue\}"):
        classify(book, broken, AS_OF, lang="en")


def test_literal_braces_and_format_specs(spec: Spec) -> None:
    reasons = dict(spec.reasons, tier_top=Text("{{{tier}}} {amount:>6}|{min!r}", "x"))
    s = dataclasses.replace(spec, reasons=reasons)
    book = make_book(s, customers=[cust("K", annual_amount=62.0)])
    assert classify(book, s, AS_OF)[0].reasons["value_tier"] == "{高价值}     62|'50'"


# --------------------------------------------------------------------------- end to end


def test_check_file_in_english_gives_english_reasons(tmp_path: Path) -> None:
    rep = Rep(make_template(tmp_path / "t.xlsx", lang="en"), lang="en")
    rep.put("customers", 2, customer_id="KH1", name="Example Co", industry="Manufacturing", first_contact=days_ago(30),
            owner="Wei", annual_amount=62, address="广东省深圳市南山区科技园路1号")
    path = rep.save(tmp_path / "en.xlsx")
    c = check_file(path, as_of=AS_OF, lang="en").customers[0]
    assert c.value_tier == "高价值"  # canonical values, English reasons
    assert c.reasons["value_tier"] == "annual revenue of 62 (10k CNY) reaches High value (50 and above)"
    assert c.reasons["region"].endswith(": South China")
    assert check_file(path, as_of=AS_OF).customers[0].reasons["value_tier"] == "年交易额 62 万元，达到高价值标准（50 万元及以上）"
