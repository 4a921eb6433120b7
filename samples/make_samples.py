"""Make the sample workbooks in samples/: a rep's messy, weeks-old customer workbook.

Starts from the generated template (as a new hire gets it) and fills it the way reps do:
a title row above the headers, columns reordered and renamed to aliases, an extra column
and an extra sheet, dates typed three ways, amounts as "50万" and "¥500,000", phones with
+86 and spaces, rows pasted with full-width characters, blank rows in between, and a
handful of real mistakes. Deterministic: the same content on every run.

    python samples/make_samples.py samples            # writes samples/messy_filled.xlsx
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
from pathlib import Path

import openpyxl
from openpyxl.utils import get_column_letter

from khbook.spec import load_spec
from khbook.template.writer import write_template

AS_OF = dt.date(2026, 11, 24)


def d(days_ago: int) -> dt.date:
    return AS_OF - dt.timedelta(days=days_ago)


CUSTOMERS = [
    # id, name, credit code, industry, employees, address, source, first contact, coop start, annual, owner
    ("KH2024001", "上海示例精密制造有限公司", "91310000MA1FL0XK25", "制造业", 820, "上海市浦东新区张江路100号", "展会", d(700), d(600), "62万", "张伟"),
    ("KH2024002", "深圳示例云计算科技有限公司", "9144030071526726XG", "科技业", 260, "广东省深圳市南山区科技园路1号", "线上咨询", d(400), d(380), 35, "张伟"),
    ("KH2024003", "杭州示例零售连锁股份有限公司", "暂无", "零售", 1200, "浙江省杭州市西湖区文三路8号", "渠道推荐", d(300), None, "¥500,000", "张伟"),
    ("KH2024004", "北京示例物流有限公司", "91110000600037341L", "物流", 45, "北京市朝阳区建国路88号", "老客户转介绍", "2025/3/8", "2025年4月1日", 8.5, "张伟"),
    ("KH2024005", "成都示例医疗器械有限公司", "９１５１０１００ＭＡ６ＣＭ２ＥＸ６Ｎ", "医疗", 150, "四川省成都市高新区天府大道500号", "主动拜访", d(200), None, None, "张伟"),
    ("KH2024006", "武汉示例教育咨询有限公司", "91420100MA4KXX0X1U", "教育", 30, "湖北省武汉市洪山区珞喻路1号", "展会", d(90), None, None, "张伟"),
    ("KH2024007", "广州示例餐饮服务有限公司", 914403001922038216.0, "服务业", 75, "广州市天河区体育西路", "其他", d(500), d(450), "12.5", "张伟"),
    ("KH2024008", "上海示例精密制造 有限责任公司", None, "制造业", None, "上海市浦东新区", "展会", d(30), None, None, "张伟"),
    ("KH2024009", "南京示例新能源有限公司", "91320100MA1MXXXX2N", "新能源", 300, "江苏省南京市江宁区", "展会", d(100), None, -5, "张伟"),
    ("KH2024010", "西安示例软件有限公司", None, "互联网", 60, "陕西省西安市雁塔区", "线上咨询", "2027-01-05", None, None, "张伟"),
]

CONTACTS = [
    ("KH2024001", "王建国", "采购总监", "+86 138 1234 5678", "021-58881234转802", "wang@example.com", "决策者", "拜访", "是"),
    ("KH2024001", "李娜", "工程师", "13912345678", None, "lina@example.com", "使用者", "微信", "否"),
    ("KH2024002", "陈明", "CTO", "13600001111", "0755-86001234", "chen@示例.cn", "决策者", "电话", "是"),
    ("KH2024002", "赵敏", "采购", "1395678", None, "zhaomin@example", "影响者", "邮件", "否"),
    ("KH2024003", "孙丽", "运营经理", "15000002222", None, None, "决策者", "微信", "是"),
    ("KH2024099", "周杰", "经理", "18600003333", None, None, "决策者", "电话", "是"),
]

FOLLOWUPS = [
    ("KH2024001", d(20), "拜访", "张伟", "商务谈判", "确认续约价格，客户希望下调5%", "需进一步评估", d(-10)),
    ("KH2024001", "2026年9月1日", "电话", "张伟", "售后回访", "设备运行正常", "感兴趣", None),
    ("KH2024002", "2026.10.15", "线上会议", "张伟", "方案跟进", "演示新版本", "感兴趣", d(5)),
    ("KH2024003", d(250), "微信", "张伟", "需求确认", "了解门店数量", "需进一步评估", d(230)),
    ("KH2024004", d(100), "电话", "张伟", "催签", "合同流程中", "已下单", d(120)),
    ("KH2024005", d(10), "邮件", "张伟", "首次沟通", "发送产品资料", "感兴趣", d(-20)),
    ("KH2024006", d(60), "视频会议", "张伟", "需求确认", "讨论课程系统需求", "暂无需求", None),
    ("KH2024099", d(15), "电话", "张伟", "首次沟通", "客户ID写错的记录", "感兴趣", None),
]

NEEDS = [
    ("KH2024001", "采购产品", "年度设备采购", "降本增效；供应链优化", "高", "50万以上", "高频", "预算明确、战略合作", "某德国品牌"),
    ("KH2024002", "技术合作", "联合开发", "数字化转型", "中", "20-50万", "中频", "竞品对比中", None),
    ("KH2024003", "咨询服务", "门店数字化", "数字化转型,提升效率", "中", "10-20万", "低频", "决策周期长/需高层对接", None),
]

DEALS = [
    ("KH2024001", "2026年度设备采购", "成交", 60, "62万", d(120), None, d(120)),
    ("KH2024001", "二期扩容", "谈判", 30, None, None, None, d(20)),
    ("KH2024002", "联合开发一期", "成交", 35, 35, d(200), None, d(200)),
    ("KH2024003", "门店系统", "方案", 50, None, None, None, d(30)),
    ("KH2024004", "仓储系统", "成交", 8.5, None, d(80), None, d(80)),
    ("KH2024007", "餐饮SaaS", "流失", 12, None, d(60), None, d(60)),
]


def _headers(ws) -> dict[str, int]:
    return {str(c.value).rstrip("*"): c.column for c in ws[1] if c.value}


def _fill(ws, rows, headers, start=2, gaps=()) -> None:
    r = start
    for i, row in enumerate(rows):
        if i in gaps:
            r += 1  # a blank row left in between
        for header, value in zip(headers, row, strict=True):
            if value is not None:
                ws.cell(r, _headers_cache[ws.title][header], value)
        r += 1


_headers_cache: dict[str, dict[str, int]] = {}


def _blank_template(spec):
    """The generated template, as a new hire gets it, open for filling."""
    with tempfile.TemporaryDirectory() as tmp:
        template = Path(tmp) / "template.xlsx"
        write_template(spec, template, lang="zh")
        wb = openpyxl.load_workbook(template)
    for ws in wb.worksheets:
        _headers_cache[ws.title] = _headers(ws)
    return wb


def make_messy(path: Path) -> Path:
    spec = load_spec()
    wb = _blank_template(spec)
    names = {s.key: s.name("zh") for s in spec.sheets}
    cust = wb[names["customers"]]
    _fill(cust, CUSTOMERS, ["客户ID", "客户名称", "统一社会信用代码", "所属行业", "员工人数", "注册地址", "客户来源",
                            "首次接触时间", "合作起始时间", "年交易额(万元)", "负责人"], gaps=(4, 7))
    # the rep typed last year's tiers by hand: khbook will correct them
    cust.cell(2, _headers_cache[cust.title]["客户价值等级"], "中价值")
    _fill(wb[names["contacts"]], CONTACTS, ["客户ID", "联系人姓名", "职务", "手机", "座机", "邮箱", "决策角色", "沟通偏好", "主要联系人"])
    _fill(wb[names["followups"]], FOLLOWUPS, ["客户ID", "跟进时间", "跟进方式", "跟进人", "跟进类型", "沟通内容摘要", "客户反馈", "下次跟进时间"], gaps=(3,))
    _fill(wb[names["needs"]], NEEDS, ["客户ID", "核心需求类型", "需求描述", "需求关键词", "需求优先级", "预算范围", "购买频率", "标签", "竞品信息"])
    _fill(wb[names["deals"]], DEALS, ["客户ID", "项目名称", "成交阶段", "预计成交金额(万元)", "实际成交金额(万元)", "成交日期", "流失原因", "更新时间"])
    # reps rename headers to what they are used to, and reorder columns
    h = _headers_cache[cust.title]
    cust.cell(1, h["客户ID"], "客户编号")
    cust.cell(1, h["客户名称"], "公司名称")
    con = wb[names["contacts"]]
    con.cell(1, _headers_cache[con.title]["手机"], "联系电话")
    fu = wb[names["followups"]]
    fu.cell(1, _headers_cache[fu.title]["跟进时间"], "沟通时间")
    # swap two columns on the deals sheet (values and headers)
    deals = wb[names["deals"]]
    dh = _headers_cache[deals.title]
    a, b = dh["项目名称"], dh["成交阶段"]
    for r in range(1, deals.max_row + 1):
        va, vb = deals.cell(r, a).value, deals.cell(r, b).value
        deals.cell(r, a).value, deals.cell(r, b).value = vb, va
    # an extra column of the rep's own, and a title row above the headers
    col = cust.max_column + 1
    cust.cell(1, col, "微信群")
    cust.cell(2, col, "示例客户群1")
    cust.column_dimensions[get_column_letter(col)].width = 12
    cust.insert_rows(1)
    cust.cell(1, 1, "2026年华东区客户台账（张伟）")
    # the rep's own notes sheet
    notes = wb.create_sheet("我的备忘")
    notes["A1"] = "月底前回访 KH2024003"
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.properties.created = dt.datetime(2026, 11, 1, 9, 0, 0)
    wb.properties.modified = dt.datetime(2026, 11, 1, 9, 0, 0)
    wb.save(path)
    return path


SECOND_REP = [
    # 李娜 also claims 深圳示例云计算 (same credit code as 张伟's KH2024002): a cross-file duplicate
    ("LN001", "深圳示例云计算科技有限公司", "9144030071526726XG", "科技业", 260, "广东省深圳市南山区科技园路1号", "展会", d(60), None, 20, "李娜"),
    ("LN002", "苏州示例电子有限公司", None, "制造业", 90, "江苏省苏州市工业园区星湖街1号", "渠道推荐", d(45), None, 15, "李娜"),
    ("LN003", "天津示例港口物流有限公司", None, "物流", 600, "天津市滨海新区", "主动拜访", d(20), None, None, "李娜"),
]


def make_second_rep(path: Path) -> Path:
    """A second, tidier rep's workbook, for the batch demo."""
    spec = load_spec()
    wb = _blank_template(spec)
    names = {s.key: s.name("zh") for s in spec.sheets}
    _fill(wb[names["customers"]], SECOND_REP, ["客户ID", "客户名称", "统一社会信用代码", "所属行业", "员工人数", "注册地址",
                                               "客户来源", "首次接触时间", "合作起始时间", "年交易额(万元)", "负责人"])
    _fill(wb[names["followups"]], [("LN001", d(12), "电话", "李娜", "需求确认", "确认采购数量", "感兴趣", d(-7)),
                                   ("LN002", d(40), "拜访", "李娜", "方案跟进", "演示方案", "需进一步评估", d(10))],
          ["客户ID", "跟进时间", "跟进方式", "跟进人", "跟进类型", "沟通内容摘要", "客户反馈", "下次跟进时间"])
    _fill(wb[names["deals"]], [("LN001", "云平台采购", "谈判", 20, None, None, None, d(12))],
          ["客户ID", "项目名称", "成交阶段", "预计成交金额(万元)", "实际成交金额(万元)", "成交日期", "流失原因", "更新时间"])
    wb.properties.created = dt.datetime(2026, 11, 1, 9, 0, 0)
    wb.properties.modified = dt.datetime(2026, 11, 1, 9, 0, 0)
    wb.save(path)
    return path


def main(argv: list[str]) -> int:
    out = Path(argv[1] if len(argv) > 1 else "samples")
    print(f"wrote {make_messy(out / 'messy_filled.xlsx')}")
    print(f"wrote {make_second_rep(out / 'second_rep.xlsx')}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
