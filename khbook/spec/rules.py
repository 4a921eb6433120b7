"""The typed rules of a spec (templates/rules.yaml): thresholds, windows and labels.

Frozen dataclasses built and validated once by :func:`khbook.spec.load.load_spec`; every
engine reads them by attribute (``spec.rules.checks.stale_followup_days``), none by string
key. Labels are the canonical (Chinese) items of lists.yaml; amounts are in 万元 as
:class:`~decimal.Decimal`, percentages as :class:`~fractions.Fraction`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from khbook.base.errors import SpecError
from khbook.spec.ctx import Ctx, read_yaml
from khbook.spec.model import Sheet, ValueList

# The stage list's items by position (lists.yaml `stage`): the classifier's own names for them.
STAGE_KEYS = ("churned", "churn_risk", "long_term", "active", "prospect", "potential")
# The status tags the classifier computes (rules.yaml `tags`: key -> label).
TAG_KEYS = ("priority", "followup_due", "dormant", "churn_risk", "stable", "incomplete",
            "complex_decision", "simple_decision")
ABC_METHODS = ("share", "pareto")
ABC_BASES = ("book", "company")


@dataclass(frozen=True)
class AnnualAmountRules:
    """年交易额: the column, else the won deals' actual amounts within the window."""

    window_days: int
    won_stage: str


@dataclass(frozen=True)
class Tier:
    label: str
    min: Decimal  # 万元: the tier holds from this amount up


@dataclass(frozen=True)
class ValueTierRules:
    tiers: tuple[Tier, ...]  # from the highest threshold down
    lift_tags: dict[str, str]  # customer tag -> the tier it lifts to
    unknown: str


@dataclass(frozen=True)
class AbcThresholds:
    A: Fraction  # percent
    B: Fraction


@dataclass(frozen=True)
class AbcRules:
    """客户等级(ABC): ``method`` share or pareto over a base (the book's total, or a company total)."""

    method: str
    share: AbcThresholds
    pareto: AbcThresholds
    fallback: str
    unknown: str
    base: str = "book"
    company_total: Decimal | None = None  # 万元, when base is "company"

    @property
    def thresholds(self) -> AbcThresholds:
        return self.share if self.method == "share" else self.pareto


@dataclass(frozen=True)
class StageRules:
    order: tuple[str, ...]  # stage labels, evaluated in this order
    won_stage: str
    lost_stage: str
    open_stages: tuple[str, ...]
    churn_risk_days: int
    long_term_days: int
    labels: dict[str, str] = field(default_factory=dict)  # STAGE_KEYS -> stage label (list order)

    @property
    def keys_in_order(self) -> list[str]:
        """The STAGE_KEYS in evaluation order (potential always last)."""
        by_label = {v: k for k, v in self.labels.items()}
        keys = [by_label[s] for s in self.order if s in by_label]
        return keys if "potential" in keys else [*keys, "potential"]


@dataclass(frozen=True)
class TagRules:
    labels: dict[str, str]  # TAG_KEYS -> status tag label
    priority_deal_stages: tuple[str, ...]
    dormant_days: int
    stable_days: int
    complex_roles: int
    # stage label -> tags such a customer never gets (applied after the tags are computed)
    exclusions: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # stage label -> customers-sheet column keys that 资料不全 does not expect at that stage
    not_expected: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class SizeBand:
    label: str
    max: int | None  # employees below this; None for the last band


@dataclass(frozen=True)
class SizeBandRules:
    method: str
    bands: tuple[SizeBand, ...]


@dataclass(frozen=True)
class CheckRules:
    stale_followup_days: int
    quality_followup_days: int
    date_min: dt.date
    date_max_years_ahead: int
    not_applicable: tuple[str, ...]


@dataclass(frozen=True)
class AmountUnitRules:
    """A bare number in a 万元 column that looks typed in yuan (疑似按元填写).

    Suspect when it is at least ``min_value`` and at least ``median_factor`` times the
    median of the column's other positive amounts in the book (or there are none).
    """

    min_value: Decimal = Decimal(10000)
    median_factor: Decimal = Decimal(100)


@dataclass(frozen=True)
class Rules:
    annual_amount: AnnualAmountRules
    value_tier: ValueTierRules
    abc: AbcRules
    stage: StageRules
    tags: TagRules
    size_band: SizeBandRules
    checks: CheckRules
    amount_unit: AmountUnitRules = AmountUnitRules()


# --------------------------------------------------------------------------- loading


def load_rules(directory: Path, lists: dict[str, ValueList], sheets: tuple[Sheet, ...]) -> Rules:
    """rules.yaml -> :class:`Rules` (every key checked, labels against their lists)."""
    ctx = Ctx(directory / "rules.yaml")
    raw = ctx.mapping(read_yaml(directory, "rules.yaml"), "")
    for needed in ("value_tier", "abc_class", "stage", "status_tag", "deal_stage", "size_band"):
        if needed not in lists:
            raise SpecError(str(directory / "lists.yaml"), needed, "the classification needs this list")

    def section(name: str, *, optional: bool = False) -> dict[str, Any]:
        if optional and raw.get(name) is None:
            return {}
        return ctx.mapping(raw.get(name), name)

    def get(sec: str, key: str) -> Any:
        m = section(sec)
        if key not in m:
            raise ctx.fail(f"{sec}.{key}", "missing")
        return m[key]

    def label(value: Any, list_name: str, key: str) -> str:
        if list_name not in lists:
            return str(value)
        if not isinstance(value, str) or lists[list_name].canonical(value) != value:
            raise ctx.fail(key, f"{value!r} is not an item of list {list_name!r} ({', '.join(lists[list_name].labels())})")
        return value

    def labels(value: Any, list_name: str, key: str) -> tuple[str, ...]:
        return tuple(label(v, list_name, key) for v in ctx.seq(value, key))

    def days(sec: str, key: str) -> int:
        v = get(sec, key)
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise ctx.fail(f"{sec}.{key}", "expected a whole number >= 0")
        return v

    def number(value: Any, key: str, what: str) -> Decimal:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise ctx.fail(key, f"expected a number ({what})")
        return Decimal(str(value))

    annual = AnnualAmountRules(days("annual_amount", "window_days"),
                               label(get("annual_amount", "won_stage"), "deal_stage", "annual_amount.won_stage"))

    tiers: list[Tier] = []
    for i, t in enumerate(ctx.seq(get("value_tier", "tiers"), "value_tier.tiers")):
        tm = ctx.mapping(t, f"value_tier.tiers[{i}]")
        lo = number(tm.get("min"), f"value_tier.tiers[{i}].min", "in 10k CNY")
        if tiers and lo >= tiers[-1].min:
            raise ctx.fail(f"value_tier.tiers[{i}].min", "tiers must be listed from the highest threshold down")
        tiers.append(Tier(label(tm.get("label"), "value_tier", f"value_tier.tiers[{i}].label"), lo))
    lift = {label(tag, "customer_tag", f"value_tier.lift_tags.{tag}"): label(tier, "value_tier", f"value_tier.lift_tags.{tag}")
            for tag, tier in ctx.mapping(get("value_tier", "lift_tags") or {}, "value_tier.lift_tags").items()}
    value_tier = ValueTierRules(tuple(tiers), lift, label(get("value_tier", "unknown"), "value_tier", "value_tier.unknown"))

    method = get("abc", "method")
    if method not in ABC_METHODS:
        raise ctx.fail("abc.method", "expected " + " or ".join(ABC_METHODS))
    th = {}
    for m in ABC_METHODS:
        tm = ctx.mapping(get("abc", m), f"abc.{m}")
        for cls in ("A", "B"):
            if not isinstance(tm.get(cls), (int, float)) or isinstance(tm.get(cls), bool) or not 0 <= tm[cls] <= 100:
                raise ctx.fail(f"abc.{m}.{cls}", "expected a percentage from 0 to 100")
        th[m] = AbcThresholds(Fraction(str(tm["A"])), Fraction(str(tm["B"])))
    abc_sec = section("abc")
    base = abc_sec.get("base", "book")
    if base not in ABC_BASES:
        raise ctx.fail("abc.base", "expected " + " or ".join(ABC_BASES))
    total = abc_sec.get("company_total")
    company_total = None if total is None else number(total, "abc.company_total", "in 10k CNY")
    if base == "company" and (company_total is None or company_total <= 0):
        raise ctx.fail("abc.company_total", "base company needs the company's annual revenue in 10k CNY (a number > 0)")
    abc = AbcRules(method, th["share"], th["pareto"], label(get("abc", "fallback"), "abc_class", "abc.fallback"),
                   label(get("abc", "unknown"), "abc_class", "abc.unknown"), base, company_total)

    stage_items = lists["stage"].labels("zh")
    if len(stage_items) < len(STAGE_KEYS):
        raise SpecError(str(directory / "lists.yaml"), "stage",
                        f"the stage list needs {len(STAGE_KEYS)} items ({', '.join(STAGE_KEYS)}, in this order)")
    stage = StageRules(labels(get("stage", "order"), "stage", "stage.order"),
                       label(get("stage", "won_stage"), "deal_stage", "stage.won_stage"),
                       label(get("stage", "lost_stage"), "deal_stage", "stage.lost_stage"),
                       labels(get("stage", "open_stages"), "deal_stage", "stage.open_stages"),
                       days("stage", "churn_risk_days"), days("stage", "long_term_days"),
                       dict(zip(STAGE_KEYS, stage_items, strict=False)))

    tag_labels = {k: label(get("tags", k), "status_tag", f"tags.{k}") for k in TAG_KEYS}
    customer_keys = {c.key for s in sheets if s.key == "customers" for c in s.columns}
    exclusions = {label(st, "stage", f"tags.exclusions.{st}"): labels(tags, "status_tag", f"tags.exclusions.{st}")
                  for st, tags in ctx.mapping(section("tags").get("exclusions") or {}, "tags.exclusions").items()}
    not_expected: dict[str, tuple[str, ...]] = {}
    for st, keys in ctx.mapping(section("tags").get("not_expected") or {}, "tags.not_expected").items():
        where = f"tags.not_expected.{st}"
        fields = ctx.strings(keys, where)
        for k in fields:
            if k not in customer_keys:
                raise ctx.fail(where, f"{k!r} is not a column key of the customers sheet (workbook.yaml)")
        not_expected[label(st, "stage", where)] = fields
    tags = TagRules(tag_labels, labels(get("tags", "priority_deal_stages"), "deal_stage", "tags.priority_deal_stages"),
                    days("tags", "dormant_days"), days("tags", "stable_days"), days("tags", "complex_roles"),
                    exclusions, not_expected)

    bands: list[SizeBand] = []
    raw_bands = ctx.seq(get("size_band", "bands"), "size_band.bands")
    for i, b in enumerate(raw_bands):
        bm = ctx.mapping(b, f"size_band.bands[{i}]")
        mx = bm.get("max")
        if i < len(raw_bands) - 1 and (not isinstance(mx, int) or isinstance(mx, bool)):
            raise ctx.fail(f"size_band.bands[{i}].max", "every band but the last needs a whole-number `max`")
        bands.append(SizeBand(label(bm.get("label"), "size_band", f"size_band.bands[{i}].label"),
                              mx if isinstance(mx, int) and not isinstance(mx, bool) else None))
    size = SizeBandRules(str(section("size_band").get("method", "employees")), tuple(bands))

    d = get("checks", "date_min")
    if not isinstance(d, dt.date):
        raise ctx.fail("checks.date_min", "expected a date such as 1900-01-01")
    checks = CheckRules(days("checks", "stale_followup_days"), days("checks", "quality_followup_days"), d,
                        days("checks", "date_max_years_ahead"),
                        ctx.strings(get("checks", "not_applicable"), "checks.not_applicable"))

    unit_sec, default_unit = section("amount_unit", optional=True), AmountUnitRules()
    unit = AmountUnitRules(*(number(unit_sec[k], f"amount_unit.{k}", "in 10k CNY" if k == "min_value" else "a multiple")
                             if k in unit_sec else getattr(default_unit, k) for k in ("min_value", "median_factor")))
    return Rules(annual, value_tier, abc, stage, tags, size, checks, unit)
