"""Findings are data: one record per problem, rendered from the catalogue in checks.yaml.

A finding names the file, sheet, cell, row, column header, field key, 客户ID, rule id,
severity, the raw value seen and a message in the user's language.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from khbook.spec import Spec

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


@dataclass(slots=True)
class Finding:
    rule: str
    severity: str
    sheet: str
    cell: str
    row: int | None
    column: str
    field: str
    customer_id: str | None
    value: str
    message: str
    file: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The fields but ``file``, in order (a plain dict: ``asdict`` copies deeply, slowly)."""
        return {"rule": self.rule, "severity": self.severity, "sheet": self.sheet, "cell": self.cell,
                "row": self.row, "column": self.column, "field": self.field, "customer_id": self.customer_id,
                "value": self.value, "message": self.message}


def value_text(value: Any) -> str:
    """The raw value as a rep would recognise it (for messages and the value field)."""
    if value is None:
        return ""
    if value.__class__ is str:
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if hasattr(value, "isoformat"):
        text = value.isoformat()
        return text[:10] if text.endswith("T00:00:00") else text
    return str(value)


#: A cell by (spec sheet key, Excel row, field key): what a stage found it cannot trust.
Cell = tuple[str, int, str]


@dataclass(frozen=True)
class StageResult:
    """What one check stage hands forward: its findings and the cells it found untrustworthy
    (an error on the cell: the classifier must not use its value)."""

    findings: tuple[Finding, ...] = ()
    untrusted: frozenset[Cell] = frozenset()


class FindingFactory:
    """Builds findings for one file in one language from the spec's catalogue.

    Each stage makes its own factory and returns ``ff.items`` in its :class:`StageResult`:
    no stage sees, or depends on, another stage's factory.
    """

    def __init__(self, spec: Spec, lang: str = "zh", file: str = "") -> None:
        self.spec, self.lang, self.file = spec, lang, file
        self.items: list[Finding] = []

    def add(
        self,
        rule: str,
        *,
        sheet: str = "",
        cell: str = "",
        row: int | None = None,
        column: str = "",
        field: str = "",
        customer_id: str | None = None,
        value: Any = None,
        detail: Any = "",
        allowed: str = "",
        other: str = "",
    ) -> Finding:
        entry = self.spec.rule(rule)
        shown = value_text(value)
        message = entry.message(self.lang).format(
            column=column, value=_clip(shown), detail=detail, allowed=allowed, other=other
        )
        f = Finding(rule, entry.severity, sheet, cell, row, column, field, customer_id, shown, message, self.file)
        self.items.append(f)
        return f

    def add_many(self, rule: str, *, sheet: str, column: str, field: str, cells: Iterable[str], rows: Iterable[int],
                 customer_ids: Iterable[str | None], values: Iterable[Any], details: Iterable[Any],
                 others: Iterable[str] | None = None) -> list[Finding]:
        """One finding of `rule` per row of one column: the same as :meth:`add` row by row (the
        n-th cell, row, 客户ID, value, detail and other go together), the catalogue entry looked up once."""
        entry = self.spec.rule(rule)
        fmt, severity, file = entry.message(self.lang).format, entry.severity, self.file
        cells, rows = list(cells), list(rows)
        made = [Finding(rule, severity, sheet, cell, row, column, field, cid, shown,
                        fmt(column=column, value=_clip(shown), detail=detail, allowed="", other=other), file)
                for cell, row, cid, shown, detail, other in zip(
                    cells, rows, customer_ids, map(value_text, values), details,
                    [""] * len(rows) if others is None else others, strict=True)]
        self.items.extend(made)
        return made


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def count_by_severity(findings: list[Finding]) -> dict[str, int]:
    counts = {"error": 0, "warning": 0, "info": 0}
    for f in findings:
        counts[f.severity] += 1
    return counts
