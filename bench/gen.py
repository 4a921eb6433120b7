"""Generate large filled workbooks for benchmarks (XlsxWriter constant-memory mode).

Each customer has ~9 rows in all: 1 customer, 2 contacts, 3 follow-ups, 1 needs row,
2 deals. About 2 % of cells carry typical mistakes so the checks have work to do.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import xlsxwriter

from khbook.spec import Spec, load_spec

AS_OF = dt.date(2026, 11, 24)


def _uscc(rng: random.Random) -> str:
    from stdnum.cn import uscc

    body = "9144" + "".join(rng.choice("0123456789") for _ in range(4)) + "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(9))
    return body + uscc.calc_check_digit(body)


OWNERS = ["张伟", "李娜", "王强", "刘洋"]


def generate(path: Path, customers: int, spec: Spec | None = None, seed: int = 1, *, owner: str | None = None,
             id_prefix: str = "KH", shared: float = 0.0) -> Path:
    """Write a filled workbook. `owner` fixes the rep (default: random per customer);
    `shared` is the share of customers named like another rep's (cross-file duplicates)."""
    spec = spec or load_spec()
    rng = random.Random(seed)
    lists = {n: v.labels("zh") for n, v in spec.lists.items()}
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    datefmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    sheets = {s.key: wb.add_worksheet(s.name("zh")) for s in spec.sheets}
    for s in spec.sheets:
        for j, col in enumerate(s.columns):
            sheets[s.key].write_string(0, j, col.header("zh"))
    cols = {s.key: {c.key: j for j, c in enumerate(s.columns)} for s in spec.sheets}
    rows = {k: 1 for k in sheets}

    def put(sheet: str, values: dict) -> None:
        ws, r = sheets[sheet], rows[sheet]
        for key, v in values.items():
            j = cols[sheet][key]
            if isinstance(v, dt.date):
                ws.write_datetime(r, j, dt.datetime(v.year, v.month, v.day), datefmt)
            elif isinstance(v, (int, float)):
                ws.write_number(r, j, v)
            elif v is not None:
                ws.write_string(r, j, str(v))
        rows[sheet] += 1

    def day(n: int) -> dt.date:
        return AS_OF - dt.timedelta(days=n)

    for i in range(customers):
        cid = f"{id_prefix}{i:07d}"
        bad = rng.random() < 0.02
        rep = owner or rng.choice(OWNERS)
        name = f"共享示例客户{rng.randint(0, 200)}有限公司" if shared and rng.random() < shared else f"示例客户{id_prefix}{i}有限公司"
        put("customers", {
            "customer_id": cid, "name": name, "credit_code": _uscc(rng) if not bad else "91110000600037341M",
            "industry": rng.choice(lists["industry"]) if not bad else "新能源", "employees": rng.randint(5, 3000),
            "address": rng.choice(["广东省深圳市南山区", "上海市浦东新区", "北京市海淀区", "浙江省杭州市", "四川省成都市"]) + f"{i}号",
            "source": rng.choice(lists["source"]), "first_contact": day(rng.randint(200, 900)),
            "annual_amount": round(rng.uniform(0, 120), 2) if rng.random() < 0.7 else f"{rng.randint(1, 90)}万",
            "owner": rep,
        })
        for k in range(2):
            put("contacts", {"customer_id": cid, "name": f"联系人{i}-{k}", "mobile": f"13{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}" if not bad else "1395678",
                             "email": f"c{i}{k}@example.com", "decision_role": rng.choice(lists["decision_role"])})
        for k in range(3):
            d0 = rng.randint(1, 400)
            put("followups", {"customer_id": cid, "date": day(d0) if k else f"{day(d0):%Y/%m/%d}", "method": rng.choice(lists["followup_method"]),
                              "by": rep, "summary": "沟通需求与报价", "next_date": day(d0 - 20)})
        put("needs", {"customer_id": cid, "need_type": rng.choice(lists["need_type"]), "keywords": "降本增效；数字化转型",
                      "tags": rng.choice(lists["customer_tag"])})
        for _k in range(2):
            stage = rng.choice(lists["deal_stage"])
            put("deals", {"customer_id": cid, "project": f"项目{i}", "stage": stage, "expected_amount": rng.randint(1, 80),
                          "actual_amount": rng.randint(1, 80) if stage == "成交" else None,
                          "deal_date": day(rng.randint(1, 700)) if stage in ("成交", "流失") else None,
                          "loss_reason": "价格" if stage == "流失" else None, "updated": day(rng.randint(1, 300))})
    wb.close()
    return path
