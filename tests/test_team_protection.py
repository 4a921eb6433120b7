"""Sheet protection of the template and the split books, seen by openpyxl and by
LibreOffice: header row, computed columns and the lists sheet locked; data cells open;
filtering and sorting allowed; a spec option sets a password or turns it off."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest

from khbook.spec import load_spec
from khbook.team.split import split_book
from khbook.template.writer import write_template
from tests.rep import AS_OF

HERE = Path(__file__).resolve().parent
SYSTEM_PYTHON = Path("/usr/bin/python3")


@pytest.fixture(scope="module")
def spec():
    return load_spec()


def column_locked(ws, index: int) -> bool:
    """The locked flag of the column style covering a 1-based column (openpyxl groups equal columns)."""
    for dim in ws.column_dimensions.values():
        if dim.min and dim.max and dim.min <= index <= dim.max:
            return dim.protection.locked
    raise KeyError(index)


def test_template_protects_headers_computed_columns_and_lists(tmp_path, spec):
    path = write_template(spec, tmp_path / "t.xlsx", examples=2, as_of=AS_OF)
    wb = openpyxl.load_workbook(path)
    for sheet in spec.sheets:
        ws = wb[sheet.name("zh")]
        assert ws.protection.sheet is True and not ws.protection.password
        # openpyxl: False = the action is allowed on the protected sheet
        assert ws.protection.autoFilter is False and ws.protection.sort is False
        assert all(c.protection.locked for c in ws[1] if c.value)          # the header row
        for i, col in enumerate(sheet.columns, start=1):
            assert column_locked(ws, i) is bool(col.computed), (sheet.key, col.key)
    cust = wb["客户基础信息"]
    assert cust["B2"].value and cust["B2"].protection.locked is False   # a filled example cell stays editable
    assert wb["下拉列表"].protection.sheet is True


def test_split_books_are_protected_too(tmp_path, spec):
    master = write_template(spec, tmp_path / "m.xlsx", examples=4, as_of=AS_OF)
    res = split_book(master, tmp_path / "out", spec=spec, as_of=AS_OF)
    for path in res.files.values():
        wb = openpyxl.load_workbook(path)
        ws = wb["客户基础信息"]
        assert ws.protection.sheet is True
        assert ws["A2"].protection.locked is False and ws["O2"].protection.locked is True


def test_spec_option_sets_a_password_or_turns_protection_off(tmp_path, spec):
    copy = tmp_path / "spec"
    shutil.copytree(spec.directory, copy)
    wb_yaml = copy / "workbook.yaml"
    text = wb_yaml.read_text(encoding="utf-8")
    wb_yaml.write_text(text.replace('protection: {enabled: true, password: "", lock_computed: true}',
                                    'protection: {enabled: true, password: "经理", lock_computed: true}'), encoding="utf-8")
    ws = openpyxl.load_workbook(write_template(load_spec(copy), tmp_path / "p.xlsx"))["客户基础信息"]
    assert ws.protection.sheet is True and ws.protection.password  # stored as Excel's hash
    wb_yaml.write_text(text.replace('protection: {enabled: true, password: "", lock_computed: true}',
                                    'protection: {enabled: false}'), encoding="utf-8")
    ws = openpyxl.load_workbook(write_template(load_spec(copy), tmp_path / "o.xlsx"))["客户基础信息"]
    assert ws.protection.sheet is False


def libreoffice_or_skip() -> None:
    if not shutil.which("soffice"):
        pytest.skip("soffice not installed (Debian: libreoffice-calc-nogui): LibreOffice check skipped")
    if not SYSTEM_PYTHON.is_file():
        pytest.skip(f"{SYSTEM_PYTHON} not found: LibreOffice check skipped")
    if subprocess.run([str(SYSTEM_PYTHON), "-c", "import uno"], capture_output=True, timeout=30).returncode:
        pytest.skip("python3-uno not installed for /usr/bin/python3: LibreOffice check skipped")


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p)
    return env


def uno_type(path: Path, entries: list[list[str]], tmp_path: Path, password: str | None = None) -> dict:
    """Type into cells in LibreOffice (one refused entry per run, see tests/uno_protection.py)."""
    job = tmp_path / f"job{len(list(tmp_path.glob('job*')))}.json"
    job.write_text(json.dumps({"type": entries}, ensure_ascii=False), encoding="utf-8")
    cmd = [str(SYSTEM_PYTHON), str(HERE / "uno_protection.py"), str(path), str(job)]
    if password is not None:
        cmd.append(password)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=clean_env())
    lines = proc.stdout.strip().splitlines()
    assert lines, f"uno_protection.py printed nothing (status {proc.returncode}): {proc.stderr[-2000:]}"
    return json.loads(lines[-1])


def test_libreoffice_types_into_data_cells_and_refuses_headers(tmp_path, spec):
    libreoffice_or_skip()
    master = write_template(spec, tmp_path / "m.xlsx", examples=4, as_of=AS_OF)
    res = split_book(master, tmp_path / "out", spec=spec, as_of=AS_OF)
    path = next(p for o, p in res.files.items() if o)
    out = uno_type(path, [["客户基础信息", "B2", "新的客户名称"], ["客户基础信息", "A1", "乱改的表头"],
                          ["联系人", "C2", "采购总监"]], tmp_path)
    assert out["loaded"] and not out["error"], out
    assert out["protected"] == {name: name != "填写说明" for name in out["sheets"]}
    data, header, contact = out["cells"]
    assert (data["locked"], data["after"]) == (False, "新的客户名称")
    assert header["locked"] is True and header["after"] == header["before"] == "客户ID*"
    assert (contact["locked"], contact["after"]) == (False, "采购总监")
    out = uno_type(path, [["客户基础信息", "O2", "高价值"]], tmp_path)        # a computed column
    cell = out["cells"][0]
    assert cell["locked"] is True and cell["after"] == cell["before"] != "高价值"


def test_macro_template_is_not_protected(tmp_path, spec):
    """The 刷新分类 button writes the computed columns into the open book: no protection there."""
    pytest.importorskip("xlwings", reason="xlwings not installed: --macro template check skipped")
    path = write_template(spec, tmp_path / "t.xlsm", macro=True)
    wb = openpyxl.load_workbook(path, keep_vba=True)
    assert wb["客户基础信息"].protection.sheet is False
