"""The mapping file: which template column each source column goes to, for editing.

``khbook import --write-map FILE`` writes what the run decided (each guess as a comment
beside its line); ``--map FILE`` reads it back and overrides the guesses. The layout::

    客户公海.xlsx:                 # source file (its name)
      客户公海:                    # sheet
        header_row: 0             # 1-based row of the header; 0: no header row
        columns:
          A: 客户基础信息.客户名称    # column letter (or header text) -> sheet.column of the template
          D: null                 # null: the value goes to the customer's 备注

Targets may be written in Chinese or English (sheet name and column header or alias) or as
the spec's keys (``contacts.mobile``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from khbook.base.errors import Hint, WorkbookError
from khbook.base.fsutil import atomic_output
from khbook.importer.detect import SourceColumn, SourceSheet
from khbook.read.tables import norm_header
from khbook.spec import LANGS, Spec

_HINT = Hint("fix_map", "correct the mapping file (or write a fresh one with --write-map) and run again")


@dataclass
class SheetMap:
    header_row: int | None
    columns: dict[str, str | None]     # letter or header text -> "sheet.column" or None


def target_text(spec: Spec, target: str | None, lang: str) -> str | None:
    if target is None:
        return None
    sheet_key, _, col_key = target.partition(".")
    sheet = spec.sheet(sheet_key)
    return f"{sheet.name(lang)}.{sheet.column(col_key).header(lang)}"


def _targets(spec: Spec) -> dict[str, str]:
    out: dict[str, str] = {}
    for sheet in spec.sheets:
        for col in sheet.columns:
            key = f"{sheet.key}.{col.key}"
            out.setdefault(norm_header(key), key)
            for sn in (*sheet.match_names(), sheet.key):
                for cn in (*col.match_names(), col.key):
                    out.setdefault(norm_header(f"{sn}.{cn}"), key)
    return out


def evidence(spec: Spec, col: SourceColumn, lang: str) -> str:
    """Why a column goes where it goes, in words (labels.yaml area ``importer``)."""
    if col.how == "header":
        return spec.text("importer.by_header", lang).format(header=col.header)
    if col.how == "map":
        return spec.text("importer.by_map", lang)
    if col.how == "content" and col.kind:
        kind = spec.text(f"importer.kind_{col.kind}", lang)
        return spec.text("importer.by_content", lang).format(hits=col.hits, total=col.total, kind=kind,
                                                               example=col.example or "")
    return spec.text("importer.to_remark", lang)


def write_map(path: str | Path, sources: list[SourceSheet], spec: Spec, lang: str) -> Path:
    """Write the mapping the run used (guesses as comments) to `path`, atomically."""
    lines = [f"# {line}" for line in spec.text("importer.map_intro", lang).splitlines()]
    files: dict[str, list[SourceSheet]] = {}
    for s in sources:
        files.setdefault(s.file, []).append(s)
    for file, sheets in files.items():
        lines.append(f"{json.dumps(file, ensure_ascii=False)}:")
        for s in sheets:
            lines.append(f"  {json.dumps(s.sheet, ensure_ascii=False)}:")
            lines.append(f"    header_row: {s.header_row}")
            lines.append("    columns:")
            for c in s.columns:
                t = target_text(spec, c.target, lang)
                value = json.dumps(t, ensure_ascii=False) if t else "null"
                head = f"{c.header}: " if c.header else ""
                lines.append(f"      {c.letter}: {value}  # {head}{evidence(spec, c, lang)}")
    out = Path(path)
    with atomic_output(out) as tmp:
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def _fail(path: str, where: str, value: object, kind: str = "entry") -> WorkbookError:
    if kind == "file":
        return WorkbookError(path, f"the mapping file cannot be read ({value})", _HINT, code="bad_map",
                             params={"detail": value})
    if kind == "target":
        return WorkbookError(path, f"in the mapping file, {value!r} at {where!r} is not a column of the template",
                             _HINT, code="bad_map_target", params={"where": where, "value": value})
    return WorkbookError(path, f"the mapping file's entry {where!r} is wrong: {value!r}", _HINT,
                         code="bad_map_entry", params={"where": where, "value": value})


def read_map(path: str | Path, spec: Spec) -> dict[tuple[str, str], SheetMap]:
    """(file name, sheet) -> its mapping. Raises WorkbookError (code bad_map) naming the line's place."""
    p = str(path)
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WorkbookError(p, "file not found", Hint("check_name", "check the name and the folder"),
                            code="not_found") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        raise WorkbookError(p, f"the mapping file is not valid YAML (line {line})", _HINT, code="bad_map_yaml",
                            params={"line": line}) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(p, "", str(exc).splitlines()[0], "file") from None
    targets = _targets(spec)
    out: dict[tuple[str, str], SheetMap] = {}
    if not isinstance(raw, dict):
        raise WorkbookError(p, "the mapping file should list source file names at the top level", _HINT,
                            code="bad_map_layout")
    for file, sheets in raw.items():
        if not isinstance(sheets, dict):
            raise _fail(p, str(file), sheets)
        for sheet, body in sheets.items():
            where = f"{file} / {sheet}"
            if not isinstance(body, dict):
                raise _fail(p, where, body)
            hr = body.get("header_row")
            if hr is not None and (not isinstance(hr, int) or isinstance(hr, bool) or hr < 0):
                raise _fail(p, f"{where} / header_row", hr)
            cols: dict[str, str | None] = {}
            for key, value in (body.get("columns") or {}).items():
                if value is None or str(value).strip() == "":
                    cols[str(key)] = None
                    continue
                target = targets.get(norm_header(str(value)))
                if target is None and norm_header(str(value)) in {norm_header(t) for lang in LANGS
                                                                   for t in _remark_words(spec, lang)}:
                    cols[str(key)] = None
                    continue
                if target is None:
                    raise _fail(p, f"{where} / {key}", value, "target")
                cols[str(key)] = target
            out[(str(file), str(sheet))] = SheetMap(hr, cols)
    return out


def _remark_words(spec: Spec, lang: str) -> list[str]:
    return [spec.text("importer.remark", lang)]


def apply_map(src: SourceSheet, m: SheetMap) -> None:
    """Override the guessed targets of `src` by the mapping file's lines."""
    for col in src.columns:
        for key in (col.letter, col.header):
            if key is not None and key in m.columns:
                col.target, col.how = m.columns[key], "map"
                break


def lookup(maps: dict[tuple[str, str], SheetMap], file: str, sheet: str) -> SheetMap | None:
    return maps.get((file, sheet))


__all__ = ["SheetMap", "apply_map", "evidence", "lookup", "read_map", "target_text", "write_map"]
