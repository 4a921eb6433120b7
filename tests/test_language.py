"""Every line khbook prints is in the output language.

Each command and sub-option runs in zh and in en (help, version, progress, summaries, errors,
argparse's own errors); in zh no English word may remain, in en no Chinese character, once
these are taken out: file names and paths, option names and metavars, ids, the product names
khbook cannot translate (Excel, WPS, Python...), and the user's own data (every text cell of
the input workbooks, quoted back in messages). JSON output is for machines and not checked.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import openpyxl
import pytest

from khbook.cli import main
from khbook.spec import default_spec_dir, load_spec
from tests.rep import AS_OF, make_template
from tests.test_check import fill_messy

CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]")
ENGLISH = re.compile(r"[A-Za-z][A-Za-z_]+")
# names that read the same in both languages
PROPER = {"khbook", "Excel", "WPS", "LibreOffice", "Numbers", "Python", "xlwings", "KHBOOK_LANG", "KHBOOK_DEBUG",
          "ABC", "CSV", "JSON", "HTML", "COMMAND", "FILE", "DIR", "OUT", "OUTDIR", "PREV_OUTDIR", "YYYY", "MM", "DD",
          "text", "json", "zh", "en", "templates", "khbook-batch", "EIO", "ID", "NAME",
          "template", "check", "refresh", "batch", "import", "kit", "split", "merge", "upgrade",  # the command names
          "PASSWORD", "SRC", "BOOK", "MASTER", "COLUMN", "MAP", "PYVER", "URL", "KH", "ARCHIVE_DIR",  # metavars
          "SHA", "CPython", "Windows", "macOS", "Linux", "YAML", "Lite", "bat", "command", "sh", "make", "dist",
          "requirements", "txt", "whl", "CRM",  # platforms, tools and file kinds the team commands name
          "zip", "DTD", "XML", "OpenDocument", "Word", "PowerPoint", "KB", "MB", "GB",  # formats and units
          "Dask", "dask", "ADDRESS"}  # the cluster engine batch --scheduler runs on, its extra, the metavar
ENV = re.compile(r"\bKHBOOK_[A-Z_]+\b")
# khbook's command names, quoted in hints ("khbook template", "khbook refresh")
COMMANDS = re.compile(r"\bkhbook (?:template|check|refresh|batch|import|kit|split|merge|upgrade)\b")
PATHLIKE = re.compile(r"[^\s：（）(),，、；]*[/\\][^\s：（）(),，、；]*|[^\s：（）(),，、；/]+\.(?:xlsx|xlsm|xls|csv|json|html|py|checked)\b")
EXTENSION = re.compile(r"\.(?:xlsx|xlsm|xlsb|xls|csv|json|html|py|ods|et|doc|docx|pptx|numbers)\b")
OPTION = re.compile(r"(?<![\w])--?[A-Za-z][\w-]*")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
IDS = re.compile(r"[A-Za-z]+\d+")  # customer ids such as KH2024001


def _data_words(*books: Path) -> set[str]:
    out: set[str] = set()
    for book in books:
        wb = openpyxl.load_workbook(book, read_only=True)
        for ws in wb.worksheets:
            out.add(ws.title)
            for row in ws.iter_rows(values_only=True):
                out.update(str(v) for v in row if isinstance(v, str) and v.strip())
                out.update(str(v).strip("*＊ ") for v in row if isinstance(v, str) and v.strip("*＊ "))  # required marks
                # the items of a multi-value cell, quoted one by one ("元宇宙" is not a tag)
                out.update(x.strip() for v in row if isinstance(v, str) for x in re.split(r"[/、,，;；]", v) if x.strip())
        wb.close()
    return out


def _residue(text: str, data: set[str]) -> str:
    for value in sorted(data, key=len, reverse=True):
        if len(value) > 1 and value.isascii():  # a word typed in a cell ("NA"), not a piece of "NAME"
            text = re.sub(rf"(?<![A-Za-z]){re.escape(value)}(?![A-Za-z])", " ", text)
        elif len(value) > 1:
            text = text.replace(value, " ")
    text = COMMANDS.sub(" ", text)
    text = PATHLIKE.sub(" ", text)
    text = EXTENSION.sub(" ", text)
    text = ENV.sub(" ", text)
    text = OPTION.sub(" ", text)
    text = DATE.sub(" ", text)
    text = IDS.sub(" ", text)
    return text


def _foreign(text: str, lang: str, data: set[str]) -> list[str]:
    rest = _residue(text, data)
    if lang == "zh":
        return sorted({w for w in ENGLISH.findall(rest) if w not in PROPER})
    return sorted(set(CJK.findall(rest)))


@pytest.fixture(scope="module")
def books(tmp_path_factory) -> dict[str, Path]:
    spec = load_spec()
    d = tmp_path_factory.mktemp("lang")
    template = make_template(d / "template.xlsx", spec)
    messy, _ = fill_messy(template, d / "王磊.xlsx")
    folder = d / "团队"
    folder.mkdir()
    shutil.copy(messy, folder / "王磊.xlsx")
    make_template(folder / "李娜.xlsx", spec, examples=3, as_of=AS_OF)
    (folder / "损坏.xlsx").write_bytes(b"not a workbook")
    (d / "客户.csv").write_text("客户ID,客户名称\nKH001,华为\n", encoding="utf-8")
    shutil.copytree(default_spec_dir(), d / "my-spec")
    return {"dir": d, "messy": messy, "folder": folder, "template": template}


def _cases(b: dict[str, Path], lang: str) -> list[list[str]]:
    d, messy, folder = b["dir"], str(b["messy"]), str(b["folder"])
    asof = ["--as-of", AS_OF.isoformat()]
    out = d / lang
    return [
        ["--help"], ["--version"], [],
        *[[cmd, "--help"] for cmd in ("template", "check", "refresh", "batch", "import", "kit", "split", "merge", "upgrade")],
        ["template", "-o", str(out / "模板.xlsx")],
        ["template", "-o", str(out / "模板.xls"), "--examples", "2"],
        ["template", "--examples", "-1", "-o", str(out / "x.xlsx")],
        ["template", "--macro", "-o", str(out / "宏模板.xlsx"), "--lang", lang],
        ["template", "--examples", "x"],
        ["template", "-o", str(out / "nowhere" / "x.xlsx")],
        ["check", messy, *asof],
        ["check", messy, *asof, "--customers", "--spec", str(d / "my-spec")],
        ["check", messy, str(d / "missing.xlsx"), *asof, "--format", "json"],
        ["check", messy, str(d / "客户.csv"), str(d / "missing.xlsx"), *asof],
        ["check", messy, "--as-of", "24/11/2026"],
        ["check"],
        ["check", messy, "--format", "xml"],
        ["refresh", messy, "-o", str(out / "王磊.checked.xlsx"), *asof],
        ["refresh", str(out / "王磊.checked.xlsx"), *asof],
        ["refresh", messy, "-o", messy],
        ["refresh", messy, "-o", str(out / "j.xlsx"), *asof, "--format", "json"],
        ["refresh", messy, "-o", str(d)],
        ["batch", folder, "-o", str(out / "b1"), *asof, "--jobs", "1"],
        ["batch", folder, "-o", str(out / "b2"), *asof, "--jobs", "1", "--mask", "--previous", str(out / "b1")],
        ["batch", folder, "--jobs", "0"],
        ["batch", str(d / "nowhere")],
        ["refresh", messy, "--bogus"],
    ]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_command_speaks_one_language(books, lang, capsys, monkeypatch):
    monkeypatch.setenv("KHBOOK_LANG", lang)  # --lang is not even needed: the environment says it
    (books["dir"] / lang).mkdir(exist_ok=True)
    data = _data_words(books["messy"], books["folder"] / "李娜.xlsx") | {"华为", "KH001", "客户ID", "客户名称"}
    problems = []
    for argv in _cases(books, lang):
        try:
            main(argv)
        except SystemExit:
            pass
        out, err = capsys.readouterr()
        text = err if "json" in argv else out + err  # JSON is for machines
        assert text.strip() or "json" in argv, argv
        assert "Traceback" not in text and "internal error" not in text and "内部错误" not in text, (argv, text)
        bad = _foreign(text, lang, data | set(argv))  # what the user typed may be quoted back
        if bad:
            problems.append(f"{' '.join(argv)}: {bad}\n{text[:600]}")
    assert not problems, "\n\n".join(problems)


def test_lang_option_beats_the_environment(capsys, monkeypatch):
    monkeypatch.setenv("KHBOOK_LANG", "en")
    with pytest.raises(SystemExit):
        main(["check", "--lang", "zh", "--help"])
    out = capsys.readouterr().out
    assert out.startswith("用法：khbook check")
    assert "\n位置参数：\n" in out and "\n选项：\n" in out


@pytest.mark.parametrize("env, expected", [
    ({"LANG": "en_US.UTF-8"}, "usage: khbook"),
    ({"LANG": "zh_CN.UTF-8"}, "用法：khbook"),
    ({"LC_ALL": "en_GB.UTF-8", "LANG": "zh_CN.UTF-8"}, "usage: khbook"),
    ({"LANG": "C.UTF-8"}, "用法：khbook"),
    ({"LANG": "de_DE.UTF-8"}, "用法：khbook"),
])
def test_the_system_locale_decides_without_lang(env, expected, capsys, monkeypatch):
    for var in ("KHBOOK_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(SystemExit):
        main(["--help"])
    assert capsys.readouterr().out.startswith(expected)


def test_argparse_errors_are_worded(capsys, monkeypatch):
    monkeypatch.setenv("KHBOOK_LANG", "zh")
    with pytest.raises(SystemExit) as exc:
        main(["check", "--lang", "fr", "x.xlsx"])
    assert exc.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == "khbook：错误：参数 --lang 的值 'fr' 无效（可选：'zh', 'en'）"
    with pytest.raises(SystemExit):
        main(["check"])
    assert capsys.readouterr().err.splitlines()[-1] == "khbook：错误：缺少必需的参数：FILE"


def test_every_refusal_of_the_hostile_corpus_is_worded_in_each_language(tmp_path, capsys, monkeypatch):
    """Broken, foreign and hostile files: the one-line error names the cause in the output
    language, never a library's or the OS's English words in a Chinese line."""
    from tests.corpus import make_corpus

    corpus = make_corpus.build_corpus(tmp_path / "corpus")
    refused = sorted(n for n, e in make_corpus.CORPUS_EXPECT.items() if e == "refuse")
    assert len(refused) > 10
    problems = []
    for lang in ("zh", "en"):
        monkeypatch.setenv("KHBOOK_LANG", lang)
        for name in refused:
            assert main(["check", str(corpus[name])]) == 2
            err = capsys.readouterr().err
            assert err.count("\n") == 1, (name, err)
            bad = _foreign(err, lang, {name})
            if bad:
                problems.append(f"{lang} {name}: {bad}: {err}")
    assert not problems, "\n".join(problems)
