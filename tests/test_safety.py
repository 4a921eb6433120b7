"""The input gate (khbook.read.safety) on the generated hostile-input corpus and on edge cases."""

from __future__ import annotations

import io
import os
import shutil
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from khbook.base.errors import WorkbookError
from khbook.base.xmlsafe import parse_xml
from khbook.read import limits, safety
from khbook.read.ole import stream_names
from khbook.read.safety import (
    PackageInfo,
    assert_no_dtd,
    inspect_workbook,
    read_member,
)
from tests.corpus import make_corpus

corpus_mod = make_corpus
EXPECT: dict[str, str] = corpus_mod.CORPUS_EXPECT
REASON: dict[str, str] = corpus_mod.CORPUS_REASON
META: dict[str, dict[str, object]] = corpus_mod.CORPUS_META
REFUSE = sorted(n for n, e in EXPECT.items() if e == "refuse")
READ = sorted(n for n, e in EXPECT.items() if e == "read")


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return corpus_mod.build_corpus(tmp_path_factory.mktemp("corpus"))


def _refusal(path: Path) -> WorkbookError:
    with pytest.raises(Exception) as info:
        inspect_workbook(path)
    assert type(info.value) is WorkbookError, f"{path.name}: {type(info.value).__name__}: {info.value}"
    return info.value


def _fingerprint(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), path.stat().st_mtime_ns


# -- the corpus --------------------------------------------------------------------------


def test_corpus_tables_agree() -> None:
    assert set(REASON) == set(REFUSE)
    assert set(META) == set(READ)


@pytest.mark.parametrize("name", REFUSE)
def test_refused_with_one_clear_line(corpus: dict[str, Path], name: str) -> None:
    path = corpus[name]
    before = _fingerprint(path)
    err = _refusal(path)
    text = str(err)
    assert text.startswith(f"{path}: "), text
    assert err.path == str(path)
    assert err.hint and err.hint in text, text
    assert "\n" not in text and "Traceback" not in text
    assert REASON[name] in text.lower(), text
    assert _fingerprint(path) == before  # never modified, not even touched


@pytest.mark.parametrize("name", READ)
def test_read_reports_package(corpus: dict[str, Path], name: str) -> None:
    path = corpus[name]
    before = _fingerprint(path)
    info = inspect_workbook(path)
    assert isinstance(info, PackageInfo)
    meta = META[name]
    assert info.path == path
    assert info.kind == meta["kind"]
    assert info.sheet_names == meta["sheet_names"]
    assert info.hidden_sheets == meta["hidden_sheets"]
    assert info.date1904 is meta["date1904"]
    assert "xl/workbook.xml" in info.members
    assert info.uncompressed > 0
    assert _fingerprint(path) == before


def test_specific_messages(corpus: dict[str, Path]) -> None:
    assert "looks like a CSV text file" in str(_refusal(corpus["csv_renamed.xlsx"]))
    assert "open it in Excel or WPS and save it as an Excel workbook" in str(_refusal(corpus["csv_renamed.xlsx"]))
    enc = _refusal(corpus["encrypted.xlsx"])
    assert "password-protected" in enc.message and "File > Info > Protect Workbook" in enc.hint
    old = _refusal(corpus["biff_renamed.xlsx"])
    assert "old .xls" in old.message and "save it as .xlsx" in old.hint
    assert "OpenDocument spreadsheet" in _refusal(corpus["odf.xlsx"]).message
    assert "refused before unpacking" in _refusal(corpus["zip_bomb.xlsx"]).message


@pytest.mark.parametrize("name", ["zip_bomb.xlsx", "zip_bomb_ratio.xlsx", "lying_size.xlsx",
                                  "billion_laughs.xlsx", "too_many_members.xlsx"])
def test_hostile_files_use_bounded_memory(corpus: dict[str, Path], name: str) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(WorkbookError):
            inspect_workbook(corpus[name])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50 * 1024**2, f"{name}: peak {peak:,} bytes"


def test_blank_formatted_rows_use_bounded_memory(corpus: dict[str, Path]) -> None:
    path = corpus["blank_formatted_100k.xlsx"]
    with zipfile.ZipFile(path) as zf:
        assert zf.getinfo("xl/worksheets/sheet1.xml").file_size > 10 * 1024**2
    tracemalloc.start()
    try:
        inspect_workbook(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * 1024**2


def test_cfb_directory_names(corpus: dict[str, Path]) -> None:
    for name, streams in [("biff.xls", {"Workbook"}), ("encrypted.xlsx", {"EncryptionInfo", "EncryptedPackage"})]:
        path = corpus[name]
        with path.open("rb") as fh:
            names = stream_names(fh)
        assert streams <= names and "Root Entry" in names


# -- paths -------------------------------------------------------------------------------


def test_chinese_path_with_spaces(corpus: dict[str, Path], tmp_path: Path) -> None:
    folder = tmp_path / "销售 部" / "2024年 11月"
    folder.mkdir(parents=True)
    good = folder / "张三 的客户 (终版).xlsx"
    shutil.copy(corpus["valid_full.xlsx"], good)
    assert inspect_workbook(str(good)).sheet_names[0] == "客户基础信息"
    bad = folder / "李四 客户表.xlsx"
    shutil.copy(corpus["encrypted.xlsx"], bad)
    assert str(bad) in str(_refusal(bad))


def test_missing_file_and_folder(tmp_path: Path) -> None:
    assert "not found" in _refusal(tmp_path / "没有.xlsx").message
    assert "folder" in _refusal(tmp_path).message


def test_unreadable_file(corpus: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(*args: object, **kwargs: object) -> io.BufferedReader:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(safety, "open", denied, raising=False)
    err = _refusal(corpus["valid_full.xlsx"])
    assert "permission denied" in err.message and "Excel" in err.hint


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file_for_real(corpus: dict[str, Path], tmp_path: Path) -> None:
    path = tmp_path / "locked.xlsx"
    shutil.copy(corpus["valid_full.xlsx"], path)
    path.chmod(0)
    assert "permission" in _refusal(path).message


def test_excel_lock_file(tmp_path: Path) -> None:
    lock = tmp_path / "~$客户.xlsx"
    lock.write_bytes(b"\x05user" + b" " * 160)
    assert "lock file" in _refusal(lock).message


@pytest.mark.parametrize("suffix, words", [(".et", "WPS"), (".numbers", "Numbers"), (".xls", "old .xls")])
def test_foreign_suffix_with_unrecognised_content(tmp_path: Path, suffix: str, words: str) -> None:
    path = tmp_path / f"file{suffix}"
    path.write_bytes(b"\x00\x01binary" * 10)
    assert words in str(_refusal(path))


def test_wps_et_and_numbers_packages(tmp_path: Path) -> None:
    et = tmp_path / "表格.et"
    et.write_bytes(corpus_mod.cfb_bytes({"WksSSWorkBook": b"wps"}))
    assert "WPS" in _refusal(et).message
    numbers = tmp_path / "表格.xlsx"
    numbers.write_bytes(corpus_mod.zip_bytes({"Index/Document.iwa": b"x", "Metadata/Properties.plist": b"x"}))
    assert "Numbers" in _refusal(numbers).message
    xlsb = tmp_path / "b.xlsx"
    xlsb.write_bytes(corpus_mod.zip_bytes({"[Content_Types].xml": b"<Types/>", "xl/workbook.bin": b"x"}))
    assert ".xlsb" in _refusal(xlsb).message


# -- limits ------------------------------------------------------------------------------


def test_limits_are_documented_constants() -> None:
    assert limits.MAX_FILE_BYTES == 200 * 1024**2
    assert limits.MAX_UNCOMPRESSED_BYTES == 1024**3
    assert limits.MAX_MEMBER_RATIO == 200
    assert limits.MAX_MEMBERS == 10000


def test_limits_can_be_lowered(corpus: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    path = corpus["valid_full.xlsx"]
    monkeypatch.setattr(limits, "MAX_UNCOMPRESSED_BYTES", 1000)
    assert "KHBOOK_MAX_UNCOMPRESSED" in _refusal(path).hint
    monkeypatch.setattr(limits, "MAX_FILE_BYTES", 100)
    assert "too large" in _refusal(path).message


def test_env_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KHBOOK_TEST_LIMIT", "123")
    assert limits._env_int("KHBOOK_TEST_LIMIT", 5) == 123
    monkeypatch.setenv("KHBOOK_TEST_LIMIT", "lots")
    assert limits._env_int("KHBOOK_TEST_LIMIT", 5) == 5


def test_encrypted_member(tmp_path: Path) -> None:
    data = bytearray(corpus_mod.xlsx_bytes(corpus_mod._full_sheets()))
    pos = data.find(b"PK\x01\x02")  # first central-directory entry: set "encrypted" flag bit
    data[pos + 8] |= 0x1
    path = tmp_path / "enc.xlsx"
    path.write_bytes(bytes(data))
    assert "encrypted" in _refusal(path).message


def test_duplicate_members(tmp_path: Path) -> None:
    parts = corpus_mod.xlsx_parts([corpus_mod.Sheet("客户基础信息", [("客户ID",)])])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf, pytest.warns(UserWarning):
        for name, data in parts.items():
            zf.writestr(name, data)
        zf.writestr("xl/workbook.xml", parts["xl/workbook.xml"])
    dup = tmp_path / "dup.xlsx"
    dup.write_bytes(buf.getvalue())
    assert "duplicate" in _refusal(dup).message


# -- read_member and assert_no_dtd -------------------------------------------------------


def _zip(parts: dict[str, bytes]) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(corpus_mod.zip_bytes(parts)))


def test_read_member_is_bounded() -> None:
    zf = _zip({"a.xml": b"<a/>" * 1000, "b.bin": b"\x00" * 10})
    assert read_member(zf, "b.bin", limit=10) == b"\x00" * 10
    with pytest.raises(WorkbookError, match="larger than"):
        read_member(zf, "a.xml", limit=100)
    with pytest.raises(WorkbookError, match="missing"):
        read_member(zf, "c.xml", limit=100)


def test_read_member_ignores_lying_header(corpus: dict[str, Path]) -> None:
    with zipfile.ZipFile(corpus["lying_size.xlsx"]) as zf:
        assert zf.getinfo("xl/worksheets/sheet1.xml").file_size == 1000
        with pytest.raises(WorkbookError, match="damaged"):
            read_member(zf, "xl/worksheets/sheet1.xml", limit=10 * 1024**2)


@pytest.mark.parametrize("data", [
    b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>',
    b'<?xml version="1.0"?>' + b"<!-- " + b"padding " * 20000 + b"--><!DOCTYPE a><a/>",
    b"\n\n  <!DOCTYPE a SYSTEM 'http://example.com/a.dtd'><a/>",
    '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a/>'.encode("utf-16"),
    '<?xml version="1.0" encoding="UTF-16BE"?><!DOCTYPE a><a/>'.encode("utf-16-be"),
])
def test_assert_no_dtd_refuses(data: bytes) -> None:
    zf = _zip({"ok.xml": b"<a/>", "bad.xml": data})
    assert_no_dtd(zf, ["ok.xml"])
    with pytest.raises(WorkbookError, match="bad.xml declares a DTD"):
        assert_no_dtd(zf, ["ok.xml", "bad.xml"])


@pytest.mark.parametrize("data", [
    b'<?xml version="1.0"?><a><t>&lt;!DOCTYPE is only text here</t></a>',
    b"<?xml version='1.0'?><!-- <b> in a comment --><?pi <c>?><a/>",
    b"",
])
def test_assert_no_dtd_accepts(data: bytes) -> None:
    assert_no_dtd(_zip({"ok.xml": data}), ["ok.xml"])


def test_parse_xml_refuses_utf16_doctype() -> None:
    data = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>'.encode("utf-16")
    with pytest.raises(WorkbookError, match="declares a DTD"):
        parse_xml(data, path="f.xlsx", part="x.xml")
    with pytest.raises(WorkbookError, match="not well-formed"):
        parse_xml(b"<a><b></a>", path="f.xlsx", part="x.xml")
    assert parse_xml("<a>客户</a>".encode("utf-16"), path="f", part="p").text == "客户"


# -- fuzzing: nothing but WorkbookError, ever --------------------------------------------


def _inspect_bytes(tmp_dir: Path, data: bytes, suffix: str = ".xlsx") -> None:
    path = tmp_dir / f"fuzz{suffix}"
    path.write_bytes(data)
    try:
        inspect_workbook(path)
    except WorkbookError as err:
        assert str(path) in str(err) and "\n" not in str(err)


_FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@_FUZZ
@given(data=st.binary(max_size=2048))
def test_fuzz_random_bytes(tmp_path: Path, data: bytes) -> None:
    _inspect_bytes(tmp_path, data)
    _inspect_bytes(tmp_path, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + data)
    _inspect_bytes(tmp_path, b"PK\x03\x04" + data)


_VALID = corpus_mod.xlsx_bytes(corpus_mod._full_sheets())
_BIFF = corpus_mod.biff_bytes()


@_FUZZ
@given(cut=st.integers(0, len(_VALID)), flips=st.lists(st.tuples(st.integers(0, len(_VALID) - 1),
                                                                 st.integers(1, 255)), max_size=4))
def test_fuzz_damaged_workbook(tmp_path: Path, cut: int, flips: list[tuple[int, int]]) -> None:
    data = bytearray(_VALID)
    for pos, xor in flips:
        data[pos] ^= xor
    _inspect_bytes(tmp_path, bytes(data[: max(cut, 1)] if cut < len(data) else data))


@_FUZZ
@given(flips=st.lists(st.tuples(st.integers(0, len(_BIFF) - 1), st.integers(1, 255)), min_size=1, max_size=6))
def test_fuzz_damaged_compound_file(tmp_path: Path, flips: list[tuple[int, int]]) -> None:
    data = bytearray(_BIFF)
    for pos, xor in flips:
        data[pos] ^= xor
    _inspect_bytes(tmp_path, bytes(data), ".xls")


def test_not_a_regular_file() -> None:
    if not Path(os.devnull).exists() or os.name != "posix":
        pytest.skip("needs /dev/null")
    assert "not a regular file" in _refusal(Path(os.devnull)).message


def test_unparsable_compound_file(tmp_path: Path) -> None:
    path = tmp_path / "odd.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\xff" * 1500)
    err = _refusal(path)
    assert "compound file" in err.message and ".xlsx" in err.hint


def test_scan_finds_the_error_cell_mark_across_chunks() -> None:
    """The gate's one pass over each part tells the reader which parts hold error cells."""
    from khbook.read.zipcheck import ERROR_CELL_MARK, scan

    text = b'<c r="B2" t="e"><v>#N/A</v></c>'
    for cut in range(len(text) + 1):
        assert scan([text[:cut], text[cut:]], ERROR_CELL_MARK) == (len(text), True)
    assert scan([text[:9], text[9:11], text[11:12], text[12:]], ERROR_CELL_MARK) == (len(text), True)
    assert scan([b'<c r="B2" t="s">', b"<v>1</v></c>"], ERROR_CELL_MARK) == (28, False)
    assert scan([], ERROR_CELL_MARK) == (0, False)
