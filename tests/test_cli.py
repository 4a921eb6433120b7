"""Every command has help, documents every option, and is in the README (as sqlite-utils tests it)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from khbook.cli import build_parser, main

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def test_expected_commands():
    assert set(_commands()) >= {"template", "check", "refresh", "batch"}


@pytest.mark.parametrize("name", sorted(_commands()))
def test_command_has_help_and_is_documented(name, capsys):
    with pytest.raises(SystemExit) as exc:
        main([name, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("用法：khbook " + name)  # the default language: Chinese
    assert f"khbook {name}" in README, f"README does not document `khbook {name}`"
    for action in _commands()[name]._actions:
        if action.help == argparse.SUPPRESS:
            continue
        assert action.help, f"{name}: {action.option_strings or action.dest} has no help"
        opts = [o for o in action.option_strings if o not in ("-h", "--help")]
        if opts:
            assert any(o in README for o in opts), f"README does not mention {name} {opts}"


def test_bad_spec_is_one_line(tmp_path, capsys):
    (tmp_path / "workbook.yaml").write_text("sheets: [", encoding="utf-8")
    assert main(["template", "--spec", str(tmp_path), "-o", str(tmp_path / "t.xlsx")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert main(["check", "--as-of", "24/11/2026", str(tmp_path / "x.xlsx")]) == 2
    assert "--as-of" in capsys.readouterr().err


def test_demo_ignores_no_errors():
    """`make demo` must read cleanly: no `-cmd` lines (make prints `Error 1 (ignored)` for them);
    the expected exit statuses are explicit (expect1/expect2)."""
    makefile = (Path(__file__).resolve().parents[1] / "Makefile").read_text(encoding="utf-8")
    recipe = makefile.split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    assert not [line for line in recipe.splitlines() if line.startswith("\t-")]
    assert "expect1" in recipe and "expect2" in recipe


def test_version(capsys):
    import khbook

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out == f"khbook {khbook.__version__}\n"


def test_template_with_an_xls_name_is_written_as_xlsx(tmp_path, capsys):
    assert main(["template", "-o", str(tmp_path / "模板.xls")]) == 0
    assert capsys.readouterr().out == f"已写入 {tmp_path / '模板.xlsx'}（模板是 .xlsx 工作簿，所以扩展名用 .xlsx，而不是 .xls）\n"
    assert (tmp_path / "模板.xlsx").is_file() and not (tmp_path / "模板.xls").exists()
    assert main(["template", "-o", str(tmp_path / "t.xls"), "--lang", "en"]) == 0
    assert capsys.readouterr().out == f"wrote {tmp_path / 't.xlsx'} (the template is an .xlsx workbook, so it is named .xlsx, not .xls)\n"
