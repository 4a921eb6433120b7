"""Issue 18: workbooks as other programs write them (tests/corpus/conformance.py).

For every file of the generated conformance corpus: ``check`` gives a result or a clear
one-line refusal (exit 2), never an internal error (exit 3); ``refresh`` writes a copy that
keeps every member of the input (untouched ones byte-identical, copied raw, zip directory
entries included), that validates against the ECMA-376 schemas in ../shared/ooxml-xsd
where the input did, and that LibreOffice loads whenever it loads the input. Files calamine
refuses are read another way, with a 提示 finding saying so.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import shutil
import sys
import zipfile
from pathlib import Path

import pytest

from khbook.cli import main
from khbook.pipeline import check_file
from khbook.spec import load_spec
from tests.corpus.conformance import AS_OF_EXAMPLES, CONFORMANCE, build_conformance
from tests.ooxml_fixtures import run_soffice, soffice

SHARED = Path(os.environ.get("KHBOOK_SHARED") or Path(__file__).resolve().parents[2] / "shared")
NAMES = list(CONFORMANCE)
REFUSED = {"sst_overflow.xlsx"}   # not sound: refused in words
# parts a refresh may rewrite; every other member must come back byte-identical
MAY_CHANGE = ("[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "docProps/app.xml",
              "xl/styles.xml", "xl/calcChain.xml")


@pytest.fixture(scope="module")
def spec():
    return load_spec()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, spec) -> dict[str, Path | None]:
    return build_conformance(tmp_path_factory.mktemp("conformance"), spec)


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def refreshed(corpus, tmp_path_factory) -> dict[str, tuple[int, str, Path]]:
    """name -> (exit status, stderr, output path) of ``khbook refresh``."""
    d = tmp_path_factory.mktemp("conformance-out")
    out = {}
    for name, path in corpus.items():
        if path is None:
            continue
        dst = d / f"{Path(name).stem}.checked{Path(name).suffix}"
        code, _o, err = run("refresh", str(path), "-o", str(dst), "--as-of", AS_OF_EXAMPLES)
        out[name] = (code, err, dst)
    return out


def source(corpus, name: str) -> Path:
    path = corpus[name]
    if path is None:
        pytest.skip(f"{name}: LibreOffice (soffice) not installed, the file cannot be made here")
    return path


def members(path: Path) -> dict[str, zipfile.ZipInfo]:
    with zipfile.ZipFile(path) as z:
        return {i.filename: i for i in z.infolist()}


@pytest.mark.parametrize("name", NAMES)
def test_check_gives_a_result_or_a_one_line_refusal(corpus, name):
    path = source(corpus, name)
    code, out, err = run("check", str(path), "--as-of", AS_OF_EXAMPLES)
    if name in REFUSED:
        assert code == 2, out + err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and path.name in lines[0], err
    else:
        assert code in (0, 1), err
        assert "internal error" not in err and out.strip()


@pytest.mark.parametrize("name", NAMES)
def test_refresh_keeps_every_member(corpus, refreshed, name):
    src = source(corpus, name)
    code, err, dst = refreshed[name]
    assert code != 3, err
    if name in REFUSED:
        assert code == 2 and not dst.exists()
        return
    assert code in (0, 1), err
    a, b = members(src), members(dst)
    assert set(a) <= set(b), set(a) - set(b)
    with zipfile.ZipFile(src) as za, zipfile.ZipFile(dst) as zb:
        for member, info in a.items():
            if za.read(member) == zb.read(member):
                other = b[member]
                assert (info.compress_type, info.compress_size, info.CRC) == (
                    other.compress_type, other.compress_size, other.CRC), f"{member} not copied raw"
                continue
            assert member in MAY_CHANGE or member.startswith(("xl/worksheets/", "xl/comments", "xl/drawings/vml")), \
                f"{member} changed"


def test_directory_entries_are_kept(corpus, refreshed):
    _code, _err, dst = refreshed["dir_entries.xlsx"]
    dirs = [n for n, i in members(dst).items() if i.is_dir()]
    assert dirs == ["_rels/", "docProps/", "xl/", "xl/worksheets/", "xl/theme/"]


def test_strict_copy_stays_strict(corpus, refreshed, spec):
    src = corpus["strict.xlsx"]
    code, err, dst = refreshed["strict.xlsx"]
    assert code in (0, 1), err
    with zipfile.ZipFile(src) as za, zipfile.ZipFile(dst) as zb:
        before = set(za.namelist())
        for member in zb.namelist():
            data = zb.read(member)
            if member.endswith((".xml", ".rels")) and (member not in before or data != za.read(member)):
                assert b"schemas.openxmlformats.org/spreadsheetml" not in data, member
                assert b"schemas.openxmlformats.org/officeDocument/2006/relationships" not in data, member
        assert b'conformance="strict"' in zb.read("xl/workbook.xml")
        assert "分类汇总".encode() in zb.read("xl/workbook.xml")
    base = check_file(corpus["base.xlsx"], spec, as_of=_as_of())
    again = check_file(dst, spec, as_of=_as_of())
    assert [f.message for f in again.findings] == [f.message for f in base.findings]
    assert len(again.customers) == len(base.customers) == 6


def _as_of():
    import datetime as dt

    return dt.date.fromisoformat(AS_OF_EXAMPLES)


@pytest.mark.parametrize(("name", "rule", "sheet"), [
    ("macrosheet.xlsm", "macro_sheet_skipped", "Macro1"),
    ("odd_targets.xlsx", "read_fallback", "客户基础信息"),
])
def test_read_another_way_with_a_note(corpus, spec, name, rule, sheet):
    base = check_file(corpus["base.xlsx"], spec, as_of=_as_of())
    report = check_file(corpus[name], spec, as_of=_as_of())
    notes = [f for f in report.findings if f.rule == rule]
    assert [(f.severity, f.sheet) for f in notes] == [("info", sheet)]
    assert "Excel" in notes[0].message or "备用" in notes[0].message
    rest = [f.message for f in report.findings if f.rule != rule]
    assert rest == [f.message for f in base.findings]
    assert [c.customer_id for c in report.customers] == [c.customer_id for c in base.customers]


def test_valid_variants_read_like_the_base(corpus, spec):
    base = check_file(corpus["base.xlsx"], spec, as_of=_as_of())
    for name in ("strict.xlsx", "no_cell_refs.xlsx", "inline_rich.xlsx", "date1904.xlsx", "x14ac.xlsx",
                 "chart_dialog.xlsx", "dir_entries.xlsx"):
        report = check_file(corpus[name], spec, as_of=_as_of())
        assert [f.message for f in report.findings if f.rule != "extra_sheet"] == \
            [f.message for f in base.findings], name
        assert [(c.customer_id, c.value_tier) for c in report.customers] == \
            [(c.customer_id, c.value_tier) for c in base.customers], name


def test_damaged_shared_strings_refused_in_words(corpus):
    code, _out, err = run("check", str(corpus["sst_overflow.xlsx"]))
    assert code == 2
    assert "共享文本" in err and "index" not in err.lower()
    code, _out, err = run("check", str(corpus["sst_overflow.xlsx"]), "--lang", "en")
    assert code == 2 and "shared text that does not exist" in err


# ---- the schemas and LibreOffice --------------------------------------------------------

def _xsdcheck(monkeypatch):
    xsd = SHARED / "ooxml-xsd"
    tool = SHARED / "tools" / "xsdcheck.py"
    if not (xsd / "sml.xsd").is_file() or not tool.is_file():
        pytest.skip(f"{SHARED} has no ooxml-xsd/sml.xsd or tools/xsdcheck.py (set KHBOOK_SHARED): schema check skipped")
    monkeypatch.setattr(sys, "argv", [str(tool), str(xsd)])
    spec_ = importlib.util.spec_from_file_location("_khbook_xsdcheck_conf", tool)
    module = importlib.util.module_from_spec(spec_)
    spec_.loader.exec_module(module)
    return module


def test_copies_validate_where_the_input_did(corpus, refreshed, monkeypatch):
    checker = _xsdcheck(monkeypatch)
    schema = checker.build_schema()
    valid_inputs = 0
    for name, (code, _err, dst) in refreshed.items():
        if code not in (0, 1):
            continue
        before, checked, _s = checker.check(str(corpus[name]), schema)
        if before or "xl/workbook.xml" not in checked:   # invalid, or Strict (no Strict schemas here)
            continue
        valid_inputs += 1
        after, checked, _s = checker.check(str(dst), schema)
        assert after == [], f"{name}: {after[:3]}"
        assert "xl/workbook.xml" in checked
    assert valid_inputs >= 6


def test_libreoffice_loads_the_copy_whenever_it_loads_the_input(corpus, refreshed, tmp_path):
    if soffice() is None:
        pytest.skip("LibreOffice (soffice) not installed: load check skipped")
    pairs = {name: (corpus[name], dst) for name, (code, _e, dst) in refreshed.items() if code in (0, 1)}
    files = [p for pair in pairs.values() for p in pair]
    # one soffice run for every file: the input and its copy have different stems
    res = run_soffice(["--convert-to", "csv", "--outdir", str(tmp_path), *map(str, files)], timeout=600)
    loaded = {p.stem for p in tmp_path.glob("*.csv") if p.stat().st_size > 0}
    missing = [name for name, (src, dst) in pairs.items() if src.stem in loaded and dst.stem not in loaded]
    assert missing == [], res.stdout[-2000:] + res.stderr[-2000:]
    assert sum(src.stem in loaded for src, _dst in pairs.values()) >= len(pairs) - 2
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_gnumeric_loads_the_copy_like_the_input(corpus, refreshed):
    """The third client (tests/gnumeric.py): where Gnumeric reads the input (it has no
    Strict reader), it reads the copy with every sheet and no new message."""
    from tests import gnumeric

    gnumeric.need_ssconvert()
    compared = 0
    for name, (code, _err, dst) in refreshed.items():
        if code not in (0, 1):
            continue
        before = gnumeric.load(corpus[name])
        if not before.ok:
            continue
        after = gnumeric.load(dst)
        assert after.ok and after.sheets[:len(before.sheets)] == before.sheets, f"{name}: {after.output[-1500:]}"
        assert gnumeric.new_messages(after, before) == [], f"{name}: {after.output[-1500:]}"
        compared += 1
    assert compared >= 8


def test_whole_book_read_another_way(corpus, spec, monkeypatch):
    """A valid book calamine cannot open at all is read with openpyxl, and said so once."""
    import python_calamine

    class Refusing:
        @staticmethod
        def from_path(_path: str) -> None:
            raise ValueError("Unrecognized sheet:type")

    base = check_file(corpus["base.xlsx"], spec, as_of=_as_of())
    monkeypatch.setattr(python_calamine, "CalamineWorkbook", Refusing)
    report = check_file(corpus["base.xlsx"], spec, as_of=_as_of())
    notes = [f for f in report.findings if f.rule == "book_read_fallback"]
    assert len(notes) == 1 and notes[0].severity == "info" and "备用" in notes[0].message
    assert [f.message for f in report.findings if f.rule != "book_read_fallback"] == [f.message for f in base.findings]
    assert [(c.customer_id, c.value_tier) for c in report.customers] == \
        [(c.customer_id, c.value_tier) for c in base.customers]
