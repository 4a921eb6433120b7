"""A spec-agnostic OOXML package patcher: the engine under ``khbook refresh``.

:func:`write_annotated` writes edits into a *copy* of an .xlsx/.xlsm without an openpyxl
load/save round trip. Every zip member of the input is copied byte-identical (raw, still
compressed) unless it must change; a part that changes is parsed once with
khbook.base.xmlsafe and keeps every element it had (x14 extension blocks, extLst,
mc:AlternateContent, data validations, conditional formats, merged cells, comments,
drawings, charts, pivot caches, VBA, form controls ...).

What it does to the copy:

- **writes**: cell values in existing sheets (rows/cells created in order, <dimension>
  widened). Strings are always text (inline strings), never formulas; a written cell
  loses its formula (see :mod:`khbook.ooxml.sheetxml` for shared/array formulas) and its
  calcChain entry; its style (``s``) is kept, dates get a date number format.
- **marks**: one <conditionalFormatting> per kind whose rule is the constant-true formula
  ``"khbook:<kind>"="khbook:<kind>"`` with a fill dxf; the previous refresh's marks (same
  marker) are removed first, so refreshing twice does not stack. Cell styles are untouched.
- **comments**: legacy comments by author ``khbook`` with VML note shapes; khbook's old
  comments are replaced, other authors' comments are kept and win (the cell is skipped).
- **new sheets**: appended after the existing ones; an existing sheet of the same name
  (khbook's own, from an earlier refresh) is replaced in place, with the parts only it
  used (drawing, charts, comments) removed.
- **replace_sheets**: further existing sheets to delete (khbook's own sheets that this
  run no longer produces); defined names scoped to later sheets are re-indexed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from khbook.ooxml.edits import ChartSpec, NewSheet, PatchStats, SheetEdits, Value

if TYPE_CHECKING:
    from collections.abc import Collection



def write_annotated(src: Path, dst: Path, edits: list[SheetEdits], new_sheets: list[NewSheet], *,
                    replace_sheets: Collection[str] = ()) -> PatchStats:
    """Write `src` with `edits` and `new_sheets` applied to `dst` (atomically); `src` is never modified.

    The patcher (:mod:`khbook.ooxml.patch`, lxml) is imported here, not with this package: the
    plan's data classes (:mod:`khbook.ooxml.edits`) are all the xlwings adapter needs (xlwings Lite has no lxml to spare).
    """
    from khbook.ooxml.patch import write_annotated as write

    return write(src, dst, edits, new_sheets, replace_sheets=replace_sheets)


def marker_formula(kind: str) -> str:
    """The constant-true formula of khbook's conditional format for ``kind`` (see :mod:`khbook.ooxml.sheetxml`)."""
    from khbook.ooxml.sheetxml import marker_formula as formula

    return formula(kind)


__all__ = [
    "ChartSpec", "NewSheet", "PatchStats", "SheetEdits", "Value", "marker_formula", "write_annotated",
]
