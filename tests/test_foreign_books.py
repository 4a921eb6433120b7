"""Real workbooks from other tools and other people (issue 20): the details that decide
whether a user's first file works.

Every file is generated here: a template filled as a rep would (openpyxl), then changed the
way another program or person changes it (zip surgery on the package, msoffcrypto-tool's
encryption). Messages are asserted exactly, in zh and en.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest

from khbook.base.errors import WorkbookError
from khbook.cli import main
from khbook.pipeline import check_file, refresh_file
from khbook.read.contacts import check_phone
from khbook.read.safety import inspect_workbook
from khbook.spec import Spec, load_spec
from tests.rep import AS_OF, Rep, make_template

ASOF = ["--as-of", AS_OF.isoformat()]
Surgery = Callable[[str, bytes], tuple[str, bytes] | None]


@pytest.fixture(scope="module")
def spec() -> Spec:
    return load_spec()


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory, spec: Spec) -> Path:
    """A rep's workbook: two customers, contacts with the office phone shorthand, one bad number."""
    d = tmp_path_factory.mktemp("foreign")
    rep = Rep(make_template(d / "template.xlsx", spec))
    rep.put("customers", 2, customer_id="KH001", name="上海示例贸易有限公司", industry="制造业", owner="张伟",
            first_contact=AS_OF)
    rep.put("customers", 3, customer_id="KH002", name="上海示例物流有限公司", industry="物流业", owner="张伟",
            first_contact=AS_OF)
    rep.put("contacts", 2, customer_id="KH001", name="王建国", landline="021-65759515/6/7")
    rep.put("contacts", 3, customer_id="KH001", name="李娜", landline="021-65757819/55155305")
    rep.put("contacts", 4, customer_id="KH002", name="陈明", landline="021-66075620/1-8012")
    rep.put("contacts", 5, customer_id="KH002", name="周杰", landline="021-66075620/021-1234")
    return rep.save(d / "张伟.xlsx")


def _rewrite(src: Path, dst: Path, surgery: Surgery, extra: dict[str, bytes] | None = None) -> Path:
    """Copy a package part by part through `surgery` (None drops the part)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            kept = surgery(info.filename, zin.read(info.filename))
            if kept is not None:
                zout.writestr(kept[0], kept[1])
        for name, data in (extra or {}).items():
            zout.writestr(name, data)
    return dst


def _findings(path: Path, spec: Spec, lang: str = "zh") -> list[tuple[str, str, str, str]]:
    return [(f.rule, f.cell, f.value, f.message) for f in check_file(path, spec, as_of=AS_OF, lang=lang).findings]


# -- 1. the phone shorthand --------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [
    ("021-65759515/6/7", "021-65759515 / 021-65759516 / 021-65759517"),
    ("021-65757819/55155305", "021-65757819 / 021-55155305"),
    ("021-66075620/1-8012", "021-66075620 / 021-66075621 ext. 8012"),
    ("0755-88888888/9", "0755-88888888 / 0755-88888889"),
    ("010-12345678转8001/8002", "010-12345678 ext. 8001 / 010-12345678 ext. 8002"),
    ("13812345678/79", "13812345678 / 13812345679"),
])
def test_shorthand_expands(raw: str, expected: str) -> None:
    assert check_phone(raw).value == expected


@pytest.mark.parametrize(("raw", "shown", "detail"), [
    ("021-66075620/021-1234", "021-1234", "too_short"),  # a full number after the shorthand is read by itself
    ("13812345678/1395678", "1395678", "too_short"),      # a mobile has no area code to lend
    ("021-6575951/6", "021-6575951", "unrecognised"),     # Shanghai numbers have 8 digits
])
def test_only_the_bad_number_is_named(raw: str, shown: str, detail: str) -> None:
    p = check_phone(raw)
    assert (p.value, p.rule, p.detail, p.shown) == (None, "bad_phone", detail, shown)


def test_shorthand_in_a_contact_sheet(book: Path, spec: Spec) -> None:
    phones = [f for f in _findings(book, spec) if f[0] == "bad_phone"]
    cell = phones[0][1] if phones else ""
    assert phones == [("bad_phone", cell, "021-1234",
                       "“021-1234”不是有效的电话号码（位数不足），手机请填11位，座机请带区号。")]
    assert cell.endswith("5")
    en = [f for f in _findings(book, spec, "en") if f[0] == "bad_phone"]
    assert en == [("bad_phone", cell, "021-1234", "\"021-1234\" is not a valid phone number (too few digits); "
                   "mobiles have 11 digits, landlines need the area code.")]


# -- 2. the workbook part through _rels/.rels ---------------------------------------------


def _moved(name: str, data: bytes) -> tuple[str, bytes]:
    """Every xl/ part under book/, the workbook part named main.xml (a valid OPC package)."""
    renamed = {"xl/workbook.xml": "book/main.xml", "xl/_rels/workbook.xml.rels": "book/_rels/main.xml.rels"}
    new = renamed.get(name) or (("book/" + name[3:]) if name.startswith("xl/") else name)
    if name == "[Content_Types].xml" or name.endswith(".rels"):  # openpyxl writes absolute targets
        data = data.replace(b"xl/workbook.xml", b"book/main.xml").replace(b"/xl/", b"/book/")
    return new, data


def test_workbook_part_at_another_path(book: Path, spec: Spec, tmp_path: Path) -> None:
    moved = _rewrite(book, tmp_path / "moved.xlsx", _moved)
    info = inspect_workbook(moved)
    assert info.workbook_part == "book/main.xml" and "xl/workbook.xml" not in info.members
    assert _findings(moved, spec) == _findings(book, spec)
    out = refresh_file(moved, tmp_path / "moved.checked.xlsx", spec=spec, as_of=AS_OF).output
    with zipfile.ZipFile(out) as z:
        assert b'Target="book/main.xml"' in z.read("_rels/.rels")
        assert "book/styles.xml" in z.namelist()
    assert _findings(out, spec) == _findings(book, spec)
    assert "异常清单" in openpyxl.load_workbook(out, read_only=True).sheetnames


def test_absolute_and_differently_cased_targets(book: Path, tmp_path: Path, spec: Spec) -> None:
    def absolute(name: str, data: bytes) -> tuple[str, bytes]:
        new, data = _moved(name, data)
        if name == "_rels/.rels":
            data = data.replace(b'Target="book/main.xml"', b'Target="/Book/Main.xml"')
        return new, data

    path = _rewrite(book, tmp_path / "absolute.xlsx", absolute)
    assert inspect_workbook(path).workbook_part == "book/main.xml"
    assert _findings(path, spec) == _findings(book, spec)
    out = refresh_file(path, tmp_path / "absolute.checked.xlsx", spec=spec, as_of=AS_OF).output
    assert _findings(out, spec) == _findings(book, spec)


def test_zip_without_a_workbook_part(tmp_path: Path, spec: Spec) -> None:
    path = tmp_path / "压缩包.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "hello")
    with pytest.raises(WorkbookError) as info:
        inspect_workbook(path)
    assert info.value.render(spec, "zh") == (f"{path}：不是 Excel 工作簿（是 zip 文件，但里面没有工作簿）"
                                            "（请确认选对了文件；如果 Excel 能打开它，请重新另存为 .xlsx）")
    assert info.value.render(spec, "en") == (f"{path}: is not an Excel workbook (a zip file without a workbook part) "
                                            "(check you picked the right file; if Excel opens it, save it again as .xlsx)")


# -- 3. a package without xl/styles.xml --------------------------------------------------


def _without_styles(keep_rel: bool) -> Surgery:
    def surgery(name: str, data: bytes) -> tuple[str, bytes] | None:
        if name == "xl/styles.xml":
            return None
        if name.startswith("xl/worksheets/sheet"):
            # as LibreOffice writes it: no cell or column style, no conditional format
            data = re.sub(rb' (?:s|style)="\d+"', b"", data)
            data = re.sub(rb"<conditionalFormatting\b.*?</conditionalFormatting>", b"", data, flags=re.S)
        if not keep_rel and name == "xl/_rels/workbook.xml.rels":
            data = re.sub(rb'<Relationship [^>]*/styles"[^>]*/>', b"", data)
        if not keep_rel and name == "[Content_Types].xml":
            data = re.sub(rb'<Override PartName="/xl/styles.xml"[^>]*/>', b"", data)
        return name, data
    return surgery


@pytest.mark.parametrize("keep_rel", [False, True], ids=["no-styles", "dangling-styles-relationship"])
def test_refresh_adds_the_styles_part(book: Path, spec: Spec, tmp_path: Path, keep_rel: bool) -> None:
    bare = _rewrite(book, tmp_path / "bare.xlsx", _without_styles(keep_rel))
    assert _findings(bare, spec) == _findings(book, spec)
    out = refresh_file(bare, tmp_path / "bare.checked.xlsx", spec=spec, as_of=AS_OF).output
    with zipfile.ZipFile(out) as z:
        styles = z.read("xl/styles.xml")
        assert b"<dxf>" in styles  # the fill of the bad phone's mark
        assert b'PartName="/xl/styles.xml"' in z.read("[Content_Types].xml")
        assert z.read("xl/_rels/workbook.xml.rels").count(b"/styles\"") == 1
    assert _findings(out, spec) == _findings(book, spec)
    wb = openpyxl.load_workbook(out)
    contacts = wb[spec.sheet("contacts").name("zh")]
    assert len(contacts.conditional_formatting) == 1


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) not installed: cannot prove the copies load")
def test_libreoffice_loads_the_copies(book: Path, spec: Spec, tmp_path: Path) -> None:
    outs = [refresh_file(_rewrite(book, tmp_path / f"{name}.xlsx", surgery), tmp_path / f"{name}.out.xlsx",
                         spec=spec, as_of=AS_OF).output
            for name, surgery in (("moved", _moved), ("bare", _without_styles(False)))]
    conv, profile = tmp_path / "conv", tmp_path / "profile"
    proc = subprocess.run(["soffice", f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf",
                           "--outdir", str(conv), *map(str, outs)], capture_output=True, text=True, timeout=240)
    for out in outs:
        pdf = conv / f"{out.stem}.pdf"
        assert pdf.exists() and pdf.stat().st_size > 1000, proc.stdout + proc.stderr


# -- 4. the extension follows the content ------------------------------------------------


@pytest.fixture(scope="module")
def macro_book(tmp_path_factory: pytest.TempPathFactory, spec: Spec) -> Path:
    from khbook.template.macro import MacroUnavailable

    d = tmp_path_factory.mktemp("macro")
    try:
        return make_template(d / "客户.xlsm", spec, macro=True)
    except MacroUnavailable as exc:  # pragma: no cover - xlwings is a test dependency
        pytest.skip(f"no macro template: {exc}")


def _is_macro_package(path: Path) -> bool:
    with zipfile.ZipFile(path) as z:
        return "xl/vbaProject.bin" in z.namelist() and b"macroEnabled" in z.read("[Content_Types].xml")


def test_refresh_xlsm_to_an_xlsx_name(macro_book: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(macro_book, tmp_path / "book.xlsm")
    monkeypatch.chdir(tmp_path)
    assert main(["refresh", "book.xlsm", "-o", "copy.xlsx", *ASOF]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("已写入 copy.xlsm：")
    assert err == "khbook：注意：已保存为 copy.xlsm，而不是 copy.xlsx：这个工作簿带宏，扩展名必须是 .xlsm，否则 Excel 打不开\n"
    assert not (tmp_path / "copy.xlsx").exists() and _is_macro_package(tmp_path / "copy.xlsm")
    assert main(["refresh", "book.xlsm", "-o", "copy2.xlsx", "--format", "json", "--lang", "en", *ASOF]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["output"] == "copy2.xlsm"
    assert payload["note"] == ("wrote copy2.xlsm instead of copy2.xlsx: the workbook has macros, so it must end in "
                               ".xlsm (Excel does not open a macro workbook named .xlsx)")


def test_refresh_macro_book_named_xlsx(macro_book: Path, tmp_path: Path) -> None:
    """A macro package someone renamed to .xlsx: its default copy is NAME.checked.xlsm."""
    renamed = shutil.copy(macro_book, tmp_path / "renamed.xlsx")
    result = refresh_file(renamed, as_of=AS_OF)
    assert result.output == tmp_path / "renamed.checked.xlsm" and result.requested is None
    assert _is_macro_package(result.output)


def test_plain_book_to_an_xlsm_name(book: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(book, tmp_path / "book.xlsx")
    monkeypatch.chdir(tmp_path)
    assert main(["refresh", "book.xlsx", "-o", "copy.xlsm", *ASOF]) == 1  # the bad phone is an error
    out, err = capsys.readouterr()
    assert out.startswith("已写入 copy.xlsx：")
    assert err == "khbook：注意：已保存为 copy.xlsx，而不是 copy.xlsm：这个工作簿不带宏，扩展名必须是 .xlsx，否则 Excel 打不开\n"
    assert not (tmp_path / "copy.xlsm").exists()
    assert main(["template", "-o", "空白.xlsm", "--lang", "en"]) == 0
    out, err = capsys.readouterr()
    assert out == "wrote 空白.xlsx (the template is an .xlsx workbook, so it is named .xlsx, not .xlsm)\n"
    assert err == ""
    assert not (tmp_path / "空白.xlsm").exists() and (tmp_path / "空白.xlsx").is_file()


def test_overwrite_guard_sees_the_corrected_name(macro_book: Path, tmp_path: Path, spec: Spec) -> None:
    src = shutil.copy(macro_book, tmp_path / "book.xlsm")
    with pytest.raises(WorkbookError) as info:
        refresh_file(src, tmp_path / "book.xlsx", spec=spec, as_of=AS_OF)
    assert info.value.code == "overwrite_input"


# -- 5. Excel's default password ---------------------------------------------------------


def _encrypt(src: Path, dst: Path, password: str) -> Path:
    from msoffcrypto.format.ooxml import OOXMLFile

    with src.open("rb") as fin, dst.open("wb") as fout:
        OOXMLFile(fin).encrypt(password, fout)
    return dst


def test_default_password_book_is_read(book: Path, spec: Spec, tmp_path: Path) -> None:
    locked = _encrypt(book, tmp_path / "只读建议.xlsx", "VelvetSweatshop")
    assert locked.read_bytes()[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    before = locked.read_bytes()
    assert _findings(locked, spec) == _findings(book, spec)
    report = refresh_file(locked, tmp_path / "copy.xlsx", spec=spec, as_of=AS_OF)
    assert report.report.file == str(locked)
    assert zipfile.is_zipfile(report.output)  # the copy is not encrypted: that password protects nothing
    assert _findings(report.output, spec) == _findings(book, spec)
    assert locked.read_bytes() == before


def test_other_password_is_refused(book: Path, spec: Spec, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    locked = _encrypt(book, tmp_path / "加密.xlsx", "secret")
    assert main(["check", str(locked)]) == 2
    assert capsys.readouterr().err == (f"khbook：错误：{locked}：设置了打开密码（已加密），无法读取"
                                       "（用 --password 给出打开密码（或设置环境变量 KHBOOK_PASSWORD），或在 Excel 中通过 文件 > 信息 > 保护工作簿 取消密码后重新保存）\n")
    assert main(["check", str(locked), "--lang", "en"]) == 2
    assert capsys.readouterr().err == (f"khbook: error: {locked}: is password-protected (encrypted), so it cannot be "
                                       "read (give its password with --password (or the KHBOOK_PASSWORD environment "
                                       "variable), or remove the password in Excel via File > Info > Protect Workbook "
                                       "and save again)\n")


# -- 7. the reader library's words -------------------------------------------------------


def _in_part(part: str, old: bytes, new: bytes) -> Surgery:
    def surgery(name: str, data: bytes) -> tuple[str, bytes]:
        return name, (re.sub(old, new, data, count=1) if name == part else data)
    return surgery


LIBRARY_CASES = {
    "sheet_state": (_in_part("xl/workbook.xml", rb'state="visible"', b'state="show"'),
                    "Unrecognized sheet:state: show",
                    "某个工作表的显示状态写成了“show”，Excel 不会这样写（文件由其他软件生成）",
                    "lists a sheet whose visibility is written as \"show\", which Excel never writes "
                    "(the file was made by another program)"),
    "missing_relationship": (_in_part("xl/_rels/workbook.xml.rels", rb'Id="rId2"', b'Id="rId99"'),
                             "Relationship not found",
                             "列出了一个文件里找不到的工作表（文件不完整）",
                             "lists a sheet that is missing from the file (the package is incomplete)"),
}
HINT_ZH = "（请用 Excel 或 WPS 打开，重新另存为 .xlsx 后再试）"
HINT_EN = " (open it in Excel or WPS, save it again as .xlsx and retry)"


@pytest.mark.parametrize("code", sorted(LIBRARY_CASES))
def test_library_words_become_user_words(book: Path, tmp_path: Path, code: str, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    surgery, library, zh, en = LIBRARY_CASES[code]
    path = _rewrite(book, tmp_path / "其他软件.xlsx", surgery)
    monkeypatch.delenv("KHBOOK_DEBUG", raising=False)
    assert main(["check", str(path)]) == 2
    assert capsys.readouterr().err == f"khbook：错误：{path}：{zh}{HINT_ZH}\n"
    assert main(["check", str(path), "--lang", "en", "--format", "json"]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"khbook: error: {path}: {en}{HINT_EN}\n"
    payload = json.loads(captured.out)
    assert (payload["code"], payload["detail"]) == (code, library)
    assert library not in payload["error"]
    monkeypatch.setenv("KHBOOK_DEBUG", "1")
    assert main(["refresh", str(path)]) == 2
    assert capsys.readouterr().err == f"khbook：错误：{path}：{zh}{HINT_ZH}\nkhbook: detail: {library}\n"


def test_a_range_calamine_refuses_is_read_the_other_way(book: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """A dimension without its row (`ref="A"`) stops calamine ("Range is missing the expected row
    component"); the package is sound, so openpyxl reads it and a 提示 finding says so."""
    path = _rewrite(book, tmp_path / "其他软件.xlsx",
                    _in_part("xl/worksheets/sheet3.xml", rb'<dimension ref="[^"]*"', b'<dimension ref="A"'))
    assert main(["check", str(path), "--format", "json"]) in (0, 1)
    payload = json.loads(capsys.readouterr().out)
    assert any(f["rule"] in ("read_fallback", "book_read_fallback") for f in payload["findings"])


def test_unknown_library_words_stay_out_of_the_chinese_line(book: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    path = _rewrite(book, tmp_path / "坏.xlsx", _in_part("xl/workbook.xml", rb"</workbook>", b"</workbok>"))
    assert main(["check", str(path), "--format", "json"]) == 2
    payload = json.loads(capsys.readouterr().out)
    assert payload["error"] == (f"{path}：内部部件 xl/workbook.xml 不是格式正确的 XML"
                                "（文件已损坏：请用 Excel 或 WPS 重新保存）")
    assert payload["code"] == "bad_xml" and "workbok" in payload["detail"]
    assert payload["error_en"] == (f"{path}: part xl/workbook.xml is not well-formed XML ({payload['detail']}) "
                                   "(the file is damaged: re-save it in Excel or WPS)")


# -- 8. the JSON file field --------------------------------------------------------------


def test_json_file_is_the_path_as_given(book: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "销售部").mkdir()
    shutil.copy(book, tmp_path / "销售部" / "张伟.xlsx")
    monkeypatch.chdir(tmp_path)
    given = str(Path("销售部") / "张伟.xlsx")
    assert main(["check", given, "缺失.xlsx", "--format", "json", *ASOF]) == 2
    result, error = json.loads(capsys.readouterr().out)
    assert result["file"] == given and error["file"] == "缺失.xlsx"
    assert main(["check", str(tmp_path / given), "--format", "json", *ASOF]) == 1
    assert json.loads(capsys.readouterr().out)["file"] == str(tmp_path / given)
    assert main(["refresh", given, "-o", "out.xlsx", "--format", "json", *ASOF]) == 1
    payload = json.loads(capsys.readouterr().out)
    assert (payload["file"], payload["output"]) == (given, "out.xlsx")


def test_encrypted_package_stream_names(book: Path, tmp_path: Path) -> None:
    """olefile lists the streams the gate tells compound files apart by."""
    from khbook.read.ole import stream_names

    locked = _encrypt(book, tmp_path / "x.xlsx", "secret")
    with locked.open("rb") as fh:
        assert {"EncryptionInfo", "EncryptedPackage", "Root Entry"} <= stream_names(fh)
    with pytest.raises(ValueError):
        stream_names(io.BytesIO(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100))
