"""``python -m khbook`` and the ``khbook`` command (its console script enters at :func:`run`)."""

import gc
import sys

#: CPython collects its youngest generation every 700 allocations. A command allocates millions
#: of objects that live until it ends (pandas, pandera, the spec, the cells of a book), and
#: scanning them again and again took 90 ms of a 0.6 s check of a 40-customer book (274
#: collections; 30 ms and 3 collections at these thresholds). Cycles are still collected.
GC_THRESHOLDS = (50_000, 20, 20)

#: Packages a command never uses that a library would import only because they are installed:
#: pandera registers its data-synthesis strategies when hypothesis is present (hypothesis, a
#: test tool, costs ~0.1 s to import; pandera without it is its supported plain install).
#: Marked absent in the command's own process only, never for a program importing khbook.
UNUSED_OPTIONAL = ("hypothesis",)


def run() -> int:
    """The command line, with the collector tuned for a short-lived process (and paused while the
    command imports its layers: :func:`khbook.base.gcpause.pause_while_starting`) and the optional
    packages it never uses left unimported (never for a program that imports khbook as a library)."""
    gc.set_threshold(*GC_THRESHOLDS)
    from khbook.base.gcpause import pause_while_starting

    pause_while_starting()
    for name in UNUSED_OPTIONAL:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]  # `import name` raises ImportError
    from khbook.cli import main

    return main()


if __name__ == "__main__":
    sys.exit(run())
