"""khbook: an Excel-native workbook engine for B2B customer management.

The public API. The CLI (:mod:`khbook.cli`), the xlwings adapter (:mod:`khbook.excel`) and
the batch call these functions; so can any Python program::

    import khbook
    spec = khbook.load_spec()                      # or load_spec("my-templates/")
    khbook.write_template(spec, "模板.xlsx")
    report = khbook.check_file("王磊.xlsx", spec, as_of=datetime.date(2026, 11, 24))
    report.to_dict()                               # what `khbook check --format json` prints
    khbook.refresh_file("王磊.xlsx", spec=spec)     # writes 王磊.checked.xlsx
    khbook.run_batch("收集/", "月度汇总/", spec=spec)
    khbook.split_book("部门总表.xlsx", "本月分发/", spec=spec)   # one workbook per owner
    khbook.merge_dir("本月提交/", "部门总表.xlsx", spec=spec)     # and back, conflicts listed

The names are loaded on first use, so ``import khbook`` stays cheap and a command pays only
for the layers it needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from khbook.base.version import __version__

_EXPORTS = {
    "load_spec": "khbook.spec",
    "Spec": "khbook.spec",
    "check_file": "khbook.pipeline",
    "check_raw": "khbook.pipeline",
    "plan_refresh": "khbook.pipeline",
    "refresh_file": "khbook.pipeline",
    "RefreshResult": "khbook.pipeline",
    "run_batch": "khbook.batch.run",
    "import_lists": "khbook.importer.run",
    "ImportResult": "khbook.importer.run",
    "BatchResult": "khbook.batch.run",
    "write_template": "khbook.template.writer",
    "split_book": "khbook.team.split",
    "merge_dir": "khbook.team.merge",
    "upgrade_book": "khbook.team.upgrade",
    "Report": "khbook.report.report",
    "Finding": "khbook.findings",
    "KhbookError": "khbook.base.errors",
    "SpecError": "khbook.base.errors",
    "WorkbookError": "khbook.base.errors",
}

__all__ = [
    "BatchResult", "Finding", "ImportResult", "KhbookError", "RefreshResult", "Report", "Spec", "SpecError", "WorkbookError",
    "__version__", "check_file", "check_raw", "import_lists", "load_spec", "merge_dir", "plan_refresh", "refresh_file",
    "run_batch", "split_book", "upgrade_book", "write_template",
]

if TYPE_CHECKING:
    from khbook.base.errors import KhbookError, SpecError, WorkbookError
    from khbook.batch.run import BatchResult, run_batch
    from khbook.findings import Finding
    from khbook.importer.run import ImportResult, import_lists
    from khbook.pipeline import RefreshResult, check_file, check_raw, plan_refresh, refresh_file
    from khbook.report.report import Report
    from khbook.spec import Spec, load_spec
    from khbook.team.merge import merge_dir
    from khbook.team.split import split_book
    from khbook.team.upgrade import upgrade_book
    from khbook.template.writer import write_template


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'khbook' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
