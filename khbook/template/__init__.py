"""Template: the blank workbook (XlsxWriter), its validations, instructions, examples and macro variant."""
