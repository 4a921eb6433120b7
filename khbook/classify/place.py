"""所在区域 and 企业规模 of every customer, with their reasons.

* **所在区域**: the province of the address, else of the credit code (digits 3-4),
  mapped to a region; else the typed value; else None.
* **企业规模**: employees through ``size_band.bands`` (``employees < max``), else the
  typed value, else None.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from khbook.classify.facts import Facts
from khbook.classify.words import Phrase, Words, num
from khbook.spec import Spec


class RegionLookup(Protocol):
    """What the classifier needs of khbook.classify.regions.RegionTable."""

    def province_of_address(self, addr: str) -> str | None: ...
    def province_of_credit_code(self, code: str) -> str | None: ...
    def region_of(self, short: str) -> str | None: ...


def regions(f: Facts, spec: Spec, table: RegionLookup, W: Words) -> tuple[list[str | None], list[str]]:
    provinces = dict(spec.regions.get("provinces") or {})
    out: list[str | None] = []
    why = []
    by_addr: dict[str | None, tuple[str, str] | None] = {None: None}
    by_code: dict[str | None, tuple[str, Phrase] | None] = {None: None}
    typed_text = W.bind("region_typed", "region")
    unknown = W.text("region_unknown")

    def name(short: str) -> str:
        p = provinces.get(short)
        return str(p.get("name", short)) if isinstance(p, dict) else short

    for addr, code, typed in zip(f.address, f.credit_code, f.region_typed, strict=True):
        if isinstance(addr, str):
            short = table.province_of_address(addr)
            if short not in by_addr:
                region = table.region_of(short)  # type: ignore[arg-type]
                by_addr[short] = (region, W.say("region_address", province=name(short),  # type: ignore[arg-type]
                                                region=W.label("region", region))) if region else None
            hit = by_addr[short]
            if hit is not None:
                out.append(hit[0])
                why.append(hit[1])
                continue
        if isinstance(code, str):
            short = table.province_of_credit_code(code)
            if short not in by_code:
                region = table.region_of(short)  # type: ignore[arg-type]
                by_code[short] = (region, W.bind("region_credit_code", "digits", province=name(short),  # type: ignore[arg-type]
                                                 region=W.label("region", region))) if region else None
            code_hit = by_code[short]
            if code_hit is not None:
                out.append(code_hit[0])
                why.append(code_hit[1](code[2:4]))
                continue
        if typed is not None:
            out.append(typed)
            why.append(typed_text(W.label("region", typed)))
        else:
            out.append(None)
            why.append(unknown)
    return out, why


def size_bands(f: Facts, spec: Spec, W: Words) -> tuple[list[str | None], list[str]]:
    out: list[str | None] = []
    why = []
    by_emp = spec.rules.size_band.method == "employees"
    memo: dict[float, tuple[str | None, str]] = {}
    employees = f.employees.tolist()
    band = _band_phrases(spec, W)
    if by_emp:
        typed_text, unknown = W.bind("size_typed", "band"), W.text("size_unknown")
    else:
        typed_text, unknown = W.bind("size_method_typed", "band"), W.text("size_method_unknown")
    for i in range(f.n):
        e = employees[i]
        if by_emp and e == e:
            hit = memo.get(e)
            if hit is None:
                hit = memo[e] = band(e)
            out.append(hit[0])
            why.append(hit[1])
            continue
        typed = f.size_typed[i]
        if typed is not None:
            out.append(typed)
            why.append(typed_text(W.label("size_band", typed)))
        else:
            out.append(None)
            why.append(unknown)
    return out, why


def _band_phrases(spec: Spec, W: Words) -> Callable[[float], tuple[str | None, str]]:
    """employees -> (size band, reason) through size_band.bands (the band's label names its range)."""
    rows = [(b.label, b.max, W.bind("size_band", "employees", band=W.label("size_band", b.label)))
            for b in spec.rules.size_band.bands]
    beyond = W.bind("size_beyond", "employees")

    def band(e: float) -> tuple[str | None, str]:
        text = num(float(e))
        for label, mx, phrase in rows:
            if mx is None or e < mx:
                return label, phrase(text)
        return None, beyond(text)
    return band
