"""The parsers' vocabulary (``templates/vocabulary.yaml``): the words and patterns reps type.

Units (万, 亿, 元), approximation words (约, 左右), not-yet-known words (待定), separators,
legal forms of company names, address words. They are data, not code, so they live in the
spec folder like every other word khbook knows. Read from the built-in spec once (the cell
parsers are module-level functions, shared by every spec).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from khbook.base.cache import cached
from khbook.base.errors import SpecError
from khbook.spec.ctx import read_yaml
from khbook.spec.load import SPEC_CODE, default_spec_dir

FILE = "vocabulary.yaml"
_SECTIONS = ("dates", "amounts", "integers", "separators", "phones", "companies", "addresses")


@cache
def vocabulary() -> dict[str, dict[str, Any]]:
    """The built-in vocabulary.yaml by section (``vocabulary()["amounts"]["units"]``); cached
    like the spec (:func:`khbook.base.cache.cached`)."""
    path = default_spec_dir().resolve() / FILE
    return cached("vocabulary", (*SPEC_CODE, path), lambda: _read(path))


def _read(path: Path) -> dict[str, dict[str, Any]]:
    raw = read_yaml(path.parent, FILE)  # the spec's own reader: libyaml, one-line SpecErrors
    if not isinstance(raw, dict):
        raise SpecError(str(path), "", "expected a mapping of sections")
    for section in _SECTIONS:
        if not isinstance(raw.get(section), dict):
            raise SpecError(str(path), section, "missing section")
    return raw


def list_join(lang: str) -> str:
    """The separator between list items in `lang` (、 in Chinese, a comma in English)."""
    return str(words("separators", "list_join")[lang])


def words(section: str, key: str) -> Any:
    """One entry of the vocabulary; a missing one is a broken installation (SpecError)."""
    try:
        return vocabulary()[section][key]
    except KeyError:
        raise SpecError(str(default_spec_dir() / FILE), f"{section}.{key}", "missing") from None
