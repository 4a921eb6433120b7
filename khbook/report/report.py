"""The Report: one object per checked workbook, rendered as text or JSON from one place.

``Report.to_dict()`` is exactly what ``khbook check --format json`` prints.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from khbook.classify.computed import Change
from khbook.classify.words import abc_basis_text
from khbook.findings import Cell, Finding, count_by_severity
from khbook.read.model import Book, CustomerClass
from khbook.spec import Spec


@dataclass
class Report:
    file: str
    as_of: dt.date
    lang: str
    findings: list[Finding]
    customers: list[CustomerClass]
    summary: dict[str, dict[str, int]]
    spec: Spec = field(repr=False)
    book: Book | None = field(default=None, repr=False)
    changes: list[Change] = field(default_factory=list, repr=False)  # computed values that differ from the file's
    untrusted: frozenset[Cell] = field(default=frozenset(), repr=False)  # cells in error: not used to classify
    suspect: frozenset[Cell] = field(default=frozenset(), repr=False)  # amounts that look typed in yuan: left out of ABC

    @property
    def counts(self) -> dict[str, int]:
        return count_by_severity(self.findings)

    @property
    def has_errors(self) -> bool:
        return self.counts["error"] > 0

    def customer_dict(self, c: CustomerClass, _labels: dict[tuple[str, str], str] | None = None) -> dict[str, Any]:
        """One customer's classification, list values in the report's language (``_labels``: a
        cache shared across the customers of one rendering)."""
        labels = {} if _labels is None else _labels
        d = c.to_dict()
        for key, value in d.items():
            list_name = self.spec.result_list(key)
            if list_name and isinstance(value, str):
                d[key] = self._label(labels, list_name, value)
            elif list_name and isinstance(value, list):
                d[key] = [self._label(labels, list_name, t) for t in value]
        return d

    def _label(self, labels: dict[tuple[str, str], str], list_name: str, value: str) -> str:
        text = labels.get((list_name, value))
        if text is None:
            text = labels[(list_name, value)] = self.spec.label(list_name, value, self.lang)
        return text

    def translated_summary(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for dim, counts in self.summary.items():
            ln = self.spec.result_list(dim)
            out[dim] = {(self.spec.label(ln, k, self.lang) if ln else k): v for k, v in counts.items()}
        return out

    def abc_basis(self) -> str:
        """Which base and thresholds the ABC classes used, in words (for the summaries people read)."""
        total = sum(c.annual_amount for c in self.customers if c.annual_amount is not None)
        return abc_basis_text(self.spec, self.lang, total=total)

    def to_dict(self) -> dict[str, Any]:
        labels: dict[tuple[str, str], str] = {}
        return {
            "file": self.file,
            "as_of": self.as_of.isoformat(),
            "findings": [f.to_dict() for f in self.findings],
            "counts": self.counts,
            "customers": [self.customer_dict(c, labels) for c in self.customers],
            "summary": self.translated_summary(),
        }

    def severity_label(self, severity: str) -> str:
        """The severity's name in the report's language (labels.yaml `severity`)."""
        return self.spec.text(f"severity.{severity}", self.lang)
