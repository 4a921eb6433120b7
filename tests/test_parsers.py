"""Cell-level parsers: every value trap of real workbooks (the domain's "Facts and traps") with exact values."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import phonenumbers
import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import uscc

from khbook.read import contacts as C
from khbook.read.contacts import check_email, check_phone
from khbook.read.identity import check_credit_code, normalize_company
from khbook.read.parsers import (
    Parsed,
    clean_text,
    is_excel_error,
    parse_amount,
    parse_date,
    parse_integer,
    split_multi,
)

NA = frozenset(["暂无", "无", "没有", "N/A", "NA", "-", "/"])
D = dt.date

# ------------------------------------------------------------------------- clean_text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("１２３", "123"),
        ("ａ＠ｂ．ｃｎ", "a@b.cn"),
        ("Ｘ", "X"),
        ("张三，李四", "张三,李四"),
        ("\u200bKH2024001\ufeff", "KH2024001"),
        ("a\u200c\u200d\u2060b", "ab"),
        ("\u00a0 深圳 示例\u3000", "深圳 示例"),
        ("  ", None),
        ("\u200b", None),
        ("", None),
        (None, None),
        (123, "123"),
        (123.0, "123"),
        (12.5, "12.5"),
        (float("nan"), None),
        (True, "TRUE"),
        (False, "FALSE"),
        (dt.date(2024, 5, 10), "2024-05-10"),
        (dt.datetime(2024, 5, 10, 14, 30), "2024-05-10"),
        (Decimal("50.5"), "50.5"),
    ],
)
def test_clean_text(raw, expected):
    assert clean_text(raw) == expected


@given(st.text())
def test_clean_text_idempotent(s):
    once = clean_text(s)
    assert clean_text(once) == once


@given(st.text())
def test_clean_text_no_zero_width_or_outer_space(s):
    out = clean_text(s)
    if out is not None:
        assert out == out.strip()
        assert not set(out) & set("\u200b\u200c\u200d\u2060\ufeff\u00a0")


@pytest.mark.parametrize("v", ["#N/A", "#REF!", "#VALUE!", "#DIV/0!", "#NAME?", "#NUM!", "#NULL!",
                               "#SPILL!", "#CALC!", "#GETTING_DATA", " #N/A "])
def test_excel_errors(v):
    assert is_excel_error(v)


class _ErrorObject:  # what a reader may hand over instead of text
    def __str__(self) -> str:
        return "#DIV/0!"


def test_excel_error_object_and_non_errors():
    assert is_excel_error(_ErrorObject())
    for v in (None, "", "N/A", "#1 客户", 0, 1.5, dt.date(2024, 1, 1), "#"):
        assert not is_excel_error(v)


# ------------------------------------------------------------------------------ dates


@pytest.mark.parametrize(
    "raw",
    ["2024-05-10", "2024/5/10", "2024.5.10", "2024年5月10日", "2024年5月10号", "2024 年 5 月 10 日",
     "20240510", "2024-05-10 14:30", "2024/05/10 14:30:15", "2024-05-10T14:30:00", "２０２４－０５－１０",
     "２０２４年５月１０日", "2024年5月10日 14:30", " 2024-5-10\u200b", 20240510,
     dt.date(2024, 5, 10), dt.datetime(2024, 5, 10, 23, 59), 45422, 45422.0, 45422.75, "45422"],
)
def test_date_forms(raw):
    assert parse_date(raw) == Parsed(D(2024, 5, 10))


def test_date_serial_1904():
    assert parse_date(45422, date1904=True).value == D(2028, 5, 11)
    assert parse_date(43960, date1904=True).value == D(2024, 5, 10)
    assert parse_date("43960", date1904=True).value == D(2024, 5, 10)


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        ("2024-02-30", "impossible"),
        ("2023-02-29", "impossible"),
        ("2024-13-01", "impossible"),
        ("2024年2月30日", "impossible"),
        ("20240230", "impossible"),
        (20241301, "impossible"),
        ("10/05/2024", "ambiguous"),
        ("5/10/24", "ambiguous"),
        ("24-5-10", "ambiguous"),
        ("10.05.2024", "ambiguous"),
        ("1800-01-01", "out_of_range"),
        ("abc", "unrecognised"),
        ("2024-05", "unrecognised"),
        ("2024年5月", "unrecognised"),
        ("下周一", "unrecognised"),
        (12345, "unrecognised"),  # outside the serial window 20000..80000
        (90000, "unrecognised"),
        ("123", "unrecognised"),
        (True, "unrecognised"),
    ],
)
def test_bad_dates(raw, detail):
    assert parse_date(raw) == Parsed(None, "bad_date", detail)


def test_date_range_bounds_and_blanks():
    assert parse_date("2030-01-01", max_date=D(2029, 12, 31)).detail == "out_of_range"
    assert parse_date("2029-12-31", max_date=D(2029, 12, 31)).value == D(2029, 12, 31)
    assert parse_date("2010-01-01", min_date=D(2010, 1, 1)).ok
    assert parse_date("2009-12-31", min_date=D(2010, 1, 1)).detail == "out_of_range"
    for blank in (None, "", "  ", "\u200b", float("nan")):
        assert parse_date(blank) == Parsed(None)


# ---------------------------------------------------------------------------- amounts


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (50, "50"),
        (50.5, "50.5"),
        (0.1, "0.1"),
        ("50", "50"),
        ("50.5", "50.5"),
        ("５０", "50"),
        ("50万", "50"),
        ("50万元", "50"),
        ("50w", "50"),
        ("50W", "50"),
        ("¥500,000", "50"),
        ("￥500,000", "50"),
        ("500000元", "50"),
        ("RMB 500,000", "50"),
        ("CNY500000", "50"),
        ("人民币50万元", "50"),
        ("1.2亿", "12000"),
        ("1.2亿元", "12000"),
        ("3千万", "3000"),
        ("2百万", "200"),
        ("5千", "0.5"),
        ("5k", "0.5"),
        ("五十万", "50"),
        ("壹拾伍万元整", "15"),
        ("一百二十万", "120"),
        ("五十", "50"),
        ("五千元", "0.5"),
        ("约50万", "50"),
        ("大约50万", "50"),
        ("50万左右", "50"),
        ("1,000", "1000"),
        ("0", "0"),
    ],
)
def test_amounts(raw, expected):
    p = parse_amount(raw)
    assert p.rule is None
    assert p.value == Decimal(expected)
    assert str(p.value) == expected  # no 5E+1 exponent forms


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        ("50-100万", "range"),
        ("50~100万", "range"),
        ("50～100万", "range"),
        ("50到100万", "range"),
        ("50万-100万", "range"),
        ("五十到一百万", "range"),
        ("待定", "undetermined"),
        ("未知", "undetermined"),
        ("面议", "undetermined"),
        ("TBD", "undetermined"),
        ("tbd", "undetermined"),
        ("abc", "unrecognised"),
        ("50%", "unrecognised"),
        ("$500", "unrecognised"),
        (True, "unrecognised"),
        (dt.date(2024, 1, 1), "unrecognised"),
    ],
)
def test_bad_amounts(raw, detail):
    assert parse_amount(raw) == Parsed(None, "bad_amount", detail)


def test_negative_amounts():
    assert parse_amount(-5) == Parsed(Decimal("-5"), "negative_amount")
    assert parse_amount("-5") == Parsed(Decimal("-5"), "negative_amount")
    assert parse_amount("-50万") == Parsed(Decimal("-50"), "negative_amount")
    assert parse_amount("-¥500,000") == Parsed(Decimal("-50"), "negative_amount")
    assert parse_amount("负五十万") == Parsed(Decimal("-50"), "negative_amount")
    assert parse_amount("-0") == Parsed(Decimal("0"))


def test_amount_float_goes_through_repr_not_binary():
    assert parse_amount(0.1).value == Decimal("0.1")
    assert parse_amount(1.1 + 2.2).value == Decimal(repr(1.1 + 2.2))
    for blank in (None, "", " ", float("nan")):
        assert parse_amount(blank) == Parsed(None)


@given(st.decimals(min_value=0, max_value=10**9, places=4, allow_nan=False))
def test_amount_roundtrip(d):
    p = parse_amount(str(d))
    assert p.rule is None
    assert p.value == d
    assert parse_amount(f"{d}万").value == d


@given(st.decimals(min_value=Decimal("0.0001"), max_value=10**6, places=4, allow_nan=False))
def test_amount_yuan_is_ten_thousandth(d):
    assert parse_amount(f"¥{d}").value == d / 10000
    assert parse_amount(f"{d}元").value == d / 10000


# --------------------------------------------------------------------------- integers


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(120, 120), (120.0, 120), ("120", 120), ("120人", 120), ("1,200", 1200), ("１２０", 120),
     ("约100", 100), ("100多人", 100), ("100+", 100), ("1.2万人", 12000), ("一百二十", 120), (0, 0)],
)
def test_integers(raw, expected):
    assert parse_integer(raw) == Parsed(expected)


@pytest.mark.parametrize("raw", [12.5, -3, "-3", "12.5", "50-100人", "abc", True, "1.5人"])
def test_bad_integers(raw):
    assert parse_integer(raw) == Parsed(None, "bad_integer")


# ----------------------------------------------------------------------- multi-select


def test_split_multi():
    assert split_multi("降本增效;拓展市场；提升效率,供应链优化，数字化转型、a/b\nc") == [
        "降本增效", "拓展市场", "提升效率", "供应链优化", "数字化转型", "a", "b", "c"]
    assert split_multi(" 预算明确 ; ;预算明确；战略合作 ") == ["预算明确", "战略合作"]
    assert split_multi("") == []
    assert split_multi(";；、") == []


# ----------------------------------------------------------------------- credit codes


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("91110000600037341L", "91110000600037341L"),
        ("9144030071526726XG", "9144030071526726XG"),
        ("914403001922038216", "914403001922038216"),
        ("91110000600037341l", "91110000600037341L"),
        ("９１１１００００６０００３７３４１Ｌ", "91110000600037341L"),  # stdnum misses full-width letters
        (" 9111 0000 6000 3734 1L\u200b", "91110000600037341L"),
    ],
)
def test_credit_code_valid(raw, expected):
    assert check_credit_code(raw, not_applicable=NA) == Parsed(expected)


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        ("91110000600037341M", "check_digit"),
        ("9144030071526726OG", "alphabet"),
        ("9144030071526726IG", "alphabet"),
        ("91110000600037341", "length"),
        ("911100006000373411L", "length"),
        ("01110000600037341L", "first_char"),
        ("Z1110000600037341L", "alphabet"),
        ("B1110000600037341L", "first_char"),
    ],
)
def test_credit_code_invalid(raw, detail):
    assert check_credit_code(raw, not_applicable=NA) == Parsed(None, "bad_credit_code", detail)


def _with_check(body17: str) -> str:
    return body17 + uscc.calc_check_digit(body17)


@pytest.mark.parametrize("first", ["A", "N", "Y"])
def test_credit_code_first_chars_stdnum_rejects(first):
    code = _with_check(first + "1440300715267260")
    assert not uscc.is_valid(code)  # the trap: stdnum refuses these
    assert check_credit_code(code, not_applicable=NA) == Parsed(code)


def test_credit_code_check_digit_is_stdnums():
    """khbook computes the check digit itself (fast); python-stdnum stays the reference."""
    import random

    from khbook.read.identity import USCC_ALPHABET, uscc_check_digit

    rng = random.Random(17)
    chars = sorted(USCC_ALPHABET)
    for _ in range(2000):
        body = "".join(rng.choice(chars) for _ in range(17))
        assert uscc_check_digit(body) == uscc.calc_check_digit(body), body


def test_credit_code_stored_as_number():
    assert check_credit_code(9.14403001922038e17, not_applicable=NA) == Parsed(None, "stored_as_number")
    assert check_credit_code(914403001922038216, not_applicable=NA).rule == "stored_as_number"
    assert check_credit_code("9.14403E+17", not_applicable=NA).rule == "stored_as_number"
    assert check_credit_code("9.14403001922038E+17", not_applicable=NA).rule == "stored_as_number"


@pytest.mark.parametrize("raw", ["暂无", "无", "N/A", "n/a", "na", "-", "/", "", None, "  "])
def test_credit_code_not_applicable(raw):
    assert check_credit_code(raw, not_applicable=NA) == Parsed(None)
    assert check_credit_code(raw, not_applicable=list(NA)) == Parsed(None)


_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"


@settings(max_examples=300)
@given(
    st.sampled_from("123456789"),
    st.text(alphabet="0123456789", min_size=7, max_size=7),  # type + division code
    st.text(alphabet=_USCC_CHARS, min_size=9, max_size=9),  # organisation code
)
def test_credit_code_agrees_with_stdnum(first, division, org):
    body17 = first + division + org
    good = _with_check(body17)
    assert uscc.is_valid(good)
    assert check_credit_code(good) == Parsed(good)
    for wrong in _USCC_CHARS:
        if wrong != good[-1]:
            assert check_credit_code(body17 + wrong) == Parsed(None, "bad_credit_code", "check_digit")


def test_credit_code_division_must_be_digits():
    code = _with_check("91A4030071526726X")
    assert check_credit_code(code).detail == "alphabet"


# ----------------------------------------------------------------------------- phones


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13812345678", "13812345678"),
        (13812345678, "13812345678"),
        (13812345678.0, "13812345678"),
        ("１３８１２３４５６７８", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("+86 13812345678", "13812345678"),
        ("+86-138-1234-5678", "13812345678"),
        ("0086 13812345678", "13812345678"),
        ("86-13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("010-12345678", "010-12345678"),
        ("01012345678", "010-12345678"),
        ("(010)12345678", "010-12345678"),
        ("0755 8888 8888", "0755-88888888"),
        ("010-12345678转8001", "010-12345678 ext. 8001"),
        ("010-12345678 转 8001", "010-12345678 ext. 8001"),
        ("010-12345678分机8001", "010-12345678 ext. 8001"),
        ("010-12345678分机号8001", "010-12345678 ext. 8001"),
        ("010-12345678-8001", "010-12345678 ext. 8001"),
        ("0755-88888888-123", "0755-88888888 ext. 123"),
        ("+86 10 12345678-8001", "010-12345678 ext. 8001"),
        ("13812345678/13912345678", "13812345678 / 13912345678"),
        ("13812345678、010-12345678", "13812345678 / 010-12345678"),
        ("13812345678；13912345678", "13812345678 / 13912345678"),
        ("13812345678,13812345678", "13812345678"),
        ("852 2123 4567", "+852 2123 4567"),
        ("85221234567", "+852 2123 4567"),
        ("+852 2123 4567", "+852 2123 4567"),
        ("00852 2123 4567", "+852 2123 4567"),
        ("+853 2888 1234", "+853 2888 1234"),
        ("886 2 2345 6789", "+886 2 2345 6789"),
        ("4008001234", "4008001234"),
    ],
)
def test_phones(raw, expected):
    assert check_phone(raw) == Parsed(expected)


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        ("1395678", "too_short"),
        (1395678, "too_short"),
        ("13812345678/1395678", "too_short"),
        ("12345678", "too_short"),  # a landline without its area code
        ("1381234567", "too_short"),
        ("12812345678", "unrecognised"),
        ("138123456789", "unrecognised"),
        ("电话", "unrecognised"),
        ("13812345678/电话", "unrecognised"),
    ],
)
def test_bad_phones(raw, detail):
    p = check_phone(raw)
    assert (p.value, p.rule, p.detail) == (None, "bad_phone", detail)


def test_phone_blank_and_not_applicable():
    for blank in (None, "", "  ", "/", float("nan")):
        assert check_phone(blank) == Parsed(None)
    assert check_phone("暂无", not_applicable=NA) == Parsed(None)
    assert check_phone("暂无").rule == "bad_phone"


def test_phone_is_possible_is_not_enough():
    n = phonenumbers.parse("1395678", "CN")
    assert phonenumbers.is_possible_number(n)  # the trap
    assert not check_phone("1395678").ok


def test_phone_fast_path_agrees_with_library():
    rnd = random.Random(2024)
    for _ in range(20000):
        if rnd.random() < 0.5:
            s = "1" + "".join(rnd.choice("0123456789") for _ in range(10))
        else:
            area = rnd.choice(["10", "20", "21", "28", "755", "571", "851", "433", "999", "311"])
            s = "0" + area + rnd.choice(["-", "", " "]) + "".join(
                rnd.choice("0123456789") for _ in range(rnd.choice([6, 7, 8, 9])))
        fast = C._fast_cn(s)
        if fast is None:
            continue
        n = phonenumbers.parse(s, "CN")
        assert phonenumbers.is_valid_number(n), s
        assert fast == C._format_phone(n), s


# ----------------------------------------------------------------------------- e-mail


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("zhang.san@example.com", "zhang.san@example.com"),
        ("Zhang.San@Example.COM", "Zhang.San@example.com"),
        ("ｚｈａｎｇ＠ｅｘａｍｐｌｅ．ｃｏｍ", "zhang@example.com"),
        ("sales@公司.cn", "sales@公司.cn"),
        ("a@xn--55qx5d.cn", "a@公司.cn"),
        ("a@b.cn; c@d.com", "a@b.cn; c@d.com"),
        ("a@b.cn；c@d.com", "a@b.cn; c@d.com"),
        ("a@b.cn, c@d.com", "a@b.cn; c@d.com"),
        ("a@b.cn c@d.com", "a@b.cn; c@d.com"),
        ("a@b.cn;a@b.cn", "a@b.cn"),
        ("mailto:a@b.cn", "a@b.cn"),
        ("Postmaster@example.com", "postmaster@example.com"),
    ],
)
def test_emails(raw, expected):
    assert check_email(raw) == Parsed(expected)


@pytest.mark.parametrize("raw", ["bad@", "a@b", "a..b@x.cn", "a@x_y.cn", "a@b.cn; bad", "张三", 123, "a@-x.cn"])
def test_bad_emails(raw):
    assert check_email(raw) == Parsed(None, "bad_email", "unrecognised")


def test_email_blank_and_not_applicable():
    assert check_email(None) == Parsed(None)
    assert check_email(" ; ") == Parsed(None)
    assert check_email("无", not_applicable=NA) == Parsed(None)


@settings(max_examples=300)
@given(
    st.text(alphabet="abcXYZ09._+-'", min_size=1, max_size=10),
    st.sampled_from(["example.com", "Example.COM", "x.cn", "a-b.com.cn", "-a.cn", "a..cn", "localhost",
                     "x.123", "sub.EXAMPLE.org", "公司.cn"]),
)
def test_email_fast_path_agrees_with_library(local, domain):
    addr = f"{local}@{domain}"
    try:
        expected: str | None = validate_email(addr, check_deliverability=False).normalized
    except EmailNotValidError:
        expected = None
    assert C._one_email.__wrapped__(addr) == expected


# ------------------------------------------------------------------------- companies


def test_company_key_legal_forms():
    base = normalize_company("深圳市示例科技有限公司")
    assert base == "深圳市示例科技"
    for variant in ("深圳市示例科技 有限责任公司", "深圳市示例科技股份有限公司", "深圳市示例科技股份公司",
                    "深圳市示例科技公司", "深圳市示例科技", "  深圳市示例科技有限公司\u200b",
                    "深圳市示例科技（有限公司）"):
        assert normalize_company(variant) == base, variant


def test_company_key_brackets_width_case():
    assert normalize_company("示例科技（深圳）有限公司") == normalize_company("示例科技(深圳)有限公司")
    assert normalize_company("ＡＢＣ科技有限公司") == normalize_company("abc科技有限公司")
    assert normalize_company("Example Tech Co., Ltd.") == normalize_company("EXAMPLE TECH CO LTD")
    assert normalize_company("Example Tech Inc.") == "exampletech"
    assert normalize_company("Example LLC") == "example"


def test_company_key_keeps_meaning():
    assert normalize_company("示例集团有限公司") == "示例集团"
    assert normalize_company("中国银行股份有限公司") == "中国银行"  # leading 中国 kept
    assert normalize_company("Costco") == "costco"  # no "co" stripped inside a word
    assert normalize_company("有限公司") == "有限公司"
    assert normalize_company("") == ""
    assert normalize_company("深圳示例科技有限公司") != normalize_company("广州示例科技有限公司")


def test_absurd_numbers_are_refused_not_crashing():
    """Found by the property test: 1e28 overflowed Decimal quantisation."""
    from khbook.read.parsers import parse_amount, parse_integer

    assert parse_amount(1.000000062271131e28).rule == "bad_amount"
    assert parse_amount(1.000000062271131e28).detail == "too_large"
    assert parse_amount("1e30").rule == "bad_amount"
    assert parse_integer(1e28).rule == "bad_integer"
    assert parse_integer("99999999999999").rule == "bad_integer"
    assert parse_amount(999999999).value is not None


# ------------------------------------------------------------- a column's texts at once


_PHONE_TEXTS = ["13812345678", "12812345678", "19912345678", "１３８１２３４５６７８", " 13812345678 ", "13812345678/1395678",
                "010-12345678转8001", "852 2123 4567", "1395678", "电话", "暂无", "17400012345", "16101234567"]
_EMAIL_TEXTS = ["zhang.san@example.com", "Zhang.San@Example.COM", "ｚｈａｎｇ＠ｅｘａｍｐｌｅ．ｃｏｍ", "a@b.cn; c@d.com",
                "mailto:a@b.cn", "Postmaster@example.com", "bad@", "a..b@x.cn", " ; ", "无", "sales@公司.cn", "<a@b.cn>",
                "a@-x.cn", "x@localhost", "a@xn--55qx5d.cn", " a@b.cn ", "a@b.cn c@d.com", "ABUSE@x.cn"]
_CODE_TEXTS = ["91110000600037341L", "91110000600037341l", "９１１１００００６０００３７３４１Ｌ", " 9111 0000 6000 3734 1L\u200b",
               "91110000600037341M", "9144030071526726OG", "91110000600037341", "暂无", "9.14403001922038E17",
               "Y1440300715267260" + uscc.calc_check_digit("Y1440300715267260")]


def test_bulk_parsers_agree_with_one_by_one():
    """The reader parses a column's distinct texts in one call: the same answers as cell by cell."""
    from khbook.read.contacts import check_emails, check_phones
    from khbook.read.identity import check_credit_codes, company_keys
    from khbook.read.parsers import clean_text, clean_texts

    assert check_phones(_PHONE_TEXTS) == [check_phone(t) for t in _PHONE_TEXTS]
    assert check_emails(_EMAIL_TEXTS) == [check_email(t) for t in _EMAIL_TEXTS]
    assert check_credit_codes(_CODE_TEXTS, not_applicable=NA) == [check_credit_code(t, not_applicable=NA)
                                                                 for t in _CODE_TEXTS]
    assert check_phones([]) == check_emails([]) == check_credit_codes([]) == []
    texts = ["  示例\u200b客户 ", "ＡＢＣ１２３", "a\u00a0b", "\u3000", "x\u202fy", "普通文本", " ascii ", "", "\u00ad", "①②",
             "ｶﾀｶﾅ", "tab\there", "深圳市示例科技有限公司"]
    assert clean_texts(texts) == [clean_text(t) for t in texts]
    assert clean_texts(["a ", " b"]) == ["a", "b"] and clean_texts(["  "]) == [None]
    names = ["深圳市示例科技有限公司", "深圳市示例科技 有限责任公司", "  Acme Co., Ltd. ", "中国银行", "（有限公司）", " ", "ＡＢＣ集团"]
    assert company_keys(names) == [normalize_company(n) for n in names]
