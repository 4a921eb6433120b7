"""khbook's 刷新分类 button for xlwings Lite (Python in the browser, inside Excel).

xlwings Lite is an Excel add-in (Home > Add-ins > search "xlwings"). It keeps one ``main.py``
and one ``requirements.txt`` inside the workbook. To give a customer workbook the button:

1. Open the workbook in Excel (Windows, macOS or Excel on the web) and open xlwings Lite.
2. In the editor's ``requirements.txt`` tab keep the xlwings line that is there and add::

       khbook

   (or the URL of a khbook wheel, e.g. one hosted on your intranet or GitHub). Pyodide installs
   pure-Python wheels from PyPI and its own builds of pandas, lxml, pydantic and friends.
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


@script(name="刷新分类")
def refresh_classification(book: xw.Book):
    """Recompute tiers, tags and findings in this workbook."""
    from khbook.excel.adapter import refresh_book

    message = refresh_book(book)  # as_of=today, lang="zh"; pass lang="en" for English sheets
    print(message)
    book.app.alert(message, title="khbook 刷新分类")
