"""Cell writes into one row of a worksheet, edited as bytes (no tree).

The chunked patcher (:mod:`khbook.ooxml.chunked`) hands each row that gets writes to
:func:`edit_row` first. A row in the plain layout every spreadsheet writer produces
(``<row ...>`` then its ``<c r="..">`` cells in column order, no whitespace between
them) whose written cells are plain values (no formula, no rich text) gets text or
blank writes spliced in: the cells it writes are byte for byte what
:class:`~khbook.ooxml.sheetxml.SheetPatcher` gives once serialised, the row's
``spans`` hint is widened the same way, and every other cell keeps its bytes. Anything
else (a number or date to write, a formula, an unusual layout) returns None and the
chunk goes through the tree patcher, as before.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable

from khbook.base.excel import col_index, col_letters
from khbook.ooxml.xmlutil import cell_text, esc_text

_NAME = rb"[A-Za-z_][\w.:-]*"
_ATTRS = rb'((?: ' + _NAME + rb'="[^"<>&\t\n\r]*")*)'
_ROW_OPEN = re.compile(rb"<row" + _ATTRS + rb"(/?)>")
_ATTR = re.compile(rb" (" + _NAME + rb')="([^"]*)"')
_CELL_HEAD = b'<c r="'
_HEAD_LEN = len(_CELL_HEAD)
_CELL_LETTERS = re.compile(rb'<c r="([A-Z]{1,3})\d+"')
_CELL_TAG = re.compile(rb"<c[\s/>]")
_CELL = re.compile(rb'(<c r="[A-Z]{1,3}\d+")' + _ATTRS + rb"(?:/>|>(.*)</c>)", re.S)
_LAST_CELL = re.compile(rb'[A-Z]{1,3}\d+"' + _ATTRS + rb"(?:/>|>.*</c>)", re.S)
_PLAIN_CONTENT = re.compile(rb'<v>[^<]*</v>|<is><t(?: xml:space="preserve")?>[^<]*</t></is>')
_DROPPED = frozenset((b"t", b"cm", b"vm"))   # what a written cell loses (set_cell_value)
_cols: dict[bytes, int] = {}


def _col(letters: bytes) -> int:
    n = _cols.get(letters)
    if n is None:
        n = _cols[letters] = col_index(letters)
    return n


def _tail(value: str | None) -> bytes:
    """What follows a cell's attributes when it holds `value` (text, or None: blank),
    as lxml serialises it."""
    if value is None:
        return b"/>"
    done = _TAILS.get(value)
    if done is None:
        text = cell_text(value)
        space = b' xml:space="preserve"' if text and (text[0].isspace() or text[-1].isspace() or "\n" in text) else b""
        done = b"".join((b' t="inlineStr"><is><t', space, b">", esc_text(text).encode("utf-8"), b"</t></is></c>"))
        if len(value) <= 64:   # the classes and tiers that repeat down a column
            if len(_TAILS) >= 4096:
                _TAILS.clear()
            _TAILS[value] = done
    return done


_TAILS: dict[str, bytes] = {}
_LETTERS: dict[int, bytes] = {}


def _text_cell(head: bytes, attrs: bytes, value: str | None) -> bytes:
    """A cell holding `value` (text, or None: blank), as lxml serialises it."""
    return head + attrs + _tail(value)


def _rewrite(cell: bytes, value: str | None) -> bytes | None:
    """An existing plain cell with its value replaced (its style kept), or None."""
    m = _CELL.fullmatch(cell)
    if m is None or (m.group(3) is not None and m.group(3) and _PLAIN_CONTENT.fullmatch(m.group(3)) is None):
        return None
    attrs = m.group(2)
    if attrs:
        pairs = _ATTR.findall(attrs)
        if len(pairs) > 1 or any(name == b"t" for name, _ in pairs):
            attrs = b"".join(b" %s=\"%s\"" % (n, v) for n, v in pairs if n not in _DROPPED)
    return _text_cell(m.group(1), attrs, value)


_EMPTY_PAIR = re.compile(rb"<" + _NAME + rb"></")
_ODD = (b"\r", b"\n", b"\t", b"='", b" =", b"= ", b" />", b" >", b"  ", b'"></')


def serialised_as_is(rows: bytes) -> bool:
    """True when lxml would serialise these rows back to the same bytes (the escapes, quotes
    and spacing it writes itself), so that splicing writes into them gives what the tree
    patcher gives. False is not an error: the rows then go through the tree patcher."""
    if any(odd in rows for odd in _ODD) or rows.count(b"<") != rows.count(b">"):
        return False
    amps = rows.count(b"&")
    if amps and amps != rows.count(b"&amp;") + rows.count(b"&lt;") + rows.count(b"&gt;"):
        return False
    return _EMPTY_PAIR.search(rows) is None


def edit_row(row: bytes, r: int, writes: list[tuple[int, str | None]],
             column_style: Callable[[int], str | None]) -> bytes | None:
    """`row` (one ``<row>`` element, maybe followed by whitespace) with `writes` (column,
    text or None, in order) applied; None when the row is not in the plain layout.

    `column_style(col)` is the style a new cell of column `col` takes from ``<cols>``.
    """
    m = _ROW_OPEN.match(row)
    if m is None:
        return None
    if m.group(2):   # <row .../>
        body, tail = b"", row[m.end():]
        if tail.strip():
            return None
    else:
        close = row.rfind(b"</row>")
        if close < m.end() or row[close + 6:].strip():
            return None
        body, tail = row[m.end():close], row[close + 6:]
    # the cells, each without its leading '<c r="' (parts[0] is what comes before the first)
    parts = body.split(_CELL_HEAD)
    letters = _CELL_LETTERS.findall(body)
    if parts[0] or len(letters) != len(parts) - 1 or len(_CELL_TAG.findall(body)) != len(letters):
        return None
    cols = [_cols.get(x) or _col(x) for x in letters]
    if cols != sorted(set(cols)):
        return None   # columns not ascending (or twice)
    if cols and _LAST_CELL.fullmatch(parts[-1]) is None:
        return None   # something after the last cell
    attrs: dict[bytes, bytes] | None = None
    row_style: bytes | None = None
    num = b""
    added = False
    for col, value in writes:
        i = bisect.bisect_left(cols, col)
        if i < len(cols) and cols[i] == col:
            new = _rewrite(_CELL_HEAD + parts[i + 1], value)
            if new is None:
                return None
            parts[i + 1] = new[_HEAD_LEN:]
            continue
        if attrs is None:
            attrs = dict(_ATTR.findall(m.group(1)))
            row_style = attrs.get(b"s") if attrs.get(b"customFormat") in (b"1", b"true") else None
            num = b'%d"' % r
        style = row_style.decode("utf-8") if row_style is not None else column_style(col)
        st = f' s="{style}"'.encode() if style and style != "0" else b""
        letters = _LETTERS.get(col)
        if letters is None:
            letters = _LETTERS[col] = col_letters(col).encode()
        parts.insert(i + 1, b"".join((letters, num, st, _tail(value))))
        cols.insert(i, col)
        added = True
    open_tag = m.group(1)
    if added:
        assert attrs is not None
        spans = attrs.get(b"spans")
        if spans and spans.count(b":") == 1:
            try:
                lo, hi = (int(x) for x in spans.split(b":"))
            except ValueError:
                return None
            widened = f"{min(lo, cols[0])}:{max(hi, cols[-1])}".encode()
            open_tag = open_tag.replace(b' spans="' + spans + b'"', b' spans="' + widened + b'"', 1)
    return b"".join((b"<row", open_tag, b">", _CELL_HEAD.join(parts), b"</row>", tail))


__all__ = ["edit_row", "serialised_as_is"]
