"""The team kit (``khbook kit``): what is in it, and (slow) that it installs and runs.

The contents test builds a kit around a stand-in wheel and reads every file as Windows or
macOS would: the .xlsm's VBA project, buttons and hidden ``xlwings.conf`` sheet, the .bat files
byte by byte (CRLF, quoting, relative paths, commands that exist). The slow tests build the
real wheel from this checkout, run the kit's install.sh with a temporary HOME (a fresh
environment outside the source tree, no templates/ beside it), then khbook's commands and the
drag-and-drop scripts there.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from khbook.kit import ENV_POSIX, ENV_WIN, build_kit, xlwings_settings
from khbook.kit.scripts import bat, sh
from khbook.spec import load_spec
from tests.xlwings_support import vba_modules

ROOT = Path(__file__).resolve().parent.parent
WHEEL = "khbook-0.1.0-py3-none-any.whl"
ZH_FILES = {
    "使用说明.txt", "安装.bat", "install.command", "install.sh", "客户管理模板.xlsm", "客户管理模板.py",
    "拖入工作簿-检查.bat", "拖入工作簿-检查.command", "拖入文件夹-月度汇总.bat", "拖入文件夹-月度汇总.command",
    f"安装包/{WHEEL}", "xlwings-Lite/main.py", "xlwings-Lite/requirements.txt",
}
#: What a kit .bat may run: cmd built-ins, Windows programs, and the environment's own executables.
BAT_COMMANDS = {"@echo", "echo", "echo.", "chcp", "setlocal", "set", "if", "goto", "pause", "exit", "rem", "shift",
                "start", "where", "py", "powershell", "%PYCMD%"}


@pytest.fixture(scope="module")
def spec() -> Any:
    return load_spec()


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory, spec: Any) -> Any:
    base = tmp_path_factory.mktemp("kit")
    stand_in = base / WHEEL
    with zipfile.ZipFile(stand_in, "w") as zf:
        zf.writestr("khbook/__init__.py", "")
    return build_kit(base / "团队 工具包", spec=spec, wheel=stand_in, lite_url="https://files.example.com/khbook/")


# --------------------------------------------------------------------------- quoting filters
def test_bat_escapes_cmd_specials_and_fills_raw_values() -> None:
    assert bat("a & b | c <d> (e) 100% ^") == "a ^& b ^| c ^<d^> ^(e^) 100%% ^^"
    assert bat("打开 {output}（完成）", output='"%~n1.checked%~x1"') == '打开 "%~n1.checked%~x1"（完成）'
    with pytest.raises(ValueError):
        bat('say "hi"')


def test_sh_quotes_literals_and_expands_values() -> None:
    word = sh("it's {name} $HOME `x`", name="$name")
    out = subprocess.run(["sh", "-c", f"name='张 伟.xlsx'; printf '%s' {word}"], capture_output=True, text=True)
    assert out.stdout == "it's 张 伟.xlsx $HOME `x`"


# --------------------------------------------------------------------------- contents
def test_kit_folder_and_zip_hold_every_file(kit: Any) -> None:
    assert set(kit.files) == ZH_FILES
    with zipfile.ZipFile(kit.zip) as zf:
        infos = {i.filename: i for i in zf.infolist()}
    assert set(infos) == {f"团队 工具包/{f}" for f in ZH_FILES}
    for name, info in infos.items():
        mode = info.external_attr >> 16 & 0o777
        assert mode == (0o755 if name.endswith((".command", ".sh")) else 0o644), name


def test_kit_workbook_has_vba_buttons_and_xlwings_conf_for_the_installed_env(kit: Any, spec: Any) -> None:
    xlsm = kit.folder / "客户管理模板.xlsm"
    with zipfile.ZipFile(xlsm) as zf:
        modules = vba_modules(zf.read("xl/vbaProject.bin"))
        vml = "".join(zf.read(n).decode("utf-8") for n in zf.namelist() if n.endswith(".vml"))
    assert "Sub SampleCall()" in modules["Module1"] and "Function RunPython(" in modules["xlwings"]
    # xlwings' VBA reads exactly these keys from the sheet named xlwings.conf
    assert 'GetConfig("INTERPRETER_WIN"' in modules["xlwings"] and 'GetConfig("INTERPRETER_MAC"' in modules["xlwings"]
    assert 'wb.Sheets(PROJECT_NAME & ".conf")' in modules["xlwings"]
    assert vml.count("[0]!SampleCall") == 2 and vml.count("刷新分类") == 2
    wb = openpyxl.load_workbook(xlsm)
    conf = wb["xlwings.conf"]
    assert conf.sheet_state == "hidden"
    settings = {r[0]: r[1] for r in conf.iter_rows(values_only=True)}
    assert settings == xlwings_settings()
    # the installers create the environment exactly where the sheet points
    install_bat = (kit.folder / "安装.bat").read_text(encoding="utf-8")
    assert f'set "KHBOOK_ENV={ENV_WIN}"' in install_bat and '%PYCMD% -m venv "%KHBOOK_ENV%"' in install_bat
    assert 'set "PYCMD=py -3"' in install_bat and 'set "PYCMD=python"' in install_bat
    assert settings["Interpreter_Win"] == ENV_WIN + r"\Scripts\python.exe"
    assert f'KHBOOK_ENV="{ENV_POSIX}"' in (kit.folder / "install.sh").read_text(encoding="utf-8")
    assert settings["Interpreter_Mac"] == ENV_POSIX + "/bin/python"
    # the companion module the button imports, and khbook reads the workbook without a finding
    subprocess.run([sys.executable, "-m", "py_compile", str(kit.folder / "客户管理模板.py")], check=True)
    from khbook.pipeline import check_file

    assert check_file(xlsm, spec).findings == []


def _bat_lines(path: Path) -> list[str]:
    data = path.read_bytes()
    assert data.count(b"\n") == data.count(b"\r\n") > 5, f"{path.name}: not CRLF"
    assert not data.startswith(b"\xef\xbb\xbf"), f"{path.name}: a BOM breaks the first line in cmd"
    return data.decode("utf-8").split("\r\n")


def _unquoted(line: str) -> str:
    return re.sub(r'"[^"]*"', '""', line)


def _khbook_args(line: str) -> list[str]:
    """The arguments of a khbook call in a .bat, with batch expressions as sample values."""
    args = shlex.split(line.replace("\\", "/"))[1:]
    args = [a for a in args if not a.startswith((">", "2>"))]  # redirections
    return [re.sub(r"%[^%]*%|%~[a-z]*1", "x", a) for a in args]


def test_bat_files_are_crlf_relative_quoted_and_call_what_exists(kit: Any) -> None:
    from khbook.cli import build_parser

    parser = build_parser()
    bats = sorted(kit.folder.glob("*.bat"))
    assert [p.name for p in bats] == ["安装.bat", "拖入工作簿-检查.bat", "拖入文件夹-月度汇总.bat"]
    khbook_calls = []
    for path in bats:
        lines = _bat_lines(path)
        assert lines[:2] == ["@echo off", "chcp 65001 >nul"]
        labels = {ln[1:] for ln in lines if ln.startswith(":")}
        for line in filter(None, lines):
            if line.startswith((":", "rem ")):
                continue
            # paths: only the kit (%~dp0), the profile (%USERPROFILE%) and the dropped file
            assert not re.search(r"\b[A-Za-z]:[\\/]", line), line
            if line.startswith("echo"):
                continue
            bare = _unquoted(line)
            # every path (a %variable% or Chinese) sits inside double quotes
            assert not re.search(r"[^\x00-\x7f]", bare), f"{path.name}: unquoted non-ASCII in {line!r}"
            assert not re.search(r"%~?[A-Za-z_]*\d?%?\\", bare), f"{path.name}: unquoted path in {line!r}"
            words = bare.split()
            first = words[0]
            if first == "if":  # if [not] errorlevel N / exist "P" / defined VAR / "%~1"=="" CMD
                rest = words[1:]
                while rest and (rest[0] in ("not", "exist", "errorlevel", '""', '""==""') or rest[0].isdigit()
                                or rest[0] == "defined"):
                    rest = rest[2:] if rest[0] == "defined" else rest[1:]
                first = rest[0] if rest else "goto"
                words = rest
            if first == "goto":
                target = line.split("goto")[-1].strip()
                assert target in labels, f"{path.name}: goto {target} has no label"
                continue
            if first == '""':  # a quoted program: the environment's python.exe or khbook.exe
                program = re.findall(r'"([^"]*)"', line)[0]
                assert program in ("%KHBOOK_ENV%\\Scripts\\python.exe", "%KHBOOK_ENV%\\Scripts\\khbook.exe", "%KHBOOK%"), line
                if program == "%KHBOOK%" or program.endswith("khbook.exe"):
                    khbook_calls.append(line)
                continue
            assert first in BAT_COMMANDS, f"{path.name}: unknown command in {line!r}"
    # the installer installs the wheel that is in the kit, and the pinned xlwings
    install = (kit.folder / "安装.bat").read_text(encoding="utf-8")
    wheel_ref = re.search(r'"%KIT%([^"]+\.whl)"', install).group(1)
    assert (kit.folder / wheel_ref.replace("\\", "/")).is_file()
    from khbook.template.macro import xlwings_version

    assert f'"xlwings=={xlwings_version()}"' in install
    # every khbook call parses with khbook's own command line
    subcommands = set()
    for line in khbook_calls:
        args = _khbook_args(line)
        if args == ["--help"]:
            continue
        ns = parser.parse_args(args)
        subcommands.add(ns.command)
    assert subcommands == {"refresh", "batch"}


def test_readme_and_lite_files(kit: Any) -> None:
    data = (kit.folder / "使用说明.txt").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and data.count(b"\n") == data.count(b"\r\n")
    text = data.decode("utf-8-sig")
    for words in ("安装.bat", "客户管理模板.xlsm", "启用内容", "刷新分类", "解除锁定", "WPS", "拖入工作簿-检查.bat",
                  "拖入文件夹-月度汇总.bat", "report.html", "install.command", "requirements.txt"):
        assert words in text, words
    assert (kit.folder / "xlwings-Lite/requirements.txt").read_text() == f"https://files.example.com/khbook/{WHEEL}\n"
    main = (kit.folder / "xlwings-Lite/main.py").read_text(encoding="utf-8")
    assert 'LANG = "zh"' in main and "refresh_book(book, lang=LANG)" in main


def test_english_kit_and_refusals(tmp_path: Path, spec: Any) -> None:
    from khbook.base.errors import KhbookError

    stand_in = tmp_path / WHEEL
    stand_in.write_bytes(b"PK\x05\x06" + b"\0" * 18)
    res = build_kit(tmp_path / "kit-en", spec=spec, lang="en", wheel=stand_in)
    assert {"README.txt", "install.bat", "customer_template.xlsm", "customer_template.py", "drop-workbook-check.bat",
            "drop-folder-summary.command", f"packages/{WHEEL}"} <= set(res.files)
    assert "--lang en" in (res.folder / "drop-workbook-check.bat").read_text(encoding="utf-8")
    assert 'LANG = "en"' in (res.folder / "xlwings-Lite/main.py").read_text(encoding="utf-8")
    assert (res.folder / "xlwings-Lite/requirements.txt").read_text().startswith("https://example.com/khbook/")
    again = build_kit(tmp_path / "kit-en", spec=spec, lang="en", wheel=stand_in)  # an earlier kit is replaced
    assert again.files == res.files
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("x")
    with pytest.raises(KhbookError, match="not a khbook kit"):
        build_kit(tmp_path / "mine", spec=spec, wheel=stand_in)
    with pytest.raises(KhbookError, match="khbook-"):
        build_kit(tmp_path / "k2", spec=spec, wheel=tmp_path / "mine" / "notes.txt")


def test_an_installed_khbook_needs_wheel(tmp_path: Path, spec: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from khbook.base.errors import KhbookError
    from khbook.kit import build

    monkeypatch.setattr(build, "source_root", lambda: None)
    with pytest.raises(KhbookError, match="pass --wheel FILE"):
        build_kit(tmp_path / "k", spec=spec)
    assert not (tmp_path / "k").exists() and not list(tmp_path.iterdir())  # nothing left behind


def test_kit_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from khbook.cli import main

    stand_in = tmp_path / WHEEL
    stand_in.write_bytes(b"PK\x05\x06" + b"\0" * 18)
    assert main(["kit", "-o", str(tmp_path / "k"), "--wheel", str(stand_in)]) == 0
    assert f"和 {tmp_path / 'k.zip'}" in capsys.readouterr().out
    assert main(["kit", "-o", str(tmp_path / "k3"), "--wheel", str(stand_in), "--lang", "en"]) == 0
    assert f"and {tmp_path / 'k3.zip'}" in capsys.readouterr().out
    assert main(["kit", "-o", str(tmp_path / "k2"), "--wheel", str(tmp_path / "nope.whl")]) == 2
    assert "不是 khbook 的安装包文件" in capsys.readouterr().err


# --------------------------------------------------------------------------- slow: install and run
def _run(args: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, encoding="utf-8", **kw)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory, spec: Any) -> dict[str, Any]:
    """The real wheel built from this checkout, a kit around it, and install.sh run with a
    temporary HOME: the environment lands in HOME/.khbook/env, outside the source tree."""
    from khbook.kit.build import build_wheel

    if sys.platform == "win32":
        pytest.skip("the shell installer runs on macOS and Linux")
    base = tmp_path_factory.mktemp("installed")
    wheel = build_wheel(base / "dist")
    kit = build_kit(base / "工具 包", spec=spec, wheel=wheel)
    home = base / "家 目录"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    env["HOME"] = str(home)
    env.setdefault("PIP_CACHE_DIR", str(Path.home() / ".cache" / "pip"))  # reuse downloads despite the new HOME
    env["PIP_NO_COMPILE"] = "1"  # no .pyc for pandas & co.: a third of the install time, not what is tested
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(str(ROOT)))
    done = _run(["sh", str(kit.folder / "install.sh")], env=env, cwd=str(base))
    if done.returncode != 0 and ("No matching distribution" in done.stdout + done.stderr):
        pytest.skip(f"no package index reachable for the installer: {done.stderr[-300:]}")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "安装完成" in done.stdout
    recorder = base / "open.sh"
    recorder.write_text('#!/bin/sh\nprintf "%s\\n" "$1" >> "$(dirname "$0")/opened.txt"\n', encoding="utf-8")
    recorder.chmod(0o755)
    env["KHBOOK_OPEN"] = str(recorder)
    return {"base": base, "kit": kit, "env": env, "bin": home / ".khbook" / "env" / "bin", "opened": base / "opened.txt"}


@pytest.mark.slow
def test_wheel_installed_outside_the_checkout_runs_every_command(installed: dict[str, Any]) -> None:
    bin_, env, base = installed["bin"], installed["env"], installed["base"]
    python, khbook = str(bin_ / "python"), str(bin_ / "khbook")
    where = _run([python, "-c", "import khbook, khbook.spec.load as s; print(khbook.__file__); print(s.default_spec_dir())"],
                 env=env, cwd=str(base))
    pkg, spec_dir = where.stdout.splitlines()
    assert str(ROOT) not in pkg and "site-packages" in pkg
    assert spec_dir.endswith(os.path.join("khbook", "_templates")) and not (Path(pkg).parent.parent / "templates").exists()
    assert (Path(spec_dir) / "kit" / "install.bat.j2").is_file()
    work = base / "工作 区"
    (work / "十一月 客户").mkdir(parents=True)
    assert _run([khbook, "template", "--examples", "3", "-o", "示例.xlsx"], env=env, cwd=str(work)).returncode == 0
    messy = work / "张 伟.xlsx"
    messy.write_bytes((ROOT / "samples" / "messy_filled.xlsx").read_bytes())
    check = _run([khbook, "check", str(messy), "--as-of", "2026-11-24", "--format", "json"], env=env, cwd=str(work))
    assert check.returncode == 1, check.stderr
    # the installed wheel reports exactly what the checkout reports
    import datetime as dt
    import json

    from khbook.pipeline import check_file

    here = json.loads(json.dumps(check_file(messy, as_of=dt.date(2026, 11, 24)).to_dict(), ensure_ascii=False, default=str))
    assert json.loads(check.stdout) == here and {"bad_phone", "negative_amount"} <= {f["rule"] for f in here["findings"]}
    refresh = _run([khbook, "refresh", str(messy), "--as-of", "2026-11-24"], env=env, cwd=str(work))
    assert refresh.returncode == 1 and (work / "张 伟.checked.xlsx").is_file()
    assert "异常清单" in openpyxl.load_workbook(work / "张 伟.checked.xlsx", read_only=True).sheetnames
    for name in ("示例.xlsx", "张 伟.xlsx"):
        (work / "十一月 客户" / name).write_bytes((work / name).read_bytes())
    batch = _run([khbook, "batch", "十一月 客户", "--as-of", "2026-11-24"], env=env, cwd=str(work))
    assert batch.returncode == 1, batch.stderr
    assert (work / "十一月 客户" / "khbook-batch" / "report.html").is_file()
    assert "文件夹中共 2 个文件：已处理 2 个" in batch.stdout   # the console speaks Chinese by default


@pytest.mark.slow
def test_drop_scripts_run_on_a_workbook_and_a_folder(installed: dict[str, Any]) -> None:
    kit, env, base, opened = installed["kit"], installed["env"], installed["base"], installed["opened"]
    drop = base / "拖放 测试"
    (drop / "全组 十一月").mkdir(parents=True)
    rep = drop / "李 娜.xlsx"
    rep.write_bytes((ROOT / "samples" / "messy_filled.xlsx").read_bytes())
    (drop / "全组 十一月" / "李 娜.xlsx").write_bytes(rep.read_bytes())
    (drop / "全组 十一月" / "王磊.xlsx").write_bytes((ROOT / "samples" / "second_rep.xlsx").read_bytes())

    done = _run(["sh", str(kit.folder / "拖入工作簿-检查.command"), str(rep)], env=env, cwd=str(base))
    assert done.returncode == 0, done.stdout + done.stderr
    copy = drop / "李 娜.checked.xlsx"
    assert copy.is_file() and "检查完成" in done.stdout
    assert rep.read_bytes() == (ROOT / "samples" / "messy_filled.xlsx").read_bytes()  # the input is untouched
    # no argument: the path dragged into the Terminal window (backslash-escaped, trailing space)
    escaped = str(drop / "全组 十一月").replace(" ", "\\ ") + " \n"
    done = _run(["sh", str(kit.folder / "拖入文件夹-月度汇总.command")], env=env, cwd=str(base), input=escaped)
    assert done.returncode == 0, done.stdout + done.stderr
    report = drop / "全组 十一月" / "khbook-batch" / "report.html"
    assert report.is_file() and "汇总完成" in done.stdout
    assert opened.read_text(encoding="utf-8").splitlines() == [str(copy), str(report)]
    # a file khbook cannot read: the script says so and opens nothing
    bad = drop / "坏 文件.xlsx"
    bad.write_bytes(b"not a workbook")
    done = _run(["sh", str(kit.folder / "拖入工作簿-检查.command"), str(bad)], env=env, cwd=str(base))
    assert done.returncode == 1 and "没有生成结果" in done.stdout
    assert len(opened.read_text(encoding="utf-8").splitlines()) == 2


@pytest.mark.slow
def test_windows_wheels_for_an_offline_install(tmp_path: Path) -> None:
    from khbook.base.errors import KhbookError
    from khbook.kit.build import build_wheel, download_windows_wheels
    from khbook.template.macro import xlwings_version

    wheel = build_wheel(tmp_path / "dist")
    try:
        names = download_windows_wheels(wheel, xlwings_version(), "3.12", tmp_path / "windows")
    except KhbookError as exc:
        pytest.skip(f"no package index reachable: {exc}")
    tops = {n.split("-")[0].lower() for n in names}
    # every dependency, for Windows, including what only Windows needs (pip cannot see those markers)
    assert {"khbook", "pandas", "numpy", "lxml", "python_calamine", "xlwings", "pywin32", "openpyxl", "pandera"} <= tops
    compiled = [n for n in names if not n.endswith("-none-any.whl")]
    # CPython 3.12's own wheels, or stable-ABI ones built for 3.12 or an earlier 3.x (cryptography's cp311-abi3)
    assert compiled and all(re.search(r"-cp312-cp312-win_amd64\.whl$|-cp3\d+-abi3-win_amd64\.whl$", n)
                            for n in compiled), compiled
    # and the installer then installs from them alone, with that Python
    spec = load_spec()
    kit = build_kit(tmp_path / "kit", spec=spec, wheel=wheel, windows_python="3.12")
    install = (kit.folder / "安装.bat").read_text(encoding="utf-8")
    assert 'set "PYCMD=py -3.12"' in install and "sys.version_info[:2] == (3, 12)" in install
    assert '--no-index --find-links "%KIT%安装包\\windows"' in install
    assert {f"安装包/windows/{n}" for n in kit.windows_wheels} <= set(kit.files)
