"""The xlwings plumbing without Excel: xlwings' remote engine, the adapter's batching
helpers, and the macro workbook (VBA project, button, companion module).

The remote engine is xlwings PRO (PolyForm Noncommercial): each test that uses it sets
XLWINGS_LICENSE_KEY=noncommercial for itself only, and skips visibly when it cannot run.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import xlsxwriter

from khbook.excel.adapter import (
    MAX_ADDRESS_LEN,
    cell_tuple,
    fill_cells,
    read_sheets,
    recreate_sheet,
    union_addresses,
    write_column_blocks,
)
from khbook.template import macro
from tests.xlwings_support import (
    actions_by_func,
    apply_actions,
    book_json_from_xlsx,
    count_write_actions,
    remote_engine_or_skip,
    vba_modules,
)


def _small_book(path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "客户基础信息"
    ws.append(["客户ID", "客户名称", "首次接触时间", "年交易额(万元)", "客户价值等级"])
    ws.append(["KH2024001", "上海某某有限公司", dt.date(2024, 5, 10), 120, None])
    ws.append(["KH2024002", "深圳某某科技有限公司", dt.datetime(2024, 6, 1, 13, 30), 35.5, None])
    ws.append(["KH2024003", None, dt.date(2023, 1, 2), "#N/A", None])
    for cell in ("C2", "C4"):
        ws[cell].number_format = "yyyy-mm-dd"
    ws["C3"].number_format = "yyyy-mm-dd hh:mm"
    off = wb.create_sheet("偏移")
    off["C3"] = "左上角"
    off["D4"] = 7
    wb.save(path)
    return path


@pytest.fixture()
def xw(monkeypatch: pytest.MonkeyPatch) -> Any:
    return remote_engine_or_skip(monkeypatch)


def test_client_json_shape(tmp_path: Path, xw: Any) -> None:
    data = book_json_from_xlsx(_small_book(tmp_path / "s.xlsx"))
    assert data["client"] == "Office.js" and data["version"] == xw.__version__
    assert data["book"] == {"name": "s.xlsx", "active_sheet_index": 0, "selection": "A1"}
    first, second = data["sheets"]
    assert first["values"][1] == ["KH2024001", "上海某某有限公司", "2024-05-10T00:00:00.000Z", 120, ""]
    assert first["values"][2][2] == "2024-06-01T13:30:00.000Z"
    assert first["values"][3][3] == "#N/A"
    assert first["used_range_address"] == "$A$1:$E$4"
    assert second["values"][0] == ["", "", "", ""] and second["values"][2][2] == "左上角"
    assert second["used_range_address"] == "$C$3:$D$4"


def test_remote_book_reads_writes_and_replays(tmp_path: Path, xw: Any) -> None:
    src = _small_book(tmp_path / "s.xlsx")
    book = xw.Book(json=book_json_from_xlsx(src))
    assert book.name == "s.xlsx" and [s.name for s in book.sheets] == ["客户基础信息", "偏移"]

    errors: dict[str, dict[tuple[int, int], str]] = {}
    sheets = read_sheets(book, errors=errors)
    rows = sheets["客户基础信息"]
    assert rows[1] == ["KH2024001", "上海某某有限公司", dt.date(2024, 5, 10), 120.0, None]
    assert rows[2][2] == dt.datetime(2024, 6, 1, 13, 30)
    assert rows[3][1] is None and rows[3][3] is None
    assert errors == {"客户基础信息": {(3, 3): "#N/A"}}
    # the used range starts at C3: values stay anchored at A1
    assert sheets["偏移"][2][2] == "左上角" and sheets["偏移"][3][3] == 7.0
    assert count_write_actions(book.json()) == 0  # reading queues nothing

    sheet = book.sheets["客户基础信息"]
    sheet.range("E2:E4").value = [["A类"], ["B类"], ["C类"]]  # ONE call for the block
    sheet.range("B4").color = "#FFC7CE"
    new = book.sheets.add("分类汇总", after=book.sheets[-1])
    new.range("A1").value = [["客户价值等级", "客户数"], ["A类", 1], ["日期", dt.date(2024, 7, 1)]]

    actions = book.json()["actions"]
    assert [a["func"] for a in actions] == ["setValues", "setRangeColor", "addSheet", "setValues"]
    assert actions[0] | {} == {
        "func": "setValues", "args": [None], "values": [["A类"], ["B类"], ["C类"]],
        "sheet_position": 0, "start_row": 1, "start_column": 4, "row_count": 3, "column_count": 1,
    }
    assert actions[1]["args"] == ["#FFC7CE"] and actions[1]["start_row"] == 3
    assert actions[2]["args"] == [2, "分类汇总"]
    assert actions[3]["sheet_position"] == 2 and actions[3]["values"][2] == ["日期", "2024-07-01"]

    wb = openpyxl.load_workbook(src)
    apply_actions(actions, wb)
    ws = wb["客户基础信息"]
    assert [ws.cell(r, 5).value for r in (2, 3, 4)] == ["A类", "B类", "C类"]
    assert ws["B4"].fill.fill_type == "solid" and ws["B4"].fill.start_color.rgb == "FFFFC7CE"
    assert ws["A1"].value == "客户ID" and ws["B4"].fill is not None and ws["B3"].fill.fill_type is None
    assert wb.sheetnames == ["客户基础信息", "偏移", "分类汇总"]
    assert wb["分类汇总"]["A2"].value == "A类" and wb["分类汇总"]["B3"].value == dt.datetime(2024, 7, 1)


def _book_with_rows(tmp_path: Path, xw: Any, n: int) -> Any:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "客户基础信息"
    ws.append(["客户ID", "客户名称", "负责人", "客户价值等级", "状态标签"])
    for i in range(n):
        ws.append([f"KH{i:06d}", f"公司{i}", "张三", None, None])
    wb.create_sheet("异常清单")["A1"] = "old"
    path = tmp_path / f"b{n}.xlsx"
    wb.save(path)
    return xw.Book(json=book_json_from_xlsx(path))


@pytest.mark.parametrize("n", [10, 2000])
def test_write_calls_do_not_grow_with_rows(tmp_path: Path, xw: Any, n: int) -> None:
    book = _book_with_rows(tmp_path, xw, n)
    sheet = book.sheets["客户基础信息"]
    calls = write_column_blocks(sheet, 2, 4, ["A类"] * n)
    calls += write_column_blocks(sheet, 2, 5, ["重点跟进"] * n)
    marks = {
        "#FFC7CE": [(r, 2) for r in range(2, n + 2, 3)],      # a third of the names
        "#FFEB9C": [f"C{r}" for r in range(3, n + 2, 7)],     # some owners
        None: [(n + 1, 4)],                                    # clear one old fill
    }
    calls += fill_cells(sheet, marks)
    _, sheet_calls = recreate_sheet(book, "异常清单", [["严重程度", "单元格"]] + [["错误", f"B{r}"] for r in range(2, n + 2)])
    calls += sheet_calls
    actions = book.json()["actions"]
    assert calls == count_write_actions(actions)
    # 2 columns + 1 fill band (<= 10,000 cells) + delete/add/write of the findings sheet
    assert actions_by_func(actions) == {"setValues": 3, "setRangeColors": 1, "sheetDelete": 1, "addSheet": 1}
    assert count_write_actions(actions) == 6

    wb = openpyxl.load_workbook(tmp_path / f"b{n}.xlsx")
    apply_actions(actions, wb)
    ws = wb["客户基础信息"]
    assert ws.cell(n + 1, 4).value == "A类" and ws.cell(2, 5).value == "重点跟进"
    assert ws["B2"].fill.start_color.rgb == "FFFFC7CE" and ws["B3"].fill.fill_type is None
    assert ws["C3"].fill.start_color.rgb == "FFFFEB9C"
    assert wb.sheetnames == ["客户基础信息", "异常清单"]
    assert wb["异常清单"].max_row == n + 1 and wb["异常清单"]["A1"].value == "严重程度"


def test_fill_bands_stay_within_set_colors_limit(tmp_path: Path, xw: Any) -> None:
    book = _book_with_rows(tmp_path, xw, 3000)
    sheet = book.sheets["客户基础信息"]
    # bounding box B2:E3001 = 12,000 cells -> two bands of <= 10,000 cells
    assert fill_cells(sheet, {"#FFC7CE": [(2, 2), (3001, 5)]}) == 2
    for a in book.json()["actions"]:
        assert a["row_count"] * a["column_count"] <= 10_000


class _FakeRange:
    def __init__(self, log: list[tuple[str, Any]], address: Any) -> None:
        self.log, self.address = log, address

    @property
    def color(self) -> None:
        raise AssertionError("not read")

    @color.setter
    def color(self, value: Any) -> None:
        self.log.append((self.address, value))


class _FakeClassicSheet:
    """A classic (COM) sheet: union addresses are fine there."""

    def __init__(self) -> None:
        self.log: list[tuple[str, Any]] = []
        self.book = object()

    def range(self, address: str) -> _FakeRange:
        return _FakeRange(self.log, address)


def test_classic_fills_use_union_addresses_within_255_chars() -> None:
    sheet = _FakeClassicSheet()
    cells = [(r, c) for r in range(2, 2002, 2) for c in (2, 7)] + [(500 + i, 9) for i in range(50)]
    calls = fill_cells(sheet, {"#FFC7CE": cells})
    assert calls == len(sheet.log) < len(cells) // 30
    covered = set()
    for address, color in sheet.log:
        assert color == "#FFC7CE" and len(address) <= MAX_ADDRESS_LEN
        for area in address.split(","):
            first, _, last = area.partition(":")
            (r0, c0), (r1, c1) = cell_tuple(first), cell_tuple(last or first)
            covered |= {(r, c) for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)}
    assert covered == set(cells)
    assert "I500:I549" in ",".join(a for a, _ in sheet.log)  # vertical runs merged


def test_union_addresses_edge_cases() -> None:
    assert union_addresses([]) == []
    assert union_addresses(["A1"]) == ["A1"]
    assert union_addresses(["A2", "A3", "C5", "A4"]) == ["A2:A4,C5"]
    chunks = union_addresses([(r, 3) for r in range(1, 400, 2)], limit=30)
    assert all(len(c) <= 30 for c in chunks) and sum(c.count(",") + 1 for c in chunks) == 200


# --------------------------------------------------------------------------- macro workbook
def _xlsm(tmp_path: Path, name: str = "客户管理模板.xlsm") -> Path:
    path = tmp_path / name
    wb = xlsxwriter.Workbook(str(path))
    intro = wb.add_worksheet("填写说明")
    data = wb.add_worksheet("客户基础信息")
    wb.add_worksheet("联系人")
    intro.write("A1", "填写说明")
    data.write_row("A1", ["客户ID", "客户名称"])
    macro.add_refresh_button(wb, intro, cell="D2")
    macro.add_refresh_button(wb, data, cell="H1")
    wb.close()
    return path


def test_xlsm_has_vba_project_and_bound_buttons(tmp_path: Path) -> None:
    path = _xlsm(tmp_path)
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        assert "xl/vbaProject.bin" in names
        types = zf.read("[Content_Types].xml").decode()
        assert "application/vnd.ms-excel.sheet.macroEnabled.main+xml" in types
        assert 'Extension="bin" ContentType="application/vnd.ms-office.vbaProject"' in types
        assert zf.read("xl/vbaProject.bin") == macro.vba_project_bin()
        vmls = sorted(n for n in names if n.startswith("xl/drawings/vmlDrawing"))
        assert len(vmls) == 2
        for vml in vmls:
            text = zf.read(vml).decode()
            assert re.search(r'<x:ClientData ObjectType="Button">', text)
            assert "<x:FmlaMacro>[0]!SampleCall</x:FmlaMacro>" in text
            assert "刷新分类" in text
        assert 'codeName="ThisWorkbook"' in zf.read("xl/workbook.xml").decode()

    modules = vba_modules(macro.vba_project_bin())
    assert {"xlwings", "Dictionary", "Module1", "ThisWorkbook"} <= set(modules)
    assert re.search(r"Public Function RunPython\(PythonCommand As String\)", modules["xlwings"])
    sample = modules["Module1"]
    assert re.search(r"^Sub SampleCall\(\)", sample, re.M)
    # SampleCall imports the module named after the workbook and calls its main()
    assert 'mymodule = Left(ThisWorkbook.Name, (InStrRev(ThisWorkbook.Name, ".", -1, vbTextCompare) - 1))' in sample
    assert 'RunPython "import " & mymodule & ";" & mymodule & ".main()"' in sample


def test_xlsm_still_opens_like_the_xlsx(tmp_path: Path) -> None:
    from python_calamine import CalamineWorkbook

    path = _xlsm(tmp_path)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["填写说明", "客户基础信息", "联系人"]
    assert wb["客户基础信息"]["B1"].value == "客户名称"
    cal = CalamineWorkbook.from_path(str(path))
    assert cal.get_sheet_by_name("填写说明").to_python()[0][0] == "填写说明"
    cal.close()


def test_xlsm_rejects_xlsx_name(tmp_path: Path) -> None:
    wb = xlsxwriter.Workbook(str(tmp_path / "a.xlsx"))
    with pytest.raises(ValueError, match=r"\.xlsm"):
        macro.add_refresh_button(wb, wb.add_worksheet())
    wb.close()


def test_companion_module_runs_the_adapter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _xlsm(tmp_path)
    name = macro.companion_name(path)
    assert name == "客户管理模板.py"
    (tmp_path / name).write_text(macro.companion_py("客户管理模板"), encoding="utf-8")
    # what SampleCall runs: import <stem>; <stem>.main() with the workbook folder on sys.path
    called: list[bool] = []
    import khbook.excel.adapter as adapter

    monkeypatch.setattr(adapter, "refresh_caller", lambda: called.append(True))
    monkeypatch.syspath_prepend(str(tmp_path))
    stem = Path(path).stem
    exec(f"import {stem}; {stem}.main()", {})
    assert called == [True]
    sys.modules.pop(stem, None)
    # and the file compiles as a script on its own
    subprocess.run([sys.executable, "-m", "py_compile", str(tmp_path / name)], check=True)


@pytest.mark.parametrize("stem", ["客户管理模板 (1)", "客户管理-张三", "1客户", "class", ""])
def test_companion_rejects_unimportable_names(stem: str) -> None:
    with pytest.raises(ValueError, match="Python identifier"):
        macro.companion_py(stem)


def test_vba_project_is_never_committed() -> None:
    out = subprocess.run(["git", "ls-files"], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parent.parent)
    if out.returncode != 0:
        pytest.skip("not a git checkout")
    assert not [f for f in out.stdout.splitlines() if f.endswith(("vbaProject.bin", ".xlsm", ".bas"))]


def test_adapter_module_does_not_import_xlwings_eagerly() -> None:
    code = ("import sys, khbook.excel.adapter, khbook.template.macro; "
            "sys.exit(1 if 'xlwings' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


# --------------------------------------------------------------------------- refresh_book
NOW = dt.datetime(2026, 11, 24, 9, 30)
_DATA_SHEETS = ("客户基础信息", "联系人", "跟进记录", "需求与标签", "成交与状态")


@pytest.fixture(scope="module")
def spec() -> Any:
    from khbook.spec import load_spec

    return load_spec()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, spec: Any) -> Path:
    from tests.rep import make_template

    return make_template(tmp_path_factory.mktemp("tpl") / "template.xlsx", spec)


def _messy(template: Path, path: Path) -> Path:
    """tests/test_check.py's messy workbook, plus an #N/A cell (an error cell in the data)."""
    from tests.rep import fill_messy

    path, rep = fill_messy(template, path)
    wb = openpyxl.load_workbook(path)
    ws = wb[rep.ws("customers").title]
    ws.cell(9, rep.col("customers", "annual_amount")).value = "#N/A"
    assert ws.cell(9, rep.col("customers", "annual_amount")).data_type == "e"
    wb.save(path)
    return path


def _big(template: Path, path: Path, n: int, spec: Any) -> Path:
    """``n`` customers (+ contacts, follow-ups) with bad cells spread over every row range:
    the same mix of findings per customer whatever ``n``."""
    from tests.rep import Rep, days_ago

    rep = Rep(template, spec)
    industries = spec.lists["industry"].labels("zh")
    cust, ws = rep.col, rep.ws("customers")
    cols = {f: cust("customers", f) for f in ("customer_id", "name", "industry", "first_contact", "owner", "annual_amount")}
    for i in range(n):
        row = {"customer_id": f"KH{i - 1 if i % 7 == 6 else i:05d}", "name": f"示例{i}号科技有限公司",
               "industry": "造船业" if i % 5 == 4 else industries[i % len(industries)],
               "first_contact": days_ago(i % 300 + 1), "owner": "张伟" if i % 2 else "李娜",
               "annual_amount": -5 if i % 11 == 10 else (i * 37) % 500 + 1}
        for field, value in row.items():
            ws.cell(i + 2, cols[field], value)
    wk = rep.ws("contacts")
    kc = {f: cust("contacts", f) for f in ("customer_id", "name", "mobile")}
    for j, i in enumerate(range(0, n, 2)):
        for field, value in {"customer_id": f"KH{i:05d}", "name": f"联系人{i}",
                             "mobile": "1395678" if j % 3 == 2 else f"138{i:08d}"}.items():
            wk.cell(j + 2, kc[field], value)
    wf = rep.ws("followups")
    fc = {f: cust("followups", f) for f in ("customer_id", "date", "method", "by", "summary")}
    for j, i in enumerate(range(0, n, 3)):
        for field, value in {"customer_id": f"KH{i:05d}", "date": days_ago(i % 200 + 1), "method": "电话",
                             "by": "张伟", "summary": "沟通"}.items():
            wf.cell(j + 2, fc[field], value)
    return rep.save(path)


def _values(ws: Any) -> dict[str, Any]:
    """Non-blank cell values ("" is blank, as in Excel)."""
    return {c.coordinate: c.value for row in ws.iter_rows() for c in row if c.value not in (None, "")}


def _both(path: Path, xw: Any, spec: Any, tmp_path: Path) -> tuple[Any, Any, Any, Any, list[dict[str, Any]]]:
    """``khbook refresh`` on the file, and refresh_book through the remote engine replayed
    onto an openpyxl copy: (annotated copy, replayed copy, RefreshResult, BookRefresh, actions)."""
    from khbook.excel.adapter import refresh_book_result
    from khbook.pipeline import refresh_file
    from tests.rep import AS_OF

    res = refresh_file(path, tmp_path / f"{path.stem}.checked.xlsx", spec=spec, as_of=AS_OF, now=NOW)
    book = xw.Book(json=book_json_from_xlsx(path))
    done = refresh_book_result(book, as_of=AS_OF, spec=spec, now=NOW)
    actions = book.json()["actions"]
    assert done.calls == count_write_actions(actions)
    replayed = openpyxl.load_workbook(path)
    apply_actions(actions, replayed)
    return openpyxl.load_workbook(res.output), replayed, res, done, actions


def _assert_same(source: Path, annotated: Any, replayed: Any, res: Any, done: Any, actions: list[dict[str, Any]],
                 before: list[str]) -> dict[tuple[str, str], str | None]:
    from khbook.excel.adapter import HEADER_MARK_COLOR, MARK_COLORS, previous_marks
    from khbook.read.rawbook import load_raw
    from khbook.spec import load_spec
    from khbook.template.styles import DATA_STYLE, HEADER_STYLE
    from tests.xlwings_support import colored_cells

    raw = load_raw(source)
    spec = load_spec()

    assert replayed.sheetnames == annotated.sheetnames
    for name in annotated.sheetnames:  # every value of every sheet: computed columns, 异常清单, 分类汇总, 变更日志
        assert _values(replayed[name]) == _values(annotated[name]), name
    # the same plan, the same marks: every marked cell coloured by its kind, nothing else coloured
    assert done.report.findings == res.report.findings and done.plan.changes == res.plan.changes
    colored = colored_cells(actions, before)
    marks = {(p.sheet, ref): MARK_COLORS[kind] for p in res.plan.sheets for ref, (kind, _c) in p.marks.items()}
    marks |= {(p.sheet, ref): HEADER_MARK_COLOR for p in res.plan.sheets for ref in p.header_marks}
    on_data = {k: v for k, v in colored.items() if k[0] in _DATA_SHEETS}
    # ... and the cells the previous 异常清单 listed, where not marked again, restored
    previous = {(sheet, f"{openpyxl.utils.get_column_letter(c)}{r}")
                for sheet, cells in previous_marks(raw, spec).items() for r, c in cells} - set(marks)
    restored = {None} | {s["bg_color"] for s in (*DATA_STYLE.values(), *HEADER_STYLE.values())}
    assert set(on_data) == set(marks) | previous
    assert {k: on_data[k] for k in marks} == marks
    assert {on_data[k] for k in previous} <= restored
    # the findings sheet's severity column, coloured like the annotated copy's
    findings = res.plan.new_sheets[0]
    assert {ref: colored[(findings.name, ref)] for ref in findings.fills} == {
        ref: MARK_COLORS[kind] for ref, kind in findings.fills.items()}
    assert not [a for a in actions if a["func"] in ("addNote", "addComment", "addHyperlink")]
    return colored


def test_refresh_book_matches_khbook_refresh(tmp_path: Path, xw: Any, spec: Any, template: Path) -> None:
    from khbook.excel.adapter import raw_from_book
    from khbook.read.rawbook import load_raw

    path = _messy(template, tmp_path / "messy.xlsx")
    # the reader's input is the same RawBook, read through xlwings or from the file
    raw_file, raw_xw = load_raw(path), raw_from_book(xw.Book(json=book_json_from_xlsx(path)))

    def trimmed(rows: list[list[Any]]) -> list[list[Any]]:
        out = [[None if v == "" else v for v in r] for r in rows]  # calamine: "" for a blank
        for r in out:
            while r and r[-1] in (None, ""):
                r.pop()
        while out and not out[-1]:
            out.pop()
        return out

    assert [(s.name, s.hidden, s.errors) for s in raw_xw.sheets] == [(s.name, s.hidden, s.errors) for s in raw_file.sheets]
    assert [trimmed(s.rows) for s in raw_xw.sheets] == [trimmed(s.rows) for s in raw_file.sheets]
    assert raw_xw.sheets[1].errors and raw_xw.sheets[-1].hidden  # #N/A cell; hidden lists sheet

    annotated, replayed, res, done, actions = _both(path, xw, spec, tmp_path)
    _assert_same(path, annotated, replayed, res, done, actions, openpyxl.load_workbook(path).sheetnames)
    counts = res.report.counts
    assert counts["error"] > 10 and counts["warning"] and counts["info"]
    assert len(res.plan.changes) == 1 and res.plan.filled > 20
    # the message: counts, what was recreated, and that comments were not written
    msg = done.message
    assert f"{len(res.report.customers)} 个客户" in msg and f"错误 {counts['error']} 个" in msg
    assert f"改变了 {len(res.plan.changes)} 个单元格" in msg and "异常清单、分类汇总、变更日志" in msg
    assert "不写单元格批注" in msg
    # text Excel would re-parse (numbers, dates, formulas) went in as text
    ws = replayed["异常清单"]
    values = [ws.cell(r, 6).value for r in range(2, ws.max_row + 1)]
    assert "2024-02-30" in values and "1395678" in values and all(not isinstance(v, float) for v in values if v is not None)


def test_second_refresh_clears_the_previous_fills(tmp_path: Path, xw: Any, spec: Any, template: Path) -> None:
    from khbook.template.styles import DATA_STYLE

    first = _messy(template, tmp_path / "messy.xlsx")
    _annotated, replayed, res1, _done, _actions = _both(first, xw, spec, tmp_path)
    ws = replayed["客户基础信息"]
    industry = next(c.column for c in ws[2] if str(c.value).rstrip("*") == "所属行业")
    bad = f"{openpyxl.utils.get_column_letter(industry)}8"
    assert ("客户基础信息", bad) in {(p.sheet, r) for p in res1.plan.sheets for r in p.marks}
    ws[bad] = "制造业"                   # the rep fixes one cell
    second = tmp_path / "second.xlsx"
    replayed.save(second)

    annotated, replayed2, res2, done2, actions2 = _both(second, xw, spec, tmp_path)
    colored = _assert_same(second, annotated, replayed2, res2, done2, actions2, openpyxl.load_workbook(second).sheetnames)
    assert colored[("客户基础信息", bad)] is None                     # cleared: no longer marked
    assert replayed2["客户基础信息"][bad].fill.fill_type is None
    # the recomputed tier (marked "changed" last time) goes back to the template's computed fill
    changed = [(p.sheet, r) for p in res1.plan.sheets for r, (k, _c) in p.marks.items() if k == "changed"]
    assert changed and all(colored[c] == DATA_STYLE["computed"]["bg_color"] for c in changed)
    # the change log keeps the first run's rows, then adds the second run's
    log1 = [list(r) for r in res1.plan.new_sheets[2].rows[1:]]
    log2 = [list(r) for r in res2.plan.new_sheets[2].rows[1:]]
    assert len(log2) >= len(log1) and [str(v) for v in log2[0][3:6]] == [str(v) for v in log1[0][3:6]]


@pytest.mark.slow
def test_write_actions_do_not_grow_with_customers(tmp_path: Path, xw: Any, spec: Any, template: Path,
                                                  record_property: Any) -> None:
    runs = {}
    for n in (20, 2000):
        path = _big(template, tmp_path / f"big{n}.xlsx", n, spec)
        annotated, replayed, res, done, actions = _both(path, xw, spec, tmp_path)
        _assert_same(path, annotated, replayed, res, done, actions, openpyxl.load_workbook(path).sheetnames)
        assert {f.rule for f in res.report.findings} >= {"duplicate_id", "not_in_list", "negative_amount", "bad_phone"}
        runs[n] = (count_write_actions(actions), dict(done.calls_by_step), dict(actions_by_func(actions)),
                   sum(len(p.marks) for p in res.plan.sheets))
    small, big = runs[20], runs[2000]
    print(f"\nwrite actions: 20 customers -> {small[0]} {small[2]} ({small[3]} marked cells); "
          f"2,000 customers -> {big[0]} {big[2]} ({big[3]} marked cells)")
    record_property("write_actions_20", small[0])
    record_property("write_actions_2000", big[0])
    assert big[3] > 50 * small[3] // 2  # 100x the customers, ~100x the marked cells ...
    for step in ("values", "sheets", "widths"):  # ... the same value, sheet and width writes
        assert big[1][step] == small[1][step], step
    # fills: one set_colors per sheet, plus one per further 10,000 cells of a sheet's marked area
    assert big[1]["fills"] - small[1]["fills"] <= 6
    assert big[0] <= 40


def test_refresh_caller_alerts_the_message(tmp_path: Path, xw: Any, spec: Any, template: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import khbook.excel.adapter as adapter

    book = xw.Book(json=book_json_from_xlsx(_messy(template, tmp_path / "messy.xlsx")))
    monkeypatch.setattr(xw.Book, "caller", classmethod(lambda cls: book))
    message = adapter.refresh_caller()
    alerts = [a for a in book.json()["actions"] if a["func"] == "alert"]
    assert len(alerts) == 1 and alerts[0]["args"][0] == message and "khbook" in alerts[0]["args"][1]


def test_lite_main_script_runs_the_adapter(tmp_path: Path, xw: Any, template: Path) -> None:
    import importlib.util

    main_py = Path(__file__).resolve().parent.parent / "templates" / "xlwings_lite_main.py"
    text = main_py.read_text(encoding="utf-8")
    assert "@script" in text and "requirements.txt" in text and "refresh_book(book" in text
    module_spec = importlib.util.spec_from_file_location("_khbook_lite_main", main_py)
    assert module_spec and module_spec.loader
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    book = xw.Book(json=book_json_from_xlsx(_messy(template, tmp_path / "messy.xlsx")))
    module.refresh_classification(book)
    funcs = actions_by_func(book.json())
    assert funcs["addSheet"] == 3 and funcs["alert"] == 1 and funcs["setRangeColors"] >= 1


def test_as_text_protects_what_excel_would_reparse() -> None:
    from khbook.excel.adapter import as_text

    for kept in ("高价值", "62万", "上海示例精密制造有限公司", "重点跟进;沉睡", None, 3.0, "", dt.date(2026, 1, 1)):
        assert as_text(kept) == kept
    for text in ("KH001", "2026/8/16", "2026年9月1日", "¥500,000", "=SUM(A1)", "-5", "1395678", "TRUE", "#N/A", "'x"):
        assert as_text(text) == "'" + text


def test_mark_colours_are_the_annotated_copys() -> None:
    from khbook.excel.adapter import HEADER_MARK_COLOR, MARK_COLORS
    from khbook.ooxml.sheetxml import COMPUTED_FILL, MARK_FILLS

    assert {k: "FF" + v.lstrip("#") for k, v in MARK_COLORS.items()} == MARK_FILLS
    assert "FF" + HEADER_MARK_COLOR.lstrip("#") == COMPUTED_FILL


# --------------------------------------------------------------------------- khbook template --macro
def _vml_buttons(zf: zipfile.ZipFile) -> dict[str, list[tuple[str, str, list[int]]]]:
    """Sheet name -> [(caption, macro, anchor)] of the form-control buttons in an .xlsx/.xlsm."""
    import posixpath
    from xml.etree import ElementTree as ET

    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
          "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
          "p": "http://schemas.openxmlformats.org/package/2006/relationships"}
    wb = ET.fromstring(zf.read("xl/workbook.xml"))
    rels = {r.get("Id"): r.get("Target") for r in ET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))}
    out: dict[str, list[tuple[str, str, list[int]]]] = {}
    for sheet in wb.find("m:sheets", ns):
        part = posixpath.join("xl", rels[sheet.get(f"{{{ns['r']}}}id")])
        rels_part = posixpath.join(posixpath.dirname(part), "_rels", posixpath.basename(part) + ".rels")
        if rels_part not in zf.namelist():
            continue
        for rel in ET.fromstring(zf.read(rels_part)):
            if not rel.get("Type", "").endswith("/vmlDrawing"):
                continue
            vml = zf.read(posixpath.normpath(posixpath.join(posixpath.dirname(part), rel.get("Target")))).decode()
            for m in re.finditer(r"<v:shape .*?</v:shape>", vml, re.S):
                shape = m.group(0)
                if 'ObjectType="Button"' not in shape:
                    continue
                caption = re.sub(r"<[^>]+>", "", re.search(r"<v:textbox.*?</v:textbox>", shape, re.S).group(0)).strip()
                macro_name = re.search(r"<x:FmlaMacro>(.*?)</x:FmlaMacro>", shape).group(1)
                anchor = [int(v) for v in re.search(r"<x:Anchor>(.*?)</x:Anchor>", shape, re.S).group(1).split(",")]
                out.setdefault(sheet.get("name"), []).append((caption, macro_name, anchor))
    return out


@pytest.fixture(scope="module")
def macro_books(tmp_path_factory: pytest.TempPathFactory, spec: Any) -> dict[str, Path]:
    from khbook.template.writer import write_template
    from tests.rep import AS_OF

    d = tmp_path_factory.mktemp("macro")
    out = {}
    for lang in ("zh", "en"):
        out[f"{lang}.xlsx"] = write_template(spec, d / f"{lang}.xlsx", lang=lang, examples=6, as_of=AS_OF)
        out[f"{lang}.xlsm"] = write_template(spec, d / f"客户管理模板_{lang}.xlsm", lang=lang, examples=6, as_of=AS_OF, macro=True)
        out[f"{lang}.blank.xlsm"] = write_template(spec, d / f"blank_{lang}.xlsm", lang=lang, macro=True)
    return out


def test_template_macro_has_the_vba_project_buttons_and_companion(macro_books: dict[str, Path], spec: Any) -> None:
    path = macro_books["zh.xlsm"]
    with zipfile.ZipFile(path) as zf:
        assert zf.read("xl/vbaProject.bin") == macro.vba_project_bin()
        types = zf.read("[Content_Types].xml").decode()
        assert "application/vnd.ms-excel.sheet.macroEnabled.main+xml" in types
        assert 'codeName="ThisWorkbook"' in zf.read("xl/workbook.xml").decode()
        buttons = _vml_buttons(zf)
    intro, first = spec.instructions_sheet("zh"), spec.sheets[0].name("zh")
    assert set(buttons) == {intro, first}
    for sheet, found in buttons.items():
        assert [(caption, m) for caption, m, _ in found] == [("刷新分类", "[0]!SampleCall")], sheet
    # placement: right of the instructions' text column; on the data sheet in the (frozen)
    # header row, one column clear of the last data column, so no header or cell is covered
    (_, _, a_intro), = buttons[intro]
    (_, _, a_first), = buttons[first]
    assert a_intro[0] == 1 and a_intro[2] == 1          # from column B, row 2
    ncols = len(spec.sheets[0].columns)
    assert a_first[0] == ncols + 1 and a_first[2] == a_first[6] == 0  # inside header row 1
    # the instructions say how to set it up, with the xlwings version the macro came from
    wb = openpyxl.load_workbook(path)
    text = "\n".join(str(c.value) for c in wb[intro]["A"] if c.value)
    assert f"xlwings=={macro.xlwings_version()}" in text and "客户管理模板_zh.py" in text
    assert wb.sheetnames == openpyxl.load_workbook(macro_books["zh.xlsx"]).sheetnames
    # the companion module next to it: importable name, runs the adapter
    companion = path.with_name("客户管理模板_zh.py")
    assert companion.read_text(encoding="utf-8") == macro.companion_py("客户管理模板_zh")
    subprocess.run([sys.executable, "-m", "py_compile", str(companion)], check=True)


def test_template_macro_refuses_bad_names(tmp_path: Path, spec: Any) -> None:
    from khbook.base.errors import KhbookError
    from khbook.template.writer import write_template

    with pytest.raises(KhbookError, match="Python identifier"):
        write_template(spec, tmp_path / "客户管理-张三.xlsm", macro=True)
    assert list(tmp_path.iterdir()) == []


def test_template_macro_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from khbook.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["template", "--macro"]) == 0
    assert (tmp_path / "客户管理模板.xlsm").is_file() and (tmp_path / "客户管理模板.py").is_file()
    capsys.readouterr()
    assert main(["template", "--macro", "-o", "x.xlsx"]) == 0  # a macro workbook is an .xlsm: renamed, and said
    assert capsys.readouterr().out == "已写入 x.xlsm（模板是 .xlsm 工作簿，所以扩展名用 .xlsm，而不是 .xlsx）\n"
    assert (tmp_path / "x.xlsm").is_file() and (tmp_path / "x.py").is_file() and not (tmp_path / "x.xlsx").exists()


def test_template_macro_validates_like_the_xlsx(macro_books: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.clients import assert_lint_clean, assert_schema_valid

    assert_schema_valid(macro_books, monkeypatch, exact=False)
    assert_lint_clean(macro_books, monkeypatch)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_template_macro_opens_in_libreoffice_like_the_xlsx(macro_books: dict[str, Path], spec: Any, lang: str,
                                                           tmp_path: Path) -> None:
    from tests.clients import libreoffice_or_skip, typed_entries, uno_check

    libreoffice_or_skip()
    entries, expected = typed_entries(spec, lang)
    result = uno_check(macro_books[f"{lang}.blank.xlsm"], entries, tmp_path)
    assert result["loaded"], result["error"]
    assert result["error"] == ""
    assert result["sheets"][1:-1] == [s.name(lang) for s in spec.sheets]
    # uno_validity.py maps every shape on a sheet's draw page to the cell under its centre:
    # on the first data sheet that includes the button, which sits in header row 1, right of
    # the last data column (so it covers no header and no data cell)
    first = spec.sheets[0].name(lang)
    ncols = len(spec.sheets[0].columns)
    shapes = [c for c in result["invalid"][first] if openpyxl.utils.cell.coordinate_to_tuple(c)[1] > ncols]
    assert len(shapes) == 1 and openpyxl.utils.cell.coordinate_to_tuple(shapes[0])[0] == 1
    result["invalid"][first] = [c for c in result["invalid"][first] if c not in shapes]
    assert result["invalid"] == expected


def test_khbook_check_same_findings_on_xlsm(macro_books: dict[str, Path], spec: Any, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from khbook.cli import main
    from tests.rep import AS_OF, Rep

    filled = {}
    for kind in ("xlsx", "xlsm"):
        rep = Rep(macro_books[f"zh.{kind}"], spec)
        rep.wb = openpyxl.load_workbook(macro_books[f"zh.{kind}"], keep_vba=kind == "xlsm")
        rep.put("customers", 8, customer_id="KH1", name="示例一公司", industry="造船业", annual_amount=-5, owner="张伟")
        rep.put("customers", 9, customer_id="KH1", name="示例二公司", first_contact="2024-02-30")
        rep.put("contacts", 8, customer_id="KH999", name="周杰", mobile="1395678")
        filled[kind] = rep.save(tmp_path / f"filled.{kind}")
    with zipfile.ZipFile(filled["xlsm"]) as zf:
        assert "xl/vbaProject.bin" in zf.namelist()
    capsys.readouterr()
    status = main(["check", str(filled["xlsx"]), str(filled["xlsm"]), "--as-of", AS_OF.isoformat(), "--format", "json"])
    assert status == 1
    payload = json.loads(capsys.readouterr().out)
    reports = payload if isinstance(payload, list) else payload["files"]
    a, b = ({k: v for k, v in r.items() if k != "file"} for r in reports)

    def findings(report: dict[str, Any]) -> list[dict[str, Any]]:
        return [{k: v for k, v in f.items() if k != "file"} for f in report["findings"]]

    assert findings(a) == findings(b) and len(findings(a)) >= 6
    assert a["counts"] == b["counts"] and a.get("customers") == b.get("customers")
