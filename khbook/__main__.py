"""``python -m khbook`` and the ``khbook`` command (its console script enters at :func:`run`)."""

import gc
import sys

#: CPython collects its youngest generation every 700 allocations. A command allocates millions
#: of objects that live until it ends (pandas, pandera, the spec, the cells of a book), and
#: scanning them again and again took 90 ms of a 0.6 s check of a 40-customer book (274
#: collections; 30 ms and 3 collections at these thresholds). Cycles are still collected.
GC_THRESHOLDS = (50_000, 20, 20)


def run() -> int:
    """The command line, with the collector tuned for a short-lived process (never for a
    program that imports khbook as a library)."""
    gc.set_threshold(*GC_THRESHOLDS)
    from khbook.cli import main

    return main()


if __name__ == "__main__":
    sys.exit(run())
