"""What a workbook that is not a khbook workbook looks like, in one line.

``khbook check`` (and refresh, and the batch) given a book without any of the template's
sheets says so once, instead of one ``missing_sheet`` error per template sheet: the
:class:`~khbook.base.errors.WorkbookError` ``not_khbook_list`` (it looks like a customer list:
some cell holds a company name, by the vocabulary of ``import.yaml``), ``not_khbook`` (some
other table) or ``not_khbook_empty`` (no values at all), each naming its largest sheet and its
number of non-empty rows, and pointing to ``khbook import``.
"""

from __future__ import annotations

from khbook.base.errors import Hint, WorkbookError
from khbook.read import parsers
from khbook.read.rawbook import RawBook
from khbook.spec import Spec
from khbook.spec.vocab import import_vocab

_HINT = Hint("run_import", "run khbook import to turn it into a customer workbook")
_SCAN_ROWS = 200


def _filled_rows(rows: list[list[object]]) -> int:
    return sum(1 for r in rows if any(parsers.clean_text(v) is not None for v in r))


def not_khbook_error(raw: RawBook, spec: Spec) -> WorkbookError:
    """The one-line refusal for a book without any of the template's sheets."""
    sizes = [(_filled_rows(s.rows), i, s) for i, s in enumerate(raw.sheets)]
    if not sizes or max(n for n, _i, _s in sizes) == 0:
        first = raw.sheets[0].name if raw.sheets else ""
        return WorkbookError(raw.path, "is not a khbook workbook: it is empty", _HINT, code="not_khbook_empty",
                             params={"sheet": first})
    rows, _i, sheet = max(sizes, key=lambda t: (t[0], -t[1]))
    vocab = import_vocab(spec)
    listy = any(isinstance(v, str) and (t := parsers.clean_text(v)) is not None and vocab.is_company(t)
                for r in sheet.rows[:_SCAN_ROWS] for v in r)
    params = {"sheet": sheet.name, "rows": rows, "sheets": len(raw.sheets)}
    if listy:
        return WorkbookError(raw.path, f"is not a khbook workbook; it looks like a customer list: sheet {sheet.name!r}, "
                             f"{rows} rows", _HINT, code="not_khbook_list", params=params)
    return WorkbookError(raw.path, f"is not a khbook workbook (none of the template's sheets); its largest sheet is "
                         f"{sheet.name!r}, {rows} rows", _HINT, code="not_khbook", params=params)
