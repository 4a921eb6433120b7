"""The macro-enabled template: a "刷新分类" button that runs the xlwings adapter.

How the button reaches Python (classic xlwings, Windows/macOS Excel + a local Python):

1. The .xlsm carries the VBA project of xlwings' own ``quickstart_standalone.xlsm``, taken
   from the *installed* xlwings package at run time (:func:`vba_project_bin`; never
   committed). It holds the standalone ``xlwings`` VBA module (``RunPython``, so no
   xlwings add-in is needed), its ``Dictionary`` class and ``Module1.SampleCall``.
2. XlsxWriter cannot author VBA (a module's source must be compiled into the project by
   Excel), so the button is bound to the macro that project already has:
   ``SampleCall``, which runs ``RunPython "import <stem>;<stem>.main()"`` where ``<stem>``
   is the workbook's file name without its extension (the ``xlwings quickstart``
   convention, also what the xlwings add-in's "Run main" does).
3. Beside the workbook sits ``<stem>.py`` (:func:`companion_py`), whose ``main()`` calls
   ``khbook.excel.adapter.refresh_caller()``. RunPython puts the workbook's folder on
   ``sys.path`` (xlwings' ``ADD_WORKBOOK_TO_PYTHONPATH``, default on), so the import finds it.

So the stem must be a Python identifier (``客户管理模板`` is; ``客户管理模板 (1)`` and
``客户管理-张三`` are not), and a renamed .xlsm needs its .py renamed alike. The VBA module
is tied to the xlwings version it came from (on macOS its AppleScript file name carries the
version), so reps install that same xlwings version: :func:`xlwings_version`.

Which Python the button starts: xlwings' VBA reads ``Interpreter_Win`` / ``Interpreter_Mac``
from a sheet named ``xlwings.conf`` (keys in column A, values in column B, from A1 down;
``%VAR%`` expanded on Windows, a leading ``$HOME`` on macOS), then from an ``xlwings.conf``
file beside the workbook, then from the user's xlwings config. :func:`add_xlwings_conf` writes
that sheet (hidden), so a kit's workbook finds the environment its installer creates without
editing VBA (see :mod:`khbook.kit`).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: The macro in xlwings' standalone VBA project that the button runs.
SAMPLE_MACRO = "SampleCall"
#: The sheet xlwings' VBA reads its settings from (``GetConfigFromSheet``).
XLWINGS_CONF_SHEET = "xlwings.conf"

_SOURCE = "quickstart_standalone.xlsm"
_CFB_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")


class MacroUnavailable(RuntimeError):
    """The installed xlwings cannot supply the VBA project."""


def _xlwings_dir() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("xlwings")
    if spec is None or not spec.submodule_search_locations:
        raise MacroUnavailable("xlwings is not installed: pip install xlwings (needed for --macro)")
    return Path(next(iter(spec.submodule_search_locations)))


def xlwings_version() -> str:
    """Version of the installed xlwings, read without importing it."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("xlwings")
    except PackageNotFoundError:
        raise MacroUnavailable("xlwings is not installed: pip install xlwings (needed for --macro)") from None


def vba_project_bin() -> bytes:
    """``xl/vbaProject.bin`` of the installed xlwings' ``quickstart_standalone.xlsm``.

    That project holds the standalone ``xlwings`` module and ``Module1.SampleCall``
    (``quickstart.xlsm``'s project has only ``SampleCall`` and needs the xlwings add-in).
    """
    source = _xlwings_dir() / _SOURCE
    if not source.is_file():
        raise MacroUnavailable(f"the installed xlwings has no {_SOURCE}; reinstall xlwings")
    with zipfile.ZipFile(source) as zf:
        try:
            data = zf.read("xl/vbaProject.bin")
        except KeyError:
            raise MacroUnavailable(f"{_SOURCE} of the installed xlwings has no VBA project") from None
    if not data.startswith(_CFB_MAGIC) or "xlwings".encode("utf-16-le") not in data:
        raise MacroUnavailable(f"the VBA project in {_SOURCE} is not the one khbook expects")
    return data


def _vba_added(workbook: Any) -> bool:
    return getattr(workbook, "vba_project", None) is not None


def _default_label() -> str:
    """The button's Chinese caption (labels.yaml ``words.button``), for callers without a spec."""
    from khbook.spec import builtin_labels

    return str(builtin_labels()["words.button"]("zh"))


def add_refresh_button(workbook: Any, worksheet: Any, *, label: str | None = None,
                       macro: str = SAMPLE_MACRO, cell: str = "A1",
                       width: int = 96, height: int = 28, x_offset: int = 2,
                       y_offset: int = 2) -> None:
    """Add the VBA project (once per workbook) and a button bound to ``macro`` at ``cell``.

    ``workbook`` is an XlsxWriter Workbook whose file name ends in ``.xlsm``; call this for
    each sheet that gets a button (填写说明 and the first data sheet). The button is a form
    control (VML ``x:FmlaMacro [0]!SampleCall``), so it floats over the cell: pick a cell
    the rep does not type into. Write :func:`companion_py` next to the .xlsm as well.
    """
    filename = str(getattr(workbook, "filename", "") or "")
    if filename and not filename.lower().endswith(".xlsm"):
        raise ValueError(f"a workbook with a macro button must be saved as .xlsm, not {filename!r}")
    if not _vba_added(workbook):
        workbook.add_vba_project(io.BytesIO(vba_project_bin()), is_stream=True)
    worksheet.insert_button(cell, {
        "macro": macro,
        "caption": label or _default_label(),
        "width": width,
        "height": height,
        "x_offset": x_offset,
        "y_offset": y_offset,
    })


def add_xlwings_conf(workbook: Any, settings: Mapping[str, str]) -> Any:
    """Add the hidden ``xlwings.conf`` sheet: one setting a row, key in A, value in B, from A1.

    xlwings reads keys case-insensitively (``Interpreter_Win``, ``Interpreter_Mac``,
    ``PYTHONPATH`` ...) and stops at the first blank key, so there is no header row.
    """
    ws = workbook.add_worksheet(XLWINGS_CONF_SHEET)
    for row, (key, value) in enumerate(settings.items()):
        ws.write_string(row, 0, key)
        ws.write_string(row, 1, value)
    ws.set_column(0, 0, 20)
    ws.set_column(1, 1, 60)
    ws.hide()
    return ws


def companion_name(workbook_path: str | Path) -> str:
    """``客户管理模板.xlsm`` -> ``客户管理模板.py`` (checked: the stem must be importable)."""
    stem = Path(workbook_path).stem
    _check_stem(stem)
    return f"{stem}.py"


def _check_stem(stem: str) -> None:
    import keyword

    if not stem.isidentifier() or keyword.iskeyword(stem):
        raise ValueError(
            f"the macro workbook's name {stem!r} must be a Python identifier (letters, "
            "Chinese characters, digits, underscores; no spaces, hyphens or brackets), "
            "because its button runs 'import <name>'"
        )


def companion_py(workbook_stem: str) -> str:
    """Source of ``<workbook_stem>.py``, the module the xlwings ``SampleCall`` macro imports."""
    _check_stem(workbook_stem)
    return (
        f'"""Companion of {workbook_stem}.xlsm: its refresh button runs main() through xlwings.\n'
        "\n"
        "Keep this file next to the workbook, with the same name. Needs khbook and xlwings in the\n"
        "Python that xlwings starts (the team kit's installer puts both there; see khbook kit).\n"
        '"""\n'
        "\n"
        "\n"
        "def main():\n"
        "    from khbook.excel.adapter import refresh_caller\n"
        "\n"
        "    refresh_caller()\n"
        "\n"
        "\n"
        'if __name__ == "__main__":\n'
        "    import xlwings as xw\n"
        "\n"
        f'    xw.Book("{workbook_stem}.xlsm").set_mock_caller()\n'
        "    main()\n"
    )
