"""The conformance corpus (issue 18): valid packages as other programs write them.

Generated at test time from khbook's own template (with example rows), never hand-made
or downloaded: each builder transforms the template's parts the way another writer
would. :func:`build_conformance` writes every file into a folder and returns
``{name: path}``; :data:`CONFORMANCE` describes them. LibreOffice-made members are
None-valued when soffice is missing (the tests skip them visibly).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl

from khbook.spec import Spec
from khbook.template.writer import write_template

AS_OF_EXAMPLES = "2026-11-24"

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
X14AC = "http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac"

# ISO/IEC 29500 Strict namespaces and relationship types, as Excel's "Strict Open XML
# Spreadsheet" writes them (the longer names first)
STRICT = [
    (f"{REL}/extended-properties", "http://purl.oclc.org/ooxml/officeDocument/relationships/extendedProperties"),
    (REL, "http://purl.oclc.org/ooxml/officeDocument/relationships"),
    (MAIN, "http://purl.oclc.org/ooxml/spreadsheetml/main"),
    ("http://schemas.openxmlformats.org/drawingml/2006/main", "http://purl.oclc.org/ooxml/drawingml/main"),
    ("http://schemas.openxmlformats.org/drawingml/2006/chart", "http://purl.oclc.org/ooxml/drawingml/chart"),
    ("http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing",
     "http://purl.oclc.org/ooxml/drawingml/spreadsheetDrawing"),
    ("http://schemas.openxmlformats.org/officeDocument/2006/extended-properties",
     "http://purl.oclc.org/ooxml/officeDocument/extendedProperties"),
    ("http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes",
     "http://purl.oclc.org/ooxml/officeDocument/docPropsVTypes"),
]

CONFORMANCE: dict[str, str] = {
    "base.xlsx": "the template with example rows (XlsxWriter) and two problems a refresh marks",
    "strict.xlsx": "every part in the ISO/IEC 29500 Strict namespaces",
    "dir_entries.xlsx": "zip directory entries (xl/, _rels/, docProps/, xl/worksheets/)",
    "macrosheet.xlsm": "an Excel 4.0 macro sheet (xl/macrosheets/sheet1.xml)",
    "no_cell_refs.xlsx": "cells (and rows) without r attributes",
    "inline_rich.xlsx": "inline strings and rich text runs (inline and shared)",
    "date1904.xlsx": "the 1904 date system (saved by openpyxl)",
    "odd_targets.xlsx": "absolute part names and ../ relationship targets",
    "x14ac.xlsx": "x14ac attributes under mc:Ignorable",
    "chart_dialog.xlsx": "a chartsheet and a dialogsheet",
    "libre_renamed.xlsx": "the template's sheets renamed and re-saved by LibreOffice",
    "sst_overflow.xlsx": "a shared-string index past the table (not sound: refused)",
}

Parts = dict[str, bytes]


def _read(path: Path) -> tuple[Parts, list[zipfile.ZipInfo]]:
    with zipfile.ZipFile(path) as z:
        infos = z.infolist()
        return {i.filename: z.read(i) for i in infos if not i.is_dir()}, infos


def _write(path: Path, parts: Parts, dirs: list[str] = ()) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for d in dirs:
            z.writestr(zipfile.ZipInfo(d, date_time=(2024, 1, 1, 0, 0, 0)), b"")
        for name, data in parts.items():
            z.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
    return path


def _sheet_part(parts: Parts, index: int) -> str:
    return f"xl/worksheets/sheet{index}.xml"


def _xml_parts(parts: Parts) -> list[str]:
    return [n for n in parts if n.endswith((".xml", ".rels"))]


# ---- the builders: base parts -> transformed parts ---------------------------------------

def strict(parts: Parts) -> Parts:
    out = dict(parts)
    for name in _xml_parts(parts):
        data = parts[name]
        for old, new in STRICT:
            data = data.replace(old.encode(), new.encode())
        out[name] = data
    wb = out["xl/workbook.xml"]
    out["xl/workbook.xml"] = re.sub(rb"<workbook\b", b'<workbook conformance="strict"', wb, count=1)
    return out


def macrosheet(parts: Parts) -> Parts:
    out = dict(parts)
    out["xl/macrosheets/sheet1.xml"] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<xm:macrosheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        f'xmlns:r="{REL}" xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main">'
        '<sheetPr/><dimension ref="A1:A2"/><sheetViews><sheetView workbookViewId="0"/></sheetViews>'
        '<sheetFormatPr defaultRowHeight="15"/><sheetData><row r="1"><c r="A1"><f>ECHO(FALSE)</f><v>1</v></c></row>'
        '<row r="2"><c r="A2"><f>RETURN()</f><v>1</v></c></row></sheetData>'
        '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></xm:macrosheet>'
    ).encode()
    out["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"</Types>", b'<Override PartName="/xl/macrosheets/sheet1.xml" '
        b'ContentType="application/vnd.ms-excel.macrosheet+xml"/></Types>').replace(
        b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        b"application/vnd.ms-excel.sheet.macroEnabled.main+xml")
    out["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>", b'<Relationship Id="rId900" Type="http://schemas.microsoft.com/office/2006/'
        b'relationships/xlMacrosheet" Target="macrosheets/sheet1.xml"/></Relationships>')
    out["xl/workbook.xml"] = parts["xl/workbook.xml"].replace(
        b"</sheets>", b'<sheet name="Macro1" sheetId="900" state="hidden" r:id="rId900"/></sheets>')
    return out


def _drop_implicit(body: bytes, tag: bytes, attr_rx: bytes, index: Callable[[bytes], int],
                   scope: bytes | None) -> bytes:
    """Drop the r attribute where a reader can infer it (the previous one + 1), as writers
    that omit it do; `scope` is the element that restarts the count (a row for cells)."""
    prev = [0]
    pattern = re.compile(rb"<" + (scope + rb"\b" if scope else rb"(?!)") + rb"|(<" + tag + rb"\b[^>]*?) r=\"("
                         + attr_rx + rb")\"")

    def sub(m: re.Match) -> bytes:
        if m.group(1) is None:   # a new scope
            prev[0] = 0
            return m.group(0)
        n = index(m.group(2))
        keep = n != prev[0] + 1
        prev[0] = n
        return m.group(0) if keep else m.group(1)

    return pattern.sub(sub, body)


def _col(ref: bytes) -> int:
    n = 0
    for ch in re.match(rb"[A-Z]+", ref).group(0):
        n = n * 26 + ch - 64
    return n


def no_cell_refs(parts: Parts) -> Parts:
    """The customers and contacts sheets without the r of cells (and, on contacts, of
    rows) wherever it follows from the previous one: nothing is lost."""
    out = dict(parts)
    for n in (2, 3):
        name = _sheet_part(parts, n)
        head, sep, rest = parts[name].partition(b"<sheetData>")
        body, sep2, tail = rest.partition(b"</sheetData>")
        body = _drop_implicit(body, b"c", rb"[A-Z]+\d+", _col, b"row")
        if n == 3:
            body = _drop_implicit(body, b"row", rb"\d+", int, None)
        out[name] = head + sep + body + sep2 + tail
    return out


def inline_rich(parts: Parts) -> Parts:
    """Shared strings of the customers sheet as inline strings (every other one as rich
    text), and the first shared string as rich text runs."""
    out = dict(parts)
    sst = parts["xl/sharedStrings.xml"]
    items = re.findall(rb"<si>(.*?)</si>", sst, re.S)
    texts = [b"".join(re.findall(rb"<t[^>]*>(.*?)</t>", it, re.S)) for it in items]
    name = _sheet_part(parts, 2)
    flip = [0]

    def inline(m: re.Match) -> bytes:
        attrs, idx = m.group(1), int(m.group(2))
        attrs = attrs.replace(b' t="s"', b' t="inlineStr"')
        text = texts[idx]
        flip[0] += 1
        if flip[0] % 2 and len(text) > 1:
            cut = len(text.decode()) // 2
            a, b = text.decode()[:cut].encode(), text.decode()[cut:].encode()
            return (b"<c" + attrs + b"><is><r><t>" + a + b'</t></r><r><rPr><b/><sz val="11"/></rPr><t>' + b
                    + b"</t></r></is></c>")
        return b"<c" + attrs + b"><is><t>" + text + b"</t></is></c>"

    out[name] = re.sub(rb'<c\b([^>]*? t="s"[^>]*)><v>(\d+)</v></c>', inline, parts[name])
    if texts and len(texts[0]) > 1:
        first = texts[0].decode()
        rich = (f'<si><r><t>{first[:1]}</t></r><r><rPr><b/><sz val="11"/><color rgb="FFFF0000"/>'
                f'<rFont val="Calibri"/></rPr><t>{first[1:]}</t></r></si>').encode()
        out["xl/sharedStrings.xml"] = sst.replace(b"<si>" + items[0] + b"</si>", rich, 1)
    return out


def odd_targets(parts: Parts) -> Parts:
    out = dict(parts)
    rels = parts["xl/_rels/workbook.xml.rels"]
    rels = rels.replace(b'Target="worksheets/sheet1.xml"', b'Target="/xl/worksheets/sheet1.xml"')
    rels = rels.replace(b'Target="worksheets/sheet2.xml"', b'Target="../xl/worksheets/sheet2.xml"')
    rels = rels.replace(b'Target="styles.xml"', b'Target="/xl/styles.xml"')
    out["xl/_rels/workbook.xml.rels"] = rels
    out["_rels/.rels"] = parts["_rels/.rels"].replace(b'Target="xl/workbook.xml"', b'Target="/xl/workbook.xml"')
    return out


def x14ac(parts: Parts) -> Parts:
    out = dict(parts)
    for name in [n for n in parts if n.startswith("xl/worksheets/sheet")]:
        data = parts[name]
        data = re.sub(rb"<worksheet ([^>]*)>", lambda m: (
            b"<worksheet " + m.group(1) + f' xmlns:mc="{MC}" xmlns:x14ac="{X14AC}" mc:Ignorable="x14ac">'.encode()),
            data, count=1)
        data = re.sub(rb"<sheetFormatPr ", b'<sheetFormatPr x14ac:dyDescent="0.25" ', data, count=1)
        data = re.sub(rb"<row ([^>]*?)(/?)>", rb'<row \1 x14ac:dyDescent="0.25"\2>', data)
        out[name] = data
    return out


def chart_dialog(parts: Parts) -> Parts:
    """A chartsheet (with its drawing and chart) and a dialogsheet, after the worksheets."""
    import xlsxwriter

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "cs.xlsx"
        wb = xlsxwriter.Workbook(str(path))
        ws = wb.add_worksheet("data")
        ws.write_column(0, 0, [1, 2, 3])
        cs = wb.add_chartsheet("图表页")
        chart = wb.add_chart({"type": "column"})
        chart.add_series({"values": "=data!$A$1:$A$3"})
        cs.set_chart(chart)
        wb.close()
        donor, _ = _read(path)
    out = dict(parts)
    for name, data in donor.items():
        if name.startswith(("xl/chartsheets/", "xl/charts/", "xl/drawings/")):
            out[name] = data.replace(b"data!", "'客户基础信息'!".encode())
    out["xl/dialogsheets/sheet1.xml"] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<dialogsheet xmlns="{MAIN}" xmlns:r="{REL}"><sheetViews><sheetView workbookViewId="0"/></sheetViews>'
        '<sheetFormatPr defaultRowHeight="15"/>'
        '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></dialogsheet>'
    ).encode()
    ct = (b'<Override PartName="/xl/chartsheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
          b'officedocument.spreadsheetml.chartsheet+xml"/><Override PartName="/xl/dialogsheets/sheet1.xml" '
          b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.dialogsheet+xml"/>'
          b'<Override PartName="/xl/charts/chart1.xml" ContentType="application/vnd.openxmlformats-'
          b'officedocument.drawingml.chart+xml"/>')
    if b"/xl/drawings/drawing1.xml" not in parts["[Content_Types].xml"]:
        ct += (b'<Override PartName="/xl/drawings/drawing1.xml" ContentType="application/vnd.openxmlformats-'
               b'officedocument.drawing+xml"/>')
    out["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(b"</Types>", ct + b"</Types>")
    out["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>",
        f'<Relationship Id="rId901" Type="{REL}/chartsheet" Target="chartsheets/sheet1.xml"/>'
        f'<Relationship Id="rId902" Type="{REL}/dialogsheet" Target="dialogsheets/sheet1.xml"/>'
        "</Relationships>".encode())
    out["xl/workbook.xml"] = parts["xl/workbook.xml"].replace(
        b"</sheets>", '<sheet name="图表页" sheetId="901" r:id="rId901"/>'
        '<sheet name="Dialog1" sheetId="902" r:id="rId902"/></sheets>'.encode())
    return out


def sst_overflow(parts: Parts) -> Parts:
    out = dict(parts)
    name = _sheet_part(parts, 2)
    out[name] = re.sub(rb'(<c\b[^>]*? t="s"[^>]*><v>)\d+(</v>)', rb"\g<1>99999\2", parts[name], count=1)
    return out


def with_problems(parts: Parts) -> Parts:
    """Give the base book findings, so that every refresh writes into the odd parts: a
    blank 客户名称 (B3), a negative 员工人数 (E4) and a computed value removed (N5) on the
    customers sheet."""
    out = dict(parts)
    name = _sheet_part(parts, 2)
    data = re.sub(rb'(<c r="B3"[^>]*?) t="s"><v>\d+</v></c>', rb"\1/>", parts[name], count=1)
    data = re.sub(rb'(<c r="E4"[^>]*>)<v>[^<]*</v>', rb"\1<v>-5</v>", data, count=1)
    data = re.sub(rb'<c r="N5"[^>]*>.*?</c>', b"", data, count=1)   # a computed value gone: rewritten
    assert data != parts[name]
    out[name] = data
    return out


TRANSFORMS: dict[str, Callable[[Parts], Parts]] = {
    "strict.xlsx": strict, "macrosheet.xlsm": macrosheet, "no_cell_refs.xlsx": no_cell_refs,
    "inline_rich.xlsx": inline_rich, "odd_targets.xlsx": odd_targets, "x14ac.xlsx": x14ac,
    "chart_dialog.xlsx": chart_dialog, "sst_overflow.xlsx": sst_overflow,
}


SYSTEM_PYTHON = Path("/usr/bin/python3")


def _uno_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p)
    return env


def libre_renamed(base: Path, dest: Path) -> Path | None:
    """`base` with two sheets renamed in LibreOffice (over UNO) and saved by it as .xlsx;
    None when soffice or python3-uno is missing."""
    if not (shutil.which("soffice") and SYSTEM_PYTHON.is_file()):
        return None
    wb = openpyxl.load_workbook(base, read_only=True)
    names = wb.sheetnames[1:3]
    wb.close()
    renames = [f"{n}={n}（改）" for n in names]
    proc = subprocess.run([str(SYSTEM_PYTHON), str(Path(__file__).with_name("uno_rename.py")), str(base),
                           str(dest), *renames], capture_output=True, text=True, timeout=240, env=_uno_env())
    return dest if proc.returncode == 0 and dest.exists() else None


def build_conformance(dest: Path, spec: Spec) -> dict[str, Path | None]:
    """Write the conformance corpus into `dest`; returns name -> path (None: not buildable here)."""
    import datetime as dt

    dest.mkdir(parents=True, exist_ok=True)
    template = write_template(spec, dest / "template.xlsx", examples=6, as_of=dt.date.fromisoformat(AS_OF_EXAMPLES))
    parts = with_problems(_read(template)[0])
    template.unlink()
    base = _write(dest / "base.xlsx", parts)
    out: dict[str, Path | None] = {"base.xlsx": base}
    for name, fn in TRANSFORMS.items():
        out[name] = _write(dest / name, fn(parts))
    out["dir_entries.xlsx"] = _write(dest / "dir_entries.xlsx", parts,
                                     ["_rels/", "docProps/", "xl/", "xl/worksheets/", "xl/theme/"])
    wb = openpyxl.load_workbook(base)
    wb.epoch = openpyxl.utils.datetime.CALENDAR_MAC_1904
    wb.save(dest / "date1904.xlsx")
    out["date1904.xlsx"] = dest / "date1904.xlsx"
    out["libre_renamed.xlsx"] = libre_renamed(base, dest / "libre_renamed.xlsx")
    return out
