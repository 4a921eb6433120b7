"""The declarative spec (``templates/``): typed when loaded, read by every other layer.

:func:`load_spec` reads a spec directory into a :class:`Spec`; :mod:`khbook.spec.model`
holds the types, :mod:`khbook.spec.rules` the typed rules (rules.yaml) and their loader,
:mod:`khbook.spec.load` the loading and validation of the other files. This package imports
neither openpyxl nor pandera.
"""

from khbook.spec.load import OPTIONAL_LABEL_AREAS, builtin_labels, default_spec_dir, load_spec
from khbook.spec.model import (
    COLUMN_TYPES,
    LANGS,
    SEVERITIES,
    SPEC_FILES,
    CheckRule,
    Column,
    ListItem,
    Protection,
    Sheet,
    Spec,
    Text,
    TextList,
    ValueList,
    utf16_len,
)
from khbook.spec.rules import Rules

__all__ = [
    "COLUMN_TYPES", "LANGS", "OPTIONAL_LABEL_AREAS", "SEVERITIES", "SPEC_FILES", "CheckRule", "Column", "ListItem",
    "Protection", "Rules", "Sheet", "Spec", "Text", "TextList", "ValueList", "builtin_labels", "default_spec_dir",
    "load_spec", "utf16_len",
]
