"""`khbook template`: structure of the generated workbook (read back with openpyxl), the
example rows, refusal of specs that break Excel's limits, and golden XML parts.

Set UPDATE_GOLDEN=1 to rewrite tests/golden/ after a reviewed, intended change.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import zipfile
from pathlib import Path

import openpyxl
import phonenumbers
import pytest
import yaml
from email_validator import validate_email
from lxml import etree
from stdnum.cn import uscc

from khbook.base.errors import SpecError
from khbook.spec import Spec, default_spec_dir, load_spec
from khbook.template.examples import example_records
from khbook.template.validation import reference_name, rule_kind
from khbook.template.writer import header_text, write_template

AS_OF = dt.date(2026, 11, 24)
GOLDEN = Path(__file__).parent / "golden"
LAST_ROW = 2001


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory, spec: Spec) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("tpl")
    variants = {
        "zh": {}, "en": {"lang": "en"},
        "zh_examples": {"examples": 4, "as_of": AS_OF}, "en_examples": {"examples": 4, "as_of": AS_OF, "lang": "en"},
    }
    return {name: write_template(spec, d / f"{name}.xlsx", **kw) for name, kw in variants.items()}


def _lang(name: str) -> str:
    return name[:2]


def _copy_spec(tmp_path: Path) -> Path:
    d = tmp_path / "spec"
    shutil.copytree(default_spec_dir(), d)
    return d


def _edit_yaml(path: Path, edit) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


# --------------------------------------------------------------------------- structure


@pytest.mark.parametrize("name", ["zh", "en"])
def test_sheet_order_and_hidden_lists(books, spec, name):
    lang = _lang(name)
    wb = openpyxl.load_workbook(books[name])
    expected = [spec.instructions_sheet(lang), *(s.name(lang) for s in spec.sheets), spec.lists_sheet(lang)]
    assert wb.sheetnames == expected
    assert wb[spec.lists_sheet(lang)].sheet_state == "hidden"
    assert all(wb[n].sheet_state == "visible" for n in expected[:-1])
    assert wb.active.title == spec.instructions_sheet(lang)


@pytest.mark.parametrize("name", ["zh", "en"])
def test_defined_names_hold_the_lists(books, spec, name):
    lang = _lang(name)
    wb = openpyxl.load_workbook(books[name])
    for vl in spec.lists.values():
        dn = wb.defined_names[vl.range_name]
        [(sheet, ref)] = list(dn.destinations)
        assert sheet == spec.lists_sheet(lang)
        values = [c.value for row in wb[sheet][ref.replace("$", "")] for c in row]
        assert values == vl.labels(lang)
    [(sheet, ref)] = list(wb.defined_names["customer_ids"].destinations)
    assert (sheet, ref) == (spec.sheet("customers").name(lang), f"$A$2:$A${LAST_ROW}")


@pytest.mark.parametrize("name", ["zh", "en"])
def test_one_validation_per_column(books, spec, name):
    lang = _lang(name)
    wb = openpyxl.load_workbook(books[name])
    for sheet in spec.sheets:
        ws = wb[sheet.name(lang)]
        dvs = ws.data_validations.dataValidation
        assert len(dvs) == len(sheet.columns)
        by_col = {}
        for dv in dvs:
            [rng] = list(dv.sqref.ranges)
            assert (rng.min_row, rng.max_row) == (2, LAST_ROW) and rng.min_col == rng.max_col
            by_col[rng.min_col - 1] = dv
        for i, col in enumerate(sheet.columns):
            _assert_dv(by_col[i], spec, col, rule_kind(col), lang)


def _assert_dv(dv, spec, col, kind, lang):
    where = f"{col.key}: {kind}"
    assert dv.allow_blank, where
    assert dv.promptTitle and dv.prompt and dv.showInputMessage, where
    expected = {
        "list": ("list", f"list_{col.list}"),
        "reference": ("list", reference_name(str(col.references)) if col.references else ""),
        "unique": ("custom", "AND(LEN(TRIM(A2))>0,COUNTIF($A$2:A2,A2)=1)"),
        "date": ("date", "1"),
        "decimal": ("decimal", "0"),
        "integer": ("whole", "0"),
        "prompt": (None, None),
    }[kind]
    assert (dv.type, dv.formula1) == expected, where
    if kind == "prompt":
        assert not dv.showErrorMessage
    else:
        assert dv.showErrorMessage and dv.errorTitle and dv.error, where
        assert dv.errorStyle in (None, "stop")
    if kind == "date":
        assert (dv.operator in (None, "between"), dv.formula2) == (True, "73050")
    if kind in ("decimal", "integer"):
        assert dv.operator == "greaterThanOrEqual"
    if col.computed:
        assert "khbook" in dv.prompt
    if col.type == "multi" and not col.computed:
        assert all(label in dv.prompt for label in spec.lists[col.list].labels(lang))
    if lang == "en":
        assert dv.prompt.isascii() and (dv.error or "").isascii(), where


@pytest.mark.parametrize("name", ["zh", "en"])
def test_headers_marked_frozen_and_filtered(books, spec, name):
    lang = _lang(name)
    wb = openpyxl.load_workbook(books[name])
    for sheet in spec.sheets:
        ws = wb[sheet.name(lang)]
        headers = [c.value for c in ws[1]]
        assert headers == [header_text(c, lang) for c in sheet.columns]
        fills = {}
        for cell, col in zip(ws[1], sheet.columns, strict=True):
            assert cell.value.endswith("*") == (col.required and not col.computed)
            assert cell.font.b
            state = "computed" if col.computed else "derived" if col.derived else "required" if col.required else "normal"
            fills.setdefault(state, set()).add(cell.fill.fgColor.rgb)
        assert all(len(v) == 1 for v in fills.values())  # one look per state...
        assert len({next(iter(v)) for v in fills.values()}) == len(fills)  # ...and the looks differ
        assert ws.freeze_panes == "A2"
        last = openpyxl.utils.get_column_letter(len(sheet.columns))
        assert ws.auto_filter.ref == f"A1:{last}{LAST_ROW}"
        widths = {c: d.width for d in ws.column_dimensions.values() for c in range(d.min, d.max + 1)}
        assert [widths[i] for i in range(1, len(sheet.columns) + 1)] == pytest.approx([c.width for c in sheet.columns], abs=1)
    customers_header = [c.value for c in wb[spec.sheet("customers").name(lang)][1]]
    assert customers_header[0] == ("客户ID*" if lang == "zh" else "Customer ID*")


def test_duplicate_ids_highlighted(books, spec):
    ws = openpyxl.load_workbook(books["zh"])[spec.sheet("customers").name("zh")]
    rules = {str(cf.sqref): list(cf.rules) for cf in ws.conditional_formatting}
    [cf_rules] = rules.values()
    assert list(rules) == [f"A2:A{LAST_ROW}"]
    assert [r.type for r in cf_rules] == ["duplicateValues", "expression"]
    assert cf_rules[1].formula == ["AND(LEN(TRIM($A2))=0,COUNTA($A2:$T2)>0)"]


def test_instructions_follow_the_spec(books, spec):
    wb = openpyxl.load_workbook(books["zh"])
    text = "\n".join(str(c.value) for c in wb[spec.instructions_sheet("zh")]["A"] if c.value)
    assert "客户ID*" in text and "沟通内容摘要*" in text
    assert "制造业、零售业" in text
    assert "高价值 不低于 50 万元" in text
    en = openpyxl.load_workbook(books["en"])
    text_en = "\n".join(str(c.value) for c in en[spec.instructions_sheet("en")]["A"] if c.value)
    assert "Customer ID*" in text_en and "Manufacturing, Retail" in text_en and "High value from 50" in text_en


def test_changed_list_reaches_the_dropdown(tmp_path):
    d = _copy_spec(tmp_path)
    _edit_yaml(d / "lists.yaml", lambda data: data["industry"].append({"zh": "新能源", "en": "New energy"}))
    _edit_yaml(d / "rules.yaml", lambda data: data["value_tier"]["tiers"][0].update({"min": 80}))
    custom = load_spec(d)
    out = write_template(custom, tmp_path / "t.xlsx")
    wb = openpyxl.load_workbook(out)
    [(sheet, ref)] = list(wb.defined_names["list_industry"].destinations)
    assert ref == "$A$2:$A$12"
    assert [c.value for row in wb[sheet][ref.replace("$", "")] for c in row][-1] == "新能源"
    text = "\n".join(str(c.value) for c in wb[custom.instructions_sheet("zh")]["A"] if c.value)
    assert "新能源" in text and "高价值 不低于 80 万元" in text


def test_refuses_a_multi_list_too_long_for_the_input_message(tmp_path):
    d = _copy_spec(tmp_path)
    items = [{"zh": f"很长的标签名称第{i:02d}项" + "甲" * 10, "en": f"Tag {i}"} for i in range(15)]
    assert sum(len(i["zh"]) for i in items) > 300
    _edit_yaml(d / "lists.yaml", lambda data: data["need_keyword"].extend(items))
    with pytest.raises(SpecError) as err:
        write_template(load_spec(d), tmp_path / "t.xlsx")
    assert err.value.file.endswith("lists.yaml") and err.value.key == "need_keyword"
    assert "255" in str(err.value)
    assert not (tmp_path / "t.xlsx").exists() and not list(tmp_path.glob(".t.*"))


def test_refuses_a_help_text_over_255(tmp_path):
    d = _copy_spec(tmp_path)
    _edit_yaml(d / "workbook.yaml", lambda data: data["sheets"][0]["columns"][1].update(help={"zh": "说明" * 130, "en": "x"}))
    with pytest.raises(SpecError) as err:
        write_template(load_spec(d), tmp_path / "t.xlsx")
    assert err.value.file.endswith("workbook.yaml")
    assert err.value.key == "sheets(customers).columns(name).help.zh"


def test_refuses_a_list_item_over_255(tmp_path):
    d = _copy_spec(tmp_path)
    _edit_yaml(d / "lists.yaml", lambda data: data["source"].append({"zh": "渠" * 256, "en": "Long"}))
    with pytest.raises(SpecError) as err:
        write_template(load_spec(d), tmp_path / "t.xlsx", lang="zh")
    assert (Path(err.value.file).name, err.value.key) == ("lists.yaml", "source[6].zh")


def test_extension_follows_the_content(tmp_path, spec):
    # the macro workbook itself is tested in tests/test_xlwings_remote.py
    assert write_template(spec, tmp_path / "t.xlsx", macro=True) == tmp_path / "t.xlsm"
    assert not (tmp_path / "t.xlsx").exists() and (tmp_path / "t.py").is_file()
    assert write_template(spec, tmp_path / "u.xlsm") == tmp_path / "u.xlsx"
    assert not (tmp_path / "u.xlsm").exists()


def test_output_is_deterministic(tmp_path, spec):
    a = write_template(spec, tmp_path / "a.xlsx", examples=3, as_of=AS_OF)
    b = write_template(spec, tmp_path / "b.xlsx", examples=3, as_of=AS_OF)
    assert a.read_bytes() == b.read_bytes()


def test_cli_writes_the_template(tmp_path):
    from khbook.cli import main

    out = tmp_path / "模板.xlsx"
    assert main(["template", "-o", str(out), "--lang", "en", "--examples", "2"]) == 0
    assert openpyxl.load_workbook(out).sheetnames[1] == "Customers"


# --------------------------------------------------------------------------- examples


@pytest.mark.parametrize("name", ["zh_examples", "en_examples"])
def test_example_rows_are_typed(books, spec, name):
    lang = _lang(name)
    wb = openpyxl.load_workbook(books[name])
    records = example_records(spec, 4, as_of=AS_OF, lang=lang)
    for sheet in spec.sheets:
        ws = wb[sheet.name(lang)]
        rows = list(ws.iter_rows(min_row=2, max_row=ws.max_row))
        assert len(rows) == len(records[sheet.key]) > 0
        for row, rec in zip(rows, records[sheet.key], strict=True):
            for cell, col in zip(row, sheet.columns, strict=True):
                value = rec.get(col.key)
                if col.computed or value is None:
                    assert cell.value is None
                elif col.type == "date":
                    assert cell.value == dt.datetime.combine(value, dt.time()) and cell.number_format == "yyyy-mm-dd"
                elif col.type in ("amount", "integer"):
                    assert isinstance(cell.value, int | float) and cell.value == value
                else:
                    assert cell.value == value and isinstance(cell.value, str)


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("seed", [0, 7])
def test_example_records_are_plausible(spec, lang, seed):
    n = 24
    recs = example_records(spec, n, as_of=AS_OF, lang=lang, seed=seed)
    assert recs == example_records(spec, n, as_of=AS_OF, lang=lang, seed=seed)
    customers = recs["customers"]
    ids = [c["customer_id"] for c in customers]
    assert len(set(ids)) == n and len({c["name"] for c in customers}) == n
    assert all(c["name"].startswith("示例" if lang == "zh" else "Sample") for c in customers)
    assert len({c["credit_code"] for c in customers}) == n
    for c in customers:
        assert uscc.validate(c["credit_code"])
        assert c["founded"] < c["first_contact"] <= AS_OF
    for sheet in spec.sheets:
        for rec in recs[sheet.key]:
            assert rec["customer_id"] in ids
            for key, value in rec.items():
                _assert_plausible(spec, sheet.column(key), value, lang)
    _assert_dates_consistent(spec, recs, lang)


def _assert_plausible(spec, col, value, lang):
    assert not col.computed
    if value is None:
        return
    if col.type == "choice":
        assert value in spec.lists[col.list].labels(lang)
    elif col.type == "multi":
        sep = spec.reasons["list_sep"](lang)
        assert set(value.split(sep)) <= set(spec.lists[col.list].labels(lang))
    elif col.type == "phone":
        assert phonenumbers.is_valid_number(phonenumbers.parse(value, "CN")), value
    elif col.type == "email":
        validate_email(value, check_deliverability=False)
    elif col.type in ("amount", "integer"):
        assert value >= 0
    elif col.type == "date" and not col.future_ok:
        assert dt.date(1900, 1, 1) <= value <= AS_OF


def _assert_dates_consistent(spec, recs, lang):
    first = {c["customer_id"]: c["first_contact"] for c in recs["customers"]}
    by_cid: dict[str, list] = {}
    for f in recs["followups"]:
        assert first[f["customer_id"]] <= f["date"] <= f["next_date"]
        by_cid.setdefault(f["customer_id"], []).append(f)
    for rows in by_cid.values():
        latest = max(rows, key=lambda r: r["date"])
        assert (AS_OF - latest["date"]).days <= 60 and latest["next_date"] > AS_OF
        assert all(r["next_date"] <= latest["date"] for r in rows if r is not latest)
    assert set(by_cid) == set(first)
    won = spec.label("deal_stage", spec.rules.stage.won_stage, lang)
    lost = spec.label("deal_stage", spec.rules.stage.lost_stage, lang)
    stages = set()
    for d in recs["deals"]:
        stages.add(d["stage"])
        if d["stage"] == won:
            assert d["actual_amount"] >= 0 and first[d["customer_id"]] <= d["deal_date"] <= AS_OF
        if d["stage"] == lost:
            assert d["loss_reason"] and d["deal_date"] <= AS_OF
        assert d["updated"] <= AS_OF
    assert {won, lost} <= stages


# --------------------------------------------------------------------------- golden


def xml_parts(path: Path) -> dict[str, str]:
    """Every XML part, pretty-printed; document timestamps blanked."""
    parser = etree.XMLParser(remove_blank_text=True)
    out = {}
    with zipfile.ZipFile(path) as z:
        for name in sorted(z.namelist()):
            if not name.endswith((".xml", ".rels")):
                continue
            root = etree.fromstring(z.read(name), parser)
            if name == "docProps/core.xml":
                for el in root:
                    if etree.QName(el).localname in ("created", "modified"):
                        el.text = "(stripped)"
            out[name] = etree.tostring(root, pretty_print=True, encoding="unicode")
    return out


@pytest.mark.parametrize("name", ["zh", "zh_examples"])
def test_golden_xml(books, name):
    parts = xml_parts(books[name])
    folder = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        shutil.rmtree(folder, ignore_errors=True)
        for part, text in parts.items():
            target = folder / (part if part.endswith(".xml") else part + ".xml")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    stored = {str(p.relative_to(folder)): p.read_text(encoding="utf-8") for p in sorted(folder.rglob("*.xml"))}
    assert stored, f"no golden files under {folder}: run with UPDATE_GOLDEN=1 and review them"
    got = {(k if k.endswith(".xml") else k + ".xml"): v for k, v in parts.items()}
    assert sorted(got) == sorted(stored)
    for part in got:
        assert got[part] == stored[part], f"{name}/{part} differs from tests/golden (UPDATE_GOLDEN=1 after review)"
