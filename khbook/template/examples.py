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
from typing import Any

import phonenumbers
from stdnum.cn import uscc

from khbook.spec import Spec

Record = dict[str, Any]

# (zh, en) pools; the zh side is canonical where it names a list item
_BRANDS = [("华信", "Huaxin"), ("远航", "Yuanhang"), ("星辰", "Xingchen"), ("恒泰", "Hengtai"), ("博雅", "Boya"),
           ("启明", "Qiming"), ("蓝海", "Lanhai"), ("鼎盛", "Dingsheng"), ("嘉禾", "Jiahe"), ("云帆", "Yunfan"),
           ("正和", "Zhenghe"), ("宏图", "Hongtu"), ("瑞丰", "Ruifeng"), ("安达", "Anda"), ("汇通", "Huitong"),
           ("明德", "Mingde"), ("新程", "Xincheng"), ("智远", "Zhiyuan"), ("青禾", "Qinghe"), ("晨光", "Chenguang")]
_TRADES = {"制造业": ("精密制造", "Precision Manufacturing"), "零售业": ("商贸", "Trading"),
           "服务业": ("企业服务", "Business Services"), "互联网": ("网络科技", "Online Technology"),
           "科技业": ("信息技术", "Information Technology"), "金融": ("金融服务", "Financial Services"),
           "物流": ("供应链管理", "Supply Chain"), "医疗": ("医疗器械", "Medical Devices"),
           "教育": ("教育科技", "Education Technology")}
# (province short, full address prefix, street, landline area code, English city)
_PLACES = [("粤", "广东省深圳市南山区", "科技园路", "0755", "Shenzhen"), ("沪", "上海市浦东新区", "张江路", "021", "Shanghai"),
           ("京", "北京市海淀区", "中关村大街", "010", "Beijing"), ("浙", "浙江省杭州市西湖区", "文三路", "0571", "Hangzhou"),
           ("苏", "江苏省南京市鼓楼区", "中山北路", "025", "Nanjing"), ("川", "四川省成都市武侯区", "天府大道", "028", "Chengdu"),
           ("鄂", "湖北省武汉市洪山区", "珞喻路", "027", "Wuhan"), ("鲁", "山东省青岛市市南区", "香港中路", "0532", "Qingdao"),
           ("辽", "辽宁省大连市中山区", "人民路", "0411", "Dalian"), ("陕", "陕西省西安市雁塔区", "科技路", "029", "Xi'an")]
_PEOPLE = [("王磊", "Wang Lei", "wang.lei"), ("李娜", "Li Na", "li.na"), ("张伟", "Zhang Wei", "zhang.wei"),
           ("刘洋", "Liu Yang", "liu.yang"), ("陈静", "Chen Jing", "chen.jing"), ("杨帆", "Yang Fan", "yang.fan"),
           ("赵敏", "Zhao Min", "zhao.min"), ("黄勇", "Huang Yong", "huang.yong"), ("周婷", "Zhou Ting", "zhou.ting"),
           ("吴强", "Wu Qiang", "wu.qiang"), ("徐丽", "Xu Li", "xu.li"), ("孙浩", "Sun Hao", "sun.hao")]
_OWNERS = [("王晓明", "Wang Xiaoming"), ("林芳", "Lin Fang")]
_TITLES = [("总经理", "General manager"), ("采购经理", "Purchasing manager"), ("IT主管", "IT lead"),
           ("财务总监", "Finance director"), ("运营经理", "Operations manager")]
_MOBILE_PREFIXES = ["135", "136", "137", "138", "139", "150", "151", "152", "158", "159", "177", "186", "187", "188", "189"]
_SUMMARIES = {
    "首次沟通": ("初次电话沟通，介绍公司产品，了解客户业务和采购流程。", "First call: introduced our products, learned how they buy."),
    "需求确认": ("与客户确认需求范围、预算和时间安排。", "Confirmed scope, budget and timing with the customer."),
    "方案跟进": ("发送方案并解答技术问题，客户内部评估中。", "Sent the proposal and answered technical questions."),
    "商务谈判": ("就价格和付款方式进行谈判，双方接近一致。", "Negotiated price and payment terms; close to agreement."),
    "售后回访": ("回访使用情况，客户总体满意，提出两点改进建议。", "After-sales call: customer satisfied, two suggestions noted."),
}
_NEEDS = {"采购产品": ("采购一批设备替换旧系统。", "Replace an old system with new equipment."),
          "寻求合作": ("希望在华东区域联合推广。", "Joint promotion in East China."),
          "咨询服务": ("需要流程梳理和实施咨询。", "Process review and implementation advice."),
          "技术合作": ("联合开发数据接口。", "Joint development of a data interface."),
          "售后服务": ("需要延长维保服务。", "Extended maintenance."),}
_LOSS = [("价格高于竞品", "Price above a competitor"), ("客户预算取消", "Customer budget cancelled"),
         ("选择了现有供应商", "Stayed with the current supplier")]
_PROJECTS = [("设备升级", "equipment upgrade"), ("年度采购", "annual purchase"), ("系统实施", "system rollout"),
             ("维保续约", "maintenance renewal")]
_REMARK = ("示例数据，正式使用前请删除。", "Sample row: delete before real use.")
_COMPETITORS = ("示例竞品甲", "Competitor A (sample)")


class _Maker:
    """Builds one customer's rows on every sheet; all randomness from one seeded Random."""

    def __init__(self, spec: Spec, as_of: dt.date, lang: str, seed: int) -> None:
        self.spec, self.as_of, self.lang = spec, as_of, lang
        self.rng = random.Random(seed)
        self.brands = list(_BRANDS)
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

    def labels(self, list_name: str, k: int) -> str | None:
        vl = self.spec.lists.get(list_name)
        if vl is None:
            return None
        picked = self.rng.sample(vl.items, min(k, len(vl.items)))
        return ("; " if self.lang == "en" else "、").join(i.label(self.lang) for i in picked)

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
        return self._valid_phone(lambda: self.rng.choice(_MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}")

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
        bands = self.spec.rules.get("size_band", {}).get("bands", [])
        for b in bands:
            if b.get("max") is None or employees < b["max"]:
                return self.label("size_band", b["label"])
        return None

    # ---------------------------------------------------------------- one customer
    def customer(self, i: int, n: int) -> dict[str, list[Record]]:
        """Rows for customer i on every sheet. Scenarios rotate: long-term won, recently won,
        open negotiation, lost then a new lead."""
        scenario = i % 4
        cid = f"KH{self.as_of.year}{i + 1:0{max(3, len(str(n)))}d}"
        brand = self.brands[i % len(self.brands)]
        suffix = "" if i < len(self.brands) else str(i // len(self.brands) + 1)
        industry = self.label("industry")
        canon_industry = self.spec.lists["industry"].canonical(industry or "") if "industry" in self.spec.lists else None
        trade = _TRADES.get(canon_industry or "", ("实业", "Industries"))
        place = _PLACES[(i + self.seed) % len(_PLACES)]
        owner = self.t(_OWNERS[i % len(_OWNERS)])
        first_contact = self.ago(*{0: (500, 900), 1: (150, 300), 2: (40, 200), 3: (200, 400)}[scenario])
        deals = self.deals(scenario, cid, brand, first_contact)
        won = [d for d in deals if d["stage"] == self.label("deal_stage", self._won)]
        employees = self.rng.choice([35, 80, 120, 260, 480, 900, 1500])
        if self.lang == "en":
            name = f"Sample {brand[1]}{suffix} {trade[1]} Co., Ltd."
            address = f"{self.rng.randint(1, 300)} {place[4]} Rd, {place[4]}, China"
        else:
            name = f"示例{brand[0]}{suffix}{trade[0]}有限公司"
            address = f"{place[1]}{place[2]}{self.rng.randint(1, 300)}号"
        annual = round(sum(d["actual_amount"] for d in won if d["deal_date"] > self.as_of - dt.timedelta(days=365)), 1)
        customer: Record = {
            "customer_id": cid, "name": name, "credit_code": self.credit_code(i, place[0]), "industry": industry,
            "employees": employees, "size_band": self.size_band(employees), "address": address,
            "region": self.region(place[0]),
            "founded": first_contact - dt.timedelta(days=365 * self.rng.randint(3, 20) + self.rng.randint(0, 300)),
            "source": self.label("source"), "first_contact": first_contact,
            "coop_start": min(d["deal_date"] for d in won) if won else None,
            "annual_amount": annual if won else None, "owner": owner, "remark": self.t(_REMARK),
        }
        return {
            "customers": [customer],
            "contacts": self.contacts(i, cid, place),
            "followups": self.followups(scenario, cid, owner, first_contact),
            "needs": [self.need(cid)],
            "deals": deals,
        }

    @property
    def _won(self) -> str:
        return str(self.spec.rules["stage"]["won_stage"])

    def contacts(self, i: int, cid: str, place: tuple[str, ...]) -> list[Record]:
        rows = []
        for k in range(1 + (i % 2 == 0)):
            person = _PEOPLE[(2 * i + k + self.seed) % len(_PEOPLE)]
            rows.append({
                "customer_id": cid, "name": person[1] if self.lang == "en" else person[0],
                "title": self.t(self.rng.choice(_TITLES)), "mobile": self.mobile(),
                "landline": self.landline(place[3]) if k == 0 else None,
                "email": f"{person[2]}.{i + 1}@example.com",
                "wechat": f"wx_{person[2].replace('.', '_')}_{i + 1}",
                "decision_role": self.label("decision_role", "决策者" if k == 0 else "使用者"),
                "comm_pref": self.label("comm_pref"), "primary": self.label("yes_no", "是" if k == 0 else "否"),
            })
        return rows

    def followups(self, scenario: int, cid: str, owner: str, first_contact: dt.date) -> list[Record]:
        last = self.ago(2, min(45, (self.as_of - first_contact).days - 2))
        kinds = {0: ["首次沟通", "方案跟进", "售后回访"], 1: ["首次沟通", "商务谈判", "售后回访"],
                 2: ["首次沟通", "需求确认", "商务谈判"], 3: ["首次沟通", "需求确认"]}[scenario]
        dates = [first_contact]
        if len(kinds) == 3:
            dates.append(self.between(first_contact + dt.timedelta(days=1), last - dt.timedelta(days=1)))
        dates.append(last)
        rows = []
        for k, (kind, date) in enumerate(zip(kinds, dates, strict=True)):
            latest = k == len(kinds) - 1
            nxt = self.as_of + dt.timedelta(days=self.rng.randint(7, 30)) if latest else dates[k + 1]
            feedback = "已下单" if kind == "售后回访" else ("需进一步评估" if kind == "需求确认" else "感兴趣")
            rows.append({
                "customer_id": cid, "date": date, "method": self.label("followup_method"), "by": owner,
                "kind": self.label("followup_type", kind), "summary": self.t(_SUMMARIES[kind]),
                "feedback": self.label("feedback", feedback), "next_date": nxt,
            })
        return rows

    def need(self, cid: str) -> Record:
        need_type = self.label("need_type")
        canon = self.spec.lists["need_type"].canonical(need_type or "") if "need_type" in self.spec.lists else ""
        return {
            "customer_id": cid, "need_type": need_type,
            "description": self.t(_NEEDS.get(canon or "", ("提升整体运营效率。", "Run operations more efficiently."))),
            "keywords": self.labels("need_keyword", self.rng.randint(1, 2)), "priority": self.label("priority"),
            "budget": self.label("budget"), "frequency": self.label("frequency"),
            "tags": self.labels("customer_tag", self.rng.randint(1, 2)), "competitors": self.t(_COMPETITORS),
        }

    def deals(self, scenario: int, cid: str, brand: tuple[str, str], first_contact: dt.date) -> list[Record]:
        stage = self.spec.rules["stage"]
        rows: list[Record] = []

        def deal(stage_label: str, *, date: dt.date | None = None, amount: float | None = None,
                 reason: tuple[str, str] | None = None) -> None:
            project = self.rng.choice(_PROJECTS)
            expected = round(self.rng.uniform(5, 120), 1)
            name = f"{brand[1]} {project[1]}" if self.lang == "en" else f"{brand[0]}{project[0]}项目"
            updated = date if date else self.ago(1, 20)
            rows.append({
                "customer_id": cid, "project": name, "stage": self.label("deal_stage", stage_label),
                "expected_amount": expected, "actual_amount": amount, "deal_date": date,
                "loss_reason": self.t(reason) if reason else None, "updated": updated,
            })

        won, lost = str(stage["won_stage"]), str(stage["lost_stage"])
        open_stages = [str(s) for s in stage.get("open_stages", [])] or ["线索"]
        if scenario == 0:
            deal(won, date=first_contact + dt.timedelta(days=self.rng.randint(30, 90)), amount=round(self.rng.uniform(20, 90), 1))
            deal(won, date=self.ago(20, 200), amount=round(self.rng.uniform(10, 60), 1))
        elif scenario == 1:
            deal(won, date=first_contact + dt.timedelta(days=self.rng.randint(20, 60)), amount=round(self.rng.uniform(3, 40), 1))
        elif scenario == 2:
            deal(self.rng.choice(open_stages[-2:]))
        else:
            deal(lost, date=first_contact + dt.timedelta(days=self.rng.randint(30, 90)), reason=self.rng.choice(_LOSS))
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
