"""``python -m khbook``: the same as the ``khbook`` command."""

import sys

from khbook.cli import main

sys.exit(main())
