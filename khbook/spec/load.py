"""Loading a spec directory: YAML files -> the typed :class:`~khbook.spec.model.Spec`.

Everything khbook does is driven by the YAML files in a spec directory (``templates/`` in
the checkout, shipped inside the wheel as ``khbook/_templates``). A broken spec raises
:class:`SpecError` naming the file and the key ("file: key: problem"), never a traceback.
"""

from __future__ import annotations

import dataclasses
import string
from functools import cache
from pathlib import Path
from typing import Any

from khbook.base.cache import cached
from khbook.base.errors import SpecError
from khbook.base.excel import valid_sheet_name
from khbook.spec.ctx import Ctx as _Ctx
from khbook.spec.ctx import read_yaml as _read_yaml
from khbook.spec.model import (
    COLUMN_TYPES,
    LANGS,
    SEVERITIES,
    SPEC_FILES,
    CheckRule,
    Column,
    ListItem,
    Protection,
    Sheet,
    Spec,
    Text,
    TextList,
    ValueList,
)
from khbook.spec.rules import load_rules

# --------------------------------------------------------------------------- loading

#: The code that turns the YAML files into a Spec: a cached spec is rebuilt when any of it changes.
SPEC_CODE = tuple(sorted(Path(__file__).resolve().parent.glob("*.py")))


def default_spec_dir() -> Path:
    """The spec shipped with khbook: inside the wheel, or ``templates/`` of a checkout."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "_templates", package.parent / "templates"):
        if (candidate / "workbook.yaml").is_file():
            return candidate
    raise SpecError("khbook", "", "the built-in spec (templates/) is missing from this installation")


_COLUMN_FIELDS = {
    "key", "header", "aliases", "type", "list", "required", "unique", "references", "computed",
    "derived", "future_ok", "key_field", "width", "help",
}


def _load_lists(directory: Path) -> dict[str, ValueList]:
    ctx = _Ctx(directory / "lists.yaml")
    raw = ctx.mapping(_read_yaml(directory, "lists.yaml"), "")
    lists: dict[str, ValueList] = {}
    for name, items in raw.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ctx.fail(str(name), "list names must be identifiers (letters, digits, _)")
        parsed = []
        seen: set[str] = set()
        for i, item in enumerate(ctx.seq(items, name)):
            key = f"{name}[{i}]"
            m = ctx.mapping(item, key)
            unknown = set(m) - {"zh", "en", "aliases"}
            if unknown:
                raise ctx.fail(key, f"unknown field(s) {sorted(unknown)}")
            t = ctx.text({"zh": _s(m.get("zh")), "en": _s(m.get("en"))}, key)
            for spelling in (t.zh, t.en):
                if spelling.casefold() in seen and spelling != t.en:
                    raise ctx.fail(key, f"duplicate item {spelling!r}")
            seen.add(t.zh.casefold())
            parsed.append(ListItem(t.zh, t.en, ctx.strings(m.get("aliases"), f"{key}.aliases")))
        if not parsed:
            raise ctx.fail(name, "a list needs at least one item")
        lists[name] = ValueList(name, tuple(parsed))
    return lists


def _s(v: Any) -> Any:
    return str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v


def _load_column(ctx: _Ctx, raw: Any, key: str, lists: dict[str, ValueList]) -> Column:
    m = ctx.mapping(raw, key)
    unknown = set(m) - _COLUMN_FIELDS
    if unknown:
        raise ctx.fail(key, f"unknown field(s) {sorted(unknown)}; allowed: {sorted(_COLUMN_FIELDS)}")
    ckey = m.get("key")
    if not isinstance(ckey, str) or not ckey.isidentifier():
        raise ctx.fail(f"{key}.key", "every column needs a `key` (an identifier such as customer_id)")
    key = f"{key}({ckey})"
    if "header" not in m:
        raise ctx.fail(key, "column without `header`")
    ctype = m.get("type", "text")
    if ctype not in COLUMN_TYPES:
        raise ctx.fail(f"{key}.type", f"unknown type {ctype!r}; use one of {', '.join(COLUMN_TYPES)}")
    list_name = m.get("list")
    if ctype in ("choice", "multi"):
        if not list_name:
            raise ctx.fail(f"{key}.list", f"a {ctype} column needs a `list`")
        if list_name not in lists:
            raise ctx.fail(f"{key}.list", f"unknown list {list_name!r}; lists.yaml has: {', '.join(sorted(lists))}")
    elif list_name:
        raise ctx.fail(f"{key}.list", f"only choice and multi columns take a list (type is {ctype})")
    flags = {}
    for flag in ("required", "unique", "computed", "derived", "future_ok", "key_field"):
        v = m.get(flag, False)
        if not isinstance(v, bool):
            raise ctx.fail(f"{key}.{flag}", "expected true or false")
        flags[flag] = v
    width = m.get("width", 12)
    if not isinstance(width, (int, float)) or not 1 <= width <= 255:
        raise ctx.fail(f"{key}.width", "width must be a number from 1 to 255")
    refs = m.get("references")
    if refs is not None and (not isinstance(refs, str) or refs.count(".") != 1):
        raise ctx.fail(f"{key}.references", "expected `sheet.column`, e.g. customers.customer_id")
    return Column(
        key=ckey,
        header=ctx.text(m["header"], f"{key}.header"),
        type=ctype,
        aliases=ctx.strings(m.get("aliases"), f"{key}.aliases"),
        list=list_name,
        references=refs,
        width=float(width),
        help=ctx.text(m.get("help"), f"{key}.help", required=False),
        **flags,
    )


def _check_sheet_name(ctx: _Ctx, name: str, key: str) -> None:
    if not valid_sheet_name(name):
        raise ctx.fail(key, f"sheet name {name!r} breaks Excel's rules (1-31 characters, none of []:*?/\\)")


def _load_workbook(directory: Path, lists: dict[str, ValueList]) -> dict[str, Any]:
    ctx = _Ctx(directory / "workbook.yaml")
    raw = ctx.mapping(_read_yaml(directory, "workbook.yaml"), "")
    sheets = []
    for i, s in enumerate(ctx.seq(raw.get("sheets"), "sheets")):
        sm = ctx.mapping(s, f"sheets[{i}]")
        skey = sm.get("key")
        if not isinstance(skey, str) or not skey.isidentifier():
            raise ctx.fail(f"sheets[{i}].key", "every sheet needs a `key`")
        where = f"sheets[{i}]({skey})"
        name = ctx.text(sm.get("name"), f"{where}.name")
        for lang in LANGS:
            _check_sheet_name(ctx, name(lang), f"{where}.name.{lang}")
        cols = tuple(
            _load_column(ctx, c, f"{where}.columns[{j}]", lists)
            for j, c in enumerate(ctx.seq(sm.get("columns"), f"{where}.columns"))
        )
        if not cols:
            raise ctx.fail(f"{where}.columns", "a sheet needs at least one column")
        keys = [c.key for c in cols]
        dup = {k for k in keys if keys.count(k) > 1}
        if dup:
            raise ctx.fail(f"{where}.columns", f"duplicate column key(s) {sorted(dup)}")
        sheets.append(Sheet(skey, name, cols, ctx.strings(sm.get("aliases"), f"{where}.aliases")))
    skeys = [s.key for s in sheets]
    if len(set(skeys)) != len(skeys):
        raise ctx.fail("sheets", "duplicate sheet keys")
    # headers and aliases must not collide inside a sheet: the reader matches by them
    for s in sheets:
        owner: dict[str, str] = {}
        for c in s.columns:
            for n in c.match_names():
                k = n.casefold()
                if k in owner and owner[k] != c.key:
                    raise ctx.fail(f"sheets({s.key}).columns({c.key})", f"header or alias {n!r} is also used by column {owner[k]!r}")
                owner[k] = c.key
        for c in s.columns:
            if c.references:
                tsheet, tcol = c.references.split(".")
                target = next((t for t in sheets if t.key == tsheet), None)
                if target is None:
                    raise ctx.fail(f"sheets({s.key}).columns({c.key}).references", f"references missing sheet {tsheet!r}")
                if not target.has(tcol):
                    raise ctx.fail(f"sheets({s.key}).columns({c.key}).references", f"sheet {tsheet!r} has no column {tcol!r}")
    header_row = raw.get("header_row", 1)
    data_rows = raw.get("data_rows", 2000)
    if not isinstance(header_row, int) or header_row < 1:
        raise ctx.fail("header_row", "expected a row number >= 1")
    if not isinstance(data_rows, int) or not 1 <= data_rows <= 1_048_000:
        raise ctx.fail("data_rows", "expected a whole number of rows (1 to 1,048,000)")
    lists_sheet = ctx.text(raw.get("lists_sheet"), "lists_sheet")
    instructions = ctx.text(raw.get("instructions_sheet"), "instructions_sheet")
    for lang in LANGS:
        _check_sheet_name(ctx, lists_sheet(lang), f"lists_sheet.{lang}")
        _check_sheet_name(ctx, instructions(lang), f"instructions_sheet.{lang}")
    outputs = {}
    for okey in ("findings", "summary", "changelog"):
        outputs[okey] = ctx.text(ctx.mapping(raw.get("output_sheets"), "output_sheets").get(okey), f"output_sheets.{okey}")
        for lang in LANGS:
            _check_sheet_name(ctx, outputs[okey](lang), f"output_sheets.{okey}.{lang}")
    return {
        "version": raw.get("version", 1), "header_row": header_row, "data_rows": data_rows,
        "protection": _protection(ctx, raw.get("protection")),
        "lists_sheet": lists_sheet, "instructions_sheet": instructions, "sheets": tuple(sheets),
        "output_sheets": outputs,
    }


def _protection(ctx: _Ctx, value: Any) -> Protection:
    """workbook.yaml `protection`: sheet protection of the written books (default on, no password)."""
    if value is None:
        return Protection()
    m = ctx.mapping(value, "protection")
    unknown = set(m) - {"enabled", "password", "lock_computed"}
    if unknown:
        raise ctx.fail("protection", f"unknown keys {', '.join(sorted(unknown))} (enabled, password, lock_computed)")
    for key in ("enabled", "lock_computed"):
        if key in m and not isinstance(m[key], bool):
            raise ctx.fail(f"protection.{key}", "expected true or false")
    password = m.get("password") or ""
    if not isinstance(password, str) or len(password) > 255:
        raise ctx.fail("protection.password", "expected a text of at most 255 characters")
    return Protection(m.get("enabled", True), password, m.get("lock_computed", True))


@cache
def _builtin_checks() -> dict[str, CheckRule]:
    return _load_checks(default_spec_dir())


def _load_checks(directory: Path) -> dict[str, CheckRule]:
    ctx = _Ctx(directory / "checks.yaml")
    raw = ctx.mapping(_read_yaml(directory, "checks.yaml"), "")
    out = {}
    for rid, entry in raw.items():
        m = ctx.mapping(entry, str(rid))
        sev = m.get("severity")
        if sev not in SEVERITIES:
            raise ctx.fail(f"{rid}.severity", f"expected one of {', '.join(SEVERITIES)}")
        details = {
            str(k): Text(str(ctx.mapping(v, f"{rid}.details.{k}").get("zh", "")), str(v.get("en", "")))
            for k, v in ctx.mapping(m.get("details") or {}, f"{rid}.details").items()
        }
        out[str(rid)] = CheckRule(
            str(rid), sev, ctx.text(m.get("title"), f"{rid}.title"), ctx.text(m.get("message"), f"{rid}.message"), details
        )
    return out


def _load_regions(directory: Path, lists: dict[str, ValueList]) -> dict[str, Any]:
    ctx = _Ctx(directory / "regions.yaml")
    raw = ctx.mapping(_read_yaml(directory, "regions.yaml"), "")
    regions = ctx.mapping(raw.get("regions"), "regions")
    provinces = ctx.mapping(raw.get("provinces"), "provinces")
    for region, shorts in regions.items():
        if "region" in lists and lists["region"].canonical(str(region)) != region:
            raise ctx.fail(f"regions.{region}", f"not an item of list 'region' ({', '.join(lists['region'].labels())})")
        for s in ctx.strings(shorts, f"regions.{region}"):
            if s not in provinces:
                raise ctx.fail(f"regions.{region}", f"province {s!r} is not under `provinces`")
    for short, p in provinces.items():
        pm = ctx.mapping(p, f"provinces.{short}")
        if not isinstance(pm.get("name"), str):
            raise ctx.fail(f"provinces.{short}.name", "missing full province name")
        code = pm.get("code")
        if not (isinstance(code, str) and len(code) == 2 and code.isdigit()):
            raise ctx.fail(f"provinces.{short}.code", "expected the two-digit GB/T 2260 code as text, e.g. '44'")
        ctx.strings(pm.get("cities"), f"provinces.{short}.cities")
    return raw


def _load_reasons(directory: Path) -> dict[str, Text]:
    """reasons.yaml: phrase key -> Text of two str.format templates (the classifier fills them)."""
    ctx = _Ctx(directory / "reasons.yaml")
    raw = ctx.mapping(_read_yaml(directory, "reasons.yaml"), "")
    out = {}
    for key, entry in raw.items():
        t = ctx.text(ctx.mapping(entry, str(key)), str(key))
        for lang in LANGS:
            try:
                list(string.Formatter().parse(t(lang)))
            except ValueError as exc:
                raise ctx.fail(f"{key}.{lang}", f"not a valid text with {{placeholders}} ({exc}); write a literal brace as {{{{ or }}}}") from None
        out[str(key)] = t
    return out


def _parse_labels(directory: Path) -> dict[str, Text | TextList]:
    ctx = _Ctx(directory / "labels.yaml")
    raw = ctx.mapping(_read_yaml(directory, "labels.yaml"), "")
    out: dict[str, Text | TextList] = {}
    for area, entries in raw.items():
        if not isinstance(area, str) or not area.isidentifier():
            raise ctx.fail(str(area), "areas must be identifiers (letters, digits, _)")
        for key, entry in ctx.mapping(entries, area).items():
            where = f"{area}.{key}"
            if not isinstance(key, str) or not key.isidentifier():
                raise ctx.fail(where, "label keys must be identifiers (letters, digits, _)")
            m = ctx.mapping(entry, where)
            unknown = set(m) - set(LANGS)
            if unknown:
                raise ctx.fail(where, f"unknown field(s) {sorted(unknown)}; allowed: zh, en")
            if isinstance(m.get("zh"), list) or isinstance(m.get("en"), list):
                zh, en = ctx.strings(m.get("zh"), f"{where}.zh"), ctx.strings(m.get("en"), f"{where}.en")
                for lang, texts in (("zh", zh), ("en", en)):
                    if not texts:
                        raise ctx.fail(f"{where}.{lang}", "missing list of texts")
                if len(zh) != len(en):
                    raise ctx.fail(where, f"zh has {len(zh)} texts, en has {len(en)}: the lists must be equally long")
                out[where] = TextList(zh, en)
            else:
                out[where] = ctx.text(m, where)
    return out


# Areas a spec copy may leave out (or leave incomplete): their entries come from the built-in labels.yaml.
# The error texts (and the notes beside them) and the console's words are added as khbook learns
# new cases; a copy made earlier must keep loading.
OPTIONAL_LABEL_AREAS = ("error_format", "errors", "error_hints", "importer", "kit", "output_notes", "team", "cli_help",
                        "cli_argparse", "console", "words", "macro_text", "template_text")


@cache
def _builtin_label_texts() -> dict[str, Text | TextList]:
    d = default_spec_dir().resolve()
    return cached("labels", (*SPEC_CODE, d / "labels.yaml"), lambda: _parse_labels(d))


def builtin_labels() -> dict[str, Text | TextList]:
    """The built-in labels.yaml (cached): the command line's words before any spec is loaded."""
    return _builtin_label_texts()


@cache
def _builtin_labels() -> dict[str, type]:
    return {k: type(v) for k, v in _builtin_label_texts().items()}


def _load_labels(directory: Path) -> dict[str, Text | TextList]:
    """labels.yaml: the UI texts by ``area.key``; a spec copy needs every entry of the built-in one
    (except in the :data:`OPTIONAL_LABEL_AREAS`, whose missing entries are the built-in ones)."""
    builtin = directory.resolve() == default_spec_dir().resolve()
    # the built-in file is parsed once per process (the command line reads it for its words first)
    labels = dict(_builtin_label_texts()) if builtin else _parse_labels(directory)
    if not builtin:
        for key, kind in _builtin_labels().items():
            if key not in labels and key.split(".", 1)[0] in OPTIONAL_LABEL_AREAS:
                labels[key] = _builtin_label_texts()[key]
            if key not in labels:
                raise SpecError(str(directory / "labels.yaml"), key, "missing (every label of the built-in labels.yaml is needed)")
            if not isinstance(labels[key], kind):
                want = "a list of texts" if kind is TextList else "a single text"
                raise SpecError(str(directory / "labels.yaml"), key, f"expected {want}, as in the built-in labels.yaml")
    return labels


def load_spec(directory: str | Path | None = None) -> Spec:
    """Load and validate a spec directory (default: the built-in one).

    The result is cached (:mod:`khbook.base.cache`), keyed by the bytes of the spec's files
    (and of the built-in ones a copy falls back on) and of this package's code: a changed file
    is parsed again."""
    d = Path(directory) if directory is not None else default_spec_dir()
    if not d.is_dir():
        raise SpecError(str(d), "", "spec directory not found")
    here, builtin = d.resolve(), default_spec_dir().resolve()
    files = [here / name for name in SPEC_FILES]
    if here != builtin:  # a copy takes the rules and labels khbook learned after it was made
        files += [builtin / name for name in SPEC_FILES]
    spec = cached("spec", (*SPEC_CODE, *files), lambda: _build_spec(d, builtin=here == builtin))
    return spec if spec.directory == d else dataclasses.replace(spec, directory=d)


def _build_spec(d: Path, *, builtin: bool) -> Spec:
    lists = _load_lists(d)
    wb = _load_workbook(d, lists)
    checks = _load_checks(d)
    if not builtin:  # rules khbook learned after the copy was made
        checks = {**_builtin_checks(), **checks}
    rules = load_rules(d, lists, wb["sheets"])
    regions = _load_regions(d, lists)
    reasons = _load_reasons(d)
    labels = _load_labels(d)
    return Spec(directory=d, lists=lists, rules=rules, checks=checks, regions=regions, reasons=reasons, labels=labels,
                **wb)
