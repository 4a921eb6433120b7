"""Fidelity tests for the OOXML package patcher (khbook.ooxml.write_annotated).

Fixture workbooks are built at test time by tests/ooxml_fixtures.py. For each one we
apply the same edits and prove: every input part is kept, untouched parts are copied
byte-identical (raw), changed sheet parts keep every element they had, cells outside
the written ones are unchanged, validations/names/merges/user comments are not fewer,
marks are conditional formats, comments are khbook's, links point at the right cells,
formula-like text stays text, the output is XSD-valid and lint-clean, a second refresh
changes nothing, and LibreOffice opens it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path

import openpyxl
import pytest
from lxml import etree

from khbook.base.errors import WorkbookError
from khbook.base.excel import quote_sheet
from khbook.ooxml import NewSheet, SheetEdits, write_annotated
from khbook.ooxml.sheetxml import marker_formula
from khbook.ooxml.xmlutil import cell_text, compact_sqref
from tests import gnumeric
from tests import ooxml_fixtures as fx
from tests.ooxml_fixtures import FORMULA_LIKE, LINKS, MARKS, WRITES

SHARED = Path(os.environ.get("KHBOOK_SHARED") or Path(__file__).resolve().parents[2] / "shared")
KINDS = list(fx.BUILDERS)
M = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
MAIN_PART = "xl/worksheets/sheet1.xml"

# ---- helpers -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path | None]:
    folder = tmp_path_factory.mktemp("ooxml-fixtures")
    return {k: fx.build(k, folder) for k in KINDS}


def book(books: dict[str, Path | None], kind: str) -> Path:
    path = books[kind]
    if path is None:
        pytest.skip(f"fixture {kind!r} unavailable (LibreOffice not installed)")
    return path


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def rels_of(files: dict[str, bytes], part: str) -> dict[str, tuple[str, str]]:
    folder, name = part.rsplit("/", 1)
    data = files.get(f"{folder}/_rels/{name}.rels")
    if data is None:
        return {}
    root = etree.fromstring(data)
    out = {}
    for el in root:
        target = el.get("Target")
        resolved = os.path.normpath(os.path.join(folder, target)).replace("\\", "/") if not target.startswith("/") else target[1:]
        out[el.get("Id")] = (el.get("Type").rsplit("/", 1)[-1], resolved)
    return out


def cells(xml: bytes) -> dict[str, tuple]:
    root = etree.fromstring(xml)
    out = {}
    for c in root.iter(f"{M}c"):
        f = c.find(f"{M}f")
        out[c.get("r")] = (c.get("s"), c.get("t"), c.findtext(f"{M}v"),
                           None if f is None else (f.text, tuple(sorted(f.attrib.items()))),
                           "".join(c.find(f"{M}is").itertext()) if c.find(f"{M}is") is not None else None)
    return out


def signature(xml: bytes, skip: set[str]) -> Counter:
    """Every element as (path, attributes, text), skipping written cells and volatile attributes."""
    out: Counter = Counter()

    def walk(el: etree._Element, path: str) -> None:
        if not isinstance(el.tag, str):
            return
        name = etree.QName(el).localname
        if name == "c" and el.get("r") in skip:
            return
        attrs = dict(el.attrib)
        for volatile in {"row": ("spans",), "dimension": ("ref",), "col": ("min", "max")}.get(name, ()):
            attrs.pop(volatile, None)
        p = f"{path}/{el.tag}"
        out[(p, tuple(sorted(attrs.items())), (el.text or "").strip())] += 1
        for ch in el:
            walk(ch, p)

    walk(etree.fromstring(xml), "")
    return out


def user_comments(path: Path) -> set[tuple]:
    wb = openpyxl.load_workbook(path)
    return {(ws.title, c.coordinate, c.comment.author, c.comment.text)
            for ws in wb for row in ws.iter_rows() for c in row
            if c.comment is not None and c.comment.author != "khbook"}


def count(files: dict[str, bytes], local: str) -> int:
    return sum(len(etree.fromstring(d).findall(f".//{{*}}{local}"))
               for n, d in files.items() if n.startswith("xl/worksheets/sheet") or n == "xl/workbook.xml")


def shared_tool(name: str) -> Path:
    path = SHARED / "tools" / name
    if not path.exists():
        pytest.skip(f"{path} not available (set KHBOOK_SHARED)")
    return path


def refresh(src: Path, dst: Path):
    return fx.refresh(src, dst)


# ---- fidelity ------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_fidelity(books: dict[str, Path | None], kind: str, tmp_path: Path) -> None:
    src = book(books, kind)
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    out = tmp_path / f"out{src.suffix}"
    stats = refresh(src, out)
    assert hashlib.sha256(src.read_bytes()).hexdigest() == digest, "input modified"
    a, b = members(src), members(out)

    # every member kept; untouched ones byte-identical and raw-copied (same compressed size)
    assert set(a) <= set(b)
    sheet_rels = rels_of(a, MAIN_PART)
    may_change = {"[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "docProps/app.xml",
                  "xl/styles.xml", "xl/calcChain.xml", MAIN_PART, "xl/worksheets/_rels/sheet1.xml.rels"}
    may_change |= {t for kind_, t in sheet_rels.values() if kind_ in ("comments", "vmlDrawing")}
    with zipfile.ZipFile(src) as za, zipfile.ZipFile(out) as zb:
        for name in a:
            if name not in may_change:
                assert a[name] == b[name], f"{name} changed"
                ia, ib = za.getinfo(name), zb.getinfo(name)
                assert (ia.compress_type, ia.compress_size, ia.CRC) == (ib.compress_type, ib.compress_size, ib.CRC)
        order_a = [n for n in za.namelist()]
        assert [n for n in zb.namelist() if n in a] == order_a, "member order changed"
    assert stats.parts_copied >= len(set(a) - may_change)

    # the changed sheet keeps every element it had; other cells unchanged
    written = set(WRITES) | {"J1", "K1"}
    sig_a, sig_b = signature(a[MAIN_PART], written), signature(b[MAIN_PART], written)
    assert not (sig_a - sig_b), f"elements lost: {list((sig_a - sig_b).items())[:5]}"
    ca, cb = cells(a[MAIN_PART]), cells(b[MAIN_PART])
    for ref, value in ca.items():
        if ref not in written:
            assert cb[ref] == value, ref
        elif not isinstance(WRITES.get(ref), dt.date) and ref not in ("J1", "K1"):
            assert cb[ref][0] == value[0], f"{ref} lost its style"
    for other in set(a) & set(b):
        if other.startswith("xl/worksheets/sheet") and other != MAIN_PART:
            assert a[other] == b[other]

    # validations, names, merges, user comments not fewer
    for local in ("dataValidation", "definedName", "mergeCell", "hyperlink"):
        assert count(b, local) >= count(a, local), local
    assert user_comments(out) == user_comments(src)
    if kind == "x14":
        assert b"{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}" in b[MAIN_PART]
        assert b"x14:conditionalFormatting" in b[MAIN_PART]
    if kind == "xlsm":
        assert b["xl/vbaProject.bin"] == a["xl/vbaProject.bin"]
        assert b"RefreshClassification" in b["xl/drawings/vmlDrawing1.vml"]

    # marks: one CF per kind with the right sqref
    root = etree.fromstring(b[MAIN_PART])
    found = {}
    for cf in root.findall(f"{M}conditionalFormatting"):
        for rule in cf.findall(f"{M}cfRule"):
            found[rule.findtext(f"{M}formula")] = cf.get("sqref")
    for kind_ in ("error", "warning", "info", "changed"):
        assert found[marker_formula(kind_)] == compact_sqref(r for r, (k, _t) in MARKS.items() if k == kind_)
    prios = [r.get("priority") for r in root.iter("{*}cfRule")]
    assert len(prios) == len(set(prios))

    # values written as text, never formulas
    for ref, text in FORMULA_LIKE.items():
        c = root.find(f"{M}sheetData/{M}row/{M}c[@r='{ref}']")
        assert c.get("t") == "inlineStr" and c.find(f"{M}f") is None
        assert "".join(c.find(f"{M}is").itertext()) == text
    wb = openpyxl.load_workbook(out)
    ws = wb[fx.MAIN_SHEET]
    assert ws["J6"].value == "badchars"
    assert len(ws["K2"].value) == 32767
    assert ws["F4"].value == 88.5 and ws["H6"].value is None
    assert ws["E5"].value == dt.datetime(2024, 5, 10) and ws["E5"].is_date
    assert ws.column_dimensions["J"].width == 14

    # comments: khbook's where no user comment is
    skipped = {s.split("!", 1)[1] for s in stats.comments_skipped}
    for ref, (_k, text) in MARKS.items():
        c = ws[ref].comment
        if text is None:
            assert c is None or c.author != "khbook"
        elif ref in skipped:
            assert c.author != "khbook"
        else:
            assert c is not None and c.author == "khbook" and c.text == cell_text(text)
    if kind == "comments":
        assert skipped == {"C4"}

    # new sheets and links
    assert wb.sheetnames[:2] == [fx.MAIN_SHEET, fx.LOG_SHEET]
    assert wb.sheetnames[2:] == ["异常清单", "分类汇总", "Bob's 图表"]
    assert wb["Bob's 图表"].sheet_state == "hidden"
    issues = wb["异常清单"]
    for ref, target in LINKS.items():
        assert issues[ref].hyperlink.location == target
    assert issues["F2"].value == "=SUM(A1)" and issues["F2"].data_type == "s"
    assert issues.freeze_panes == "A2" and issues.auto_filter.ref == "A1:H3"
    charts = [n for n in b if n.startswith("xl/charts/") and n not in a]
    assert len(charts) == 3
    assert any("'Bob''s 图表'!$A$2:$A$3".encode() in b[n] for n in charts)
    check_schemas(out, [b[n] for n in charts])


def check_schemas(out: Path, chart_parts: list[bytes]) -> None:
    xsd = SHARED / "ooxml-xsd"
    res = subprocess.run([sys.executable, str(shared_tool("xsdcheck.py")), str(xsd), str(out)],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    res = subprocess.run([sys.executable, str(shared_tool("excel_lint.py")), str(out)],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    wrapper = (f'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:import namespace='
               f'"http://schemas.openxmlformats.org/drawingml/2006/chart" schemaLocation="{(xsd / "dml-chart.xsd").as_uri()}"/></xs:schema>')
    schema = etree.XMLSchema(etree.fromstring(wrapper.encode(), base_url=xsd.as_uri() + "/"))
    for data in chart_parts:
        assert schema.validate(etree.fromstring(data)), schema.error_log


@pytest.mark.parametrize("kind", KINDS)
def test_second_refresh_is_stable(books: dict[str, Path | None], kind: str, tmp_path: Path) -> None:
    src = book(books, kind)
    once, twice = tmp_path / f"once{src.suffix}", tmp_path / f"twice{src.suffix}"
    refresh(src, once)
    stats = refresh(once, twice)
    a, b = members(once), members(twice)
    assert set(a) == set(b)
    for name in a:
        assert a[name] == b[name], f"{name} differs after a second refresh"
    assert stats.sheets_replaced == ["异常清单", "分类汇总", "Bob's 图表"] and not stats.sheets_added
    wb = openpyxl.load_workbook(twice)
    ws = wb[fx.MAIN_SHEET]
    kb = [c for row in ws.iter_rows() for c in row if c.comment is not None and c.comment.author == "khbook"]
    assert len(kb) == stats.comments_added == stats.comments_removed


@pytest.mark.parametrize("kind", KINDS)
def test_libreoffice_opens_output(books: dict[str, Path | None], kind: str, tmp_path: Path) -> None:
    if fx.soffice() is None:
        pytest.skip("LibreOffice (soffice) not installed")
    src = book(books, kind)
    out = tmp_path / f"out{src.suffix}"
    refresh(src, out)
    target = "csv" if kind == "plain" else "pdf"
    convert = 'csv:Text - txt - csv (StarCalc):44,34,76' if target == "csv" else "pdf"   # 76 = UTF-8
    res = fx.run_soffice(["--convert-to", convert, "--outdir", str(tmp_path / "lo"), str(out)])
    produced = tmp_path / "lo" / f"out.{target}"
    assert produced.exists() and produced.stat().st_size > 0, res.stdout + res.stderr
    assert "error" not in res.stderr.lower().replace("javaldx", ""), res.stderr
    if target == "csv":
        text = produced.read_text(encoding="utf-8", errors="replace")
        assert "新名称有限公司" in text and "+cmd" in text and '"=HYPERLINK(""http://evil"",""x"")"' in text


@pytest.mark.parametrize("kind", KINDS)
def test_gnumeric_opens_output(books: dict[str, Path | None], kind: str, tmp_path: Path) -> None:
    """Gnumeric as a third client: every sheet loads, no message the input did not give
    (tests/gnumeric.py NOT_IMPLEMENTED apart); every part khbook wrote uses conventional
    namespace prefixes (patched in a fresh interpreter: openpyxl's global prefix registry
    would hide a generated ``ns0:``)."""
    gnumeric.need_ssconvert()
    src = book(books, kind)
    out = tmp_path / f"out{src.suffix}"
    fx.refresh_in_subprocess(src, out)
    a, b = members(src), members(out)
    generated = re.compile(rb"""xmlns:(ns\d+)=["']([^"']*)["']""")
    for name, data in b.items():
        if a.get(name) != data and name.endswith((".xml", ".rels", ".vml")):
            had = set(generated.findall(a.get(name, b"")))   # the input's own (openpyxl's VML)
            assert set(generated.findall(data)) <= had, f"{name}: generated namespace prefix"
    got, before = gnumeric.load(out), gnumeric.load(src)
    assert got.ok and got.sheets == [*before.sheets, "异常清单", "分类汇总", "Bob's 图表"], got.output[-2000:]
    assert gnumeric.new_messages(got, before) == [], got.output[-3000:]


# ---- focused behaviour -------------------------------------------------------------------

def test_shared_formula_master_hands_formula_to_dependents(books: dict[str, Path | None], tmp_path: Path) -> None:
    src = book(books, "x14")
    out = tmp_path / "out.xlsx"
    stats = write_annotated(src, out, [SheetEdits(fx.MAIN_SHEET, {"J2": "text", "I5": 1})], [])
    c = cells(members(out)[MAIN_PART])
    assert c["J2"][3] is None and c["J3"][3] == ("D3+1", ()) and c["J4"][3] == ("D4+1", ())
    assert c["J3"][2] == "31"   # cached value kept
    assert sorted(stats.formulas_removed) == [f"{fx.MAIN_SHEET}!I5", f"{fx.MAIN_SHEET}!J2"]
    chain = etree.fromstring(members(out)["xl/calcChain.xml"])
    refs = [e.get("r") for e in chain]
    assert "J2" not in refs and "I5" not in refs and "J3" in refs
    assert chain[0].get("i") == "1"


def test_calc_chain_removed_when_empty(books: dict[str, Path | None], tmp_path: Path) -> None:
    src = book(books, "x14")
    writes = {f"I{r}": None for r in range(2, 22)} | {"J2": None, "J3": None, "J4": None}
    out = tmp_path / "out.xlsx"
    write_annotated(src, out, [SheetEdits(fx.MAIN_SHEET, writes)], [])
    b = members(out)
    assert "xl/calcChain.xml" not in b and b"calcChain" not in b["xl/_rels/workbook.xml.rels"]
    assert b"calcChain" not in b["[Content_Types].xml"]


def test_replace_sheets_removes_extra_sheet(books: dict[str, Path | None], tmp_path: Path) -> None:
    src = book(books, "plain")
    once, twice = tmp_path / "once.xlsx", tmp_path / "twice.xlsx"
    refresh(src, once)
    stats = write_annotated(once, twice, [], [NewSheet("异常清单", [["a"], ["b"]])],
                            replace_sheets=["异常清单", "分类汇总"])
    assert stats.sheets_removed == ["分类汇总"]
    wb = openpyxl.load_workbook(twice)
    assert wb.sheetnames == [fx.MAIN_SHEET, fx.LOG_SHEET, "异常清单", "Bob's 图表"]
    b = members(twice)
    assert len([n for n in b if n.startswith("xl/charts/")]) == 1   # only Bob's chart left
    names = etree.fromstring(b["xl/workbook.xml"]).findall(f".//{M}definedName")
    assert all(int(n.get("localSheetId", 0)) < 4 for n in names)
    check_schemas(twice, [])


def test_no_edits_copies_everything(books: dict[str, Path | None], tmp_path: Path) -> None:
    src = book(books, "chart")
    out = tmp_path / "same.xlsx"
    stats = write_annotated(src, out, [SheetEdits(fx.MAIN_SHEET)], [])
    assert members(src) == members(out)
    assert stats.parts_changed == 0 and stats.parts_copied == len(members(src))


def test_refuses_overwriting_input_and_dtd(books: dict[str, Path | None], tmp_path: Path) -> None:
    src = book(books, "plain")
    with pytest.raises(WorkbookError):
        write_annotated(src, src, [], [])
    evil = tmp_path / "evil.xlsx"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(evil, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == MAIN_PART:
                data = data.replace(b"<worksheet", b'<!DOCTYPE x [<!ENTITY e "boom">]><worksheet', 1)
            zout.writestr(info, data)
    with pytest.raises(WorkbookError, match="DTD"):
        write_annotated(evil, tmp_path / "x.xlsx", [SheetEdits(fx.MAIN_SHEET, {"A1": 1})], [])
    assert not (tmp_path / "x.xlsx").exists()
    with pytest.raises(ValueError):
        write_annotated(src, tmp_path / "y.xlsx", [SheetEdits(fx.MAIN_SHEET, marks={"A1": ("bogus", None)})], [])


def test_text_helpers() -> None:
    assert quote_sheet("Bob's") == "'Bob''s'"
    assert compact_sqref(["C5", "C6", "C7", "A1", "C9"]) == "A1 C5:C7 C9"
    assert cell_text("a\x00b\x0bc\td") == "abc\td"
    assert cell_text("_x0041_") == "_x005F_x0041_"
    assert len(cell_text("y" * 50000)) == 32767


def test_split_refs_is_split_ref_in_bulk() -> None:
    from khbook.ooxml.xmlutil import check_refs, split_ref, split_refs

    plain = [f"{c}{r}" for r in (1, 9, 1048576) for c in ("A", "Z", "AA", "XFD")]
    odd = [*plain, "$B$2", "c3", " D4"]
    assert split_refs(plain) == [split_ref(x) for x in plain]
    assert split_refs(odd) == [split_ref(x) for x in odd]
    assert split_refs([]) == []
    for bad in (["A1", "A1\nB2"], ["A1", "XFE1"], ["A1048577"], ["A0"], ["1A"]):
        with pytest.raises(ValueError):
            split_refs(bad)
        with pytest.raises(ValueError):
            check_refs(bad)
    check_refs(odd)
    check_refs([])


@pytest.mark.slow
def test_large_sheet_patch(tmp_path: Path) -> None:
    """10k rows x 20 columns; 10k writes in a new column and 2k marks with comments, all applied
    (the chunked path). How fast it is, bench/bench_refresh.py measures; no clock here."""
    src = tmp_path / "big.xlsx"
    wb = fx.xlsxwriter.Workbook(str(src), {"constant_memory": True})
    ws = wb.add_worksheet("data")
    for r in range(10001):
        ws.write_row(r, 0, [f"h{c}" if r == 0 else (r * c if c % 2 else f"t{r}-{c}") for c in range(20)])
    wb.close()
    writes = {f"U{r}": f"v{r}" for r in range(2, 10002)}
    marks = {f"B{r}": ("error", f"m{r}") for r in range(2, 10002, 5)}
    out = tmp_path / "out.xlsx"
    stats = write_annotated(src, out, [SheetEdits("data", writes, marks, {"U": 12})], [])
    assert stats.cells_written == 10000 and stats.comments_added == 2000
    ws = openpyxl.load_workbook(out, read_only=True)["data"]
    rows = list(ws.iter_rows(min_row=10000, max_row=10001, min_col=20, max_col=21, values_only=True))
    assert rows == [(9999 * 19, "v10000"), (10000 * 19, "v10001")]  # data row r sits on Excel row r + 1


def test_marks_only_sheet_keeps_cells_byte_identical(books: dict[str, Path | None], tmp_path: Path) -> None:
    src = book(books, "comments")
    log_part = "xl/worksheets/sheet2.xml"
    e = [SheetEdits(fx.LOG_SHEET, marks={"B3": ("error", "日期格式"), "C4": ("info", None)}, new_columns={"F": 9})]
    once, twice = tmp_path / "once.xlsx", tmp_path / "twice.xlsx"
    stats = write_annotated(src, once, e, [])
    write_annotated(once, twice, e, [])
    a, b = members(src)[log_part], members(once)[log_part]

    def sheet_data(x: bytes) -> bytes:
        return x[x.index(b"<sheetData"):x.index(b"</sheetData>")]

    assert sheet_data(a) == sheet_data(b)
    assert not (signature(a, set()) - signature(b, set()))
    assert members(twice)[log_part] == b and stats.comments_added == 1
    assert openpyxl.load_workbook(once)[fx.LOG_SHEET]["B3"].comment.author == "khbook"
    check_schemas(once, [])


# ---- chunked rows ------------------------------------------------------------------------

def _big_edits(rows: int) -> list[SheetEdits]:
    """Writes in scattered row bands (so most chunks are untouched), into gaps and below
    the data, over formulas, dates/numbers/None/text; header looks, marks, comments."""
    writes: dict[str, object] = {"J1": "客户价值等级", "K1": "分类依据"}
    for r in [*range(2, 400), *range(1700, 1760), rows - 3, rows - 1]:
        writes[f"J{r}"] = "高价值" if r % 3 else " 前后空格 "
        writes[f"K{r}"] = r * 0.5
    for r in range(700, 760):   # over formulas, dates, text, new rows in gaps (r % 10 == 6)
        writes[f"I{r}"] = None if r % 2 else r
        writes[f"E{r}"] = dt.date(2025, 1, 1) + dt.timedelta(days=r)
        writes[f"L{r}"] = dt.datetime(2025, 2, 1, 8, 30)
        writes[f"B{r}"] = "x" if r % 4 else 7
    writes |= {f"J{rows + 5}": "below", f"A{rows + 20}": 1}
    marks = {f"C{r}": ("error", f"问题{r}") for r in range(2, rows, 97)}
    marks |= {"B3": ("warning", "skipped: user comment"), "D8": ("info", None)}
    return [SheetEdits(fx.MAIN_SHEET, writes, marks, {"J": 14, "K": 30, "L": 12},
                       {"J1": "computed", "K1": "computed"}),
            SheetEdits(fx.LOG_SHEET, {"C1": "新列", "C5": 1}, {"A1": ("info", "x")})]


def _patch_with(monkeypatch: pytest.MonkeyPatch, chunk_rows: int, src: Path, dst: Path,
                e: list[SheetEdits]):
    from khbook.ooxml import chunked

    monkeypatch.setattr(chunked, "CHUNK_ROWS", chunk_rows)
    return write_annotated(src, dst, e, [])


def test_chunked_rows_equal_whole_sheet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from khbook.ooxml import chunked

    rows = 5000
    src = fx.build_big(tmp_path / "big.xlsx", rows)
    calls: list[int] = []
    real_write = chunked.ChunkedSheet.write

    def spy(self, writes, header_marks):  # noqa: ANN001, ANN202
        calls.append(len(writes))
        return real_write(self, writes, header_marks)

    monkeypatch.setattr(chunked.ChunkedSheet, "write", spy)
    whole, parts = tmp_path / "whole.xlsx", tmp_path / "chunked.xlsx"
    s_whole = _patch_with(monkeypatch, 0, src, whole, _big_edits(rows))
    assert not calls
    s_chunk = _patch_with(monkeypatch, 500, src, parts, _big_edits(rows))
    assert len(calls) == 2   # both sheets went through the chunked path
    assert s_chunk == s_whole and s_chunk.formulas_removed   # same stats, in the same order
    a, b, orig = members(whole), members(parts), members(src)
    assert a.keys() == b.keys()
    for name in a:
        if name != MAIN_PART and name != "xl/worksheets/sheet2.xml":
            assert a[name] == b[name], name
    for part in (MAIN_PART, "xl/worksheets/sheet2.xml"):
        assert cells(a[part]) == cells(b[part])
        assert etree.tostring(etree.fromstring(a[part]), method="c14n") == \
            etree.tostring(etree.fromstring(b[part]), method="c14n")
    # rows of untouched chunks keep their original bytes
    row_1000 = orig[MAIN_PART][orig[MAIN_PART].index(b'<row r="1001"'):orig[MAIN_PART].index(b'<row r="1201"')]
    assert row_1000 in b[MAIN_PART]
    c = cells(b[MAIN_PART])
    assert c["J2"][4] == "高价值" and c[f"J{rows + 5}"][4] == "below" and c["I707"][3] is None
    assert c["K1"][0] != c["K2"][0]   # header look vs the column's style
    root = etree.fromstring(b[MAIN_PART])
    assert root.find(f"{M}dimension").get("ref") == f"A1:L{rows + 20}"
    nums = [int(r.get("r")) for r in root.iter(f"{M}row")]
    assert nums == sorted(nums) and 706 in nums and rows + 20 in nums


@pytest.mark.parametrize("case", ["shared_master", "row_without_r", "alternate_content"])
def test_chunked_fallback_to_whole_sheet(case: str, books: dict[str, Path | None], tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from khbook.ooxml import chunked

    src = book(books, "x14")
    if case == "shared_master":   # the layout is plain: the fallback comes from the J2 write
        assert chunked.scan_rows(members(src)[MAIN_PART]) is not None
    else:
        data = members(src)
        xml = data[MAIN_PART]
        if case == "row_without_r":
            xml = xml.replace(b'<row r="7" ', b"<row ", 1)
        else:
            xml = xml.replace(b'<row r="7" ', b'<mc:AlternateContent xmlns:mc="http://schemas.openxmlformats.org/'
                              b'markup-compatibility/2006"><mc:Fallback/></mc:AlternateContent><row r="7" ', 1)
        assert xml != data[MAIN_PART]
        assert chunked.scan_rows(xml) is None and chunked.scan_rows(data[MAIN_PART]) is not None
        src = tmp_path / "src.xlsx"
        with zipfile.ZipFile(src, "w", zipfile.ZIP_DEFLATED) as z:
            for name, body in data.items():
                z.writestr(name, xml if name == MAIN_PART else body)
    e = [SheetEdits(fx.MAIN_SHEET, {"J2": "text", "I5": 1, "B7": "七", "K30": 3}, {"C4": ("error", "m")})]
    whole, parts = tmp_path / "whole.xlsx", tmp_path / "chunked.xlsx"
    s_whole = _patch_with(monkeypatch, 0, src, whole, e)
    s_chunk = _patch_with(monkeypatch, 5, src, parts, e)
    assert s_chunk == s_whole
    assert members(whole) == members(parts)
    c = cells(members(parts)[MAIN_PART])
    assert c["B7"][4] == "七" and c["K30"][2] == "3"
    if case == "shared_master":
        assert c["J3"][3] == ("D3+1", ())


def test_comment_fragments_are_pasted_not_parsed() -> None:
    """Thousands of note shapes are pasted as text (a parsed fragment would cost ~10x memory)."""
    from khbook.ooxml import comments

    root = comments._new_vml()
    out = comments._splice(root, root, [b"<v:shape/>", b"<zz:not-parsed/>"], "",
                           {"v": comments.V, "o": comments.OFF, "x": comments.X}, declaration=False)
    assert isinstance(out, list)   # pieces: never joined here (Package.put deflates a large part piecewise)
    assert b"".join(out).endswith(b"</o:shapelayout><v:shape/><zz:not-parsed/></xml>")


def test_large_parts_are_kept_deflated(books: dict[str, Path | None], tmp_path: Path) -> None:
    from khbook.ooxml.package import Deflated, Package

    pkg = Package(book(books, "plain"))
    try:
        big = b"<x>" + b"0123456789" * 300_000 + b"</x>"
        pkg.put("xl/big.xml", big)
        pkg.put("xl/pieces.xml", [big[:100], memoryview(big)[100:], b"<!-- end -->"])
        assert pkg.read("xl/pieces.xml") == big + b"<!-- end -->"
        pkg._collect(wait=True)
        assert isinstance(pkg._added["xl/big.xml"], Deflated) and pkg.read("xl/big.xml") == big
        assert isinstance(pkg._added["xl/pieces.xml"], Deflated)
        pkg.write(tmp_path / "out.xlsx")
    finally:
        pkg.close()
    with zipfile.ZipFile(tmp_path / "out.xlsx") as z:
        assert z.read("xl/big.xml") == big and z.testzip() is None
        assert z.read("xl/pieces.xml") == big + b"<!-- end -->"



def test_rows_edited_as_bytes_equal_whole_sheet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Text and blank writes into existing rows are spliced into the row bytes
    (khbook.ooxml.rowedit); the sheet is byte for byte what the whole-sheet tree patcher
    writes: new cells in the middle and at the end of rows (with the column's style),
    overwritten text and numbers, blanked dates, spaces kept, spans widened. A chunk with
    a formula overwrite goes through the tree patcher, with the same stats."""
    from khbook.ooxml import chunked, rowedit

    rows = 3000
    src = fx.build_big(tmp_path / "big.xlsx", rows)
    writes: dict[str, object] = {"J1": "客户价值等级", "K1": "分类依据"}
    for r in range(2, rows + 1):
        if (r - 1) % 10 == 5:
            continue   # the fixture leaves these rows out: a new row goes through the tree
        writes[f"J{r}"] = ["高价值", " 前后空格 ", "a&b <c>", "两\n行"][r % 4]
        writes[f"H{r}"] = "中间" if r % 3 else None
        if r % 50 == 0:
            writes[f"C{r}"] = "改"
            writes[f"D{r}"] = "文本"
            writes[f"E{r}"] = None
            writes[f"K{r}"] = "有列样式"
    writes["I701"] = "覆盖公式"   # a formula cell: this chunk is patched as a tree
    writes["J2006"] = "新行"   # a row the fixture left out: so is this one
    edited: list[bool] = []
    real = rowedit.edit_row

    def spy(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        out = real(*args, **kwargs)
        edited.append(out is not None)
        return out

    monkeypatch.setattr(chunked, "edit_row", spy)
    whole, parts = tmp_path / "whole.xlsx", tmp_path / "chunked.xlsx"
    e = [SheetEdits(fx.MAIN_SHEET, writes, {"C9": ("error", "m")})]
    s_whole = _patch_with(monkeypatch, 0, src, whole, e)
    assert not edited
    s_chunk = _patch_with(monkeypatch, 500, src, parts, e)
    assert s_chunk == s_whole and s_chunk.formulas_removed == [f"{fx.MAIN_SHEET}!I701"]
    assert members(whole) == members(parts)
    assert sum(edited) > rows * 0.6   # most rows were edited as bytes
    c = cells(members(parts)[MAIN_PART])
    assert c["J5"][4] == " 前后空格 " and c["J10"][4] == "a&b <c>" and c["J3"][4] == "两\n行" and c["H2"][4] == "中间" and c["I701"][4] == "覆盖公式"


def test_streamed_rows_equal_whole_sheet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A large sheet's rows are compressed as they are patched (head, rows and tail
    compressed apart, joined into one deflate stream): the part is what the whole-sheet
    patcher writes, and its CRC checks out."""
    from khbook.ooxml import chunked

    rows = 3000
    src = fx.build_big(tmp_path / "big.xlsx", rows)
    writes: dict[str, object] = {"J1": "客户价值等级", "K1": "分类依据"}
    for r in range(2, rows + 1):
        if (r - 1) % 10 != 5:
            writes[f"J{r}"] = "高价值" if r % 3 else None
    writes["K2"] = "x"
    e = [SheetEdits(fx.MAIN_SHEET, writes, {"C9": ("error", "m")}, {"J": 14}, {"J1": "computed", "K1": "computed"})]
    whole, streamed = tmp_path / "whole.xlsx", tmp_path / "streamed.xlsx"
    s_whole = _patch_with(monkeypatch, 0, src, whole, e)
    monkeypatch.setattr(chunked, "STREAM_BYTES", 0)
    s_stream = _patch_with(monkeypatch, 500, src, streamed, e)
    assert s_stream == s_whole
    assert members(whole) == members(streamed)
    with zipfile.ZipFile(streamed) as z:
        assert z.testzip() is None
    c = cells(members(streamed)[MAIN_PART])
    assert c["J2"][4] == "高价值" and c["K1"][0] != c["K2"][0]


def test_huge_marks_only_sheet_is_streamed(books: dict[str, Path | None], tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A sheet that only gets marks, comments and widths is patched from the zip member in two
    streaming passes when it is huge (khbook.ooxml.streamed): the same parts as in memory."""
    from khbook.ooxml import streamed

    src = book(books, "comments")
    e = [SheetEdits(fx.LOG_SHEET, marks={"B3": ("error", "日期格式"), "C4": ("info", None)}, new_columns={"F": 9}),
         SheetEdits(fx.MAIN_SHEET, marks={"A2": ("warning", "x")})]
    in_memory, streaming = tmp_path / "memory.xlsx", tmp_path / "streamed.xlsx"
    s_memory = write_annotated(src, in_memory, e, [])
    located: list[bool] = []
    real = streamed.locate
    monkeypatch.setattr(streamed, "HUGE", 0)
    monkeypatch.setattr(streamed, "locate", lambda f: located.append(True) or real(f))
    s_stream = write_annotated(src, streaming, e, [])
    assert located and s_stream == s_memory
    assert members(in_memory) == members(streaming)
