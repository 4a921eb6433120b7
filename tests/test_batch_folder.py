"""`khbook batch` on the folder a real manager collects: every file accounted for, money on the page.

The folder holds a rep's .xlsx (and its annotated copy beside it), a rep's copy without its
original, a rep's workbook in a subfolder, an old .xls, a real CSV, an ODS, an encrypted
book, an .xlsx that is not a khbook workbook, an Excel lock file, a hidden file and a
summary khbook wrote earlier. Each file's status and reason is asserted in the console, in
汇总.xlsx, in report.html (rendered by headless Chromium) and in batch.json; the money
figures against sums computed here from the rows written.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import subprocess
import urllib.parse
from collections import defaultdict
from pathlib import Path

import openpyxl
import pytest
from markupsafe import escape
from openpyxl.utils.cell import coordinate_from_string, range_boundaries

import khbook
from khbook.cli import main
from khbook.spec import load_spec
from tests.corpus.make_corpus import biff_bytes, encrypted_bytes, zip_bytes
from tests.rep import AS_OF, Rep, days_ago, make_template

CHROMIUM = "/usr/bin/chromium"
SHARED_NAME = "杭州示例贸易有限公司"

# (rep, customer ID, company, 年交易额 万元 or None); the money assertions sum these rows
CUSTOMERS = [
    ("王磊", "WL001", "北京示例重工有限公司", 120),
    ("王磊", "WL002", SHARED_NAME, 15.5),
    ("王磊", "WL003", "南京示例食品有限公司", None),
    ("王磊", "WL004", "苏州示例包装有限公司", 3),
    ("刘洋", "LY001", "杭州示例贸易 有限公司", 40),
    ("刘洋", "LY002", "宁波示例电子有限公司", 8),
    ("陈静", "CJ001", "广州示例餐饮有限公司", 25),
    ("陈静", "CJ002", "厦门示例文具有限公司", 9),
]
CHURN = {"WL001": "流失风险", "CJ002": "已流失"}     # a won deal, no follow-up; a lost deal

REFUSED = {   # file -> error code (the reason is the one `khbook check` gives)
    "李娜.xls": "old_xls",
    "客户.csv": "csv_suffix",
    "赵六.ods": "ods",
    "加密.xlsx": "encrypted",
    "其他表格.xlsx": "not_khbook",
}
SKIPPED = {
    "~$王磊.xlsx": "lock",
    ".DS_Store": "hidden",
    "汇总.xlsx": "output",
    "王磊.checked.xlsx": "copy",
    "会议纪要.txt": "not_spreadsheet",
}
PROCESSED = {"王磊.xlsx": "王磊", "华东/刘洋.xlsx": "刘洋", "陈静.checked.xlsx": "陈静"}


@pytest.fixture(scope="module")
def spec():
    return load_spec()


def _rep_book(template: Path, path: Path, rep: str) -> Path:
    book = Rep(template)
    rows = [c for c in CUSTOMERS if c[0] == rep]
    for i, (_, cid, name, amount) in enumerate(rows, start=2):
        book.put("customers", i, customer_id=cid, name=name, industry="制造业", first_contact=days_ago(300),
                 owner=rep, annual_amount=amount, address="浙江省杭州市西湖区文三路1号")
    deal = 2
    for cid, stage in CHURN.items():
        if any(c[1] == cid for c in rows):
            won = stage == "流失风险"
            book.put("deals", deal, customer_id=cid, project="年度采购", stage="成交" if won else "流失",
                     actual_amount=10 if won else None, deal_date=days_ago(200 if won else 30))
            deal += 1
    if rep == "王磊":
        book.put("contacts", 2, customer_id="WL002", name="钱进", mobile="123")          # an error with a cell
    return book.save(path)


@pytest.fixture(scope="module")
def folder(tmp_path_factory, spec) -> Path:
    template = make_template(tmp_path_factory.mktemp("tpl") / "template.xlsx", spec)
    root = tmp_path_factory.mktemp("manager") / "十一月提交"
    (root / "华东").mkdir(parents=True)
    _rep_book(template, root / "王磊.xlsx", "王磊")
    khbook.refresh_file(root / "王磊.xlsx", spec=spec, as_of=AS_OF)               # 王磊.checked.xlsx beside it
    _rep_book(template, root / "华东" / "刘洋.xlsx", "刘洋")
    chen = _rep_book(template, root / "陈静.xlsx", "陈静")
    khbook.refresh_file(chen, root / "陈静.checked.xlsx", spec=spec, as_of=AS_OF)
    chen.unlink()                                                                  # only her annotated copy came back
    (root / "李娜.xls").write_bytes(biff_bytes())
    (root / "客户.csv").write_text("客户名称,负责人,年交易额\n示例公司,李娜,12\n", encoding="utf-8")
    (root / "赵六.ods").write_bytes(zip_bytes({
        "mimetype": b"application/vnd.oasis.opendocument.spreadsheet",
        "content.xml": b'<?xml version="1.0" encoding="UTF-8"?><office:document-content '
                       b'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"/>',
        "META-INF/manifest.xml": b'<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
                                 b'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"/>',
    }, stored=["mimetype"]))
    (root / "加密.xlsx").write_bytes(encrypted_bytes())
    other = openpyxl.Workbook()
    other.active["A1"] = "报价单"
    other.save(root / "其他表格.xlsx")
    (root / "~$王磊.xlsx").write_bytes(b"\x05lock")
    (root / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (root / "汇总.xlsx").write_bytes(b"an earlier summary")
    (root / "会议纪要.txt").write_text("周一开会", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def run(folder, tmp_path_factory):
    """The CLI run (text output), as a manager would type it."""
    out = tmp_path_factory.mktemp("out") / "复盘"
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(["batch", str(folder), "-o", str(out), "--as-of", AS_OF.isoformat(), "--jobs", "2"])
    return {"code": code, "out": stdout.getvalue(), "err": stderr.getvalue(), "outdir": out}


def _check_reason(path: Path, capsys) -> str:
    """The line `khbook check FILE` prints for a file it cannot read."""
    code = main(["check", str(path)])
    _, err = capsys.readouterr()
    assert code == 2
    return err.strip()


# --------------------------------------------------------------------------- the accounting


def test_every_file_accounted_for_in_json(run, folder, capsys):
    data = json.loads((run["outdir"] / "batch.json").read_text(encoding="utf-8"))
    entries = {f["file"]: f for f in data["files"]}
    assert set(entries) == set(REFUSED) | set(SKIPPED) | set(PROCESSED)
    for name, code in REFUSED.items():
        assert (entries[name]["status"], entries[name]["code"]) == ("refused", code), name
        if code != "not_khbook":       # the same one-line reason `khbook check` gives
            assert entries[name]["reason"] in _check_reason(folder / name, capsys), name
    assert entries["其他表格.xlsx"]["reason"].startswith("不是 khbook 客户工作簿")  # the same line `khbook check` gives
    for name, why in SKIPPED.items():
        assert (entries[name]["status"], entries[name]["code"]) == ("skipped", why), name
    assert "王磊.xlsx" in entries["王磊.checked.xlsx"]["reason"]
    for name, rep in PROCESSED.items():
        assert (entries[name]["status"], entries[name]["owner"]) == ("processed", rep), name
    assert entries["陈静.checked.xlsx"]["code"] == "copy_read" and "批注副本" in entries["陈静.checked.xlsx"]["reason"]
    assert entries["陈静.checked.xlsx"]["output"] == "陈静.checked.xlsx"
    assert {k: data["totals"][k] for k in ("files", "processed", "refused", "skipped")} == \
        {"files": 13, "processed": 3, "refused": 5, "skipped": 5}


def _json_entries(run) -> dict[str, dict]:
    data = json.loads((run["outdir"] / "batch.json").read_text(encoding="utf-8"))
    return {f["file"]: f for f in data["files"]}


def test_exit_status_and_console(run):
    assert run["code"] == 2                       # some files could not be read
    entries = _json_entries(run)
    lines = (run["out"] + run["err"]).splitlines()
    for name in REFUSED:                          # each refused file printed once, with its reason
        mine = [line for line in lines if f"] {name}：" in line]
        assert mine == [f"[{mine[0][1:].split(']')[0]}] {name}：无法读取：{entries[name]['reason']}"], (name, mine)
    for name in SKIPPED:
        assert [line for line in lines if line.startswith(f"已跳过 {name}：")] == \
            [f"已跳过 {name}：{entries[name]['reason']}"], name
    assert f"已读取批注副本 陈静.checked.xlsx：{entries['陈静.checked.xlsx']['reason']}" in lines
    for name in PROCESSED:
        assert sum(1 for line in lines if line.endswith(f"] {name}")) == 1, name
    assert "文件夹中共 13 个文件：已处理 3 个，无法读取 5 个，已跳过 5 个" in run["out"]
    english = re.compile(r"\d+ of \d+|files read|failed|^wrote|\d+ errors|\d+ warnings|refused|skipped", re.M)
    assert not english.search(run["out"] + run["err"])


def test_file_list_sheet_and_html(run):
    entries = _json_entries(run)
    wb = openpyxl.load_workbook(run["outdir"] / "汇总.xlsx", read_only=True)
    rows = {r[0]: r for r in list(wb["文件清单"].values)[1:]}
    wb.close()
    assert set(rows) == set(entries) == set(REFUSED) | set(SKIPPED) | set(PROCESSED)
    words = {"refused": "无法读取", "skipped": "已跳过", "processed": "已处理"}
    html = (run["outdir"] / "report.html").read_text(encoding="utf-8")
    for name, e in entries.items():
        assert rows[name][1] == words[e["status"]] and (rows[name][2] or "") == e["reason"], name
        assert bool(rows[name][2]) == (name not in PROCESSED or name == "陈静.checked.xlsx")
        row = (f'<tr class="{e["status"]}" data-file="{escape(name)}" data-status="{e["status"]}"><td>{escape(name)}</td>'
               f'<td>{words[e["status"]]}</td><td>{escape(e["reason"])}</td>')
        assert row in html, name
    for name, rep in PROCESSED.items():
        assert rows[name][3] == rep, name


# --------------------------------------------------------------------------- money


def _expected() -> dict[str, dict[str, float]]:
    """Sums over CUSTOMERS, computed here: by rep, by value tier (50/10), by department ABC (20%/5%)."""
    by_rep: dict[str, float] = defaultdict(float)
    tier: dict[str, float] = defaultdict(float)
    for rep, _, _, amount in CUSTOMERS:
        by_rep[rep] += amount or 0
        tier["待补充" if amount is None else "高价值" if amount >= 50 else "中价值" if amount >= 10 else "低价值"] += amount or 0
    total = sum(by_rep.values())
    abc: dict[str, float] = defaultdict(float)
    for _, _, _, amount in CUSTOMERS:
        cls = "待补充" if amount is None else "A" if amount / total >= 0.20 else "B" if amount / total >= 0.05 else "C"
        abc[cls] += amount or 0
    churn: dict[str, float] = defaultdict(float)
    for rep, cid, _, amount in CUSTOMERS:
        if cid in CHURN:
            churn[rep] += amount or 0
    return {"rep": dict(by_rep), "value_tier": dict(tier), "abc_class": dict(abc), "churn": dict(churn),
            "total": {"": total}}


def test_money_in_json(run):
    data = json.loads((run["outdir"] / "batch.json").read_text(encoding="utf-8"))
    want = _expected()
    assert data["totals"]["amount"] == pytest.approx(want["total"][""])
    for dim in ("rep", "value_tier", "abc_class"):
        got = {b["label"]: b["amount"] for b in data["breakdowns"][dim]}
        assert got == pytest.approx(want[dim]), dim
        assert sum(b["share"] for b in data["breakdowns"][dim]) == pytest.approx(1, abs=1e-3)
    churn = {m["rep"]: m["churn_amount"] for m in data["rep_money"] if m["churn_amount"]}
    assert churn == pytest.approx(want["churn"])
    assert data["totals"]["churn_amount"] == pytest.approx(sum(want["churn"].values()))
    stages = {c["customer_id"]: c["stage"] for c in data["customers"]}
    assert {cid: stages[cid] for cid in CHURN} == CHURN


def test_money_in_workbook(run):
    wb = openpyxl.load_workbook(run["outdir"] / "汇总.xlsx", read_only=True)
    rows = list(wb["分布"].values)
    wb.close()
    want = _expected()
    header = rows[0]
    assert header[:6] == ("销售代表", "客户数", "年交易额(万元)", "金额占比", "流失风险客户数", "流失风险金额(万元)")
    reps = {r[0]: r for r in rows[1:4]}
    for rep, amount in want["rep"].items():
        assert reps[rep][2] == pytest.approx(amount) and reps[rep][5] == pytest.approx(want["churn"].get(rep, 0))
    assert rows[4][0] == "全部门合计" and rows[4][2] == pytest.approx(want["total"][""])
    abc_top = next(i for i, r in enumerate(rows) if r[0] == "客户等级(ABC，全部门)")
    got = {}
    for r in rows[abc_top + 1:]:
        if r[0] == "全部门合计":
            break
        got[r[0]] = r[2]
    assert got == pytest.approx(want["abc_class"])


def test_money_renders_in_chromium(run, tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (.ci/run installs it)")
    url = (run["outdir"] / "report.html").resolve().as_uri()
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
             f"--user-data-dir={tmp_path / 'p'}"]
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", url], capture_output=True, text=True, timeout=60)
    assert dom.returncode == 0, dom.stderr[-2000:]
    page = dom.stdout
    want = _expected()
    assert re.search(r'data-figure="amount">\s*<span class="num">220.5</span>', page)
    assert re.search(r'data-figure="churn_amount">\s*<span class="num">129</span>', page)
    for rep, amount in want["rep"].items():
        shown = f"{amount:,.2f}".rstrip("0").rstrip(".")
        assert re.search(rf'<tr data-rep="{rep}"><td>{rep}</td><td class="n">\d+</td><td class="n amount">{shown}</td>', page), rep
    assert "年交易额(万元)" in page


# --------------------------------------------------------------------------- acting on it


def test_findings_link_to_the_cell_in_the_annotated_copy(run):
    outdir = run["outdir"]
    wb = openpyxl.load_workbook(outdir / "汇总.xlsx")
    ws = wb["全部问题"]
    links = 0
    for row in ws.iter_rows(min_row=3):
        cell = row[3]
        if cell.hyperlink is None:
            continue
        target = outdir / cell.hyperlink.target.replace("\\", "/")
        assert target.is_file(), target
        sheet, ref = cell.hyperlink.location.rsplit("!", 1)
        sheet = sheet.strip("'").replace("''", "'")
        copy = openpyxl.load_workbook(target, read_only=True)
        assert sheet in copy.sheetnames
        col, r = coordinate_from_string(ref)
        min_col, min_row, max_col, max_row = range_boundaries(copy[sheet].calculate_dimension())
        assert min_row <= r <= max_row and ref == cell.value
        copy.close()
        links += 1
    wb.close()
    assert links >= 2                                   # 王磊's bad phone, at least, links to his copy


def test_duplicates_show_names_and_owners_even_masked(folder, tmp_path, capsys):
    code = main(["batch", str(folder), "-o", str(tmp_path / "m"), "--as-of", AS_OF.isoformat(), "--jobs", "1", "--mask"])
    capsys.readouterr()
    assert code == 2
    data = json.loads((tmp_path / "m" / "batch.json").read_text(encoding="utf-8"))
    pair = [(d["name_a"], d["owner_a"], d["name_b"], d["owner_b"]) for d in data["duplicates"]]
    assert pair == [("杭州示例贸易 有限公司", "刘洋", SHARED_NAME, "王磊")]
    html = (tmp_path / "m" / "report.html").read_text(encoding="utf-8")
    assert SHARED_NAME in html and "刘洋" in html


def test_fix_first_per_rep(run):
    data = json.loads((run["outdir"] / "batch.json").read_text(encoding="utf-8"))
    wang = next(x for x in data["fix_first"] if x["rep"] == "王磊")
    assert wang["problems"][0] == {"rule": "bad_phone", "severity": "error", "count": 1}
    assert [c["customer_id"] for c in wang["customers"]] == ["WL002"]
    wb = openpyxl.load_workbook(run["outdir"] / "汇总.xlsx", read_only=True)
    cells = {v for row in wb["先改这些"].values for v in row if v is not None}
    wb.close()
    assert {"王磊", "WL002"} <= cells


# --------------------------------------------------------------------------- bad input


def test_folder_without_workbooks_is_an_error(tmp_path, capsys):
    empty = tmp_path / "空文件夹"
    empty.mkdir()
    (empty / "~$张伟.xlsx").write_bytes(b"lock")
    (empty / "说明.txt").write_text("x", encoding="utf-8")
    code = main(["batch", str(empty), "-o", str(tmp_path / "o")])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "没有任何工作簿" in err
    assert not (tmp_path / "o").exists()


def test_file_instead_of_folder(folder, tmp_path, capsys):
    code = main(["batch", str(folder / "王磊.xlsx"), "-o", str(tmp_path / "o")])
    _, err = capsys.readouterr()
    assert code == 2 and err.count("\n") == 1
    assert "不是文件夹" in err and "khbook check" in err and "找不到" not in err


def test_missing_folder(tmp_path, capsys):
    code = main(["batch", str(tmp_path / "nowhere")])
    _, err = capsys.readouterr()
    assert code == 2 and "找不到该文件夹" in err


def test_unexpected_failure_is_listed_in_the_output_language(folder, spec, tmp_path, monkeypatch):
    import khbook.batch.worker as worker

    real = worker.refresh_file

    def flaky(src, *args, **kwargs):
        if Path(src).name == "王磊.xlsx":
            raise RuntimeError("boom")
        return real(src, *args, **kwargs)

    monkeypatch.setattr(worker, "refresh_file", flaky)
    result = khbook.run_batch(folder, tmp_path / "o", spec=spec, as_of=AS_OF, jobs=1)
    entry = next(e for e in result.entries if e.file == "王磊.xlsx")
    assert (entry.status.value, entry.code) == ("refused", "internal")
    assert entry.reason.startswith("处理时出现内部错误（RuntimeError: boom") and "boom" in entry.reason_en
    assert result.exit_status == 2


def test_links_into_subfolders_open_in_libreoffice(run, tmp_path):
    """汇总.xlsx links to the annotated copies, one of them in 华东/. XlsxWriter stores relative
    external links with Windows backslashes (as Excel does); a second client must still resolve
    every one of them to the copy on disk: LibreOffice exports the links as file:// URLs."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not installed: the link check in a second client is skipped")
    outdir = run["outdir"]
    proc = subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{tmp_path}/lo", "--convert-to", "html",
                           "--outdir", str(tmp_path), str(outdir / "汇总.xlsx")], capture_output=True, text=True, timeout=180)
    html = tmp_path / "汇总.html"
    assert html.is_file(), proc.stdout + proc.stderr
    hrefs = set(re.findall(r'href="file://([^"#]+)', html.read_text(encoding="utf-8", errors="replace")))
    targets = {Path(urllib.parse.unquote(h)) for h in hrefs}
    assert targets, "no links to the annotated copies"
    assert outdir.resolve() / "华东" / "刘洋.checked.xlsx" in {t.resolve() for t in targets}
    missing = [t for t in targets if not t.is_file()]
    assert missing == []
