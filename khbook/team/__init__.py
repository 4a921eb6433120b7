"""Team workflows: hand workbooks out (split), collect them back (merge), move customers
between reps (reassign), bring old books into the current template (upgrade).

Everything here moves whole workbooks around. It reads books through the pipeline (the
same reader, checks and classifier as ``khbook check``) and writes them in the current
template (:func:`khbook.template.writer.build_workbook`), so a split or merged book has the
template's dropdowns, validations and the computed columns filled.
"""
