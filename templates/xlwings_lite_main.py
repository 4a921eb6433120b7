"""khbook's 刷新分类 button for xlwings Lite (Python in the browser, inside Excel).

xlwings Lite is an Excel add-in (Home > Add-ins > search "xlwings"). It keeps one ``main.py``
and one ``requirements.txt`` inside the workbook. To give a customer workbook the button:

1. Open the workbook in Excel (Windows, macOS or Excel on the web) and open xlwings Lite.
2. In the editor's ``requirements.txt`` tab keep the xlwings line that is there and add the
   web address of khbook's wheel, e.g.::

       https://files.example.com/khbook/khbook-0.1.0-py3-none-any.whl

   khbook is not on PyPI: the team kit (``khbook kit``) carries the wheel and an
   ``xlwings-Lite/requirements.txt`` with that line; the ops person puts the wheel on a web
   server that allows cross-origin downloads (CORS) and names it with ``khbook kit --lite-url``.
   Pyodide installs the pure-Python dependencies from PyPI and its own builds of numpy, pandas,
   pydantic-core, PyYAML and MarkupSafe; python-calamine and lxml are not needed in the browser.
3. Replace the contents of ``main.py`` with this file and save the workbook.
4. The script appears in the xlwings Lite pane as "刷新分类": click it (or press F5).

The script reads the open workbook, runs the same reader, checks and classifier as
``khbook refresh``, and writes back through the xlwings API: the computed columns (one value
block per run of columns), fills on the cells with findings, and the sheets 异常清单 /
分类汇总 / 变更日志 (recreated). It does not write cell comments (one call per cell); the
messages are in 异常清单. The summary of what changed shows in an alert and in the output pane.
"""

import xlwings as xw
from xlwings import script


#: Language of the sheets khbook writes ("zh" or "en"); the team kit sets it.
LANG = "zh"


@script(name="刷新分类")
def refresh_classification(book: xw.Book):
    """Recompute tiers, tags and findings in this workbook."""
    from khbook.excel.adapter import refresh_book

    message = refresh_book(book, lang=LANG)  # as_of=today
    print(message)
    book.app.alert(message, title="khbook 刷新分类")
