"""Encrypted workbooks: split writes them with --password (Office agile encryption),
check / refresh / batch / merge read them given the password, a wrong or missing password
is a one-line error that never shows the password, LibreOffice opens them with it."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from khbook.base.errors import WorkbookError
from khbook.batch.run import run_batch
from khbook.cli import main
from khbook.pipeline import check_file, refresh_file
from khbook.read.decrypt import is_encrypted
from khbook.spec import load_spec
from khbook.team.book import read_team_book
from khbook.team.merge import merge_dir
from khbook.team.split import split_book
from khbook.template.writer import write_template
from tests.rep import AS_OF
from tests.test_team_protection import libreoffice_or_skip, uno_type

SECRET = "Kh-月度-2026!"


@pytest.fixture(scope="module")
def spec():
    return load_spec()


@pytest.fixture(scope="module")
def encrypted(tmp_path_factory, spec):
    d = tmp_path_factory.mktemp("crypt")
    master = write_template(spec, d / "部门.xlsx", examples=6, as_of=AS_OF)
    plain = split_book(master, d / "plain", spec=spec, as_of=AS_OF)
    res = split_book(master, d / "reps", spec=spec, as_of=AS_OF, encrypt=SECRET)
    return d, plain, res


def test_split_files_are_encrypted_and_read_back_with_the_password(encrypted, spec):
    _d, plain, res = encrypted
    for owner, path in res.files.items():
        assert is_encrypted(path)
        a = read_team_book(plain.files[owner], spec, as_of=AS_OF)
        b = read_team_book(path, spec, as_of=AS_OF, password=SECRET)
        for sheet in spec.sheets:
            assert [r.values for r in a.rows[sheet.key]] == [r.values for r in b.rows[sheet.key]]
    report = check_file(next(iter(res.files.values())), spec, as_of=AS_OF, password=SECRET)
    assert report.customers and Path(report.file).name == next(iter(res.files.values())).name


def test_missing_or_wrong_password_is_one_clear_line(encrypted, spec, capsys, monkeypatch):
    monkeypatch.delenv("KHBOOK_PASSWORD", raising=False)
    path = next(iter(encrypted[2].files.values()))
    with pytest.raises(WorkbookError) as exc:
        check_file(path, spec, as_of=AS_OF)
    assert exc.value.code == "encrypted"
    assert main(["check", str(path), "--as-of", AS_OF.isoformat()]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--password" in err and str(path) in err
    assert main(["check", str(path), "--password", "not-it", "--as-of", AS_OF.isoformat()]) == 2
    captured = capsys.readouterr()
    assert captured.err.strip() == f"khbook：错误：{path}：密码不对，无法打开（请检查 --password 或环境变量 KHBOOK_PASSWORD 给出的密码）"
    assert "not-it" not in captured.err + captured.out


def test_cli_reads_with_the_password_option_or_the_environment(encrypted, capsys, monkeypatch):
    path = next(iter(encrypted[2].files.values()))
    assert main(["check", str(path), "--password", SECRET, "--as-of", AS_OF.isoformat()]) in (0, 1)
    out = capsys.readouterr()
    assert SECRET not in out.out + out.err and "客户" in out.out
    monkeypatch.setenv("KHBOOK_PASSWORD", SECRET)
    assert main(["check", str(path), "--as-of", AS_OF.isoformat()]) in (0, 1)
    monkeypatch.setattr("getpass.getpass", lambda prompt: SECRET)
    monkeypatch.delenv("KHBOOK_PASSWORD")
    assert main(["check", str(path), "--as-of", AS_OF.isoformat(), "--password"]) in (0, 1)


def test_refresh_and_merge_read_encrypted_books(encrypted, spec, tmp_path):
    d, plain, res = encrypted
    src = next(iter(res.files.values()))
    out = refresh_file(src, tmp_path / "copy.xlsx", spec=spec, as_of=AS_OF, password=SECRET)
    assert is_encrypted(out.output)                                # the copy of an encrypted book stays encrypted
    assert check_file(out.output, spec, as_of=AS_OF, password=SECRET).customers
    merged = merge_dir(d / "reps", tmp_path / "合并.xlsx", spec=spec, as_of=AS_OF, password=SECRET)
    again = merge_dir(d / "plain", tmp_path / "合并2.xlsx", spec=spec, as_of=AS_OF)
    a = read_team_book(merged.output, spec, as_of=AS_OF)
    b = read_team_book(again.output, spec, as_of=AS_OF)
    for sheet in spec.sheets:
        assert [r.values for r in a.rows[sheet.key]] == [r.values for r in b.rows[sheet.key]]
    with pytest.raises(WorkbookError) as exc:
        merge_dir(d / "reps", tmp_path / "x.xlsx", spec=spec, as_of=AS_OF, password="wrong")
    assert exc.value.code == "wrong_password"


def test_batch_reads_encrypted_books_and_encrypts_its_workbook(encrypted, tmp_path):
    d, _plain, res = encrypted
    result = run_batch(d / "reps", tmp_path / "out", spec=load_spec(), as_of=AS_OF, jobs=1, password=SECRET)
    assert not [e for e in result.entries if e.status.value == "refused"] and result.totals()["customers"] == sum(res.customers.values())
    assert is_encrypted(result.outputs["workbook"])
    with pytest.raises(Exception):  # noqa: B017 - openpyxl cannot open an encrypted package
        openpyxl.load_workbook(result.outputs["workbook"])


def test_libreoffice_opens_the_encrypted_file_only_with_the_password(encrypted, tmp_path):
    libreoffice_or_skip()
    path = next(p for o, p in encrypted[2].files.items() if o)
    out = uno_type(path, [["客户基础信息", "B2", "改名"]], tmp_path, password=SECRET)
    assert out["loaded"] and not out["error"], out
    assert out["cells"][0]["after"] == "改名" and out["protected"]["客户基础信息"] is True
    refused = uno_type(path, [], tmp_path, password="wrong")
    assert refused["loaded"] is False
