"""Test helper: the real clients and checkers the file tests share.

The ECMA-376 schema checker and the Excel-limits lint from the shared folder
($KHBOOK_SHARED or ../shared beside the checkout), and LibreOffice headless over UNO
(tests/uno_validity.py under Debian's /usr/bin/python3). Each skips with a visible reason
when its tool is missing.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from khbook.spec import Spec

HERE = Path(__file__).resolve().parent
SYSTEM_PYTHON = Path("/usr/bin/python3")
UNO_TIMEOUT = 90


def shared_dir() -> Path:
    return Path(os.environ.get("KHBOOK_SHARED") or HERE.parents[1] / "shared")


def shared_tool(name: str, monkeypatch: pytest.MonkeyPatch, argv: list[str] | None = None) -> ModuleType:
    path = shared_dir() / "tools" / name
    if not path.is_file():
        pytest.skip(f"{path} not found (set KHBOOK_SHARED to the shared folder): check skipped")
    monkeypatch.setattr(sys, "argv", [str(path), *(argv or [])])  # xsdcheck reads argv at import
    spec = importlib.util.spec_from_file_location(f"_khbook_{path.stem}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def clean_env() -> dict[str, str]:
    """The system python must not pick up the venv's packages."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p)
    return env


def assert_schema_valid(books: dict[str, Path], monkeypatch, *, sheets: int = 7, exact: bool = True) -> None:
    """Every XML part of every book validates against ECMA-376 (skips visibly without ../shared)."""
    xsd = shared_dir() / "ooxml-xsd"
    if not (xsd / "sml.xsd").is_file():
        pytest.skip(f"{xsd} has no sml.xsd: schema check skipped")
    checker = shared_tool("xsdcheck.py", monkeypatch, [str(xsd)])
    schema = checker.build_schema()
    for name, path in books.items():
        errors, checked, _skipped = checker.check(str(path), schema)
        assert errors == [], f"{name}: {errors[:5]}"
        assert "xl/workbook.xml" in checked
        parts = sum(p.startswith("xl/worksheets/") for p in checked)
        assert parts == sheets if exact else parts >= sheets


def assert_lint_clean(books: dict[str, Path], monkeypatch) -> None:
    """No Excel-limit problem in any book (excel_lint.py from ../shared)."""
    lint = shared_tool("excel_lint.py", monkeypatch)
    for name, path in books.items():
        assert lint.lint(str(path)) == [], name


def libreoffice_or_skip() -> None:
    if not shutil.which("soffice"):
        pytest.skip("soffice not installed (Debian: libreoffice-calc-nogui): LibreOffice check skipped")
    if not SYSTEM_PYTHON.is_file():
        pytest.skip(f"{SYSTEM_PYTHON} not found: LibreOffice check skipped")
    probe = subprocess.run([str(SYSTEM_PYTHON), "-c", "import uno"], capture_output=True, timeout=30)
    if probe.returncode != 0:
        pytest.skip("python3-uno not installed for /usr/bin/python3: LibreOffice check skipped")


def uno_check(path: Path, entries: dict, tmp_path: Path) -> dict:
    job = tmp_path / "entries.json"
    job.write_text(json.dumps(entries, ensure_ascii=False), encoding="utf-8")
    proc = subprocess.run([str(SYSTEM_PYTHON), str(HERE / "uno_validity.py"), str(path), str(job)],
                          capture_output=True, text=True, timeout=UNO_TIMEOUT, env=clean_env())
    lines = proc.stdout.strip().splitlines()
    assert lines, f"uno_validity.py printed nothing (status {proc.returncode}): {proc.stderr[-2000:]}"
    return json.loads(lines[-1])


def typed_entries(spec: Spec, lang: str) -> tuple[dict, dict[str, list[str]]]:
    """Values to type (good and bad) and the cells LibreOffice must circle."""
    cust, contacts = spec.sheet("customers").name(lang), spec.sheet("contacts").name(lang)
    followups = spec.sheet("followups").name(lang)
    industry = spec.lists["industry"].labels(lang)[0]
    typed = [
        [cust, "A2", "KH001"], [cust, "B2", "示例甲公司"], [cust, "D2", industry], [cust, "E2", 120],
        [cust, "K2", 45000], [cust, "M2", 50],
        [cust, "A3", "KH002"], [cust, "D3", "造船业"],       # unknown industry
        [cust, "A4", "KH001"], [cust, "M4", -5],             # duplicate ID, negative amount
        [cust, "A5", "   "], [cust, "M5", 0],                # whitespace-only ID
        [contacts, "A2", "KH002"], [contacts, "B2", "王磊"],
        [contacts, "A3", "KH999"], [contacts, "B3", "李娜"],  # unknown ID
        [followups, "A2", "KH001"], [followups, "B2", 45100],
    ]
    expected = {cust: ["A4", "A5", "D3", "M4"], contacts: ["A3"], followups: []}
    return {"type": typed, "check": list(expected)}, expected
