"""What ``khbook check`` loads: a check of a small book in its own process imports neither the
writers nor the layers of the other commands, nor (once the spec is cached) a YAML parser, and
its output is the library's. Speed itself is measured in bench/, never here; this keeps the
imports that made the command start slowly from coming back unnoticed."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from khbook.base.cache import CACHE_ENV
from khbook.pipeline import check_file
from khbook.spec import Spec
from khbook.template.writer import write_template

ROOT = Path(__file__).resolve().parent.parent
AS_OF = dt.date(2026, 11, 24)

#: Packages and layers a check never needs (each is imported where it is used).
NOT_FOR_CHECK = (
    "openpyxl", "xlsxwriter", "jinja2", "markupsafe", "cn2an", "msoffcrypto", "olefile", "xlwings", "distributed",
    "hypothesis",  # a test tool: pandera imports it, when installed, for data synthesis the command never does
    "khbook.batch", "khbook.ooxml", "khbook.template", "khbook.annotate", "khbook.excel", "khbook.kit",
    "khbook.importer", "khbook.team",
)

_CHILD = r'''
import contextlib, gc, io, json, sys
from khbook.__main__ import run

sys.argv = ["khbook", *sys.argv[1:]]
out = io.StringIO()
with contextlib.redirect_stdout(out):
    status = run()
modules = sorted(name for name, module in sys.modules.items() if module is not None)
print(json.dumps({"status": status, "stdout": out.getvalue(), "modules": modules, "gc": gc.isenabled()}))
'''


def _check(book: Path, cache: Path) -> dict[str, Any]:
    env = {**os.environ, CACHE_ENV: str(cache)}
    done = subprocess.run([sys.executable, "-c", _CHILD, "check", str(book), "--format", "json", "--as-of",
                           AS_OF.isoformat(), "--lang", "zh"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120, check=True)
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory, spec: Spec) -> Path:
    return write_template(spec, tmp_path_factory.mktemp("startup") / "book.xlsx", examples=8, as_of=AS_OF)


def test_a_check_loads_only_what_it_uses(book: Path, spec: Spec, tmp_path: Path) -> None:
    cold = _check(book, tmp_path / "cache")  # parses the spec and caches it
    warm = _check(book, tmp_path / "cache")
    expected = check_file(book, spec, as_of=AS_OF, lang="zh").to_dict()
    for run in (cold, warm):
        assert json.loads(run["stdout"]) == expected
        assert run["status"] == (1 if any(f["severity"] == "error" for f in expected["findings"]) else 0)
        loaded = {m for m in run["modules"] if any(m == n or m.startswith(n + ".") for n in NOT_FOR_CHECK)}
        assert loaded == set()
        assert run["gc"]  # the collector, paused while the command imported its layers, runs again
    assert "yaml" in cold["modules"] and "yaml" not in warm["modules"]
    assert "pandera" in warm["modules"] and "python_calamine" in warm["modules"]  # what a check does use
