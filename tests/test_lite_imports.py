"""xlwings Lite runs Python in the browser (Pyodide), where compiled packages exist only when
Pyodide builds them. The button's path (the adapter building its raw book from the open
workbook, the checks, the classifier, the plan) must therefore not import python-calamine or
lxml, which only the file path needs: a child process blocks both with an import hook, runs
the adapter on xlwings' remote engine (the engine Lite uses) and must produce exactly the
actions this process produces with everything importable.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.xlwings_support import book_json_from_xlsx, remote_engine_or_skip

ROOT = Path(__file__).resolve().parent.parent

#: Compiled packages the button path may load: each is built into Pyodide (its package
#: list: numpy, pandas, pydantic-core, PyYAML, MarkupSafe) or is xlwings itself.
PYODIDE_BUILT = {"numpy", "pandas", "pydantic_core", "yaml", "markupsafe", "xlwings"}

_CHILD = r'''
import datetime as dt, importlib.abc, json, os, sys
BLOCKED = {"python_calamine", "lxml"}
ABSENT = {"hypothesis"}  # a test dependency that pandera imports when it is there; Lite has none

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.partition(".")[0] in BLOCKED | ABSENT:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked)", name=name)

sys.meta_path.insert(0, Block())
for name in BLOCKED:
    try:
        __import__(name)
    except ImportError:
        pass
    else:
        raise SystemExit(f"{name} was importable")
os.environ["XLWINGS_LICENSE_KEY"] = "noncommercial"
import xlwings as xw
if "remote" not in [e.name for e in xw.engines]:
    from xlwings.pro import _xlremote
    xw.engines.add(xw.Engine(impl=_xlremote.engine))
host = set(sys.modules)  # what xlwings itself loaded (e.g. cryptography for its licence check): not khbook's
from khbook.excel.adapter import refresh_book_result

book = xw.Book(json=json.load(open(sys.argv[1], encoding="utf-8")))
done = refresh_book_result(book, as_of=dt.date(2026, 11, 24), now=dt.datetime(2026, 11, 24, 9, 30))
files = [os.path.normpath(getattr(m, "__file__", None) or "") for n, m in list(sys.modules.items()) if n not in host]
compiled = sorted({f.split(os.sep + "site-packages" + os.sep)[1].split(os.sep)[0].split(".")[0]
                   for f in files if f.endswith((".so", ".pyd")) and os.sep + "site-packages" + os.sep in f})
print(json.dumps({"actions": book.json()["actions"], "message": done.message, "compiled": compiled,
                  "loaded": sorted(BLOCKED & {n.partition(".")[0] for n in sys.modules})},
                 default=str, ensure_ascii=False))
'''


def _roundtrip(actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return json.loads(json.dumps(actions, default=str, ensure_ascii=False))


def test_button_path_runs_without_calamine_and_lxml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import datetime as dt

    from khbook.excel.adapter import refresh_book_result
    from khbook.spec import load_spec
    from tests.rep import make_template
    from tests.test_xlwings_remote import _messy

    xw = remote_engine_or_skip(monkeypatch)
    spec = load_spec()
    path = _messy(make_template(tmp_path / "template.xlsx", spec), tmp_path / "messy.xlsx")
    payload = book_json_from_xlsx(path)  # this process may read the file with calamine
    (tmp_path / "book.json").write_text(json.dumps(payload, default=str, ensure_ascii=False), encoding="utf-8")

    book = xw.Book(json=json.loads((tmp_path / "book.json").read_text(encoding="utf-8")))
    today = refresh_book_result(book, as_of=dt.date(2026, 11, 24), spec=spec, now=dt.datetime(2026, 11, 24, 9, 30))
    expected = _roundtrip(book.json()["actions"])

    out = subprocess.run([sys.executable, "-c", _CHILD, str(tmp_path / "book.json")], cwd=ROOT,
                         capture_output=True, text=True, encoding="utf-8")
    assert out.returncode == 0, out.stderr[-3000:]
    child = json.loads(out.stdout)
    assert child["loaded"] == []
    assert child["actions"] == expected and len(expected) > 20
    assert child["message"] == today.message and "khbook" in child["message"]
    assert set(child["compiled"]) <= PYODIDE_BUILT, child["compiled"]


def test_lite_requirements_skip_calamine_in_pyodide() -> None:
    """micropip evaluates markers with sys_platform "emscripten": python-calamine (no wheel
    on PyPI for Pyodide) is left out there, so installing khbook's wheel in Lite resolves."""
    import tomllib

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    calamine = [d for d in deps if d.startswith("python-calamine")]
    assert calamine and all('sys_platform != "emscripten"' in d for d in calamine)
