"""WorkbookError codes: every refusal and write failure is worded in both languages.

The English ``str()`` of a WorkbookError is unchanged (library users, CORPUS_REASON); its
``code`` and parameters render the message and the hint from the ``errors``/``error_hints``
areas of labels.yaml, so `khbook check` (default --lang zh) and the zh batch outputs speak
Chinese. An unknown code falls back to the English text.
"""

from __future__ import annotations

import errno
import re
import shutil
from pathlib import Path

import pytest
import yaml

from khbook.base import fsutil
from khbook.base.errors import Hint, WorkbookError
from khbook.cli import main
from khbook.read.rawbook import load_raw
from khbook.spec import Spec, default_spec_dir, load_spec
from khbook.template.writer import write_template
from tests.corpus import make_corpus

CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
KHBOOK = Path(__file__).resolve().parent.parent / "khbook"
# code="..." keyword arguments, Hint("...", ...) and the (code, message, hint) tables of safety.py/fsutil.py
_CODE = re.compile(r'\bcode="([a-z0-9_]+)"')
_HINT = re.compile(r'\bHint\("([a-z0-9_]+)"')
_TABLE = re.compile(r'(?:^\s*(?:"[^"]*"|errno\.\w+):\s*|^_[A-Z_]+ = )\("([a-z][a-z0-9_]*)", ', re.M)


def _sources() -> list[Path]:
    return [p for p in sorted(KHBOOK.rglob("*.py")) if {"WorkbookError(", "Hint("} & _words(p)]


def _words(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    return {w for w in ("WorkbookError(", "Hint(") if w in text}


def _scan() -> tuple[set[str], set[str]]:
    codes: set[str] = set()
    hints: set[str] = set()
    for path in _sources():
        text = path.read_text(encoding="utf-8")
        codes |= set(_CODE.findall(text)) | set(_TABLE.findall(text))
        hints |= set(_HINT.findall(text))
    return codes, hints




@pytest.fixture(scope="module")
def refusals(tmp_path_factory: pytest.TempPathFactory) -> dict[str, WorkbookError]:
    corpus = make_corpus
    files = corpus.build_corpus(tmp_path_factory.mktemp("corpus"))
    out: dict[str, WorkbookError] = {}
    for name in corpus.CORPUS_REASON:
        with pytest.raises(WorkbookError) as info:
            load_raw(files[name])
        out[name] = info.value
    return out


def test_scan_finds_the_codes_of_the_gate() -> None:
    names = {p.name for p in _sources()}
    assert {"safety.py", "zipcheck.py", "ole.py", "notzip.py", "limits.py", "fsutil.py", "rawbook.py",
            "xmlsafe.py"} <= names
    codes, hints = _scan()
    assert {"not_zip", "csv_text", "old_xls", "encrypted", "zip_bomb", "dtd", "disk_full", "unwritable",
            "write_denied", "unreadable", "sheet_unreadable", "xls_suffix", "csv_suffix"} <= codes
    assert {"resave", "resend", "password", "disk_full"} <= hints


def test_every_code_has_zh_and_en(spec: Spec) -> None:
    codes, hints = _scan()
    for area, keys in (("errors", codes), ("error_hints", hints)):
        for key in sorted(keys):
            text = spec.labels.get(f"{area}.{key}")
            assert text is not None, f"labels.yaml: {area}.{key} missing"
            assert text("zh") and text("en"), f"{area}.{key}"
            assert CJK.search(text("zh")), f"{area}.{key}.zh is not Chinese"
            assert not CJK.search(text("en")), f"{area}.{key}.en"
    # no stale entries either
    raw = yaml.safe_load((default_spec_dir() / "labels.yaml").read_text(encoding="utf-8"))
    assert set(raw["errors"]) == codes
    assert set(raw["error_hints"]) == hints


def test_corpus_refusals_render_in_both_languages(spec: Spec, refusals: dict[str, WorkbookError]) -> None:
    for name, exc in refusals.items():
        assert exc.code and f"errors.{exc.code}" in spec.labels, name
        assert exc.hint_code and f"error_hints.{exc.hint_code}" in spec.labels, name
        zh, en = exc.render(spec, "zh"), exc.render(spec, "en")
        assert zh.startswith(exc.path + "：") and CJK.search(zh.removeprefix(exc.path)), (name, zh)
        assert "(" not in zh.removeprefix(exc.path).split("（")[0] or exc.params, (name, zh)
        assert exc.message not in zh, (name, zh)  # no English message left in the Chinese line
        assert en.startswith(exc.path + ": "), name
        assert not CJK.search(en.removeprefix(exc.path)), (name, en)
        if not CJK.search(exc.hint):  # the English menu names replace 文件 > 另存为 in the English texts
            assert en == str(exc), name
        assert exc.render_reason(spec, "zh") == zh.removeprefix(exc.path + "：")


def test_english_str_unchanged_and_code_kept() -> None:
    exc = WorkbookError("张伟.xlsx", "looks like a CSV text file, not an Excel workbook",
                        Hint("save_as_xlsx", "open it in Excel and save as .xlsx"), code="csv_text")
    assert str(exc) == "张伟.xlsx: looks like a CSV text file, not an Excel workbook (open it in Excel and save as .xlsx)"
    assert (exc.code, exc.hint_code, exc.hint) == ("csv_text", "save_as_xlsx", "open it in Excel and save as .xlsx")
    plain = WorkbookError("a.xlsx", "broken", "fix it")  # the old signature still works
    assert str(plain) == "a.xlsx: broken (fix it)" and plain.code == "" and plain.hint_code == ""


def test_unknown_code_falls_back_to_english(spec: Spec) -> None:
    exc = WorkbookError("a.xlsx", "something new", "do this", code="no_such_code")
    assert exc.render_reason(spec, "zh") == "something new (do this)"
    assert exc.render(spec, "zh") == "a.xlsx：something new (do this)"
    no_code = WorkbookError("a.xlsx", "something new")
    assert no_code.render_reason(spec, "zh") == "something new"
    # a known message with an unknown hint keeps the English hint
    half = WorkbookError("a.xlsx", "is empty (0 bytes)", Hint("no_such_hint", "do that"), code="empty")
    assert half.render_reason(spec, "zh") == "是空文件（0 字节）（do that）"
    # a parameter the code's text needs but the error lacks: English, not a KeyError
    missing = WorkbookError("a.xlsx", "part x is missing", code="part_missing")
    assert missing.render_reason(spec, "zh") == "part x is missing"


def test_write_failures_are_worded(spec: Spec, tmp_path: Path) -> None:
    """One message per OS error, naming the real cause once; never the OS's English words in zh."""
    out = tmp_path / "输出.xlsx"
    cases = {
        errno.ENOSPC: ("disk_full", f"{out}：无法写入：磁盘已满（请释放一些空间后重新运行）"),
        errno.EACCES: ("write_denied", f"{out}：无法写入：没有写入权限（如果 Excel/WPS 正打开着该文件请先关闭，或用 -o 指定其他输出位置）"),
        errno.EROFS: ("read_only", f"{out}：无法写入：文件夹是只读的（请用 -o 指定其他输出文件夹）"),
        errno.ENOENT: ("not_writable", f"{out}：无法写入：该位置不可写入新文件（请用 -o 指定其他输出文件夹）"),
        errno.EIO: ("unwritable", f"{out}：无法写入（系统错误 EIO）（请检查输出文件夹后重新运行）"),
    }
    for err, (code, line) in cases.items():
        exc = fsutil._error(out, OSError(err, "os text"))
        assert exc.code == code and exc.render(spec, "zh") == line
        assert exc.render(spec, "en") == str(exc)
    gone = fsutil._error(tmp_path / "nowhere" / "x.xlsx", OSError(errno.ENOENT, "os text"))
    assert gone.render(spec, "zh").endswith("：无法写入：输出文件夹不存在（请先创建该文件夹，或用 -o 指定其他文件夹）")


def test_unwritable_location_is_one_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`-o /proc/x.xlsx`: the folder exists but takes no files; said once, not 'folder missing' twice."""
    src = tmp_path / "a.xlsx"
    write_template(load_spec(), src)
    if not Path("/proc").is_dir():
        pytest.skip("no /proc on this system")
    assert main(["refresh", str(src), "-o", "/proc/x.xlsx"]) == 2
    assert capsys.readouterr().err == "khbook：错误：/proc/x.xlsx：无法写入：该位置不可写入新文件（请用 -o 指定其他输出文件夹）\n"
    assert main(["refresh", str(src), "-o", str(tmp_path)]) == 2
    assert capsys.readouterr().err == f"khbook：错误：{tmp_path}：无法写入：这是一个文件夹（请用 -o 指定一个文件名）\n"
    assert main(["refresh", str(src), "-o", str(src / "x.xlsx"), "--lang", "en"]) == 2
    assert capsys.readouterr().err == (f"khbook: error: {src / 'x.xlsx'}: cannot write: a part of the path is a file, "
                                       "not a folder (choose another output folder with -o)\n")


def test_genuine_csv_is_called_a_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "客户.csv"
    path.write_text("客户ID,客户名称\nKH001,华为\n", encoding="utf-8")
    assert main(["check", str(path)]) == 2
    assert capsys.readouterr().err == (
        f"khbook：错误：{path}：是 CSV 文本文件，不是 Excel 工作簿（请用 Excel 或 WPS 打开它，通过 文件 > 另存为 保存为 "
        "Excel 工作簿（.xlsx），或把其中的行粘贴到 khbook template 生成的模板里）\n")


def test_truncated_zip_is_said_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    whole = tmp_path / "whole.xlsx"
    write_template(load_spec(), whole)
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(whole.read_bytes()[:3000])
    assert main(["check", str(cut)]) == 2
    assert capsys.readouterr().err == (f"khbook：错误：{cut}：文件已损坏或不完整（zip 目录缺失或损坏，文件似乎被截断）"
                                       "（请让发送人重新发一份，或用 Excel 打开后重新保存）\n")


def test_spec_copy_without_error_texts_uses_the_built_in_ones(tmp_path: Path, spec: Spec) -> None:
    d = tmp_path / "templates"
    shutil.copytree(default_spec_dir(), d)
    raw = yaml.safe_load((d / "labels.yaml").read_text(encoding="utf-8"))
    for area in ("errors", "error_hints", "error_format"):
        raw.pop(area)
    raw["check_text"]["none"]["zh"] = "没有问题。"
    (d / "labels.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    copy = load_spec(d)
    exc = WorkbookError("a.xlsx", "is empty (0 bytes)", Hint("fresh_copy", "x"), code="empty")
    assert exc.render(copy, "zh") == exc.render(spec, "zh")


def _csv_renamed(tmp_path: Path) -> Path:
    path = tmp_path / "张伟.xlsx"
    path.write_text("客户ID,客户名称,负责人\nKH001,华为,张伟\nKH002,腾讯,张伟\n", encoding="utf-8")
    return path


def test_cli_check_csv_renamed_is_chinese_by_default(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _csv_renamed(tmp_path)
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"khbook：错误：{path}：")  # the file name first
    assert "不是 Excel 工作簿" in err and "另存为" in err
    assert not re.search(r"[A-Za-z]{5,}", err.removeprefix(f"khbook：错误：{path}").replace("Excel", "")
                         .replace("khbook template", ""))


def test_cli_check_csv_renamed_in_english(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _csv_renamed(tmp_path)
    assert main(["check", str(path), "--lang", "en"]) == 2
    err = capsys.readouterr().err
    assert err == (f"khbook: error: {path}: looks like a CSV text file, not an Excel workbook "
                   "(open it in Excel or WPS and save it as an Excel workbook (.xlsx) via File > Save As, "
                   "or paste its rows into a template written by khbook template)\n")


def test_cli_json_keeps_code_and_english(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    path = _csv_renamed(tmp_path)
    assert main(["check", str(path), "--format", "json"]) == 2
    payload = json.loads(capsys.readouterr().out)
    assert payload["code"] == "csv_text" and "不是 Excel 工作簿" in payload["error"]
    assert payload["error_en"].endswith("looks like a CSV text file, not an Excel workbook (open it in Excel or WPS and "
                                        "save it as an Excel workbook (.xlsx) via File > Save As, or paste its rows "
                                        "into a template written by khbook template)")


def test_cli_refresh_and_template_errors_follow_lang(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "李娜.xlsx"
    assert main(["refresh", str(missing)]) == 2
    assert capsys.readouterr().err == f"khbook：错误：{missing}：找不到该文件（请检查文件名和所在文件夹）\n"
    assert main(["refresh", str(missing), "--lang", "en"]) == 2
    assert capsys.readouterr().err == f"khbook: error: {missing}: file not found (check the name and the folder)\n"
    nowhere = tmp_path / "nowhere" / "模板.xlsx"
    assert main(["template", "-o", str(nowhere)]) == 2
    err = capsys.readouterr().err
    assert err == f"khbook：错误：{nowhere}：无法写入：输出文件夹不存在（请先创建该文件夹，或用 -o 指定其他文件夹）\n"


def test_batch_says_each_failure_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "团队"
    folder.mkdir()
    write_template(load_spec(), folder / "空白.xlsx")
    (folder / "损坏.xlsx").write_bytes(b"not a workbook")
    assert main(["batch", str(folder), "-o", str(tmp_path / "out"), "--jobs", "1", "--as-of", "2026-11-24"]) == 2
    out, err = capsys.readouterr()
    reason = "不是 Excel 工作簿，而是文本文件（请用 Excel 打开后另存为 .xlsx）"
    assert err.count(reason) == 1 and out.count(reason) == 0  # on its progress line, once
    assert f"损坏.xlsx：无法读取：{reason}\n" in err
    assert out.startswith("文件夹中共 2 个文件：已处理 1 个，无法读取 1 个，已跳过 0 个\n")
