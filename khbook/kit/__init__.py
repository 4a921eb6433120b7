"""The team kit (``khbook kit``): the folder an ops person hands to a sales team.

It holds the khbook wheel, the button workbook (.xlsm, whose hidden ``xlwings.conf`` sheet points
xlwings at the environment the installer creates), the installers, the drag-and-drop scripts,
the xlwings Lite files and a plain-language 使用说明.txt; :func:`build_kit` writes it and a zip of
it. The script texts are templates in the spec folder (``templates/kit/*.j2``), their words in
labels.yaml (area ``kit``).
"""

from khbook.kit.build import ENV_POSIX, ENV_WIN, KitResult, build_kit, xlwings_settings

__all__ = ["ENV_POSIX", "ENV_WIN", "KitResult", "build_kit", "xlwings_settings"]
