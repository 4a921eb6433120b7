"""Gnumeric as a third client: every workbook khbook writes loads cleanly in ``ssconvert``.

For each book: Gnumeric loads it with every sheet, and it prints no message that its
input did not already give (apart from tests/gnumeric.py NOT_IMPLEMENTED, the features
Gnumeric does not implement). Covered: the template (.xlsx and .xlsm), the annotated copy
of samples/messy_filled.xlsx, of an openpyxl-saved, an XlsxWriter-made and a
LibreOffice-saved book, and 汇总.xlsx of a batch. (The patcher's fixture kinds are
covered beside their LibreOffice load in tests/test_ooxml.py.) Skips visibly without
Gnumeric.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest

from khbook.batch.run import run_batch
from khbook.spec import load_spec
from khbook.template.writer import write_template
from tests import gnumeric
from tests import ooxml_fixtures as fx
from tests.rep import AS_OF, make_template
from tests.test_check import fill_messy

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "messy_filled.xlsx"


@pytest.fixture(scope="module")
def spec():
    return load_spec()


def cli_refresh(src: Path, out: Path) -> Path:
    """``khbook refresh`` in its own process, as a user runs it: in-process, openpyxl's
    global lxml prefix registry (imported by the tests) would hide a generated ``ns0:``."""
    proc = subprocess.run([sys.executable, "-m", "khbook.cli", "refresh", str(src), "-o", str(out),
                           "--as-of", AS_OF.isoformat()], capture_output=True, text=True, timeout=300,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    return out


def sheet_names(path: Path) -> list[str]:
    return openpyxl.load_workbook(path, read_only=True).sheetnames


_GENERATED = re.compile(rb"""xmlns:(ns\d+)=["']([^"']*)["']""")


def generated_prefixes(out: Path, src: Path | None) -> dict[str, set]:
    """Generated namespace prefixes (``ns0``) in the parts of `out`, beyond those of `src`."""
    with zipfile.ZipFile(out) as zb:
        before = {}
        if src is not None:
            with zipfile.ZipFile(src) as za:
                before = {n: za.read(n) for n in za.namelist()}
        found = {}
        for name in zb.namelist():
            if name.endswith((".xml", ".rels", ".vml")):
                extra = set(_GENERATED.findall(zb.read(name))) - set(_GENERATED.findall(before.get(name, b"")))
                if extra:
                    found[name] = extra
    return found


def assert_clean(out: Path, src: Path | None) -> gnumeric.Loaded:
    """`out` loads in Gnumeric with all its sheets and adds no message over `src`; khbook
    wrote no generated namespace prefix."""
    assert generated_prefixes(out, src) == {}
    gnumeric.need_ssconvert()
    got = gnumeric.load(out)
    assert got.ok, got.output[-2000:]
    assert got.sheets == sheet_names(out), got.output[-2000:]
    before = gnumeric.load(src) if src is not None else None
    assert gnumeric.new_messages(got, before) == [], got.output[-3000:]
    return got


def test_messy_sample_copy_loads_with_all_its_sheets(spec, tmp_path):
    """issue 21: the three sheets khbook adds were lost (``ns0:id`` on their <sheet>)."""
    out = cli_refresh(SAMPLE, tmp_path / "messy.checked.xlsx")
    got = assert_clean(out, SAMPLE)
    assert {"异常清单", "分类汇总", "变更日志"} <= set(got.sheets)
    assert not any("part-id" in m or "different prefix" in m for m in got.messages)


@pytest.mark.parametrize("variant", ["xlsx", "xlsm", "examples"])
def test_template_loads(spec, tmp_path, variant):
    gnumeric.need_ssconvert()
    suffix = ".xlsm" if variant == "xlsm" else ".xlsx"
    kw = {"macro": True} if variant == "xlsm" else {"examples": 6, "as_of": AS_OF} if variant == "examples" else {}
    path = write_template(spec, tmp_path / f"客户管理模板{suffix}", **kw)
    assert_clean(path, None)
    copy = cli_refresh(path, tmp_path / f"out{suffix}")
    assert_clean(copy, path)


def test_openpyxl_saved_book_copy(spec, tmp_path):
    template = make_template(tmp_path / "template.xlsx", spec)
    path, _rep = fill_messy(template, tmp_path / "openpyxl.xlsx")
    out = cli_refresh(path, tmp_path / "openpyxl.checked.xlsx")
    assert_clean(out, path)


def test_libreoffice_saved_book_copy(spec, tmp_path):
    gnumeric.need_ssconvert()
    if fx.soffice() is None:
        pytest.skip("LibreOffice (soffice) not installed: no LibreOffice-saved book to refresh")
    (tmp_path / "src").mkdir()
    template = make_template(tmp_path / "src" / "template.xlsx", spec)
    path, _rep = fill_messy(template, tmp_path / "src" / "filled.xlsx")
    fx.run_soffice(["--convert-to", "xlsx", "--outdir", str(tmp_path / "lo"), str(path)])
    saved = tmp_path / "lo" / "filled.xlsx"
    assert saved.exists()
    out = cli_refresh(saved, tmp_path / "lo.checked.xlsx")
    assert_clean(out, saved)


def test_summary_workbook(spec, tmp_path):
    gnumeric.need_ssconvert()
    folder = tmp_path / "in"
    folder.mkdir()
    template = make_template(tmp_path / "template.xlsx", spec)
    fill_messy(template, folder / "张伟.xlsx")
    shutil.copy(template, folder / "空白.xlsx")
    run_batch(folder, tmp_path / "out", spec=spec, as_of=AS_OF, jobs=1)
    assert_clean(tmp_path / "out" / "汇总.xlsx", None)
    for copy in (tmp_path / "out").rglob("*.checked.xlsx"):
        assert_clean(copy, folder / copy.name.replace(".checked", ""))


def test_normalise_joins_and_strips():
    text = ("** (ssconvert:123): WARNING **: 21:46:07.267: Damn.\n\n客户!S14 : Ignoring x\n"
            "Unexpected element 'a' in state : \n\tb -> c\n")
    assert gnumeric.normalise(text) == ["WARNING: Damn.", "客户 : Ignoring x", "Unexpected element 'a' in state : b -> c"]
    assert gnumeric.unexplained(["Unhandled object of type Note", "x"]) == ["x"]
