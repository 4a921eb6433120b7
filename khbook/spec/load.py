"""Loading a spec directory: YAML files -> the typed :class:`~khbook.spec.model.Spec`.

Everything khbook does is driven by the YAML files in a spec directory (``templates/`` in
the checkout, shipped inside the wheel as ``khbook/_templates``). A broken spec raises
:class:`SpecError` naming the file and the key ("file: key: problem"), never a traceback.
"""

from __future__ import annotations

import datetime as dt
import string
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from khbook.base.errors import SpecError
from khbook.spec.model import (
    _BAD_SHEET_CHARS,
    COLUMN_TYPES,
    LANGS,
    SEVERITIES,
    SPEC_FILES,
    CheckRule,
    Column,
    ListItem,
    Sheet,
    Spec,
    Text,
    TextList,
    ValueList,
)

# --------------------------------------------------------------------------- loading


def default_spec_dir() -> Path:
    """The spec shipped with khbook: inside the wheel, or ``templates/`` of a checkout."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "_templates", package.parent / "templates"):
        if (candidate / "workbook.yaml").is_file():
            return candidate
    raise SpecError("khbook", "", "the built-in spec (templates/) is missing from this installation")


def _read_yaml(directory: Path, name: str) -> Any:
    path = directory / name
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(str(path), "", "file not found (a spec directory needs " + ", ".join(SPEC_FILES) + ")") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(str(path), "", f"cannot read: {exc}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else ""
        raise SpecError(str(path), where, f"not valid YAML: {getattr(exc, 'problem', exc)}") from None


class _Ctx:
    """Where we are while validating, for error messages."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def fail(self, key: str, message: str) -> SpecError:
        return SpecError(self.path, key, message)

    def mapping(self, value: Any, key: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, f"expected a mapping, got {type(value).__name__}")
        return value

    def seq(self, value: Any, key: str) -> list[Any]:
        if not isinstance(value, list):
            raise self.fail(key, f"expected a list, got {type(value).__name__}")
        return value

    def text(self, value: Any, key: str, *, required: bool = True) -> Text:
        if value is None and not required:
            return Text("", "")
        if isinstance(value, str):
            return Text(value, value)
        m = self.mapping(value, key)
        zh, en = m.get("zh"), m.get("en")
        if not isinstance(zh, str) or not zh.strip():
            raise self.fail(f"{key}.zh", "missing Chinese text")
        if not isinstance(en, str) or not en.strip():
            raise self.fail(f"{key}.en", "missing English text")
        return Text(zh, en)

    def strings(self, value: Any, key: str) -> tuple[str, ...]:
        if value is None:
            return ()
        out = []
        for i, v in enumerate(self.seq(value, key)):
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                v = str(v)
            if not isinstance(v, str) or not v.strip():
                raise self.fail(f"{key}[{i}]", "expected a non-empty text")
            out.append(v)
        return tuple(out)


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
    if not 1 <= len(name) <= 31 or _BAD_SHEET_CHARS & set(name) or name.startswith("'") or name.endswith("'"):
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
        "lists_sheet": lists_sheet, "instructions_sheet": instructions, "sheets": tuple(sheets),
        "output_sheets": outputs,
    }


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


# rule paths whose values must be labels of a given list
_RULE_LABELS = {
    ("value_tier", "unknown"): "value_tier",
    ("abc", "fallback"): "abc_class",
    ("abc", "unknown"): "abc_class",
    ("annual_amount", "won_stage"): "deal_stage",
    ("stage", "won_stage"): "deal_stage",
    ("stage", "lost_stage"): "deal_stage",
    ("tags", "priority"): "status_tag",
    ("tags", "followup_due"): "status_tag",
    ("tags", "dormant"): "status_tag",
    ("tags", "churn_risk"): "status_tag",
    ("tags", "stable"): "status_tag",
    ("tags", "incomplete"): "status_tag",
    ("tags", "complex_decision"): "status_tag",
    ("tags", "simple_decision"): "status_tag",
}
_RULE_DAYS = {
    ("annual_amount", "window_days"), ("stage", "churn_risk_days"), ("stage", "long_term_days"),
    ("tags", "dormant_days"), ("tags", "stable_days"), ("tags", "complex_roles"),
    ("checks", "stale_followup_days"), ("checks", "quality_followup_days"), ("checks", "date_max_years_ahead"),
}


def _load_rules(directory: Path, lists: dict[str, ValueList]) -> dict[str, Any]:
    ctx = _Ctx(directory / "rules.yaml")
    raw = ctx.mapping(_read_yaml(directory, "rules.yaml"), "")

    def get(section: str, key: str) -> Any:
        sec = ctx.mapping(raw.get(section), section)
        if key not in sec:
            raise ctx.fail(f"{section}.{key}", "missing")
        return sec[key]

    def label(value: Any, list_name: str, key: str) -> None:
        if not isinstance(value, str) or lists[list_name].canonical(value) != value:
            raise ctx.fail(key, f"{value!r} is not an item of list {list_name!r} ({', '.join(lists[list_name].labels())})")

    for needed in ("value_tier", "abc_class", "stage", "status_tag", "deal_stage", "size_band"):
        if needed not in lists:
            raise SpecError(str(directory / "lists.yaml"), needed, "the classification needs this list")
    for (section, key), list_name in _RULE_LABELS.items():
        label(get(section, key), list_name, f"{section}.{key}")
    for section, key in _RULE_DAYS:
        v = get(section, key)
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise ctx.fail(f"{section}.{key}", "expected a whole number >= 0")
    tiers = ctx.seq(get("value_tier", "tiers"), "value_tier.tiers")
    last = None
    for i, t in enumerate(tiers):
        tm = ctx.mapping(t, f"value_tier.tiers[{i}]")
        label(tm.get("label"), "value_tier", f"value_tier.tiers[{i}].label")
        if not isinstance(tm.get("min"), (int, float)):
            raise ctx.fail(f"value_tier.tiers[{i}].min", "expected a number (in 10k CNY)")
        if last is not None and tm["min"] >= last:
            raise ctx.fail(f"value_tier.tiers[{i}].min", "tiers must be listed from the highest threshold down")
        last = tm["min"]
    for tag, tier in ctx.mapping(get("value_tier", "lift_tags") or {}, "value_tier.lift_tags").items():
        label(tag, "customer_tag", f"value_tier.lift_tags.{tag}") if "customer_tag" in lists else None
        label(tier, "value_tier", f"value_tier.lift_tags.{tag}")
    method = get("abc", "method")
    if method not in ("share", "pareto"):
        raise ctx.fail("abc.method", "expected share or pareto")
    for m in ("share", "pareto"):
        th = ctx.mapping(get("abc", m), f"abc.{m}")
        for cls in ("A", "B"):
            if not isinstance(th.get(cls), (int, float)) or not 0 <= th[cls] <= 100:
                raise ctx.fail(f"abc.{m}.{cls}", "expected a percentage from 0 to 100")
    for s in ctx.seq(get("stage", "order"), "stage.order"):
        label(s, "stage", "stage.order")
    for s in ctx.seq(get("stage", "open_stages"), "stage.open_stages"):
        label(s, "deal_stage", "stage.open_stages")
    for s in ctx.seq(get("tags", "priority_deal_stages"), "tags.priority_deal_stages"):
        label(s, "deal_stage", "tags.priority_deal_stages")
    bands = ctx.seq(get("size_band", "bands"), "size_band.bands")
    for i, b in enumerate(bands):
        bm = ctx.mapping(b, f"size_band.bands[{i}]")
        label(bm.get("label"), "size_band", f"size_band.bands[{i}].label")
        if i < len(bands) - 1 and not isinstance(bm.get("max"), int):
            raise ctx.fail(f"size_band.bands[{i}].max", "every band but the last needs a whole-number `max`")
    d = get("checks", "date_min")
    if not isinstance(d, dt.date):
        raise ctx.fail("checks.date_min", "expected a date such as 1900-01-01")
    ctx.strings(get("checks", "not_applicable"), "checks.not_applicable")
    return raw


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
# The error texts are added as khbook learns new refusals; a copy made earlier must keep loading.
OPTIONAL_LABEL_AREAS = ("error_format", "errors", "error_hints", "cli_help", "cli_argparse", "console", "words", "macro_text", "template_text")


@cache
def _builtin_label_texts() -> dict[str, Text | TextList]:
    return _parse_labels(default_spec_dir())


def builtin_labels() -> dict[str, Text | TextList]:
    """The built-in labels.yaml (cached): the command line's words before any spec is loaded."""
    return _builtin_label_texts()


@cache
def _builtin_labels() -> dict[str, type]:
    return {k: type(v) for k, v in _builtin_label_texts().items()}


def _load_labels(directory: Path) -> dict[str, Text | TextList]:
    """labels.yaml: the UI texts by ``area.key``; a spec copy needs every entry of the built-in one
    (except in the :data:`OPTIONAL_LABEL_AREAS`, whose missing entries are the built-in ones)."""
    labels = _parse_labels(directory)
    if directory.resolve() != default_spec_dir().resolve():
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
    """Load and validate a spec directory (default: the built-in one)."""
    d = Path(directory) if directory is not None else default_spec_dir()
    if not d.is_dir():
        raise SpecError(str(d), "", "spec directory not found")
    lists = _load_lists(d)
    wb = _load_workbook(d, lists)
    checks = _load_checks(d)
    if d.resolve() != default_spec_dir().resolve():  # rules khbook learned after the copy was made
        checks = {**_builtin_checks(), **checks}
    rules = _load_rules(d, lists)
    regions = _load_regions(d, lists)
    reasons = _load_reasons(d)
    labels = _load_labels(d)
    return Spec(directory=d, lists=lists, rules=rules, checks=checks, regions=regions, reasons=reasons, labels=labels,
                **wb)
