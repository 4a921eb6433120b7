"""khbook's own sheets do not clip their text.

For 异常清单, 分类汇总, 变更日志 of an annotated copy (zh and en) and the template's 填写说明:
every header and finding text fits its column by display width (CJK characters count double),
or wraps in a row tall enough for its lines. The copy is also rendered through LibreOffice to
PDF (the rendering itself cannot tell clipping apart, so the fit is computed from the widths).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils import get_column_letter

from khbook.base.textwidth import LINE_HEIGHT, display_width, line_count
from khbook.pipeline import refresh_file
from khbook.spec import load_spec
from khbook.template.writer import write_template
from tests.rep import AS_OF, make_template
from tests.test_check import fill_messy

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "messy_filled.xlsx"


@pytest.fixture(scope="module")
def spec():
    return load_spec()


@pytest.fixture(scope="module")
def copies(tmp_path_factory, spec) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("widths")
    template = make_template(d / "template.xlsx", spec)
    messy, _ = fill_messy(template, d / "messy.xlsx")
    out = {}
    for lang in ("zh", "en"):
        out[f"messy-{lang}"] = refresh_file(messy, d / f"messy-{lang}.xlsx", spec=spec, as_of=AS_OF, lang=lang).output
        out[f"sample-{lang}"] = refresh_file(SAMPLE, d / f"sample-{lang}.xlsx", spec=spec, as_of=AS_OF, lang=lang).output
    return out


def clipped(ws) -> list[str]:
    """Cells whose text is wider than the column and does not wrap in a tall enough row."""
    problems = []
    merged = {m.start_cell.coordinate: m for m in ws.merged_cells.ranges}
    for row in ws.iter_rows():
        for cell in row:
            if not isinstance(cell.value, str) or not cell.value:
                continue
            width = ws.column_dimensions[cell.column_letter].width or 8.43
            if cell.coordinate in merged:  # a merged cell is as wide as its columns together
                m = merged[cell.coordinate]
                width = sum(ws.column_dimensions[get_column_letter(c)].width or 8.43
                            for c in range(m.min_col, m.max_col + 1))
            if cell.alignment is not None and cell.alignment.wrap_text:
                height = ws.row_dimensions[cell.row].height or LINE_HEIGHT
                if line_count(cell.value, width) * LINE_HEIGHT > height:
                    problems.append(f"{ws.title}!{cell.coordinate}: {line_count(cell.value, width)} lines in {height}pt")
            elif max(display_width(line) for line in cell.value.split("\n")) > width:
                problems.append(f"{ws.title}!{cell.coordinate}: {cell.value!r} ({display_width(cell.value)}) > {width}")
    return problems


@pytest.mark.parametrize("name", ["messy-zh", "messy-en", "sample-zh", "sample-en"])
def test_written_sheets_fit_their_text(copies, spec, name):
    lang = name.rsplit("-", 1)[1]
    wb = openpyxl.load_workbook(copies[name])
    sheets = [spec.output_sheets[k](lang) for k in ("findings", "summary", "changelog")]
    problems = [p for sheet in sheets for p in clipped(wb[sheet])]
    assert not problems, "\n".join(problems)
    findings = wb[sheets[0]]
    assert findings.max_row > 5  # the check is not vacuous: there are long messages
    assert any(c.alignment.wrap_text for c in findings["G"][1:])


def test_a_long_message_wraps_in_a_taller_row(copies, spec):
    wb = openpyxl.load_workbook(copies["messy-zh"])
    ws = wb["异常清单"]
    long = [c for c in ws["G"][1:] if isinstance(c.value, str) and display_width(c.value) > ws.column_dimensions["G"].width]
    assert long
    for c in long:
        assert ws.row_dimensions[c.row].height >= 2 * LINE_HEIGHT


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_instructions_lines_do_not_overlap(tmp_path, spec, lang):
    path = write_template(spec, tmp_path / f"t-{lang}.xlsx", lang=lang)
    ws = openpyxl.load_workbook(path)[spec.instructions_sheet(lang)]
    width = ws.column_dimensions["A"].width
    for row in ws.iter_rows(min_col=1, max_col=1):
        cell = row[0]
        if isinstance(cell.value, str) and line_count(cell.value, width) > 1:
            assert ws.row_dimensions[cell.row].height >= line_count(cell.value, width) * LINE_HEIGHT, cell.value


def test_annotated_copy_renders_in_libreoffice(copies, tmp_path):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not installed: the rendering check is skipped")
    wb = openpyxl.load_workbook(copies["messy-zh"])
    for name in wb.sheetnames:
        if name not in ("异常清单", "分类汇总", "变更日志"):
            del wb[name]
    only = tmp_path / "own-sheets.xlsx"
    wb.save(only)
    proc = subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{tmp_path}/lo", "--convert-to", "pdf",
                           "--outdir", str(tmp_path), str(only)], capture_output=True, text=True, timeout=180)
    pdf = tmp_path / "own-sheets.pdf"
    assert pdf.exists() and pdf.stat().st_size > 1000, proc.stdout + proc.stderr
    # the fit itself is computed from the widths the renderer used (test_written_sheets_fit_their_text)
    reread = openpyxl.load_workbook(only)
    assert not [p for ws in reread.worksheets for p in clipped(ws)]
