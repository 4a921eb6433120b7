"""The template's column styles, shared by every writer that restores or reproduces them.

A column's *state* (required, normal, derived, computed) decides its header fill and, for
computed and derived columns, its data fill. XlsxWriter format properties; the xlwings
adapter reads the colours from here to restore a cell it unmarks. No engine is imported.
"""

from __future__ import annotations

from khbook.spec import Column

# header fills by column state; data fills for computed/derived columns
HEADER_STYLE: dict[str, dict[str, object]] = {
    "required": {"bg_color": "#F8CBAD", "font_color": "#9C0006"},
    "normal": {"bg_color": "#DDEBF7", "font_color": "#1F3864"},
    "derived": {"bg_color": "#EDEDED", "font_color": "#404040", "italic": True},
    "computed": {"bg_color": "#BFBFBF", "font_color": "#404040", "italic": True},
}
DATA_STYLE: dict[str, dict[str, object]] = {
    "derived": {"bg_color": "#F7F7F7"},
    "computed": {"bg_color": "#E7E6E6", "font_color": "#595959"},
}


def column_state(col: Column) -> str:
    """required / normal / derived / computed: what the header and data fills follow."""
    if col.computed:
        return "computed"
    if col.derived:
        return "derived"
    return "required" if col.required else "normal"
