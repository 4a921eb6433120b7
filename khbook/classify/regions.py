"""Province and region lookup: address text or credit code -> province -> region.

Built from the parsed ``templates/regions.yaml`` (``spec.regions``). Matching an address,
in this order (the first stage that finds anything wins; within a stage the leftmost,
then longest, name wins):

1. full province names (广东省, 内蒙古自治区);
2. short names (广东, 内蒙古), except when followed by a `short_name_blockers` word
   (路/街/大道/巷/州), optionally after one direction character: ``北京路``,
   ``北京西路`` are streets, ``海南州`` is a prefecture of 青海;
3. prefecture-level city names (深圳, 深圳市...), with the same blockers except 州
   (``恩施州`` is the prefecture itself), and not when followed by 区 (``中山区``,
   ``新北区`` are districts elsewhere).

A leading 中国 is stripped first. A bare district (``朝阳区...``) is unknown (None).
"""

from __future__ import annotations

import re
from typing import Any

from khbook.read.parsers import clean_text
from khbook.spec.vocabulary import words

# the address words of vocabulary.yaml
_DIRECTIONS = re.escape(str(words("addresses", "directions")))
_PROVINCE_ONLY = str(words("addresses", "province_only_blocker"))
_DISTRICT = re.escape(str(words("addresses", "district_suffix")))
_COUNTRY = str(words("addresses", "country_prefix"))


def _alternation(names: list[str]) -> str:
    return "|".join(re.escape(n) for n in sorted(set(names), key=lambda n: (-len(n), n)))


class RegionTable:
    """Province/region lookup from the regions configuration."""

    def __init__(self, regions_cfg: dict[str, Any]) -> None:
        provinces: dict[str, Any] = regions_cfg.get("provinces") or {}
        self._names: dict[str, str] = {}
        self._by_code: dict[str, str] = {}
        self._region: dict[str, str] = {}
        full: dict[str, str] = {}
        short: dict[str, str] = {}
        cities: dict[str, str] = {}
        for key, p in provinces.items():
            key = str(key)
            self._names[key] = str(p["name"])
            self._by_code[str(p["code"])] = key
            full[str(p["name"])] = key
            for s in p.get("short") or ():
                short[str(s)] = key
            for c in p.get("cities") or ():
                c = str(c)
                cities[c] = key
        for region, shorts in (regions_cfg.get("regions") or {}).items():
            for s in shorts or ():
                self._region[str(s)] = str(region)
        blockers = [str(b) for b in regions_cfg.get("short_name_blockers") or ()]
        block = f"(?![{_DIRECTIONS}]?(?:{_alternation(blockers)}))" if blockers else ""
        # 州 only blocks province short names (海南州); 恩施州, 大理州 are the cities themselves
        city_blockers = [b for b in blockers if b != _PROVINCE_ONLY]
        city_block = f"(?![{_DIRECTIONS}]?(?:{_alternation(city_blockers)}))" if city_blockers else ""
        self._stages: list[tuple[re.Pattern[str] | None, dict[str, str]]] = [
            (re.compile(f"(?:{_alternation(list(full))})") if full else None, full),
            (re.compile(f"(?:{_alternation(list(short))}){block}") if short else None, short),
            (re.compile(f"(?:{_alternation(list(cities))}){city_block}(?!{_DISTRICT})") if cities else None, cities),
        ]
        self._cache: dict[str, str | None] = {}

    def province_of_address(self, address: str | None) -> str | None:
        """Province key (e.g. ``"粤"``) of an address, or None when it names none."""
        text = clean_text(address)
        if not text:
            return None
        try:
            return self._cache[text]
        except KeyError:
            pass
        body = text.removeprefix(_COUNTRY).lstrip(" ·-,")
        found: str | None = None
        for pattern, table in self._stages:
            if pattern is None:
                continue
            m = pattern.search(body)
            if m:
                found = table[m.group(0)]
                break
        if len(self._cache) < 100_000:
            self._cache[text] = found
        return found

    def province_of_credit_code(self, code: str | None) -> str | None:
        """Province key from digits 3-4 of an 18-char credit code (GB/T 2260); ``10``
        (central registration) and unknown codes give None."""
        text = clean_text(code)
        if not text or len(text) != 18:
            return None
        return self._by_code.get(text[2:4])

    def region_of(self, province: str | None) -> str | None:
        """Region label (e.g. ``"华南"``) of a province key, or None."""
        return self._region.get(province) if province else None

    def province_name(self, short: str) -> str:
        """Full name of a province key (``"粤"`` -> ``"广东省"``); the key itself if unknown."""
        return self._names.get(short, short)

    def provinces(self) -> list[str]:
        """All province keys, in configuration order."""
        return list(self._names)
