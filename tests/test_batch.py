"""`khbook batch`: a folder of rep workbooks -> 汇总.xlsx, report.html, batch.json.

The folder holds two reps' filled templates (with a customer claimed by both: same credit
code; and a company under the same normalised name), an empty template, a corrupt file,
and things discovery must skip. A second run a month later, after edits, is compared with
the first (--previous).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest

from khbook.batch.consolidate import quality_score
from khbook.batch.mask import mask_email, mask_id, mask_phone, mask_text
from khbook.batch.run import discover, run_batch
from khbook.cli import main
from tests.rep import AS_OF, Rep, days_ago

AS_OF2 = AS_OF + dt.timedelta(days=30)
CODE_SHARED = "9144030071526726XG"
CHROMIUM = "/usr/bin/chromium"


def zhang(template: Path, path: Path, *, month: int) -> Path:
    rep = Rep(template)
    C, F, D = "customers", "followups", "deals"
    rep.put(C, 2, customer_id="ZW001", name="北京示例物流有限公司", credit_code="91110000600037341L", industry="物流",
            first_contact=days_ago(400), owner="张伟", annual_amount=60, address="北京市朝阳区建国路88号")
    rep.put(C, 3, customer_id="ZW002", name="上海示例科技有限公司", industry="科技业", first_contact=days_ago(100),
            owner="张伟", annual_amount=20 if month == 1 else 80, address="上海市浦东新区张江路1号")
    rep.put(C, 4, customer_id="ZW003", name="深圳示例云计算有限公司", credit_code=CODE_SHARED, industry="互联网",
            first_contact=days_ago(50), owner="张伟", annual_amount=5, address="广东省深圳市南山区科技园路1号")
    if month == 2:
        rep.put(C, 5, customer_id="ZW004", name="成都示例医疗器械有限公司", industry="医疗", first_contact=days_ago(10),
                owner="张伟", annual_amount=1, address="四川省成都市高新区天府大道500号")
    rep.put(D, 2, customer_id="ZW001", project="年度框架", stage="成交", actual_amount=60, deal_date=days_ago(200))
    if month == 2:
        rep.put(D, 3, customer_id="ZW002", project="扩容", stage="谈判", expected_amount=30, updated=days_ago(5))
    rep.put(F, 2, customer_id="ZW002", date=days_ago(10), method="电话", by="张伟", summary="演示方案")
    rep.put(F, 3, customer_id="ZW003", date=days_ago(40), method="拜访", by="张伟", summary="了解需求", next_date=days_ago(5))
    return rep.save(path)


def lina(template: Path, path: Path, *, month: int) -> Path:
    rep = Rep(template)
    C, K = "customers", "contacts"
    rep.put(C, 2, customer_id="LN001", name="深圳示例云服务有限公司", credit_code=CODE_SHARED, industry="互联网",
            first_contact=days_ago(60), owner="李娜", annual_amount=30, address="广东省深圳市南山区")
    rep.put(C, 3, customer_id="LN002", name="上海示例科技 有限责任公司", industry="科技业", first_contact=days_ago(30),
            owner="李娜", address="上海市徐汇区")
    if month == 1:
        rep.put(C, 4, customer_id="LN003", name="武汉示例教育咨询有限公司", industry="教育", first_contact=days_ago(20),
                owner="李娜", annual_amount=2, address="湖北省武汉市洪山区")
    rep.put(K, 2, customer_id="LN001", name="赵敏", mobile="1395678", email="zhaomin@example")
    return rep.save(path)


def build_folder(root: Path, template: Path, *, month: int) -> Path:
    (root / "华南").mkdir(parents=True, exist_ok=True)
    zhang(template, root / "张伟.xlsx", month=month)
    lina(template, root / "华南" / "李娜.xlsx", month=month)
    shutil.copy(template, root / "空白模板.xlsx")
    (root / "损坏.xlsx").write_bytes(os.urandom(2048))
    # things discovery must skip
    (root / "~$张伟.xlsx").write_bytes(b"lock")
    (root / ".hidden").mkdir(exist_ok=True)
    shutil.copy(template, root / ".hidden" / "x.xlsx")
    shutil.copy(template, root / "张伟.checked.xlsx")
    (root / "notes.txt").write_text("not a workbook", encoding="utf-8")
    return root


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["batch", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def month1(tmp_path_factory, template):
    root = build_folder(tmp_path_factory.mktemp("m1") / "提交", template, month=1)
    return root


@pytest.fixture(scope="module")
def run1(month1, spec):
    """The first run, in-process (--jobs 1), output inside the folder (must be skipped by later runs)."""
    out = month1 / "复盘结果"
    result = run_batch(month1, out, spec=spec, as_of=AS_OF, jobs=1)
    return result


# --------------------------------------------------------------------------- unit parts


def test_masks():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("+86 138 1234 5678") == "138****5678"
    assert mask_email("abc@example.com") == "a***@example.com"
    assert mask_id("9144030071526726XG") == "9144****XG"
    text = mask_text("电话 13812345678，邮箱 wang@example.com，代码 9144030071526726XG")
    assert "13812345678" not in text and "wang@" not in text and CODE_SHARED not in text
    assert "138****5678" in text and "w***@example.com" in text and "9144****XG" in text


def test_quality_score_formula():
    assert quality_score(0, 0, 0, 1, 1) is None
    assert quality_score(10, 0, 0, 1.0, 1.0) == 100
    # 100 - 40*0.1 - 15*0.2 - 25*0.5 - 20*0.5 = 70.5 -> 70 (banker's rounding of .5 to even)
    assert quality_score(10, 1, 2, 0.5, 0.5) == 70
    assert quality_score(10, 50, 50, 0.0, 0.0) == 0


def test_discovery_skips_locks_hidden_outputs(month1, run1, spec):
    found = discover(month1, month1 / "复盘结果", spec)
    assert found.tasks == ["华南/李娜.xlsx", "张伟.xlsx", "损坏.xlsx", "空白模板.xlsx"]
    assert [(s.rel, s.why) for s in found.skipped] == [
        (".hidden/", "hidden_folder"), ("notes.txt", "not_spreadsheet"), ("~$张伟.xlsx", "lock"),
        ("张伟.checked.xlsx", "copy")]
    # this run's output folder is left out; an earlier run's is listed as skipped
    assert ("复盘结果/", "output_folder") in [(s.rel, s.why) for s in discover(month1, None, spec).skipped]


# --------------------------------------------------------------------------- the consolidated picture


def test_consolidated_figures(run1):
    d = run1.to_dict()
    assert {k: d["totals"][k] for k in ("files", "processed", "refused", "skipped")} == \
        {"files": 8, "processed": 3, "refused": 1, "skipped": 4}
    reps = {r["rep"]: r for r in d["reps"]}
    assert reps["张伟"]["customers"] == 3 and reps["李娜"]["customers"] == 3
    assert reps["(未填负责人)"]["customers"] == 0 and reps["(未填负责人)"]["score"] is None
    assert reps["张伟"]["files"] == 1
    assert {b["label"]: b["count"] for b in d["breakdowns"]["value_tier"]} == {"高价值": 1, "中价值": 2, "低价值": 2, "待补充": 1}
    by_id = {c["customer_id"]: c for c in d["customers"]}
    assert by_id["ZW001"]["file"] == "张伟.xlsx" and by_id["LN001"]["file"] == "华南/李娜.xlsx"
    assert by_id["LN001"]["owner"] == "李娜"
    # ABC over the department (total 60+20+5+30+2 = 117) vs inside 张伟's own file (85)
    assert {k: by_id[k]["abc_class"] for k in ("ZW001", "ZW002", "ZW003", "LN001", "LN003")} == \
        {"ZW001": "A", "ZW002": "B", "ZW003": "C", "LN001": "A", "LN003": "C"}
    assert by_id["ZW002"]["abc_class_file"] == "A" and by_id["ZW003"]["abc_class_file"] == "B"
    assert d["abc_basis"] == "department"
    assert [c["customer_id"] for c in d["churn_risks"]] == ["ZW001"]
    assert [(f["file"], f["customer_id"]) for f in d["overdue_followups"]] == [("张伟.xlsx", "ZW003")]


def test_duplicate_pairs_with_both_owners(run1):
    pairs = {(p.basis, p.customer_id_a, p.owner_a, p.customer_id_b, p.owner_b, p.file_a, p.file_b)
             for p in run1.duplicates}
    assert pairs == {
        ("credit_code", "LN001", "李娜", "ZW003", "张伟", "华南/李娜.xlsx", "张伟.xlsx"),
        ("name", "LN002", "李娜", "ZW002", "张伟", "华南/李娜.xlsx", "张伟.xlsx"),
    }


def test_failure_listed_with_reason(run1):
    assert [f.file for f in run1.refused] == ["损坏.xlsx"]
    failure = run1.refused[0]
    assert failure.code == "not_zip"
    assert "不是 Excel 工作簿" in failure.reason               # the batch's --lang (zh)
    assert "not an Excel workbook" in failure.reason_en       # the English kept beside it
    data = json.loads(run1.outputs["json"].read_text(encoding="utf-8"))
    assert [f for f in data["files"] if f["status"] == "refused"] == [{**dataclasses.asdict(failure), "status": "refused"}]
    html = run1.outputs["html"].read_text(encoding="utf-8")
    assert "不是 Excel 工作簿" in html and "not an Excel workbook" not in html


def test_summary_workbook_sheets(run1):
    wb = openpyxl.load_workbook(run1.outputs["workbook"], read_only=True)
    assert wb.sheetnames == ["客户总表", "全部问题", "数据质量", "先改这些", "分布", "跨文件重复", "文件清单"]
    rows = list(wb["客户总表"].values)
    assert "全部门" in rows[0][0]
    assert len(rows) == 2 + 6
    files = {r[0]: r for r in list(wb["文件清单"].values)[1:]}
    assert files["损坏.xlsx"][1] == "无法读取" and files["损坏.xlsx"][2].startswith("不是 Excel 工作簿")
    dups = list(wb["跨文件重复"].values)
    assert len(dups) == 3 and {dups[1][4], dups[1][8]} == {"张伟", "李娜"}
    assert {dups[1][2], dups[1][6]} == {"深圳示例云服务有限公司", "深圳示例云计算有限公司"}
    quality = list(wb["数据质量"].values)
    assert quality[0][0].startswith("得分 = 100")
    wb.close()


def test_summary_has_native_charts(run1):
    import zipfile

    with zipfile.ZipFile(run1.outputs["workbook"]) as z:
        charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
    assert len(charts) == 6                       # rep, value tier, ABC, stage, region, industry


def test_annotated_copies_written(run1):
    out = run1.outdir
    assert (out / "张伟.checked.xlsx").is_file() and (out / "华南" / "李娜.checked.xlsx").is_file()
    assert (out / "空白模板.checked.xlsx").is_file()
    assert not (out / "损坏.checked.xlsx").exists()


# --------------------------------------------------------------------------- CLI


def test_cli_json_equals_library_and_exit_status(month1, run1, capsys, tmp_path):
    code, out, err = run_cli(capsys, str(month1), "-o", str(tmp_path / "o"), "--as-of", AS_OF.isoformat(),
                             "--format", "json", "--jobs", "2")
    assert code == 2
    data, lib = json.loads(out), run1.to_dict()
    assert json.loads((tmp_path / "o" / "batch.json").read_text(encoding="utf-8")) == data
    # the first run's output folder (inside the folder) is now listed as skipped, and nothing else changes
    earlier = [f for f in data["files"] if f["file"] == "复盘结果/"]
    assert [(f["status"], f["code"]) for f in earlier] == [("skipped", "output_folder")]
    assert [f for f in data["files"] if f["file"] != "复盘结果/"] == lib["files"]
    assert data["totals"] == {**lib["totals"], "files": lib["totals"]["files"] + 1, "skipped": lib["totals"]["skipped"] + 1}
    assert {k: v for k, v in data.items() if k not in ("files", "totals")} == \
        {k: v for k, v in lib.items() if k not in ("files", "totals")}
    assert "损坏.xlsx" in err and "[4/4]" in err


def test_exit_status_errors_and_clean(tmp_path, template, capsys):
    clean = tmp_path / "clean"
    clean.mkdir()
    zhang(template, clean / "张伟.xlsx", month=1)
    code, out, err = run_cli(capsys, str(clean), "-o", str(tmp_path / "o1"), "--as-of", AS_OF.isoformat(), "--jobs", "1")
    assert code == 0, out + err
    lina(template, clean / "李娜.xlsx", month=1)      # a bad phone and a bad e-mail
    code, out, err = run_cli(capsys, str(clean), "-o", str(tmp_path / "o2"), "--as-of", AS_OF.isoformat(), "--jobs", "1")
    assert code == 1
    assert "文件夹中共 2 个文件：已处理 2 个，无法读取 0 个，已跳过 0 个" in out


def test_previous_missing_is_one_line_error(month1, capsys, tmp_path):
    code, out, err = run_cli(capsys, str(month1), "-o", str(tmp_path / "o"), "--previous", str(tmp_path / "nowhere"))
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("khbook：错误：")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "batch.json").write_text("{not json", encoding="utf-8")
    code, out, err = run_cli(capsys, str(month1), "-o", str(tmp_path / "o"), "--previous", str(tmp_path / "bad"))
    assert code == 2 and err.count("\n") == 1


# --------------------------------------------------------------------------- month over month


def test_month_over_month(run1, template, tmp_path, spec, capsys):
    root = build_folder(tmp_path / "提交", template, month=2)
    code, out, err = run_cli(capsys, str(root), "-o", str(tmp_path / "out2"), "--as-of", AS_OF2.isoformat(),
                             "--previous", str(run1.outdir), "--format", "json", "--jobs", "2")
    assert code == 2
    mom = json.loads(out)["month_over_month"]
    assert mom["previous_as_of"] == AS_OF.isoformat()
    changes = {(c["customer_id"], c["field"], c["old"], c["new"]) for c in mom["changes"]}
    # ZW002: 20 -> 80 万 and a deal in 谈判; department total 60+80+5+30+1 = 176
    assert changes == {
        ("ZW002", "value_tier", "中价值", "高价值"),
        ("ZW002", "abc_class", "B", "A"),
        ("ZW002", "stage", "潜在客户", "意向客户"),
        ("LN001", "abc_class", "A", "B"),
    }
    assert [c["customer_id"] for c in mom["new"]] == ["ZW004"]
    assert [c["customer_id"] for c in mom["gone"]] == ["LN003"]
    # revenue: 张伟 60+20+5 -> 60+80+5+1; 李娜 30+2 -> 30; the department 117 -> 176
    assert [(a["rep"], a["old"], a["new"], a["delta"]) for a in mom["amounts"]] == [
        ("张伟", 85.0, 146.0, 61.0), ("李娜", 32.0, 30.0, -2.0)]
    assert mom["department"] == {"rep": "", "old": 117.0, "new": 176.0, "delta": 59.0}
    prev_scores = {r["rep"]: r["score"] for r in run1.to_dict()["reps"]}
    new_scores = {r["rep"]: r["score"] for r in json.loads(out)["reps"]}
    for r in mom["reps"]:
        assert r["old"] == prev_scores.get(r["rep"]) and r["new"] == new_scores.get(r["rep"])
        if isinstance(r["old"], int) and isinstance(r["new"], int):
            assert r["delta"] == r["new"] - r["old"]
    wb = openpyxl.load_workbook(tmp_path / "out2" / "汇总.xlsx", read_only=True)
    assert "月度对比" in wb.sheetnames
    cells = {v for row in wb["月度对比"].values for v in row if v is not None}
    assert {"ZW004", "LN003", "中价值", "高价值"} <= cells
    wb.close()
    html = (tmp_path / "out2" / "report.html").read_text(encoding="utf-8")
    assert 'id="mom"' in html and "ZW004" in html


# --------------------------------------------------------------------------- masking


def _all_text(outdir: Path) -> str:
    wb = openpyxl.load_workbook(outdir / "汇总.xlsx", read_only=True)
    cells = [str(v) for ws in wb.worksheets for row in ws.values for v in row if v is not None]
    wb.close()
    return "\n".join(cells) + (outdir / "report.html").read_text(encoding="utf-8") + \
        (outdir / "batch.json").read_text(encoding="utf-8")


def test_mask(month1, tmp_path, capsys):
    plain = tmp_path / "plain"
    code, out, _ = run_cli(capsys, str(month1), "-o", str(plain), "--as-of", AS_OF.isoformat(), "--jobs", "1")
    text = _all_text(plain)
    assert CODE_SHARED in text and "1395678" in text and "zhaomin@example" in text
    masked = tmp_path / "masked"
    code, out, _ = run_cli(capsys, str(month1), "-o", str(masked), "--as-of", AS_OF.isoformat(), "--jobs", "1",
                           "--mask", "--format", "json")
    text = _all_text(masked) + out
    for secret in (CODE_SHARED, "91110000600037341L", "1395678", "zhaomin@example"):
        assert secret not in text, secret
    assert "9144****XG" in text and "z***@example" in text
    d = json.loads(out)
    assert d["masked"] is True and len(d["duplicates"]) == 2


# --------------------------------------------------------------------------- HTML in a real browser


def _chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess[str]:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0"]
    return subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=60)


def test_report_renders_in_chromium(run1, tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (.ci/run installs it)")
    html = run1.outputs["html"]
    url = html.resolve().as_uri()
    dom = _chromium(["--dump-dom", url], tmp_path / "p1")
    assert dom.returncode == 0, dom.stderr[-2000:]
    page = dom.stdout
    totals = run1.totals()
    for key in ("files", "refused", "customers", "duplicates", "churn_risks", "overdue_followups"):
        assert re.search(rf'data-figure="{key}">\s*<span class="num">{totals[key]}</span>', page), key
    assert page.count("<svg") == 7                # six breakdowns by amount and the scores
    assert "损坏.xlsx" in page and "ZW003" in page
    console = [line for line in dom.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert console == []
    png = tmp_path / "report.png"
    shot = _chromium([f"--screenshot={png}", "--window-size=1280,2000", url], tmp_path / "p2")
    assert shot.returncode == 0 and png.stat().st_size > 10_000
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [line for line in shot.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]


def test_html_escapes_user_text(month1, spec, tmp_path, template):
    root = tmp_path / "xss"
    root.mkdir()
    rep = Rep(template)
    rep.put("customers", 2, customer_id="X1", name="<script>alert(1)</script>有限公司", industry="其他",
            first_contact=days_ago(5), owner="<b>王</b>")
    rep.save(root / "a.xlsx")
    result = run_batch(root, tmp_path / "o", spec=spec, as_of=AS_OF, jobs=1)
    html = result.outputs["html"].read_text(encoding="utf-8")
    assert "<script>" not in html and "<b>王</b>" not in html
    assert "&lt;b&gt;王&lt;/b&gt;" in html


def test_english_outputs(month1, spec, tmp_path):
    result = run_batch(month1, tmp_path / "en", spec=spec, as_of=AS_OF, jobs=1, lang="en")
    d = result.to_dict()
    assert {b["label"]: b["count"] for b in d["breakdowns"]["value_tier"]} == \
        {"High value": 1, "Medium value": 2, "Low value": 2, "To be completed": 1}
    assert {r["rep"] for r in d["reps"]} == {"张伟", "李娜", "(no owner)"}
    wb = openpyxl.load_workbook(result.outputs["workbook"], read_only=True)
    assert wb.sheetnames == ["All customers", "All findings", "Data quality", "Fix first", "Distribution",
                             "Cross-file duplicates", "Files"]
    assert result.outputs["workbook"].name == "summary.xlsx"
    wb.close()
    html = result.outputs["html"].read_text(encoding="utf-8")
    assert 'lang="en"' in html and "Cross-file duplicates" in html


# --------------------------------------------------------------------------- nothing clipped


def test_no_text_clipped_in_the_summary_workbook(run1, template, tmp_path, capsys):
    """A text is clipped when the cell to its right is filled: then the column must be wide enough
    (display width: a CJK character counts 2). Headers always fit; long texts wrap instead."""
    from khbook.base.textwidth import display_width
    from khbook.batch.workbook import MAX_WIDTH

    root = build_folder(tmp_path / "提交", template, month=2)
    main(["batch", str(root), "-o", str(tmp_path / "o"), "--as-of", AS_OF2.isoformat(), "--previous", str(run1.outdir),
          "--jobs", "1"])
    capsys.readouterr()
    wb = openpyxl.load_workbook(tmp_path / "o" / "汇总.xlsx")
    assert "月度对比" in wb.sheetnames
    checked = 0
    for ws in wb.worksheets:
        merged = {c.coordinate for rng in ws.merged_cells.ranges for row in ws[rng.coord] for c in row}
        widths = {i: d.width for d in ws.column_dimensions.values() for i in range(d.min, d.max + 1)}
        for row in ws.iter_rows():
            for cell in row:
                if not isinstance(cell.value, str) or cell.coordinate in merged or cell.alignment.wrap_text:
                    continue
                right = ws.cell(cell.row, cell.column + 1).value
                header = cell.fill.fgColor.rgb == "FFDDEBF7"
                if right is None and not header:
                    continue
                width = widths.get(cell.column, 8.43)
                assert display_width(cell.value) <= width, (ws.title, cell.coordinate, cell.value, width)
                assert display_width(cell.value) <= MAX_WIDTH + 2
                checked += 1
    wb.close()
    assert checked > 100
    headers = [c.value for c in openpyxl.load_workbook(tmp_path / "o" / "汇总.xlsx")["客户总表"][2]]
    assert "客户等级(ABC，全部门)" in headers


def test_english_console(template, tmp_path, capsys):
    root = build_folder(tmp_path / "in", template, month=1)
    code, out, err = run_cli(capsys, str(root), "-o", str(tmp_path / "en"), "--as-of", AS_OF.isoformat(),
                             "--jobs", "1", "--lang", "en")
    assert code == 2
    assert "8 files in the folder: 3 processed, 1 refused, 4 skipped" in out
    assert "skipped ~$张伟.xlsx: an Excel/WPS lock file" in out
    assert err.count("损坏.xlsx") == 1 and "refused: is not an Excel workbook" in err
    assert not re.search(r"[\u4e00-\u9fff]", "\n".join(line.replace("张伟", "").replace("李娜", "").replace("损坏", "")
                                                     .replace("空白模板", "").replace("华南", "")
                                                     for line in (out + err).splitlines() if "/tmp" not in line))
