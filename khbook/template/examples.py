"""Plausible fake example customers for ``khbook template --examples N``.

The records are deterministic for a seed and designed to pass every check of the spec:
obviously fake but distinct company names (示例 / Sample prefix), valid credit codes
(GB 32100 check character, GB 11714 organisation-code check digit), valid mainland mobiles
and landlines, reserved example.com e-mails, list values taken from the spec's lists,
amounts >= 0, and consistent dates relative to the as-of date: founded < first contact <=
every follow-up <= as-of, the latest follow-up within 60 days, the next follow-up in the
future, every won deal with an amount and a date, every lost deal with a reason.
Computed columns are left blank: khbook fills them.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import phonenumbers
import yaml
from stdnum.cn import uscc

from khbook.base.errors import SpecError
from khbook.spec import Spec, default_spec_dir

Record = dict[str, Any]
EXAMPLES_FILE = "examples.yaml"
SCENARIOS = 6  # see _Maker.customer


def _pair(v: Any) -> tuple[str, str]:
    return (str(v["zh"]), str(v["en"])) if isinstance(v, dict) else (str(v), str(v))


@dataclass(frozen=True)
class Pools:
    """templates/examples.yaml: what the fake customers are made of, (zh, en) pairs."""

    raw: dict[str, Any]

    def pairs(self, key: str) -> list[tuple[str, str]]:
        return [_pair(v) for v in self.raw[key]]

    def pair(self, key: str) -> tuple[str, str]:
        return _pair(self.raw[key])

    def by_label(self, key: str) -> dict[str, tuple[str, str]]:
        return {str(k): _pair(v) for k, v in (self.raw[key] or {}).items()}


def load_pools(spec: Spec) -> Pools:
    """The spec's examples.yaml (a spec copy without one uses the built-in file)."""
    own = spec.directory / EXAMPLES_FILE
    path = own if own.is_file() else default_spec_dir() / EXAMPLES_FILE
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SpecError(str(path), "", f"cannot read the example pools: {exc}") from None
    need = ("id_prefix", "name", "address", "project", "brands", "trades", "other_trade", "places", "people", "owners",
            "titles", "mobile_prefixes", "contact_roles", "primary", "summaries", "scenario_followups", "feedback",
            "needs", "other_need", "losses", "projects", "remark", "competitors")
    if not isinstance(raw, dict):
        raise SpecError(str(path), "", "expected a mapping")
    for key in need:
        if not raw.get(key):
            raise SpecError(str(path), key, "missing")
    if len(raw["scenario_followups"]) != SCENARIOS or any(len(k) not in (2, 3) for k in raw["scenario_followups"]):
        raise SpecError(str(path), "scenario_followups", f"expected {SCENARIOS} lists of 2 or 3 follow-up types")
    return Pools(raw)


class _Maker:
    """Builds one customer's rows on every sheet; all randomness from one seeded Random."""

    def __init__(self, spec: Spec, as_of: dt.date, lang: str, seed: int) -> None:
        self.spec, self.as_of, self.lang = spec, as_of, lang
        self.rng = random.Random(seed)
        self.pools = pools = load_pools(spec)
        self.places = pools.raw["places"]
        self.people = pools.raw["people"]
        self.brands = pools.pairs("brands")
        self.rng.shuffle(self.brands)
        self.seed = seed

    # ---------------------------------------------------------------- helpers
    def t(self, pair: tuple[str, str]) -> str:
        return pair[1] if self.lang == "en" else pair[0]

    def label(self, list_name: str, wanted: str | None = None) -> str | None:
        """`wanted` (canonical) in the template's language, else a random item of the list."""
        vl = self.spec.lists.get(list_name)
        if vl is None:
            return None
        if wanted is None or vl.canonical(wanted) != wanted:
            wanted = self.rng.choice(vl.items).zh
        return vl.translate(wanted, self.lang)

    def labels(self, list_name: str, k: int, skip: tuple[str, ...] = ()) -> str | None:
        vl = self.spec.lists.get(list_name)
        if vl is None:
            return None
        items = [i for i in vl.items if i.zh not in skip]
        picked = self.rng.sample(items, min(k, len(items)))
        return self.spec.reasons["list_sep"](self.lang).join(i.label(self.lang) for i in picked)

    def ago(self, lo: int, hi: int) -> dt.date:
        return self.as_of - dt.timedelta(days=self.rng.randint(lo, hi))

    def between(self, a: dt.date, b: dt.date) -> dt.date:
        return a + dt.timedelta(days=self.rng.randint(0, max(0, (b - a).days)))

    # ---------------------------------------------------------------- codes
    def credit_code(self, i: int, province: str) -> str:
        code = str(self.spec.regions.get("provinces", {}).get(province, {}).get("code", "44"))
        body = str(10_000_000 + (i * 7919 + self.seed * 104_729) % 90_000_000)
        org = body + _org_check(body)
        first17 = "91" + code + "0100" + org
        return first17 + uscc.calc_check_digit(first17)

    def mobile(self) -> str:
        prefixes = [str(p) for p in self.pools.raw["mobile_prefixes"]]
        return self._valid_phone(lambda: self.rng.choice(prefixes) + f"{self.rng.randrange(10**8):08d}")

    def landline(self, area: str) -> str:
        return self._valid_phone(lambda: f"{area}-{self.rng.randint(2, 8)}{self.rng.randrange(10**7):07d}")

    @staticmethod
    def _valid_phone(make: Callable[[], str]) -> str:
        """A made-up number the phone checks accept (numbering plans have gaps: retry)."""
        for _ in range(50):
            number = make()
            if phonenumbers.is_valid_number(phonenumbers.parse(number, "CN")):
                return number
        raise RuntimeError("could not make a valid example phone number")

    def region(self, province: str) -> str | None:
        for region, shorts in (self.spec.regions.get("regions") or {}).items():
            if province in (shorts or []):
                return self.label("region", str(region)) if "region" in self.spec.lists else None
        return None

    def size_band(self, employees: int) -> str | None:
        for b in self.spec.rules.size_band.bands:
            if b.max is None or employees < b.max:
                return self.label("size_band", b.label)
        return None

    # ---------------------------------------------------------------- one customer
    def customer(self, i: int, n: int) -> dict[str, list[Record]]:
        """Rows for customer i on every sheet. Scenarios rotate: long-term won, recently won,
        open negotiation, lost then a new lead, lost, first contacts without a deal yet."""
        scenario = i % SCENARIOS
        cid = f"{self.pools.raw['id_prefix']}{self.as_of.year}{i + 1:0{max(3, len(str(n)))}d}"
        brand = self.brands[i % len(self.brands)]
        suffix = "" if i < len(self.brands) else str(i // len(self.brands) + 1)
        industry = self.label("industry")
        canon_industry = self.spec.lists["industry"].canonical(industry or "") if "industry" in self.spec.lists else None
        trade = self.pools.by_label("trades").get(canon_industry or "", self.pools.pair("other_trade"))
        place = self.places[(i + self.seed) % len(self.places)]
        owners = self.pools.pairs("owners")
        owner = self.t(owners[i % len(owners)])
        first_contact = self.ago(*{0: (500, 900), 1: (150, 300), 2: (40, 200), 3: (200, 400), 4: (200, 400),
                                   5: (20, 120)}[scenario])
        deals = self.deals(scenario, cid, brand, first_contact)
        won = [d for d in deals if d["stage"] == self.label("deal_stage", self._won)]
        employees = self.rng.choice([35, 80, 120, 260, 480, 900, 1500])
        name = self.t(self.pools.pair("name")).format(brand=self.t(brand), suffix=suffix, trade=self.t(trade))
        address = self.t(self.pools.pair("address")).format(
            prefix=place["prefix"], street=place["street"], number=self.rng.randint(1, 300), city=place["city"])
        annual = round(sum(d["actual_amount"] for d in won if d["deal_date"] > self.as_of - dt.timedelta(days=365)), 1)
        customer: Record = {
            "customer_id": cid, "name": name, "credit_code": self.credit_code(i, place["province"]), "industry": industry,
            "employees": employees, "size_band": self.size_band(employees), "address": address,
            "region": self.region(place["province"]),
            "founded": first_contact - dt.timedelta(days=365 * self.rng.randint(3, 20) + self.rng.randint(0, 300)),
            "source": self.label("source"), "first_contact": first_contact,
            "coop_start": min(d["deal_date"] for d in won) if won else None,
            "annual_amount": annual if won else None, "owner": owner, "remark": self.t(self.pools.pair("remark")),
        }
        return {
            "customers": [customer],
            "contacts": self.contacts(i, cid, place),
            "followups": self.followups(scenario, cid, owner, first_contact),
            "needs": [self.need(cid, lift=bool(won))],
            "deals": deals,
        }

    @property
    def _won(self) -> str:
        return self.spec.rules.stage.won_stage

    def contacts(self, i: int, cid: str, place: dict[str, Any]) -> list[Record]:
        rows = []
        roles, primary = self.pools.raw["contact_roles"], self.pools.raw["primary"]
        for k in range(1 + (i % 2 == 0)):
            person = self.people[(2 * i + k + self.seed) % len(self.people)]
            mail = str(person["mail"])
            rows.append({
                "customer_id": cid, "name": self.t(_pair(person)),
                "title": self.t(self.rng.choice(self.pools.pairs("titles"))), "mobile": self.mobile(),
                "landline": self.landline(str(place["area_code"])) if k == 0 else None,
                "email": f"{mail}.{i + 1}@example.com",
                "wechat": f"wx_{mail.replace('.', '_')}_{i + 1}",
                "decision_role": self.label("decision_role", str(roles[min(k, len(roles) - 1)])),
                "comm_pref": self.label("comm_pref"), "primary": self.label("yes_no", str(primary[min(k, len(primary) - 1)])),
            })
        return rows

    def followups(self, scenario: int, cid: str, owner: str, first_contact: dt.date) -> list[Record]:
        last = self.ago(2, min(45, (self.as_of - first_contact).days - 2))
        kinds = [str(k) for k in self.pools.raw["scenario_followups"][scenario]]
        summaries = self.pools.by_label("summaries")
        feedbacks = self.pools.raw["feedback"]
        dates = [first_contact]
        if len(kinds) == 3:
            dates.append(self.between(first_contact + dt.timedelta(days=1), last - dt.timedelta(days=1)))
        dates.append(last)
        rows = []
        for k, (kind, date) in enumerate(zip(kinds, dates, strict=True)):
            latest = k == len(kinds) - 1
            nxt = self.as_of + dt.timedelta(days=self.rng.randint(7, 30)) if latest else dates[k + 1]
            feedback = str(feedbacks.get(kind, feedbacks["default"]))
            rows.append({
                "customer_id": cid, "date": date, "method": self.label("followup_method"), "by": owner,
                "kind": self.label("followup_type", kind), "summary": self.t(summaries[kind]),
                "feedback": self.label("feedback", feedback), "next_date": nxt,
            })
        return rows

    def need(self, cid: str, *, lift: bool) -> Record:
        """One need row; only a customer with a won deal may carry a tag that lifts its value tier."""
        need_type = self.label("need_type")
        canon = self.spec.lists["need_type"].canonical(need_type or "") if "need_type" in self.spec.lists else ""
        return {
            "customer_id": cid, "need_type": need_type,
            "description": self.t(self.pools.by_label("needs").get(canon or "", self.pools.pair("other_need"))),
            "keywords": self.labels("need_keyword", self.rng.randint(1, 2)), "priority": self.label("priority"),
            "budget": self.label("budget"), "frequency": self.label("frequency"),
            "tags": self.labels("customer_tag", self.rng.randint(1, 2), skip=() if lift else tuple(self.spec.rules.value_tier.lift_tags)), "competitors": self.t(self.pools.pair("competitors")),
        }

    def deals(self, scenario: int, cid: str, brand: tuple[str, str], first_contact: dt.date) -> list[Record]:
        stage = self.spec.rules.stage
        rows: list[Record] = []

        def deal(stage_label: str, *, date: dt.date | None = None, amount: float | None = None,
                 reason: tuple[str, str] | None = None) -> None:
            project = self.rng.choice(self.pools.pairs("projects"))
            expected = round(self.rng.uniform(5, 120), 1)
            name = self.t(self.pools.pair("project")).format(brand=self.t(brand), project=self.t(project))
            updated = date if date else self.ago(1, 20)
            rows.append({
                "customer_id": cid, "project": name, "stage": self.label("deal_stage", stage_label),
                "expected_amount": expected, "actual_amount": amount, "deal_date": date,
                "loss_reason": self.t(reason) if reason else None, "updated": updated,
            })

        won, lost = stage.won_stage, stage.lost_stage
        open_stages = list(stage.open_stages) or [won]
        if scenario == 0:
            deal(won, date=first_contact + dt.timedelta(days=self.rng.randint(30, 90)), amount=round(self.rng.uniform(20, 90), 1))
            deal(won, date=self.ago(20, 200), amount=round(self.rng.uniform(10, 60), 1))
        elif scenario == 1:
            deal(won, date=first_contact + dt.timedelta(days=self.rng.randint(20, 60)), amount=round(self.rng.uniform(3, 40), 1))
        elif scenario == 2:
            deal(self.rng.choice(open_stages[-2:]))
        elif scenario in (3, 4):
            deal(lost, date=first_contact + dt.timedelta(days=self.rng.randint(30, 90)),
                 reason=self.rng.choice(self.pools.pairs("losses")))
            if scenario == 3:
                deal(open_stages[0])
        return rows


def _org_check(body: str) -> str:
    """GB 11714 check digit of an 8-digit organisation code body."""
    total = sum(int(c) * w for c, w in zip(body, (3, 7, 9, 10, 5, 8, 4, 2), strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def example_records(spec: Spec, n: int, *, as_of: dt.date, lang: str = "zh", seed: int = 0) -> dict[str, list[Record]]:
    """`n` fake customers: sheet key -> rows of field key -> value (dates as dates, amounts as numbers)."""
    maker = _Maker(spec, as_of, lang, seed)
    out: dict[str, list[Record]] = {s.key: [] for s in spec.sheets}
    for i in range(n):
        for key, rows in maker.customer(i, n).items():
            if key in out:
                out[key].extend(_only_known(spec, key, r) for r in rows)
    return out


def _only_known(spec: Spec, sheet_key: str, record: Record) -> Record:
    """Drop fields the spec's sheet does not have, and computed ones (khbook fills those)."""
    sheet = spec.sheet(sheet_key)
    return {k: v for k, v in record.items() if sheet.has(k) and not sheet.column(k).computed}
