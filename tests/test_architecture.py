"""The layout is the architecture: the public API, the import layers, no Chinese text in code."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import khbook

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "khbook"
CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]")


def test_public_api_resolves_every_name():
    for name in khbook.__all__:
        assert getattr(khbook, name) is not None, name
    assert set(khbook.__all__) == set(khbook._EXPORTS) | {"__version__"}


def test_import_khbook_loads_no_engine():
    code = "import sys, khbook; print(sorted(m for m in ('pandas', 'openpyxl', 'xlsxwriter', 'pandera') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("lint-imports")
    if not exe.exists():
        pytest.skip("lint-imports (import-linter) is not installed in this environment")
    env = {"PATH": str(exe.parent), "PYTHONPATH": str(root), "LANG": "C.UTF-8"}
    return subprocess.run([str(exe), "--config", str(root / "pyproject.toml"), "--no-cache"],
                          capture_output=True, text=True, cwd=root, env=env)


def test_layer_contract_holds():
    res = _lint_imports(ROOT)
    assert res.returncode == 0, res.stdout + res.stderr


def test_layer_contract_fails_on_a_violation(tmp_path):
    """The contract is not decoration: the reader importing the classifier breaks the build."""
    shutil.copytree(PACKAGE, tmp_path / "khbook", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    tables = tmp_path / "khbook" / "read" / "tables.py"
    tables.write_text(tables.read_text(encoding="utf-8") + "\nimport khbook.classify.engine  # noqa\n", encoding="utf-8")
    res = _lint_imports(tmp_path)
    assert res.returncode != 0
    assert "khbook.read is not allowed to import khbook.classify" in res.stdout


def _string_literals(tree: ast.AST) -> list[ast.Constant]:
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    return [n for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings]



def test_no_chinese_text_in_code():
    """User-visible words live in the spec (templates/); a Chinese literal in Python is text in the wrong place."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in _string_literals(tree):
            if CJK.search(node.value):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value[:40]!r}")
    assert not found, "\n".join(found)
