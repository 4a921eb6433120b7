"""How wide a text is on screen, for column widths and row heights that do not clip.

Excel measures a column in "characters" of the default font's digit width; a CJK ideograph
(or any East Asian wide/full-width character) takes about two of them. :func:`display_width`
counts that way; :func:`fit_width` gives a column width that holds every text of a column
(capped: longer texts wrap), :func:`line_count` how many lines a wrapped text needs.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

LINE_HEIGHT = 15.0   # points per line of the default 11 pt font
PADDING = 2.0        # characters of breathing room (the cell margins, a filter button)


class _CharWidths(dict):
    """character -> 2 (East Asian wide or full-width) or 1, looked up once per character."""

    def __missing__(self, ch: str) -> int:
        width = self[ch] = 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        return width


_WIDTHS = _CharWidths()


@lru_cache(maxsize=1 << 14)
def display_width(text: str) -> int:
    """Width in character units: East Asian wide and full-width characters count 2."""
    if text.isascii():
        return len(text)
    return sum(map(_WIDTHS.__getitem__, text))


def text_of(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def fit_width(values: Iterable[object], *, minimum: float = 6, maximum: float = 60) -> float:
    """A column width holding the widest line of `values` (+ padding), within [minimum, maximum]."""
    widest = max((display_width(line) for v in values for line in text_of(v).split("\n")), default=0)
    return float(min(maximum, max(minimum, widest + PADDING)))


def line_count(value: object, width: float) -> int:
    """Lines a wrapped text needs in a column `width` characters wide."""
    usable = max(1.0, width - 1)
    return sum(max(1, math.ceil(display_width(line) / usable)) for line in text_of(value).split("\n"))


def row_height(values: Iterable[tuple[object, float]]) -> float:
    """The height of a row whose (value, column width) pairs wrap: the tallest cell."""
    return LINE_HEIGHT * max((line_count(v, w) for v, w in values), default=1)
