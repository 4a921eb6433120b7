"""khbook's version, in the lowest layer so any layer can name it (``khbook.__version__`` is this)."""

from __future__ import annotations

__version__ = "0.1.0"
