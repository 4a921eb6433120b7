"""Rendering the kit's scripts and texts: Jinja templates from ``templates/kit/`` with two
quoting filters, so a message from labels.yaml prints as written in cmd.exe and in sh.

* ``bat``: for ``echo`` in a .bat file: cmd's special characters ``^ & | < > ( )`` get a caret,
  ``%`` is doubled. ``{placeholders}`` are filled *after* escaping, so a value can be a batch
  expression such as ``"%~nx1"``.
* ``sh``: one sh word: literal text in single quotes, values in double quotes (``$name``
  expands).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

_BAT_SPECIAL = "&|<>()"


def _split(text: str, values: dict[str, str]) -> list[tuple[bool, str]]:
    """``text`` with its placeholders filled by ``values``: (is_value, piece) pairs."""
    marks = {k: f"\x00{k}\x00" for k in values}
    filled = text.format(**marks)
    pieces: list[tuple[bool, str]] = []
    for i, part in enumerate(filled.split("\x00")):
        if i % 2:
            pieces.append((True, values[part]))
        elif part:
            pieces.append((False, part))
    return pieces


def bat(text: str, **values: str) -> str:
    """``text`` escaped for a cmd ``echo`` line, placeholders filled with raw batch ``values``."""
    if '"' in text or "\n" in text:
        raise ValueError(f"a kit message for cmd cannot hold a double quote or a line break: {text!r}")
    out = []
    for is_value, piece in _split(text, values):
        if not is_value:
            piece = piece.replace("^", "^^").replace("%", "%%")
            for ch in _BAT_SPECIAL:
                piece = piece.replace(ch, "^" + ch)
        out.append(piece)
    return "".join(out)


def sh(text: str, **values: str) -> str:
    """``text`` as one sh word: literals single-quoted, ``values`` double-quoted (they expand)."""
    out = []
    for is_value, piece in _split(text, values):
        out.append(f'"{piece}"' if is_value else "'" + piece.replace("'", "'\\''") + "'")
    return "".join(out) or "''"


def render(directory: Path, name: str, context: dict[str, Any]) -> str:
    """Render ``directory/name`` (a kit template) with ``context``."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(directory)), keep_trailing_newline=True,
                             undefined=jinja2.StrictUndefined, autoescape=False)
    env.filters["bat"] = bat
    env.filters["sh"] = sh
    return env.get_template(name).render(**context)
