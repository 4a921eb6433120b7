"""The import vocabulary (``templates/import.yaml``): the words that tell a company name, a
person's name or an address in a list that is not a khbook workbook, and what each kind of
value becomes. Read by ``khbook import`` and by the one-line diagnosis ``khbook check`` gives
for such a list.

A spec copy without ``import.yaml`` uses the built-in one (the file came after the others,
and a copy made earlier must keep working).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from khbook.spec.ctx import Ctx as _Ctx
from khbook.spec.ctx import read_yaml as _read_yaml
from khbook.spec.load import default_spec_dir
from khbook.spec.model import Spec

VOCAB_FILE = "import.yaml"
KINDS = ("company", "credit_code", "person", "mobile", "landline", "email", "address", "date", "amount")


@dataclass(frozen=True)
class ImportVocab:
    """The parsed import.yaml."""

    company_suffixes: tuple[str, ...]
    company_words: tuple[str, ...]
    surnames: tuple[str, ...]
    person_titles: tuple[str, ...]
    person_name_length: tuple[int, int]
    address_words: tuple[str, ...]
    header_units: dict[str, float]
    amount_units: tuple[str, ...]
    amount_words: tuple[str, ...]
    kind_targets: dict[str, str]
    kind_share: float
    header_scan_rows: int
    deal_stage_with_amount: str
    followup_method: str

    def is_company(self, text: str) -> bool:
        folded = text.casefold().rstrip(". ")
        if any(folded.endswith(s.casefold().rstrip(". ")) for s in self.company_suffixes):
            return len(text) > 2
        return any(w in text for w in self.company_words)


def _load(directory: Path, spec: Spec) -> ImportVocab:
    ctx = _Ctx(directory / VOCAB_FILE)
    raw: dict[str, Any] = ctx.mapping(_read_yaml(directory, VOCAB_FILE), "")

    def need(key: str) -> Any:
        if key not in raw:
            raise ctx.fail(key, "missing")
        return raw[key]

    lo_hi = ctx.seq(need("person_name_length"), "person_name_length")
    if len(lo_hi) != 2 or not all(isinstance(n, int) and n > 0 for n in lo_hi) or lo_hi[0] > lo_hi[1]:
        raise ctx.fail("person_name_length", "expected two whole numbers [shortest, longest]")
    units = {str(k): float(v) for k, v in ctx.mapping(need("header_units"), "header_units").items()}
    targets = {str(k): str(v) for k, v in ctx.mapping(need("kind_targets"), "kind_targets").items()}
    for kind, target in targets.items():
        if kind not in KINDS:
            raise ctx.fail(f"kind_targets.{kind}", f"unknown kind; known: {', '.join(KINDS)}")
        sheet, _, col = target.partition(".")
        try:
            spec.sheet(sheet).column(col)
        except KeyError:
            raise ctx.fail(f"kind_targets.{kind}", f"{target!r} is not a sheet.column of workbook.yaml") from None
    share = need("kind_share")
    if not isinstance(share, int | float) or not 0 < share <= 1:
        raise ctx.fail("kind_share", "expected a share between 0 and 1")
    stage, method = str(need("deal_stage_with_amount")), str(need("followup_method"))
    if "deal_stage" in spec.lists and spec.lists["deal_stage"].canonical(stage) != stage:
        raise ctx.fail("deal_stage_with_amount", f"{stage!r} is not an item of list 'deal_stage'")
    if "followup_method" in spec.lists and spec.lists["followup_method"].canonical(method) != method:
        raise ctx.fail("followup_method", f"{method!r} is not an item of list 'followup_method'")
    return ImportVocab(
        company_suffixes=ctx.strings(need("company_suffixes"), "company_suffixes"),
        company_words=ctx.strings(raw.get("company_words"), "company_words"),
        surnames=ctx.strings(need("surnames"), "surnames"),
        person_titles=ctx.strings(raw.get("person_titles"), "person_titles"),
        person_name_length=(int(lo_hi[0]), int(lo_hi[1])),
        address_words=ctx.strings(need("address_words"), "address_words"),
        header_units=units,
        amount_units=ctx.strings(need("amount_units"), "amount_units"),
        amount_words=ctx.strings(raw.get("amount_words"), "amount_words"),
        kind_targets=targets,
        kind_share=float(share),
        header_scan_rows=int(need("header_scan_rows")),
        deal_stage_with_amount=stage,
        followup_method=method,
    )


_CACHE: dict[tuple[Path, Path], ImportVocab] = {}


def import_vocab(spec: Spec) -> ImportVocab:
    """The import vocabulary of `spec` (its own import.yaml, else the built-in one)."""
    directory = spec.directory if (spec.directory / VOCAB_FILE).is_file() else default_spec_dir()
    key = (directory.resolve(), Path(spec.directory).resolve())
    if key not in _CACHE:
        _CACHE[key] = _load(directory, spec)
    return _CACHE[key]


__all__ = ["KINDS", "VOCAB_FILE", "ImportVocab", "import_vocab"]
