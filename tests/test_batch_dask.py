"""`khbook batch DIR --scheduler ADDRESS`: the books on a Dask cluster give the same outputs.

The test starts a ``distributed.LocalCluster`` (2 worker processes, one thread each, on
127.0.0.1), runs the batch on it through the command line and compares batch.json and the
annotated copies with a process-pool run of the same folder; an unreachable scheduler is a
one-line error (exit status 2) in either language, with nothing written.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import openpyxl
import pytest

from khbook.batch import cluster
from khbook.batch.records import Failure, FileSummary, Task
from khbook.cli import main
from tests.rep import AS_OF
from tests.test_batch import build_folder, zhang
from tests.test_language import _foreign

distributed = pytest.importorskip("distributed", reason="the Dask extra (pip install 'khbook[dask]') is not installed")

STAMP = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
UNREACHABLE = "tcp://127.0.0.1:9"   # the discard port: nothing listens there


@pytest.fixture(scope="module")
def local_cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as lc:
        yield lc


def _batch(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["batch", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _cells(path: Path) -> list[tuple[str, list[tuple[object, ...]]]]:
    """Every sheet's values, the change log's refresh time (the clock, by design) blanked."""
    wb = openpyxl.load_workbook(path)
    try:
        return [(ws.title, [tuple("<time>" if isinstance(c.value, str) and STAMP.fullmatch(c.value) else c.value
                                  for c in row) for row in ws.iter_rows()]) for ws in wb.worksheets]
    finally:
        wb.close()


def test_dask_cluster_gives_the_process_pool_outputs(local_cluster, tmp_path, template, capsys):
    folder = build_folder(tmp_path / "提交", template, month=1)
    zhang(template, folder / "华南" / "王芳.xlsx", month=2)    # a fourth book for the two workers
    common = ["--as-of", AS_OF.isoformat(), "--format", "json"]
    code_pool, out_pool, err_pool = _batch(capsys, str(folder), "-o", str(tmp_path / "pool"), "--jobs", "2", *common)
    code, out, err = _batch(capsys, str(folder), "-o", str(tmp_path / "dask"), "--scheduler",
                            local_cluster.scheduler_address, *common)
    assert (code, code_pool) == (2, 2), err      # 损坏.xlsx cannot be read, on either runner
    pool = json.loads((tmp_path / "pool" / "batch.json").read_text(encoding="utf-8"))
    dask = json.loads((tmp_path / "dask" / "batch.json").read_text(encoding="utf-8"))
    assert dask == pool == json.loads(out_pool)
    assert json.loads(out) == dask
    assert sorted(f["file"] for f in dask["files"] if f["status"] == "processed") == \
        ["华南/李娜.xlsx", "华南/王芳.xlsx", "张伟.xlsx", "空白模板.xlsx"]
    # the workers wrote the annotated copies into the output folder, the same as the pool's
    copies = sorted(p.relative_to(tmp_path / "dask").as_posix() for p in (tmp_path / "dask").rglob("*.checked.xlsx"))
    assert copies == ["华南/李娜.checked.xlsx", "华南/王芳.checked.xlsx", "张伟.checked.xlsx", "空白模板.checked.xlsx"]
    for rel in copies:
        assert _cells(tmp_path / "dask" / rel) == _cells(tmp_path / "pool" / rel), rel
    # the same progress lines, one per book (the order is the order they finished in)
    assert err.count("\n") == err_pool.count("\n") == 5 and "[5/5]" in err and "损坏.xlsx" in err


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_unreachable_scheduler_is_one_line(lang, tmp_path, template, capsys):
    folder = tmp_path / "提交"
    folder.mkdir()
    zhang(template, folder / "张伟.xlsx", month=1)
    code, out, err = _batch(capsys, str(folder), "-o", str(tmp_path / "o"), "--scheduler", UNREACHABLE,
                            "--lang", lang)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    wanted = {"zh": f"khbook：错误：{UNREACHABLE}：无法连接 Dask 调度器（{cluster.CONNECT_TIMEOUT} 秒内没有应答）"
                    "（请检查地址是否正确、调度器是否已经启动，以及本机能否访问它的端口）\n",
              "en": f"khbook: error: {UNREACHABLE}: cannot reach the Dask scheduler within {cluster.CONNECT_TIMEOUT} "
                    "seconds (check the address, that the scheduler is running and that this machine can reach "
                    "its port)\n"}
    assert err == wanted[lang]
    assert _foreign(err, lang, set()) == []
    assert not (tmp_path / "o").exists()      # nothing written before the cluster answers


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_unusable_address_is_one_line(lang, tmp_path, template, capsys):
    folder = tmp_path / "提交"
    folder.mkdir()
    zhang(template, folder / "张伟.xlsx", month=1)
    wanted = {"zh": "khbook：错误：127.0.0.1：无法使用这个 Dask 调度器地址（请写成 tcp://主机:端口 的形式，"
                    "如 tcp://10.0.0.5:8786；tls:// 地址还需要 Dask 的安全设置）\n",
              "en": "khbook: error: 127.0.0.1: cannot use this Dask scheduler address (write it as tcp://HOST:PORT, "
                    "e.g. tcp://10.0.0.5:8786; a tls:// address also needs Dask's security settings)\n"}
    code, out, err = _batch(capsys, str(folder), "-o", str(tmp_path / "o"), "--scheduler", "127.0.0.1", "--lang", lang)
    assert (code, out, err) == (2, "", wanted[lang])    # no port number
    assert _foreign(err, lang, set()) == []
    assert not (tmp_path / "o").exists()


def test_a_book_the_cluster_fails_is_listed_and_the_rest_go_on(local_cluster, tmp_path, template, spec, monkeypatch):
    """A task that raises on the worker (here: its spec folder is not there) is that book's
    failure, with the reason for a worker that stopped; the other books come back. Relative
    paths are this process's (the workers started elsewhere)."""
    zhang(template, tmp_path / "张伟.xlsx", month=1)
    monkeypatch.chdir(tmp_path)
    good = Task("张伟.xlsx", "张伟.xlsx", "o", str(spec.directory), AS_OF.isoformat(), "en")
    bad = dataclasses.replace(good, rel="李娜.xlsx", spec_dir=str(tmp_path / "no-spec"))
    with cluster.runner(1, local_cluster.scheduler_address) as run:
        got = dict((t.rel, r) for t, r in run([good, bad], spec))
    assert isinstance(got["张伟.xlsx"], FileSummary) and got["张伟.xlsx"].output == "张伟.checked.xlsx"
    assert (tmp_path / "o" / "张伟.checked.xlsx").is_file()
    failed = got["李娜.xlsx"]
    assert isinstance(failed, Failure) and failed.code == "worker_died"
    assert failed.reason.startswith(spec.text("batch_files.worker_died", "en").split("{detail}")[0])
    assert "SpecError" in failed.reason and "spec directory not found" in failed.reason


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_workers_on_another_khbook_version_are_refused(lang, local_cluster, tmp_path, template, capsys, monkeypatch):
    """This machine says it runs khbook 9.9; the workers run the checkout's version."""
    from khbook.base import version

    folder = tmp_path / "提交"
    folder.mkdir()
    zhang(template, folder / "张伟.xlsx", month=1)
    monkeypatch.setattr(version, "__version__", "9.9")
    address = local_cluster.scheduler_address
    code, out, err = _batch(capsys, str(folder), "-o", str(tmp_path / "o"), "--scheduler", address, "--lang", lang)
    wanted = {"zh": f"khbook：错误：{address}：集群中有 2 个工作节点没有安装本机的 khbook 9.9（请在每个工作节点上安装同一版本的 khbook[dask]）\n",
              "en": f"khbook: error: {address}: 2 of the cluster's workers do not run this machine's khbook 9.9 "
                    "(install the same khbook[dask] on every worker)\n"}
    assert (code, out, err) == (2, "", wanted[lang])
    assert _foreign(err, lang, set()) == []
    assert not (tmp_path / "o").exists()
