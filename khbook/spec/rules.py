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
