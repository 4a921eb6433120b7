"""khbook: an Excel-native workbook engine for B2B customer management.

Library first: the CLI (khbook.cli) and the xlwings adapter are thin shells over the
functions exported here.
"""

from khbook.errors import KhbookError, SpecError, WorkbookError
from khbook.spec import Spec, load_spec

__version__ = "0.1.0"
__all__ = ["KhbookError", "Spec", "SpecError", "WorkbookError", "load_spec", "__version__"]
