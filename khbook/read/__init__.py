"""Read: file -> safety gate -> raw book (python-calamine) -> header matching -> parsed cells.

safety (the input gate; with ole, notzip, zipcheck and limits) -> rawbook (raw cell grids)
-> tables (sheets and columns matched to the spec, every cell parsed by :mod:`parsers`)
-> model (the typed :class:`Book`).
"""
