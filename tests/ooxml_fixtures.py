"""Builds the fixture workbooks for tests/test_ooxml.py at test time (no binary fixtures).

- plain:     XlsxWriter workbook with data, styles, a formula column, merged cells, a list
             validation, frozen header and autofilter
- chart:     plain + a native chart and a tiny PNG image
- x14:       plain + an x14 data validation (list pointing at another sheet, in extLst),
             an x14 data-bar conditional format, a shared formula and a calcChain
- xlsm:      plain as .xlsm with xlwings' vbaProject.bin and a form-control button
- libre:     plain re-saved by LibreOffice headless (None when soffice is missing)
- comments:  plain + user comments (one on a cell khbook marks)
- openpyxl:  plain + a user comment, loaded and saved by openpyxl

:func:`build_big` writes a several-thousand-row sheet for the chunked-rows tests (not one
of the fidelity kinds).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib
from pathlib import Path

import xlsxwriter

from khbook.base.excel import quote_sheet
from khbook.ooxml import ChartSpec, NewSheet, PatchStats, SheetEdits, write_annotated

MAIN_SHEET = "客户基础信息"
LOG_SHEET = "跟进记录"
HEADERS = ["客户ID", "客户名称", "所属行业", "员工人数", "首次接触时间", "年交易额(万元)", "负责人", "备注", "合计"]
INDUSTRIES = ["制造业", "零售业", "服务业", "互联网"]


# ---- the edits every fidelity test applies (also run in a fresh interpreter: see patch_in_subprocess)

FORMULA_LIKE = {"J3": "+cmd", "J4": "@x", "J5": "-1+2", "I2": '=HYPERLINK("http://evil","x")'}
WRITES: dict[str, object] = {
    "B3": "新名称有限公司", "F4": 88.5, "E5": dt.date(2024, 5, 10), "H6": None,
    "J1": "客户价值等级", "J2": "高价值", "J6": "bad\x01chars\x1f", "J30": "beyond the data",
    "K1": "分类依据", "K2": "x" * 40000, **FORMULA_LIKE,
}
MARKS = {
    "B3": ("changed", "客户名称: 旧 -> 新"), "C4": ("error", "不在列表中: 制造"), "C5": ("error", None),
    "C6": ("error", "缺少\x02必填 <&> 值"), "D6": ("warning", "员工人数为文本"), "E7": ("info", "提示"),
    "J2": ("changed", "低价值 -> 高价值"),
}
LINKS = {"C2": f"{quote_sheet(MAIN_SHEET)}!C4", "C3": f"{quote_sheet(MAIN_SHEET)}!D6"}


def edits() -> tuple[list[SheetEdits], list[NewSheet]]:
    e = SheetEdits(MAIN_SHEET, dict(WRITES), dict(MARKS), {"J": 14, "K": 30},
                   {"J1": "computed", "K1": "computed"})
    issues = NewSheet(
        "异常清单",
        [["严重程度", "工作表", "单元格", "客户ID", "字段", "值", "说明", "时间"],
         ["错误", MAIN_SHEET, "C4", "KH2024003", "所属行业", "=SUM(A1)", "不在列表中", dt.datetime(2024, 5, 1, 9, 30)],
         ["警告", MAIN_SHEET, "D6", "KH2024005", "员工人数", "+cmd", "为文本", dt.date(2024, 5, 2)]],
        widths={"A": 10, "G": 40}, links=dict(LINKS), fills={"A2": "error", "A3": "warning"})
    summary = NewSheet(
        "分类汇总", [["价值等级", "客户数"], ["高价值", 3], ["中价值", 5], ["低价值", 12]],
        charts=[ChartSpec("价值等级分布", "column", "A2:A4", "B2:B4", "D2"),
                ChartSpec("占比", "pie", "A2:A4", "B2:B4", "D18")])
    quoted = NewSheet("Bob's 图表", [["k", "v"], ["a", 1], ["b", 2]], hidden=True,
                      charts=[ChartSpec("bar", "bar", "A2:A3", "B2:B3", "D2")])
    return [e], [issues, summary, quoted]


def refresh(src: Path, dst: Path) -> PatchStats:
    e, n = edits()
    return write_annotated(src, dst, e, n, replace_sheets=["分类汇总", "异常清单"])


def refresh_in_subprocess(src: Path, dst: Path) -> None:
    """:func:`refresh` in a fresh interpreter without openpyxl: openpyxl registers its
    namespace prefixes with lxml globally, which would hide a generated ``ns0:`` prefix."""
    code = ("import sys; from pathlib import Path; from tests.ooxml_fixtures import refresh; "
            "assert 'openpyxl' not in sys.modules; refresh(Path(sys.argv[1]), Path(sys.argv[2]))")
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-c", code, str(src), str(dst)], capture_output=True, text=True,
                          timeout=300, cwd=root, env={**os.environ, "PYTHONPATH": str(root)})
    assert proc.returncode == 0, proc.stderr[-3000:]


def tiny_png(width: int = 4, height: int = 4) -> bytes:
    """A valid RGB PNG built with zlib/struct (no Pillow)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def _fill_book(wb: xlsxwriter.Workbook) -> xlsxwriter.worksheet.Worksheet:
    bold = wb.add_format({"bold": True, "bg_color": "#DDEBF7"})
    date = wb.add_format({"num_format": "yyyy-mm-dd"})
    money = wb.add_format({"num_format": "0.00"})
    ws = wb.add_worksheet(MAIN_SHEET)
    ws.write_row(0, 0, HEADERS, bold)
    for i in range(20):
        r = i + 1
        ws.write_string(r, 0, f"KH2024{i + 1:03d}")
        ws.write_string(r, 1, f"客户{i + 1}有限公司")
        ws.write_string(r, 2, INDUSTRIES[i % 4])
        ws.write_number(r, 3, 10 * (i + 1))
        ws.write_datetime(r, 4, dt.datetime(2024, 1, 1) + dt.timedelta(days=7 * i), date)
        ws.write_number(r, 5, 5.5 * (i + 1), money)
        ws.write_string(r, 6, "张三" if i % 2 else "李四")
        if i % 3 == 0:
            ws.write_string(r, 7, f"备注{i}")
        ws.write_formula(r, 8, f"=F{r + 1}*2", money, 11.0 * (i + 1))
    ws.merge_range("A24:H24", "以上为示例数据", bold)
    ws.data_validation("C2:C21", {"validate": "list", "source": INDUSTRIES})
    ws.set_column("A:A", 12)
    ws.set_column("B:B", 24)
    ws.set_column("C:I", 11)
    ws.freeze_panes(1, 0)
    ws.autofilter("A1:I21")
    log = wb.add_worksheet(LOG_SHEET)
    log.write_row(0, 0, ["客户ID", "跟进时间", "跟进方式", "沟通内容摘要"], bold)
    for i in range(10):
        log.write_row(i + 1, 0, [f"KH2024{i + 1:03d}", f"2024-0{1 + i % 9}-10", "电话", f"沟通{i}"])
    wb.define_name("客户列表", f"='{MAIN_SHEET}'!$A$2:$A$21")
    return ws


def build_plain(path: Path) -> Path:
    wb = xlsxwriter.Workbook(str(path))
    _fill_book(wb)
    wb.close()
    return path


def build_chart(path: Path) -> Path:
    wb = xlsxwriter.Workbook(str(path))
    ws = _fill_book(wb)
    chart = wb.add_chart({"type": "column"})
    chart.add_series({"name": "年交易额", "categories": f"='{MAIN_SHEET}'!$A$2:$A$11",
                      "values": f"='{MAIN_SHEET}'!$F$2:$F$11"})
    ws.insert_chart("L2", chart)
    png = path.with_suffix(".png")
    png.write_bytes(tiny_png())
    ws.insert_image("L20", str(png))
    wb.close()
    png.unlink()
    return path


X14_NS = "http://schemas.microsoft.com/office/spreadsheetml/2009/9/main"
XM_NS = "http://schemas.microsoft.com/office/excel/2006/main"
X14_DV = (
    f'<ext uri="{{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}}" xmlns:x14="{X14_NS}">'
    '<x14:dataValidations count="1" xmlns:xm="' + XM_NS + '">'
    '<x14:dataValidation type="list" allowBlank="1" showInputMessage="1" showErrorMessage="1">'
    f"<x14:formula1><xm:f>'{LOG_SHEET}'!$C$2:$C$11</xm:f></x14:formula1>"
    "<xm:sqref>G2:G21</xm:sqref></x14:dataValidation></x14:dataValidations></ext>"
)


def build_x14(path: Path) -> Path:
    """plain + x14 data bar (XlsxWriter) + hand-written x14 DV, shared formula, calcChain."""
    tmp = path.with_name(path.stem + ".base.xlsx")
    wb = xlsxwriter.Workbook(str(tmp))
    ws = _fill_book(wb)
    ws.conditional_format("D2:D21", {"type": "data_bar", "data_bar_2010": True})
    ws.write_formula("J2", "=D2+1", None, 11)
    wb.close()
    sheet = "xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(tmp) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == sheet:
                text = data.decode()
                assert "<extLst>" in text, "XlsxWriter should have written the x14 data bar extLst"
                text = text.replace("</extLst>", X14_DV + "</extLst>")
                # J2:J4 as one shared formula (master J2, dependents J3, J4)
                text = text.replace("<f>D2+1</f>", '<f t="shared" ref="J2:J4" si="0">D2+1</f>')
                for r in (3, 4):
                    text = re.sub(rf'(<row r="{r}"[^>]*>.*?)(</row>)',
                                  lambda m, r=r: m.group(1) + f'<c r="J{r}"><f t="shared" si="0"/><v>{10 * r + 1}</v></c>' + m.group(2),
                                  text, count=1, flags=re.S)
                data = text.encode()
            elif info.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", b'<Override PartName="/xl/calcChain.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.calcChain+xml"/></Types>')
            elif info.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(b"</Relationships>", b'<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/calcChain" Target="calcChain.xml"/></Relationships>')
            zout.writestr(info, data)
        first = ' i="1"'
        cells = "".join(f'<c r="I{r}"{first if r == 2 else ""}/>' for r in range(2, 22))
        cells += '<c r="J2"/><c r="J3"/><c r="J4"/>'
        zout.writestr("xl/calcChain.xml", '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                      f'<calcChain xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">{cells}</calcChain>')
    tmp.unlink()
    return path


def vba_project_bin() -> bytes:
    import xlwings

    folder = Path(xlwings.__file__).parent
    for name in ("quickstart_standalone.xlsm", "quickstart.xlsm"):
        if (folder / name).exists():
            with zipfile.ZipFile(folder / name) as z:
                return z.read("xl/vbaProject.bin")
    raise FileNotFoundError("xlwings quickstart workbook not found")


def build_xlsm(path: Path) -> Path:
    wb = xlsxwriter.Workbook(str(path))
    ws = _fill_book(wb)
    bin_path = path.with_name("vbaProject.bin")
    bin_path.write_bytes(vba_project_bin())
    wb.add_vba_project(str(bin_path))
    wb.set_vba_name("ThisWorkbook")
    ws.set_vba_name("Sheet1")
    ws.insert_button("L2", {"macro": "RefreshClassification", "caption": "刷新分类", "width": 100, "height": 30})
    wb.close()
    bin_path.unlink()
    return path


def build_comments(path: Path) -> Path:
    wb = xlsxwriter.Workbook(str(path))
    ws = _fill_book(wb)
    ws.write_comment("A2", "老客户，注意维护", {"author": "张经理"})
    ws.write_comment("C4", "行业待确认", {"author": "张经理"})
    ws.write_comment("B10", "Rep note", {"author": "li"})
    wb.close()
    return path


def build_openpyxl(path: Path) -> Path:
    """plain with a user comment, loaded and saved by openpyxl (it declares ``xmlns:r`` on
    each <sheet>, not on the workbook root, and its VML uses generated prefixes)."""
    import openpyxl  # not at module level: see refresh_in_subprocess
    from openpyxl.comments import Comment

    src = build_plain(path.with_name(path.stem + ".src.xlsx"))
    wb = openpyxl.load_workbook(src)
    wb[MAIN_SHEET]["B10"].comment = Comment("Rep note", "li")
    wb.save(path)
    src.unlink()
    return path


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def run_soffice(args: list[str], timeout: int = 120) -> subprocess.CompletedProcess[str]:
    """Run LibreOffice headless with a private profile (concurrent runs do not collide)."""
    exe = soffice()
    assert exe
    profile = tempfile.mkdtemp(prefix="khbook-lo-")
    try:
        return subprocess.run([exe, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore", *args],
                              capture_output=True, text=True, timeout=timeout, env={**os.environ, "HOME": profile})
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def build_libre(path: Path) -> Path | None:
    """plain re-saved by LibreOffice (None when soffice is not installed)."""
    if soffice() is None:
        return None
    src_dir = path.parent / "lo-src"
    src_dir.mkdir(exist_ok=True)
    src = build_plain(src_dir / path.name)
    run_soffice(["--convert-to", "xlsx", "--outdir", str(path.parent), str(src)])
    return path if path.exists() else None


BUILDERS = {
    "plain": ("plain.xlsx", build_plain),
    "chart": ("chart.xlsx", build_chart),
    "x14": ("x14.xlsx", build_x14),
    "xlsm": ("macro.xlsm", build_xlsm),
    "libre": ("libre.xlsx", build_libre),
    "comments": ("comments.xlsx", build_comments),
    "openpyxl": ("openpyxl.xlsx", build_openpyxl),
}


def build_big(path: Path, rows: int = 5000) -> Path:
    """A `rows`-row customer sheet: styled columns (one styled empty column K), dates,
    formulas (every 7th row), every 10th row missing (gaps for new rows), a user comment,
    and a second small sheet."""
    wb = xlsxwriter.Workbook(str(path))
    bold = wb.add_format({"bold": True})
    date = wb.add_format({"num_format": "yyyy-mm-dd"})
    money = wb.add_format({"num_format": "0.00"})
    grey = wb.add_format({"bg_color": "#EEEEEE"})
    ws = wb.add_worksheet(MAIN_SHEET)
    ws.write_row(0, 0, HEADERS, bold)
    ws.set_column("K:K", 10, grey)
    for r in range(1, rows):
        if r % 10 == 5:
            continue
        ws.write_string(r, 0, f"KH{r:06d}")
        ws.write_string(r, 1, f"客户{r}有限公司" + (" " if r % 13 == 0 else ""))
        ws.write_string(r, 2, INDUSTRIES[r % 4])
        ws.write_number(r, 3, r % 500)
        ws.write_datetime(r, 4, dt.datetime(2024, 1, 1) + dt.timedelta(days=r % 300), date)
        ws.write_number(r, 5, 1.5 * r, money)
        if r % 7 == 0:
            ws.write_formula(r, 8, f"=F{r + 1}*2", money, 3.0 * r)
    ws.write_comment("B3", "user note", {"author": "张三"})
    log = wb.add_worksheet(LOG_SHEET)
    log.write_row(0, 0, ["客户ID", "跟进时间"], bold)
    wb.close()
    return path


def build(kind: str, folder: Path) -> Path | None:
    name, fn = BUILDERS[kind]
    return fn(folder / name)


if __name__ == "__main__":  # python -m tests.ooxml_fixtures OUTDIR
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    for k in BUILDERS:
        print(k, build(k, out))
