"""Batch: a folder of workbooks -> annotated copies, 汇总.xlsx, report.html, batch.json.

run (discovery, workers) -> worker (one book through the pipeline) -> consolidate (pure
functions over the summaries) -> workbook / html (+ svg charts) / mask.
"""
