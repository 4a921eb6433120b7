"""`khbook refresh` end to end: the annotated copy of a rep-filled workbook.

Exact marks (conditional-format fills by severity), comments, 异常清单 rows with working
hyperlinks, computed columns, no stacking on a second refresh, formula-like text kept as
text, input untouched, and a LibreOffice load of the result.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import zipfile
from collections import defaultdict
from pathlib import Path

import openpyxl
import pytest
from lxml import etree

from khbook.cli import main
from khbook.findings import SEVERITY_ORDER
from khbook.pipeline import default_output, refresh_file
from tests.rep import AS_OF, NOW, fill_messy, make_template

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}


@pytest.fixture(scope="module")
def messy(tmp_path_factory, spec):
    d = tmp_path_factory.mktemp("refresh")
    template = make_template(d / "template.xlsx", spec)
    path, rep = fill_messy(template, d / "messy.xlsx")
    rep.put("customers", 8, remark='=HYPERLINK("http://evil.example","x")')
    rep.put("customers", 10, industry="+cmd|' /C calc'!A0")
    rep.save(path)
    return path


def _sheet_xml(path: Path, sheet: str) -> etree._Element:
    with zipfile.ZipFile(path) as z:
        wb = etree.fromstring(z.read("xl/workbook.xml"))
        rels = etree.fromstring(z.read("xl/_rels/workbook.xml.rels"))
        rid = next(s.get("{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id")
                   for s in wb.iterfind(".//m:sheet", NS) if s.get("name") == sheet)
        target = next(r.get("Target") for r in rels if r.get("Id") == rid)
        return etree.fromstring(z.read("xl/" + target.lstrip("/").removeprefix("xl/")))


def _cells(sqref: str) -> set[str]:
    from openpyxl.utils import get_column_letter
    from openpyxl.utils.cell import range_boundaries

    out = set()
    for part in sqref.split():
        c1, r1, c2, r2 = range_boundaries(part)
        out |= {f"{get_column_letter(c)}{r}" for c in range(c1, c2 + 1) for r in range(r1, r2 + 1)}
    return out


def _marks(path: Path, sheet: str) -> dict[str, set[str]]:
    """kind -> cells, from khbook's marker conditional formats."""
    out: dict[str, set[str]] = defaultdict(set)
    for cf in _sheet_xml(path, sheet).iterfind("m:conditionalFormatting", NS):
        formula = cf.findtext("m:cfRule/m:formula", namespaces=NS) or ""
        if formula.startswith('"khbook:'):
            kind = formula.split(":")[1].split('"')[0]
            out[kind] |= _cells(cf.get("sqref"))
    return dict(out)


def _expected_marks(report, sheet: str) -> dict[str, set[str]]:
    by_cell: dict[str, list] = defaultdict(list)
    for f in report.findings:
        if f.sheet == sheet and f.cell:
            by_cell[f.cell].append(f)
    out: dict[str, set[str]] = defaultdict(set)
    for cell, fs in by_cell.items():
        if all(f.rule == "computed_changed" for f in fs):
            out["changed"].add(cell)
        else:
            out[min((f.severity for f in fs), key=SEVERITY_ORDER.get)].add(cell)
    return dict(out)


def test_annotated_copy(messy, tmp_path, spec):
    before = hashlib.sha256(messy.read_bytes()).hexdigest()
    result = refresh_file(messy, tmp_path / "out.xlsx", spec=spec, as_of=AS_OF, now=NOW)
    assert hashlib.sha256(messy.read_bytes()).hexdigest() == before
    report, out = result.report, result.output
    # marks: every finding's cell filled by its worst severity, nothing else
    for sheet in {f.sheet for f in report.findings if f.cell}:
        assert _marks(out, sheet) == _expected_marks(report, sheet), sheet
    assert "A5" in _marks(out, "客户基础信息")["error"]  # the duplicate 客户ID
    wb = openpyxl.load_workbook(out)
    ws = wb["客户基础信息"]
    # comments carry the messages, by khbook
    dup = next(f for f in report.findings if f.rule == "duplicate_id")
    assert ws[dup.cell].comment is not None and ws[dup.cell].comment.author == "khbook"
    assert dup.message in ws[dup.cell].comment.text
    # computed columns written for every customer, from the classification
    header = {c.value.rstrip("*") if isinstance(c.value, str) else c.value: c.column_letter for c in ws[2]}
    for c in report.customers:
        assert ws[f"{header['客户价值等级']}{c.row}"].value == c.value_tier
        assert ws[f"{header['合作阶段']}{c.row}"].value == c.stage
        assert ws[f"{header['客户等级(ABC)']}{c.row}"].value == c.abc_class
    kh1 = next(c for c in report.customers if c.customer_id == "KH001")
    assert kh1.value_tier == "高价值" and "62" in ws[f"{header['分类依据']}{kh1.row}"].value
    # 异常清单: one row per finding, errors first, working links to the cells
    fl = wb["异常清单"]
    rows = list(fl.iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(report.findings)
    severities = [r[0] for r in rows]
    assert severities == sorted(severities, key=["错误", "警告", "提示"].index)
    assert {(r[1], r[2], r[7]) for r in rows} == {(f.sheet, f.cell, spec.rule(f.rule).title("zh")) for f in report.findings}
    for i, r in enumerate(rows, start=2):
        if r[2]:
            assert fl[f"C{i}"].hyperlink.location == f"'{r[1]}'!{r[2]}"
    assert fl.auto_filter.ref
    # 分类汇总 holds native charts; 变更日志 the old -> new change
    summary = _sheet_xml(out, "分类汇总")
    assert summary.find("m:drawing", NS) is not None
    log = list(wb["变更日志"].iter_rows(min_row=2, values_only=True))
    assert ("2026-11-24 09:30:00", "2026-11-24", "客户基础信息", f"{header['客户价值等级']}3", "KH001", "客户价值等级",
            "低价值", "高价值") == log[0][:8]


def test_formula_like_text_stays_text(messy, tmp_path, spec):
    out = refresh_file(messy, tmp_path / "out.xlsx", spec=spec, as_of=AS_OF, now=NOW).output
    for sheet in ("异常清单", "分类汇总", "变更日志"):
        assert _sheet_xml(out, sheet).find(".//m:f", NS) is None, sheet
    # the rep's own formula (openpyxl stored the =HYPERLINK text as one) is kept, none is added
    formulas = [f.text for f in _sheet_xml(messy, "客户基础信息").iterfind(".//m:f", NS)]
    assert [f.text for f in _sheet_xml(out, "客户基础信息").iterfind(".//m:f", NS)] == formulas
    wb = openpyxl.load_workbook(out)
    values = [r[5] for r in wb["异常清单"].iter_rows(min_row=2, values_only=True)]
    assert "+cmd|' /C calc'!A0" in values
    assert wb["客户基础信息"]["A1"].value == "2026年客户台账（张伟）"


def test_second_refresh_does_not_stack(messy, tmp_path, spec):
    first = refresh_file(messy, tmp_path / "one.xlsx", spec=spec, as_of=AS_OF, now=NOW).output
    second = refresh_file(first, tmp_path / "two.xlsx", spec=spec, as_of=AS_OF, now=NOW).output
    third = refresh_file(second, tmp_path / "three.xlsx", spec=spec, as_of=AS_OF, now=NOW).output
    for sheet in ("客户基础信息", "联系人", "跟进记录"):
        # the first refresh corrected the typed tier, so only its "changed" mark goes away
        expected = {k: v for k, v in _marks(first, sheet).items() if k != "changed"}
        assert _marks(second, sheet) == expected
        b = etree.tostring(_sheet_xml(second, sheet), method="c14n")
        c = etree.tostring(_sheet_xml(third, sheet), method="c14n")
        assert b == c, sheet
    wb1, wb2, wb3 = (openpyxl.load_workbook(p) for p in (first, second, third))
    assert wb1.sheetnames == wb2.sheetnames == wb3.sheetnames  # khbook's sheets replaced, not added again

    def comments(wb):
        return {(c.coordinate, c.comment.text) for row in wb["客户基础信息"].iter_rows() for c in row if c.comment}

    changed = _marks(first, "客户基础信息")["changed"]
    assert {ref for ref, _ in comments(wb1)} - {ref for ref, _ in comments(wb2)} == changed
    assert comments(wb2) == comments(wb3) and len(comments(wb2)) > 5
    # the change log keeps the first run's rows; the second run changed nothing more
    assert wb2["变更日志"].max_row == wb1["变更日志"].max_row


def test_untouched_parts_identical(messy, tmp_path, spec):
    out = refresh_file(messy, tmp_path / "out.xlsx", spec=spec, as_of=AS_OF, now=NOW).output
    with zipfile.ZipFile(messy) as zin, zipfile.ZipFile(out) as zout:
        names_in, names_out = set(zin.namelist()), set(zout.namelist())
        assert names_in <= names_out
        same = {n for n in names_in if zin.read(n) == zout.read(n)}
    # the sheet with no findings and the document properties are byte-identical
    assert "docProps/core.xml" in same
    untouched = [n for n in names_in if n.startswith("xl/worksheets/") and n not in same]
    marked = {f.sheet for f in refresh_file(messy, tmp_path / "o2.xlsx", spec=spec, as_of=AS_OF, now=NOW).report.findings}
    assert len(untouched) <= len(marked)


def test_default_output_and_cli(messy, tmp_path, capsys):
    src = tmp_path / "张伟 11月.xlsx"
    shutil.copy(messy, src)
    assert default_output(src) == tmp_path / "张伟 11月.checked.xlsx"
    assert default_output(tmp_path / "a.checked.xlsm") == tmp_path / "a.checked.xlsm"
    assert main(["refresh", str(src), "--as-of", AS_OF.isoformat()]) == 1
    assert (tmp_path / "张伟 11月.checked.xlsx").exists()
    assert capsys.readouterr().out.startswith(f"已写入 {tmp_path / '张伟 11月.checked.xlsx'}：")
    # refusing to write over the input
    assert main(["refresh", str(src), "-o", str(src)]) == 2


def test_template_and_sample_refresh(tmp_path, spec):
    template = make_template(tmp_path / "t.xlsx", spec)
    out = refresh_file(template, tmp_path / "t.checked.xlsx", spec=spec, as_of=AS_OF, now=NOW)
    assert out.report.findings == [] and out.output.exists()
    sample = Path(__file__).resolve().parents[1] / "samples" / "messy_filled.xlsx"
    res = refresh_file(sample, tmp_path / "s.checked.xlsx", spec=spec, as_of=AS_OF, now=NOW)
    wb = openpyxl.load_workbook(res.output)
    assert {"异常清单", "分类汇总", "变更日志", "我的备忘"} <= set(wb.sheetnames)


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) not installed: cannot prove the copy loads")
def test_libreoffice_loads_annotated_copy(messy, tmp_path, spec):
    out = refresh_file(messy, tmp_path / "out.xlsx", spec=spec, as_of=AS_OF, now=NOW).output
    conv = tmp_path / "conv"
    profile = tmp_path / "profile"
    proc = subprocess.run(["soffice", f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf",
                           "--outdir", str(conv), str(out)], capture_output=True, text=True, timeout=180)
    pdf = conv / "out.pdf"
    assert pdf.exists() and pdf.stat().st_size > 1000, proc.stdout + proc.stderr
