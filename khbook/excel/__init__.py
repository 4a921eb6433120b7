"""Excel: the xlwings backend of the refresh plan (the 刷新分类 button). xlwings is imported lazily."""
