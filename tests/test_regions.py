"""Address / credit code -> province -> region, against the shipped regions.yaml."""

from __future__ import annotations

import pytest
from stdnum.cn import uscc

from khbook.classify.regions import RegionTable
from khbook.spec import load_spec


@pytest.fixture(scope="module")
def table() -> RegionTable:
    return RegionTable(load_spec().regions)


@pytest.mark.parametrize(
    ("address", "province"),
    [
        ("广东省深圳市南山区科技园", "粤"),
        ("深圳市福田区", "粤"),  # a prefecture-level city alone
        ("深圳南山区", "粤"),
        ("中山市石岐区", "粤"),
        ("北京市朝阳区建国路", "京"),
        ("中国北京朝阳区", "京"),  # leading 中国 stripped
        ("中国 广东省广州市", "粤"),
        ("北京朝阳区", "京"),
        ("广州市越秀区北京路123号", "粤"),  # 北京路 is a street in 广州
        ("上海市南京东路100号", "沪"),
        ("青海省海南州共和县", "青"),
        ("海南州共和县", "青"),  # 海南州 is in 青海, not 海南
        ("海南省海口市", "琼"),
        ("海南海口", "琼"),
        ("内蒙古自治区呼和浩特市", "蒙"),
        ("内蒙古包头", "蒙"),
        ("广西南宁", "桂"),
        ("辽宁省大连市中山区", "辽"),
        ("吉林市船营区", "吉"),
        ("浙江杭州西湖区", "浙"),
        ("台州市椒江区", "浙"),
        ("恩施州", "鄂"),
        ("延边朝鲜族自治州延吉市", "吉"),
        ("大兴安岭地区", "黑"),
        ("香港九龙", "港"),
        ("台湾台北", "台"),
        ("新疆维吾尔自治区乌鲁木齐", "新"),
        ("重庆渝中区", "渝"),
        ("ＧＵＡＮＧ 深圳市", "粤"),
    ],
)
def test_province_of_address(table, address, province):
    assert table.province_of_address(address) == province


@pytest.mark.parametrize(
    "address",
    [
        "朝阳区建国路88号",  # a bare district: 朝阳 is in 北京 and 辽宁
        "北京路123号",  # a street
        "北京西路1号",
        "南京东路100号",
        "延安东路",
        "中山区人民路",  # a district of 大连, not 中山市
        "湖南路88号",
        "西藏路",
        "新北区",  # a district of 常州, not 新北
        "某某大厦",
        "",
        None,
        "   ",
    ],
)
def test_unknown_addresses(table, address):
    assert table.province_of_address(address) is None


def test_region_of(table):
    assert table.region_of("粤") == "华南"
    assert table.region_of("京") == "华北"
    assert table.region_of("青") == "西北"
    assert table.region_of("港") == "港澳台"
    assert table.region_of(None) is None
    assert table.region_of("?") is None
    assert table.region_of(table.province_of_address("深圳市南山区")) == "华南"


def test_province_name(table):
    assert table.province_name("粤") == "广东省"
    assert table.province_name("蒙") == "内蒙古自治区"
    assert table.province_name("??") == "??"


@pytest.mark.parametrize(
    ("code", "province"),
    [
        ("91110000600037341L", "京"),
        ("9144030071526726XG", "粤"),
        ("914403001922038216", "粤"),
        ("91310000607278551" + uscc.calc_check_digit("91310000607278551"), "沪"),
        ("91100000100003962T", None),  # 10: central registration, no province
        ("91990000600037341L", None),  # no such division
        ("9111000060003734", None),  # not 18 chars
        (None, None),
        ("", None),
    ],
)
def test_province_of_credit_code(table, code, province):
    assert table.province_of_credit_code(code) == province


def test_every_province_is_reachable(table):
    spec = load_spec()
    for key, p in spec.regions["provinces"].items():
        assert table.province_of_address(p["name"]) == key
        for short in p["short"]:
            assert table.province_of_address(short + "某区") == key, short
        for city in p["cities"]:
            name = city if city.endswith(("市", "州", "盟", "地区")) else city + "市"
            assert table.province_of_address(name + "某路1号") == key, city
        assert table.region_of(key) is not None, key


def test_city_lists_complete(table):
    cities = load_spec().regions["provinces"]
    # prefecture-level divisions per province (cities, prefectures, leagues, autonomous prefectures)
    assert len(cities["粤"]["cities"]) == 21
    assert len(cities["苏"]["cities"]) == 13
    assert len(cities["川"]["cities"]) == 21
    assert len(cities["云"]["cities"]) == 16
    assert len(cities["贵"]["cities"]) == 9
    assert len(cities["蒙"]["cities"]) == 12
    assert len(cities["甘"]["cities"]) == 14
    all_names = [c for p in cities.values() for c in p["cities"]]
    assert len(all_names) == len(set(all_names))  # no city claimed by two provinces


def test_empty_config():
    t = RegionTable({})
    assert t.province_of_address("深圳市") is None
    assert t.region_of("粤") is None
