"""Report: one Report per checked workbook, rendered as text or JSON from one place."""
