"""Generate the hostile and broken input corpus (issue 8): no hand-made binaries are committed.

Usage::

    python tests/corpus/make_corpus.py DEST      # writes every file into DEST

or, from tests, ``build_corpus(dest) -> {filename: path}``. ``CORPUS_EXPECT`` says for
each file whether khbook must refuse it (a one-line WorkbookError) or read it;
``CORPUS_META`` gives, for the readable ones, what the input gate must report.

Everything is built from first principles, deterministically: workbooks from literal
SpreadsheetML (so odd details such as a wrong ``<dimension>``, error cells, inline long
texts are exactly as Excel/WPS would write them), OLE2 compound files by a minimal
MS-CFB writer, zip bombs by patching the size fields of a small zip.
"""

from __future__ import annotations

import io
import random
import struct
import sys
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

# -- expectations ------------------------------------------------------------------------

CORPUS_EXPECT: dict[str, str] = {
    # refused by the input gate
    "not_a_zip.xlsx": "refuse",
    "random_bytes.xlsx": "refuse",
    "empty_file.xlsx": "refuse",
    "truncated.xlsx": "refuse",
    "corrupt_member.xlsx": "refuse",
    "lying_size.xlsx": "refuse",
    "zip_not_ooxml.xlsx": "refuse",
    "odf.xlsx": "refuse",
    "biff.xls": "refuse",
    "biff_renamed.xlsx": "refuse",
    "encrypted.xlsx": "refuse",
    "csv_renamed.xlsx": "refuse",
    "report.csv": "refuse",
    "html_export.xls": "refuse",
    "xlsx_named_xls.xls": "refuse",
    "zip_bomb.xlsx": "refuse",
    "zip_bomb_ratio.xlsx": "refuse",
    "too_many_members.xlsx": "refuse",
    "billion_laughs.xlsx": "refuse",
    "xxe.xlsx": "refuse",
    "xxe_utf16.xlsx": "refuse",
    "dtd_in_sheet.xlsx": "refuse",
    # valid but odd: read
    "valid_full.xlsx": "read",
    "macro.xlsm": "read",
    "date1904.xlsx": "read",
    "empty_workbook.xlsx": "read",
    "no_expected_sheets.xlsx": "read",
    "headers_no_rows.xlsx": "read",
    "blank_formatted_100k.xlsx": "read",
    "long_text.xlsx": "read",
    "merged_hidden.xlsx": "read",
    "dates_before_1900.xlsx": "read",
    "error_values.xlsx": "read",
    "formula_text.xlsx": "read",
    "wps_bad_dimension.xlsx": "read",
}

# Words each refusal message must contain (lower-cased), so the reason is the right one.
CORPUS_REASON: dict[str, str] = {
    "not_a_zip.xlsx": "text file",
    "random_bytes.xlsx": "not an excel workbook",
    "empty_file.xlsx": "empty",
    "truncated.xlsx": "incomplete",
    "corrupt_member.xlsx": "damaged",
    "lying_size.xlsx": "damaged",
    "zip_not_ooxml.xlsx": "not an excel workbook",
    "odf.xlsx": "opendocument spreadsheet",
    "biff.xls": "old .xls",
    "biff_renamed.xlsx": "old .xls",
    "encrypted.xlsx": "password-protected",
    "csv_renamed.xlsx": "csv",
    "report.csv": "csv",
    "html_export.xls": "html",
    "xlsx_named_xls.xls": "wrong extension",
    "zip_bomb.xlsx": "zip bomb",
    "zip_bomb_ratio.xlsx": "zip bomb",
    "too_many_members.xlsx": "too many parts",
    "billion_laughs.xlsx": "dtd",
    "xxe.xlsx": "dtd",
    "xxe_utf16.xlsx": "dtd",
    "dtd_in_sheet.xlsx": "dtd",
}

SHEETS = ("客户基础信息", "联系人", "跟进记录", "需求与标签", "成交与状态")
HEADERS: dict[str, tuple[str, ...]] = {
    "客户基础信息": ("客户ID", "客户名称", "统一社会信用代码", "所属行业", "首次接触时间", "年交易额(万元)", "负责人", "备注"),
    "联系人": ("客户ID", "联系人姓名", "职务", "手机", "邮箱", "决策角色"),
    "跟进记录": ("客户ID", "跟进时间", "跟进方式", "跟进人", "沟通内容摘要", "下次跟进时间"),
    "需求与标签": ("客户ID", "核心需求类型", "需求关键词", "标签"),
    "成交与状态": ("客户ID", "项目名称", "成交阶段", "实际成交金额(万元)", "成交日期"),
}

# For readable files: what inspect_workbook must report.
_FIVE = {"sheet_names": SHEETS, "hidden_sheets": (), "kind": "xlsx", "date1904": False}
CORPUS_META: dict[str, dict[str, object]] = {
    "valid_full.xlsx": _FIVE,
    "macro.xlsm": {**_FIVE, "kind": "xlsm"},
    "date1904.xlsx": {**_FIVE, "date1904": True},
    "empty_workbook.xlsx": {**_FIVE, "sheet_names": ("Sheet1",)},
    "no_expected_sheets.xlsx": {**_FIVE, "sheet_names": ("Sheet1", "销售明细", "Pivot")},
    "headers_no_rows.xlsx": _FIVE,
    "blank_formatted_100k.xlsx": _FIVE,
    "long_text.xlsx": _FIVE,
    "merged_hidden.xlsx": {**_FIVE, "sheet_names": (*SHEETS, "下拉列表", "旧数据"),
                           "hidden_sheets": ("下拉列表", "旧数据")},
    "dates_before_1900.xlsx": _FIVE,
    "error_values.xlsx": _FIVE,
    "formula_text.xlsx": _FIVE,
    "wps_bad_dimension.xlsx": _FIVE,
}

LONG_TEXT_LEN = 40_000  # over Excel's 32,767-character cell limit
FORMULA_TEXTS = ('=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "@SUM(1)", "-2+3", "=1+1")
ERROR_CODES = ("#N/A", "#REF!", "#DIV/0!", "#VALUE!", "#NAME?", "#NUM!", "#NULL!")

# -- minimal SpreadsheetML writer --------------------------------------------------------

NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
CT_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
CT_XLSM = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
STYLE_DATE, STYLE_FILL = 1, 2


@dataclass(frozen=True)
class Err:
    """An Excel error value cell (t="e"), optionally with the formula that produced it."""

    code: str
    formula: str = ""


@dataclass(frozen=True)
class DateSerial:
    """A number shown with a date format (how Excel stores dates)."""

    serial: float


@dataclass(frozen=True)
class Formula:
    """A live formula with its cached numeric result."""

    formula: str
    value: float


Value = str | int | float | bool | Err | DateSerial | Formula | None


@dataclass
class Sheet:
    """One worksheet: rows of values from A1, plus the odd details a test needs."""

    name: str
    rows: Sequence[Sequence[Value]] = ()
    state: str = "visible"
    dimension: str | None = None          # None: computed from the rows
    merges: Sequence[str] = ()
    hidden_rows: frozenset[int] = frozenset()
    tail_rows_xml: Callable[[int], Iterable[str]] | None = None   # extra <row> XML after the data
    inline_strings: bool = False          # t="inlineStr" instead of the shared string table


def col_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


class _SharedStrings:
    def __init__(self) -> None:
        self.index: dict[str, int] = {}

    def add(self, text: str) -> int:
        return self.index.setdefault(text, len(self.index))

    def xml(self) -> str:
        items = "".join(f"<si><t xml:space=\"preserve\">{escape(s)}</t></si>" for s in self.index)
        n = len(self.index)
        return f'{XML_DECL}<sst xmlns="{NS_MAIN}" count="{n}" uniqueCount="{n}">{items}</sst>'


def _cell_xml(ref: str, value: Value, sst: _SharedStrings, inline: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, (int, float)):
        return f'<c r="{ref}"><v>{value!r}</v></c>'
    if isinstance(value, DateSerial):
        return f'<c r="{ref}" s="{STYLE_DATE}"><v>{value.serial!r}</v></c>'
    if isinstance(value, Err):
        f = f"<f>{escape(value.formula)}</f>" if value.formula else ""
        return f'<c r="{ref}" t="e">{f}<v>{escape(value.code)}</v></c>'
    if isinstance(value, Formula):
        return f'<c r="{ref}"><f>{escape(value.formula)}</f><v>{value.value!r}</v></c>'
    if inline:
        return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(value)}</t></is></c>'
    return f'<c r="{ref}" t="s"><v>{sst.add(value)}</v></c>'


def _sheet_xml(sheet: Sheet, sst: _SharedStrings) -> str:
    parts: list[str] = []
    width = max((len(r) for r in sheet.rows), default=0)
    for r, row in enumerate(sheet.rows, start=1):
        hidden = ' hidden="1"' if r in sheet.hidden_rows else ""
        cells = "".join(_cell_xml(f"{col_letter(c)}{r}", v, sst, sheet.inline_strings) for c, v in enumerate(row))
        parts.append(f'<row r="{r}"{hidden}>{cells}</row>')
    if sheet.tail_rows_xml is not None:
        parts.extend(sheet.tail_rows_xml(len(sheet.rows) + 1))
    dim = sheet.dimension or (f"A1:{col_letter(width - 1)}{len(sheet.rows)}" if sheet.rows and width else "A1")
    merges = ""
    if sheet.merges:
        merges = f'<mergeCells count="{len(sheet.merges)}">' + "".join(
            f'<mergeCell ref="{m}"/>' for m in sheet.merges) + "</mergeCells>"
    return (f'{XML_DECL}<worksheet xmlns="{NS_MAIN}" xmlns:r="{NS_REL}"><dimension ref="{dim}"/>'
            f'<sheetViews><sheetView workbookViewId="0"/></sheetViews><sheetFormatPr defaultRowHeight="15"/>'
            f'<sheetData>{"".join(parts)}</sheetData>{merges}</worksheet>')


STYLES_XML = (
    f'{XML_DECL}<styleSheet xmlns="{NS_MAIN}">'
    '<fonts count="1"><font><sz val="11"/><name val="等线"/></font></fonts>'
    '<fills count="3"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>'
    '<fill><patternFill patternType="solid"><fgColor rgb="FFFFFF00"/><bgColor indexed="64"/></patternFill></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="0" fontId="0" fillId="2" borderId="0" xfId="0" applyFill="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="常规" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)


def workbook_xml(sheets: Sequence[Sheet], *, date1904: bool = False, doctype: str = "") -> str:
    """xl/workbook.xml listing `sheets` in order; `doctype` is inserted verbatim after the declaration."""
    pr = '<workbookPr date1904="1"/>' if date1904 else "<workbookPr/>"
    items = "".join(
        f'<sheet name={quoteattr(s.name)} sheetId="{i}"'
        + (f' state="{s.state}"' if s.state != "visible" else "")
        + f' r:id="rId{i}"/>'
        for i, s in enumerate(sheets, start=1))
    return (f"{XML_DECL}{doctype}<workbook xmlns=\"{NS_MAIN}\" xmlns:r=\"{NS_REL}\">{pr}"
            f'<bookViews><workbookView/></bookViews><sheets>{items}</sheets></workbook>')


def _content_types(n_sheets: int, macro: bool) -> str:
    sheets = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for i in range(1, n_sheets + 1))
    vba = '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>' if macro else ""
    return (f'{XML_DECL}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            f'<Default Extension="xml" ContentType="application/xml"/>{vba}'
            f'<Override PartName="/xl/workbook.xml" ContentType="{CT_XLSM if macro else CT_XLSX}"/>{sheets}'
            '<Override PartName="/xl/styles.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            '<Override PartName="/xl/sharedStrings.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
            "</Types>")


def _workbook_rels(n_sheets: int, macro: bool) -> str:
    base = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    rels = [f'<Relationship Id="rId{i}" Type="{base}/worksheet" Target="worksheets/sheet{i}.xml"/>'
            for i in range(1, n_sheets + 1)]
    rels.append(f'<Relationship Id="rId{n_sheets + 1}" Type="{base}/styles" Target="styles.xml"/>')
    rels.append(f'<Relationship Id="rId{n_sheets + 2}" Type="{base}/sharedStrings" Target="sharedStrings.xml"/>')
    if macro:
        rels.append(f'<Relationship Id="rId{n_sheets + 3}" '
                    'Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" Target="vbaProject.bin"/>')
    return f'{XML_DECL}<Relationships xmlns="{NS_PKG_REL}">{"".join(rels)}</Relationships>'


ROOT_RELS = (f'{XML_DECL}<Relationships xmlns="{NS_PKG_REL}"><Relationship Id="rId1" '
             'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
             'Target="xl/workbook.xml"/></Relationships>')


def xlsx_parts(sheets: Sequence[Sheet], *, date1904: bool = False, macro: bool = False,
               doctype: str = "") -> dict[str, bytes]:
    """All parts of a workbook, by name (ordered as Excel writes them)."""
    sst = _SharedStrings()
    sheet_parts = {f"xl/worksheets/sheet{i}.xml": _sheet_xml(s, sst).encode()
                   for i, s in enumerate(sheets, start=1)}
    parts = {
        "[Content_Types].xml": _content_types(len(sheets), macro).encode(),
        "_rels/.rels": ROOT_RELS.encode(),
        "xl/workbook.xml": workbook_xml(sheets, date1904=date1904, doctype=doctype).encode(),
        "xl/_rels/workbook.xml.rels": _workbook_rels(len(sheets), macro).encode(),
        **sheet_parts,
        "xl/styles.xml": STYLES_XML.encode(),
        "xl/sharedStrings.xml": sst.xml().encode(),
    }
    if macro:
        parts["xl/vbaProject.bin"] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504  # placeholder, never run
    return parts


def zip_bytes(parts: dict[str, bytes], *, stored: Iterable[str] = ()) -> bytes:
    """A deterministic zip of `parts` (fixed timestamps; `stored` names are not compressed)."""
    keep = set(stored)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in parts.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED if name in keep else zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return buf.getvalue()


def xlsx_bytes(sheets: Sequence[Sheet], **kwargs: object) -> bytes:
    return zip_bytes(xlsx_parts(sheets, **kwargs))  # type: ignore[arg-type]


# -- minimal MS-CFB (OLE2 compound file) writer ------------------------------------------

_SECTOR = 512
_FREESECT, _ENDOFCHAIN, _FATSECT, _NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
_MINI_CUTOFF = 4096


def cfb_bytes(streams: dict[str, bytes]) -> bytes:
    """A version-3 compound file holding `streams` at the root (one FAT sector, no mini stream).

    Streams are padded to the 4096-byte mini-stream cutoff so that all live in regular
    sectors; the directory is a flat chain of right siblings (all black).
    """
    data = {name: blob.ljust(_MINI_CUTOFF, b"\x00") for name, blob in streams.items()}
    n_entries = 1 + len(data)
    n_dir = -(-n_entries // 4)
    fat = [_FATSECT]
    dir_start = len(fat)
    fat += [dir_start + i + 1 for i in range(n_dir - 1)] + [_ENDOFCHAIN]
    starts: list[int] = []
    for blob in data.values():
        n = -(-len(blob) // _SECTOR)
        starts.append(len(fat))
        fat += [len(fat) + i + 1 for i in range(n - 1)] + [_ENDOFCHAIN]
    if len(fat) > _SECTOR // 4:
        raise ValueError("cfb_bytes writes one FAT sector only: keep streams small")
    fat += [_FREESECT] * (_SECTOR // 4 - len(fat))
    entries = [_dir_entry("Root Entry", 5, child=1 if data else _NOSTREAM, start=_ENDOFCHAIN, size=0)]
    for i, (name, blob) in enumerate(data.items()):
        right = i + 2 if i + 1 < len(data) else _NOSTREAM
        entries.append(_dir_entry(name, 2, right=right, start=starts[i], size=len(blob)))
    entries += [_dir_entry("", 0, start=0, size=0)] * (n_dir * 4 - len(entries))
    body = b"".join(blob.ljust(-(-len(blob) // _SECTOR) * _SECTOR, b"\x00") for blob in data.values())
    return _cfb_header(dir_start) + struct.pack("<128I", *fat) + b"".join(entries) + body


def _cfb_header(dir_start: int) -> bytes:
    head = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 16
    head += struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + b"\x00" * 6
    head += struct.pack("<IIIIIIIII", 0, 1, dir_start, 0, _MINI_CUTOFF, _ENDOFCHAIN, 0, _ENDOFCHAIN, 0)
    head += struct.pack("<109I", 0, *([_FREESECT] * 108))
    assert len(head) == _SECTOR
    return head


def _dir_entry(name: str, obj_type: int, *, child: int = _NOSTREAM, right: int = _NOSTREAM,
               start: int, size: int) -> bytes:
    raw = name.encode("utf-16-le")
    name_len = len(raw) + 2 if name else 0
    return (raw.ljust(64, b"\x00") + struct.pack("<HBB", name_len, obj_type, 1)
            + struct.pack("<III", _NOSTREAM, right, child) + b"\x00" * 16 + b"\x00" * 4
            + b"\x00" * 16 + struct.pack("<IQ", start, size))


def biff_bytes() -> bytes:
    """A legacy .xls: a compound file whose "Workbook" stream starts with a BIFF8 BOF record."""
    bof = struct.pack("<HHHHHHII", 0x0809, 16, 0x0600, 0x0005, 0x0DBB, 0x07CC, 0, 0x0006)
    eof = struct.pack("<HH", 0x000A, 0)
    return cfb_bytes({"Workbook": bof + eof, "\x05SummaryInformation": b"\xfe\xff"})


def encrypted_bytes() -> bytes:
    """A password-protected OOXML workbook's envelope (MS-OFFCRYPTO agile): structure only."""
    xml = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<encryption '
           b'xmlns="http://schemas.microsoft.com/office/2006/encryption"><keyData saltSize="16" '
           b'blockSize="16" keyBits="256" hashSize="64" cipherAlgorithm="AES" cipherChaining="ChainingModeCBC" '
           b'hashAlgorithm="SHA512" saltValue="AAAAAAAAAAAAAAAAAAAAAA=="/></encryption>')
    info = struct.pack("<HHI", 4, 4, 0x40) + xml
    payload = random.Random(8).randbytes(4096)
    package = struct.pack("<Q", 20_000) + payload
    return cfb_bytes({"EncryptionInfo": info, "EncryptedPackage": package})


# -- zip surgery -------------------------------------------------------------------------


def patch_declared_size(data: bytes, member: str, file_size: int) -> bytes:
    """Rewrite the uncompressed-size fields of `member` in its local and central headers."""
    out = bytearray(data)
    name = member.encode()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        local = zf.getinfo(member).header_offset
    struct.pack_into("<I", out, local + 22, file_size)
    pos = out.find(b"PK\x01\x02")
    while pos != -1:
        n_len = struct.unpack_from("<H", out, pos + 28)[0]
        if bytes(out[pos + 46:pos + 46 + n_len]) == name:
            struct.pack_into("<I", out, pos + 24, file_size)
            return bytes(out)
        pos = out.find(b"PK\x01\x02", pos + 4)
    raise KeyError(member)


def corrupt_member(data: bytes, member: str) -> bytes:
    """Flip bytes in the middle of `member`'s compressed data (directory left intact)."""
    out = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        info = zf.getinfo(member)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    mid = start + info.compress_size // 2
    for i in range(mid, mid + 8):
        out[i] ^= 0x5A
    return bytes(out)


# -- the corpus files --------------------------------------------------------------------


def _headers_only() -> list[Sheet]:
    return [Sheet(name, [HEADERS[name]]) for name in SHEETS]


def _full_sheets(customers: Sequence[Sequence[Value]] | None = None) -> list[Sheet]:
    """The five sheets, with a few plausible rows (customers overridable)."""
    cust = customers if customers is not None else [
        ("KH2024001", "深圳市星河科技有限公司", "9144030071526726XG", "科技业", DateSerial(45292), 62, "张三", ""),
        ("KH2024002", "北京京华贸易有限公司", "91110000600037341L", "零售业", "2024/5/10", "12万", "李四", "老客户"),
        ("KH2024003", "上海浦江物流股份有限公司", "暂无", "物流", "2024年3月1日", None, "张三", None),
    ]
    rows = {
        "客户基础信息": [HEADERS["客户基础信息"], *cust],
        "联系人": [HEADERS["联系人"], ("KH2024001", "王经理", "采购经理", "13800138000", "wang@example.com", "决策者")],
        "跟进记录": [HEADERS["跟进记录"], ("KH2024001", DateSerial(45400), "电话", "张三", "确认需求", DateSerial(45420))],
        "需求与标签": [HEADERS["需求与标签"], ("KH2024001", "采购产品", "降本增效;数字化转型", "预算明确")],
        "成交与状态": [HEADERS["成交与状态"], ("KH2024001", "ERP项目", "成交", 62, DateSerial(45410))],
    }
    return [Sheet(name, rows[name]) for name in SHEETS]


def _blank_rows(first: int, count: int = 100_000, width: int = 8) -> Callable[[int], Iterable[str]]:
    cols = [col_letter(c) for c in range(width)]

    def rows(_start: int) -> Iterable[str]:
        for r in range(first, first + count):
            cells = "".join(f'<c r="{c}{r}" s="{STYLE_FILL}"/>' for c in cols)
            yield f'<row r="{r}" spans="1:{width}" s="{STYLE_FILL}" customFormat="1">{cells}</row>'
    return rows


def _long_text() -> str:
    unit = "客户反馈：价格偏高，需要再沟通。Customer wants a discount. 😀👨‍👩‍👧𠀀\t"
    text = "开头\r\n第二行\n_x0007_控制字符\x09制表" + unit * (LONG_TEXT_LEN // len(unit) + 1)
    return text[:LONG_TEXT_LEN]


def _customers(*extra: Sequence[Value]) -> list[Sheet]:
    base = [("KH2024001", "深圳市星河科技有限公司", "9144030071526726XG", "科技业", DateSerial(45292), 62, "张三", "")]
    return _full_sheets([*base, *extra])


def _valid_odd() -> dict[str, bytes]:
    sheets_merged = _full_sheets([
        ("KH2024001", "深圳市星河科技有限公司", "9144030071526726XG", "科技业", DateSerial(45292), 62, "张三", "合并单元格"),
        ("KH2024002", "被合并覆盖的数据", "91110000600037341L", "零售业", DateSerial(45300), 12, "李四", "隐藏行"),
        ("KH2024003", "上海浦江物流股份有限公司", "暂无", "物流", DateSerial(45310), 5, "王五", ""),
    ])
    sheets_merged[0].merges = ("H2:H3", "B2:B3")
    sheets_merged[0].hidden_rows = frozenset({4})
    sheets_merged += [Sheet("下拉列表", [("所属行业",), ("制造业",), ("零售业",)], state="hidden"),
                      Sheet("旧数据", [("客户ID", "客户名称"), ("KH2020001", "旧公司")], state="veryHidden")]
    blank = _full_sheets()
    blank[0].tail_rows_xml = _blank_rows(len(blank[0].rows) + 1)
    long_sheets = _customers(("KH2024002", _long_text(), "暂无", "其他", DateSerial(45300), 1, "李四", "😀 emoji 备注"))
    long_sheets[0].inline_strings = True
    wps = _full_sheets([(f"KH2024{i:03d}", f"测试公司{i}", "暂无", "制造业", DateSerial(45000 + i), i, "张三", "")
                        for i in range(1, 20)])
    for s in wps:
        s.dimension = "A1"
    return {
        "valid_full.xlsx": xlsx_bytes(_full_sheets()),
        "macro.xlsm": xlsx_bytes(_full_sheets(), macro=True),
        "date1904.xlsx": xlsx_bytes(_full_sheets(), date1904=True),
        "empty_workbook.xlsx": xlsx_bytes([Sheet("Sheet1")]),
        "no_expected_sheets.xlsx": xlsx_bytes([
            Sheet("Sheet1", [("姓名", "电话"), ("张三", "13800138000")]),
            Sheet("销售明细", [("日期", "金额"), (DateSerial(45300), 100)]),
            Sheet("Pivot", [("汇总",)])]),
        "headers_no_rows.xlsx": xlsx_bytes(_headers_only()),
        "blank_formatted_100k.xlsx": xlsx_bytes(blank),
        "long_text.xlsx": xlsx_bytes(long_sheets),
        "merged_hidden.xlsx": xlsx_bytes(sheets_merged),
        "dates_before_1900.xlsx": xlsx_bytes(_customers(
            ("KH2024002", "清末商号", "暂无", "其他", "1899-12-31", 1, "李四", "文本日期"),
            ("KH2024003", "百年老店", "暂无", "其他", "1850/6/1", 1, "李四", ""),
            ("KH2024004", "序列号1", "暂无", "其他", DateSerial(1), 1, "李四", "1900-01-01"),
            ("KH2024005", "序列号60", "暂无", "其他", DateSerial(60), 1, "李四", "不存在的1900-02-29"),
            ("KH2024006", "序列号0", "暂无", "其他", DateSerial(0), 1, "李四", "1900-01-00"),
            ("KH2024007", "负数", "暂无", "其他", DateSerial(-1), 1, "李四", "负序列号"))),
        "error_values.xlsx": xlsx_bytes(_customers(
            *[(f"KH20241{i:02d}", Err(code), "暂无", "其他", Err(code, "NA()") if i % 2 else DateSerial(45300),
               Err("#DIV/0!", "1/0"), "李四", code) for i, code in enumerate(ERROR_CODES)])),
        "formula_text.xlsx": xlsx_bytes(_customers(
            *[(f"KH20242{i:02d}", text, "暂无", "其他", DateSerial(45300), Formula("SUM(1,2)", 3), "李四", text)
              for i, text in enumerate(FORMULA_TEXTS)])),
        "wps_bad_dimension.xlsx": xlsx_bytes(wps),
    }


def _hostile_xml() -> dict[str, bytes]:
    lol = ('<!DOCTYPE workbook [<!ENTITY lol "lol">'
           + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
                     for i in range(1, 10))
           + "]>")
    xxe = '<!DOCTYPE workbook [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    laughs = xlsx_parts(_full_sheets(), doctype=lol)
    laughs["xl/workbook.xml"] = laughs["xl/workbook.xml"].replace(b'name="\xe8\x81\x94', b'name="&lol9;\xe8\x81\x94')
    xxe_parts = xlsx_parts(_full_sheets(), doctype=xxe)
    xxe_parts["xl/workbook.xml"] = xxe_parts["xl/workbook.xml"].replace(b'name="\xe8\x81\x94', b'name="&xxe;\xe8\x81\x94')
    utf16 = xlsx_parts(_full_sheets())
    text = utf16["xl/workbook.xml"].decode().replace('encoding="UTF-8"', 'encoding="UTF-16"')
    text = text.replace("<workbook ", xxe + "<workbook ", 1)
    utf16["xl/workbook.xml"] = text.encode("utf-16")  # with BOM, little-endian
    in_sheet = xlsx_parts(_full_sheets())
    in_sheet["xl/worksheets/sheet2.xml"] = in_sheet["xl/worksheets/sheet2.xml"].replace(
        b"<worksheet ", xxe.encode() + b"<worksheet ", 1)
    return {
        "billion_laughs.xlsx": zip_bytes(laughs),
        "xxe.xlsx": zip_bytes(xxe_parts),
        "xxe_utf16.xlsx": zip_bytes(utf16),
        "dtd_in_sheet.xlsx": zip_bytes(in_sheet),
    }


def _not_workbooks() -> dict[str, bytes]:
    csv = "客户ID,客户名称,所属行业,首次接触时间,负责人\r\nKH2024001,深圳市星河科技有限公司,科技业,2024-01-01,张三\r\n"
    odf = {
        "mimetype": b"application/vnd.oasis.opendocument.spreadsheet",
        "content.xml": b'<?xml version="1.0" encoding="UTF-8"?><office:document-content '
                       b'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"/>',
        "META-INF/manifest.xml": b'<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
                                 b'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"/>',
    }
    html = ('<html xmlns:x="urn:schemas-microsoft-com:office:excel"><head><meta charset="utf-8"></head>'
            "<body><table><tr><td>客户ID</td><td>客户名称</td></tr></table></body></html>")
    return {
        "not_a_zip.xlsx": b"This is not a workbook.\nJust some notes typed in a text editor.\n",
        "random_bytes.xlsx": random.Random(8).randbytes(4096),
        "empty_file.xlsx": b"",
        "zip_not_ooxml.xlsx": zip_bytes({"readme.txt": b"hello"}),
        "odf.xlsx": zip_bytes(odf, stored=["mimetype"]),
        "biff.xls": biff_bytes(),
        "biff_renamed.xlsx": biff_bytes(),
        "encrypted.xlsx": encrypted_bytes(),
        "csv_renamed.xlsx": b"\xef\xbb\xbf" + csv.encode(),
        "report.csv": csv.encode("gb18030"),
        "html_export.xls": html.encode(),
        "xlsx_named_xls.xls": xlsx_bytes(_full_sheets()),
    }


def _broken_zips() -> dict[str, bytes]:
    full = xlsx_bytes(_full_sheets())
    big_rows = _full_sheets()
    big_rows[0].tail_rows_xml = _blank_rows(5, count=20_000)
    lying = xlsx_bytes(big_rows)
    many = xlsx_parts(_full_sheets())
    many.update({f"customXml/item{i}.txt": b"" for i in range(10_001)})
    return {
        "truncated.xlsx": full[: len(full) // 2],
        "corrupt_member.xlsx": corrupt_member(full, "xl/worksheets/sheet1.xml"),
        "lying_size.xlsx": patch_declared_size(lying, "xl/worksheets/sheet1.xml", 1000),
        "zip_bomb.xlsx": patch_declared_size(full, "xl/worksheets/sheet1.xml", 3 * 1024**3),
        "too_many_members.xlsx": zip_bytes(many),
    }


def write_ratio_bomb(dest: Path, size: int = 50 * 1024**2) -> None:
    """A real workbook whose sheet1.xml is `size` bytes of zeros (deflates ~1000:1), streamed."""
    parts = xlsx_parts(_full_sheets())
    with zipfile.ZipFile(dest, "w") as zf:
        for name, data in parts.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            if name != "xl/worksheets/sheet1.xml":
                zf.writestr(info, data)
                continue
            chunk = b"\x00" * (1024**2)
            with zf.open(info, "w", force_zip64=False) as out:
                for _ in range(size // len(chunk)):
                    out.write(chunk)


def build_corpus(dest: Path) -> dict[str, Path]:
    """Write every corpus file into `dest` (created if needed); return {filename: path}."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    blobs = {**_not_workbooks(), **_broken_zips(), **_hostile_xml(), **_valid_odd()}
    paths: dict[str, Path] = {}
    for name, data in blobs.items():
        paths[name] = dest / name
        paths[name].write_bytes(data)
    paths["zip_bomb_ratio.xlsx"] = dest / "zip_bomb_ratio.xlsx"
    write_ratio_bomb(paths["zip_bomb_ratio.xlsx"])
    missing = set(CORPUS_EXPECT) ^ set(paths)
    if missing:
        raise RuntimeError(f"corpus and CORPUS_EXPECT disagree on: {sorted(missing)}")
    return paths


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python tests/corpus/make_corpus.py DEST", file=sys.stderr)
        return 2
    paths = build_corpus(Path(argv[0]))
    for name in sorted(paths):
        print(f"{CORPUS_EXPECT[name]:6}  {paths[name]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
