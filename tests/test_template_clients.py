"""The template must open cleanly in real clients: what can be checked without Excel.

1. every XML part validates against the ECMA-376 transitional schemas (../shared/ooxml-xsd
   with the reference checker ../shared/tools/xsdcheck.py);
2. Excel's own limits, which no schema checks (../shared/tools/excel_lint.py);
3. LibreOffice headless as a second real client: the file loads, and LibreOffice's own
   validity marking (XSheetAuditing.showInvalid over UNO, run by tests/uno_validity.py
   under Debian's /usr/bin/python3) circles exactly the bad values typed into it.

Each part skips with a visible reason when its tool is missing. The shared folder is
$KHBOOK_SHARED or ../shared beside the checkout.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from khbook.spec import Spec
from khbook.template.writer import write_template
from tests.clients import (
    assert_lint_clean,
    assert_schema_valid,
    libreoffice_or_skip,
    typed_entries,
    uno_check,
)

AS_OF = dt.date(2026, 11, 24)


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory, spec: Spec) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("clients")
    variants = {"zh": {}, "en": {"lang": "en"}, "zh_examples": {"examples": 6, "as_of": AS_OF},
                "en_examples": {"examples": 6, "as_of": AS_OF, "lang": "en"}}
    return {name: write_template(spec, d / f"{name}.xlsx", **kw) for name, kw in variants.items()}


def test_xml_parts_validate_against_ecma_schemas(books, monkeypatch):
    assert_schema_valid(books, monkeypatch)


def test_excel_limits_lint_clean(books, monkeypatch):
    assert_lint_clean(books, monkeypatch)


# --------------------------------------------------------------------------- LibreOffice


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_libreoffice_marks_exactly_the_bad_cells(books, spec, lang, tmp_path):
    libreoffice_or_skip()
    entries, expected = typed_entries(spec, lang)
    result = uno_check(books[lang], entries, tmp_path)
    assert result["loaded"], result["error"]
    assert result["error"] == ""
    assert result["sheets"][1:-1] == [s.name(lang) for s in spec.sheets]
    assert result["invalid"] == expected


def test_libreoffice_accepts_the_example_rows(books, spec, tmp_path):
    libreoffice_or_skip()
    names = [s.name("zh") for s in spec.sheets]
    result = uno_check(books["zh_examples"], {"type": [], "check": names}, tmp_path)
    assert result["loaded"], result["error"]
    assert result["invalid"] == {n: [] for n in names}


def test_libreoffice_failure_is_detected(tmp_path):
    """soffice exits 0 even when it cannot load a file: the script must say so."""
    libreoffice_or_skip()
    bad = tmp_path / "broken.xlsx"
    bad.write_bytes(b"PK\x03\x04 this is not a workbook")
    result = uno_check(bad, {"type": [], "check": []}, tmp_path)
    assert not result["loaded"]
