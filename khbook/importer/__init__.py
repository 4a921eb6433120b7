"""`khbook import`: bring existing customer lists (a rep's own sheet, a CRM export, a list
from a chat) into a khbook workbook. See :mod:`khbook.importer.run`."""

from khbook.importer.run import ImportResult, import_lists

__all__ = ["ImportResult", "import_lists"]
