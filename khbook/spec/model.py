"""The spec's typed model: texts, lists, columns, sheets, the findings catalogue and the Spec.

Plain frozen dataclasses, built by :mod:`khbook.spec.load` from the YAML files. Nothing here
imports openpyxl or pandera: the engines read the spec, the spec knows nothing of the engines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from khbook.base.errors import SpecError

if TYPE_CHECKING:
    from khbook.spec.rules import Rules

LANGS = ("zh", "en")
COLUMN_TYPES = ("text", "id", "date", "amount", "integer", "choice", "multi", "phone", "email", "uscc")
SEVERITIES = ("error", "warning", "info")
SPEC_FILES = ("workbook.yaml", "lists.yaml", "rules.yaml", "checks.yaml", "regions.yaml", "reasons.yaml", "labels.yaml")
# classification fields (CustomerClass, summaries, batch records) named differently from the
# customers-sheet column whose list their labels come from
RESULT_FIELD_COLUMNS = {"tags": "status_tags", "tag": "status_tags", "decision_chain": "status_tags",
                        "abc_class_file": "abc_class"}


def utf16_len(text: str) -> int:
    """Length as Excel counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True)
class Text:
    """A text in both languages of the product."""

    zh: str
    en: str

    def __call__(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh


@dataclass(frozen=True)
class TextList:
    """A list of texts (e.g. column headers) in both languages, equally long."""

    zh: tuple[str, ...]
    en: tuple[str, ...]

    def __call__(self, lang: str) -> list[str]:
        return list(self.en if lang == "en" else self.zh)


@dataclass(frozen=True)
class ListItem:
    zh: str
    en: str
    aliases: tuple[str, ...] = ()

    def label(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh


@dataclass(frozen=True)
class ValueList:
    """A dropdown list. The canonical value of an item is its Chinese label."""

    name: str
    items: tuple[ListItem, ...]

    def labels(self, lang: str = "zh") -> list[str]:
        return [i.label(lang) for i in self.items]

    @cached_property
    def _lookup(self) -> dict[str, str]:
        table: dict[str, str] = {}
        for item in self.items:
            for spelling in (item.zh, item.en, *item.aliases):
                table.setdefault(spelling.casefold(), item.zh)
        return table

    def canonical(self, value: str) -> str | None:
        """The canonical (Chinese) label for any accepted spelling, or None."""
        return self._lookup.get(value.strip().casefold())

    @cached_property
    def _english(self) -> dict[str, str]:
        return {i.zh: i.en for i in self.items}

    def translate(self, canonical: str, lang: str) -> str:
        if lang != "en":
            return canonical
        return self._english.get(canonical, canonical)

    @property
    def range_name(self) -> str:
        return f"list_{self.name}"


@dataclass(frozen=True)
class Column:
    key: str
    header: Text
    type: str
    aliases: tuple[str, ...] = ()
    list: str | None = None
    required: bool = False
    unique: bool = False
    references: str | None = None
    computed: bool = False
    derived: bool = False
    future_ok: bool = False
    key_field: bool = False
    width: float = 12
    help: Text = Text("", "")

    def match_names(self) -> list[str]:
        return [self.header.zh, self.header.en, *self.aliases]


@dataclass(frozen=True)
class Sheet:
    key: str
    name: Text
    columns: tuple[Column, ...]
    aliases: tuple[str, ...] = ()

    def column(self, key: str) -> Column:
        for c in self.columns:
            if c.key == key:
                return c
        raise KeyError(f"{self.key}.{key}")

    def has(self, key: str) -> bool:
        return any(c.key == key for c in self.columns)

    def match_names(self) -> list[str]:
        return [self.name.zh, self.name.en, *self.aliases]


@dataclass(frozen=True)
class CheckRule:
    """One entry of the findings catalogue (checks.yaml)."""

    id: str
    severity: str
    title: Text
    message: Text
    details: dict[str, Text] = field(default_factory=dict)

    def detail(self, key: str, lang: str) -> str:
        """A rule-specific detail text (checks.yaml `details`), or '' when unknown."""
        t = self.details.get(key)
        return t(lang) if t else ""


@dataclass(frozen=True)
class Protection:
    """Sheet protection of the books khbook writes (workbook.yaml `protection`).

    Locks the header row, the computed columns (``lock_computed``) and the lists sheet
    against accidental edits; data cells stay editable. Not a security feature: an empty
    password just prevents slips.
    """

    enabled: bool = True
    password: str = ""
    lock_computed: bool = True


@dataclass(frozen=True)
class Spec:
    directory: Path
    version: int
    header_row: int
    data_rows: int
    lists_sheet: Text
    instructions_sheet: Text
    sheets: tuple[Sheet, ...]
    lists: dict[str, ValueList]
    rules: Rules
    checks: dict[str, CheckRule]
    regions: dict[str, Any] = field(default_factory=dict)
    output_sheets: dict[str, Text] = field(default_factory=dict)
    reasons: dict[str, Text] = field(default_factory=dict)  # reasons.yaml: phrase key -> template
    labels: dict[str, Text | TextList] = field(default_factory=dict)  # labels.yaml: "area.key" -> UI text(s)
    protection: Protection = field(default_factory=Protection)

    def own_sheet_names(self) -> set[str]:
        """Names (both languages) of the sheets khbook itself writes besides the data sheets,
        and xlwings' settings sheet of the macro workbook (khbook.template.macro)."""
        texts = [self.lists_sheet, self.instructions_sheet, *self.output_sheets.values()]
        imported = self.labels.get("importer.raw_sheet")  # the sheet `khbook import` adds
        if isinstance(imported, Text):
            texts.append(imported)
        return {t(lang) for t in texts for lang in LANGS} | {"xlwings.conf"}  # xlwings' settings sheet (the kit's button book)

    def sheet(self, key: str) -> Sheet:
        for s in self.sheets:
            if s.key == key:
                return s
        raise KeyError(key)

    def list_for(self, column: Column) -> ValueList | None:
        return self.lists.get(column.list) if column.list else None

    @cached_property
    def _result_lists(self) -> dict[str, str]:
        cols = {c.key: c.list for s in self.sheets if s.key == "customers" for c in s.columns if c.list}
        out = {k: v for k, v in cols.items() if v in self.lists}
        for name, column in RESULT_FIELD_COLUMNS.items():
            if column in out:
                out[name] = out[column]
        return out

    def result_list(self, field: str) -> str | None:
        """The list whose labels a classification field holds (from the customers sheet's columns in
        workbook.yaml): ``value_tier`` -> ``value_tier``, ``tags`` -> ``status_tag``; None for free text."""
        return self._result_lists.get(field)

    def rule(self, rule_id: str) -> CheckRule:
        return self.checks[rule_id]

    def label(self, list_name: str, canonical: str, lang: str) -> str:
        """Translate a canonical list value (e.g. a tier label) into `lang`."""
        return self.lists[list_name].translate(canonical, lang)

    def _ui(self, key: str) -> Text | TextList:
        try:
            return self.labels[key]
        except KeyError:
            raise SpecError(str(self.directory / "labels.yaml"), key, "missing label") from None

    def text(self, key: str, lang: str) -> str:
        """A UI text of labels.yaml in `lang`, by ``area.key`` (e.g. ``check_text.total``)."""
        t = self._ui(key)
        if not isinstance(t, Text):
            raise SpecError(str(self.directory / "labels.yaml"), key, "expected a text, not a list")
        return t(lang)

    def text_list(self, key: str, lang: str) -> list[str]:
        """A list of UI texts of labels.yaml in `lang` (e.g. ``annotated.findings_columns``)."""
        t = self._ui(key)
        if not isinstance(t, TextList):
            raise SpecError(str(self.directory / "labels.yaml"), key, "expected a list of texts")
        return t(lang)

    def texts(self, area: str, lang: str) -> dict[str, str]:
        """Every single text of one labels.yaml area in `lang`, by key (e.g. the batch's words)."""
        prefix = area + "."
        return {k[len(prefix):]: t(lang) for k, t in self.labels.items() if k.startswith(prefix) and isinstance(t, Text)}
