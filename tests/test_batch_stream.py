"""The batch's consolidated outputs stitched from what the workers rendered (khbook.batch.rows,
khbook.batch.stream): the same outputs whichever way they are put together.

Two reps' workbooks (tests/test_batch.py's folder) run in process and on two worker processes
(the workbook then written by a forked copy, 全部问题 stitched while the books come in): the
same batch.json, report.html and 汇总.xlsx cell by cell; batch.json is exactly
``json.dumps(result.to_dict(), ensure_ascii=False, indent=1)``; past Excel's limit of links a
finding's cell keeps its text without a link; the package's deflate segments read back.
"""

from __future__ import annotations

import json
import os
import sys
import zipfile
import zlib
from pathlib import Path

import openpyxl
import pytest

from khbook.batch import stream
from khbook.batch.run import run_batch
from khbook.batch.workbook import write_workbook
from khbook.ooxml.deflate import crc32_combine
from tests.rep import AS_OF
from tests.test_batch import build_folder


@pytest.fixture(scope="module")
def folder(tmp_path_factory, template):
    return build_folder(tmp_path_factory.mktemp("stream") / "提交", template, month=1)


@pytest.fixture(scope="module")
def serial(folder, spec, tmp_path_factory):
    return run_batch(folder, tmp_path_factory.mktemp("serial") / "out", spec=spec, as_of=AS_OF, jobs=1)


@pytest.fixture(scope="module")
def parallel(folder, spec, tmp_path_factory):
    return run_batch(folder, tmp_path_factory.mktemp("parallel") / "out", spec=spec, as_of=AS_OF, jobs=2, mask=False)


def cells(path: Path) -> dict[str, list[tuple]]:
    """Every sheet's cells: value, number format, bold, wrap, link target and location; widths; heights."""
    wb = openpyxl.load_workbook(path)
    out: dict[str, list[tuple]] = {}
    for ws in wb.worksheets:
        rows = [(c.coordinate, c.value, c.number_format, c.font.b, c.alignment.wrap_text, c.alignment.vertical,
                 c.hyperlink.target if c.hyperlink else None, c.hyperlink.location if c.hyperlink else None)
                for row in ws.iter_rows() for c in row]
        widths = sorted((k, v.width) for k, v in ws.column_dimensions.items())
        heights = sorted((k, v.height) for k, v in ws.row_dimensions.items() if v.height)
        out[ws.title] = [*rows, ("widths", widths), ("heights", heights), ("filter", ws.auto_filter.ref),
                         ("freeze", ws.freeze_panes), ("dims", ws.dimensions)]
    return out


def test_batch_json_is_json_dumps_of_to_dict(serial, parallel):
    for result in (serial, parallel):
        text = result.outputs["json"].read_text(encoding="utf-8")
        assert text == json.dumps(result.to_dict(), ensure_ascii=False, indent=1)
        assert json.loads(text)["customers"]


def test_parallel_run_writes_the_same_outputs(serial, parallel):
    assert serial.outputs["json"].read_bytes() == parallel.outputs["json"].read_bytes()
    assert serial.outputs["html"].read_bytes() == parallel.outputs["html"].read_bytes()
    assert cells(serial.outputs["workbook"]) == cells(parallel.outputs["workbook"])


def test_streamed_findings_sheet_equals_one_made_at_the_end(parallel, tmp_path):
    again = write_workbook(parallel, tmp_path / "again.xlsx")   # 全部问题 stitched from the records now
    assert cells(again) == cells(parallel.outputs["workbook"])
    with zipfile.ZipFile(parallel.outputs["workbook"]) as z:
        assert z.testzip() is None
        links = z.read("xl/worksheets/sheet2.xml").decode().count("<hyperlink ")
    findings = [f for f in parallel.findings if f.cell and f.cell != "-" and f.sheet]
    assert links == len(findings) > 0


def test_links_stop_at_excels_limit(serial, tmp_path, monkeypatch):
    monkeypatch.setattr(stream, "MAX_LINKS", 2)
    path = write_workbook(serial, tmp_path / "few_links.xlsx")
    ws = openpyxl.load_workbook(path).worksheets[1]
    linked = [c for c in ws["D"][2:] if c.hyperlink]
    plain = [c for c in ws["D"][2:] if c.value and not c.hyperlink]
    assert len(linked) == 2 and plain
    assert [c.value for c in ws["D"][2:]] == [c.value for c in openpyxl.load_workbook(serial.outputs["workbook"]).worksheets[1]["D"][2:]]


def test_deflate_segments_read_back_as_one_part(tmp_path):
    parts = [os.urandom(1000), b"<row>" * 5000, b"", "客户".encode() * 300]
    assert crc32_combine(zlib.crc32(parts[0]), zlib.crc32(parts[1]), len(parts[1])) == zlib.crc32(parts[0] + parts[1])
    segs = [stream.segment(p, last=i == len(parts) - 1) for i, p in enumerate(parts)]
    stream.write_zip(tmp_path / "x.zip", [stream.Entry("a/b.xml", segs), stream.Entry("c.xml", [stream.segment(b"z", last=True)])])
    with zipfile.ZipFile(tmp_path / "x.zip") as z:
        assert z.testzip() is None
        assert z.read("a/b.xml") == b"".join(parts)
        assert z.read("c.xml") == b"z"


def test_workbook_written_here_when_the_forked_copy_fails(folder, spec, serial, tmp_path, monkeypatch):
    import khbook.batch.run as run

    monkeypatch.setattr(run, "_write_book", lambda *args: os._exit(1))
    result = run_batch(folder, tmp_path / "out", spec=spec, as_of=AS_OF, jobs=2)
    assert cells(result.outputs["workbook"]) == cells(serial.outputs["workbook"])


def test_no_fork_while_another_thread_runs(folder, spec, serial, tmp_path, monkeypatch):
    """A program that calls run_batch with threads of its own (a GUI, a server) gets no forked
    copy (a lock another thread held at the fork would stay held in it): the workbook is written
    in the process, the same. Without other threads, the copy writes it."""
    import threading

    import khbook.batch.run as run

    real = run._write_book
    marker = tmp_path / "forked"

    def spy(*args):  # noqa: ANN002, ANN202
        marker.touch()
        real(*args)

    monkeypatch.setattr(run, "_write_book", spy)
    stop = threading.Event()
    busy = threading.Thread(target=stop.wait)
    busy.start()
    try:
        result = run_batch(folder, tmp_path / "threaded", spec=spec, as_of=AS_OF, jobs=2)
    finally:
        stop.set()
        busy.join()
    assert not marker.exists()
    assert cells(result.outputs["workbook"]) == cells(serial.outputs["workbook"])
    alone = threading.active_count() == 1  # earlier tests of the session may have left threads (a Dask cluster's)
    result = run_batch(folder, tmp_path / "alone", spec=spec, as_of=AS_OF, jobs=2)
    assert marker.exists() == (alone and sys.platform.startswith("linux"))
    assert cells(result.outputs["workbook"]) == cells(serial.outputs["workbook"])
